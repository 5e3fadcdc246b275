"""`PodControl`: how workload controllers create, delete and patch pods (Kubernetes' `PodControlInterface`).

`RealPodControl` talks to the API and records the events Kubernetes records on the controller
object: `SuccessfulCreate` ("Created pod: web-x7k2p"), `FailedCreate` ("Error creating: ..."),
`SuccessfulDelete` ("Deleted pod: ..."), `FailedDelete` ("Error deleting: ..."). A create
rejected because the namespace is terminating records nothing. `FakePodControl` records the
calls for unit tests and can be told to fail.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from kubelite.client import Client
from kubelite.machinery.errors import StatusError, StatusReason, is_not_found

from .ownerrefs import is_namespace_terminating

NORMAL, WARNING = "Normal", "Warning"
FAILED_CREATE_POD_REASON = "FailedCreate"
SUCCESSFUL_CREATE_POD_REASON = "SuccessfulCreate"
FAILED_DELETE_POD_REASON = "FailedDelete"
SUCCESSFUL_DELETE_POD_REASON = "SuccessfulDelete"

_MAX_NAME_LENGTH = 253


class Recorder(Protocol):
    def event(self, obj: dict, type: str, reason: str, message: str) -> None: ...


class _NoRecorder:
    def event(self, obj: dict, type: str, reason: str, message: str) -> None:
        return None


class PodControl(Protocol):
    async def create_pods(self, namespace: str, template: dict, controller: dict,
                          controller_ref: dict | None) -> dict: ...

    async def delete_pod(self, namespace: str, name: str, controller: dict) -> None: ...

    async def patch_pod(self, namespace: str, name: str, patch: dict) -> dict: ...


def pods_prefix(controller_name: str) -> str:
    """`<name>-` for generateName, or the name itself when the dash would make it too long."""
    prefix = f"{controller_name}-"
    return prefix if len(prefix) <= _MAX_NAME_LENGTH else controller_name


def pod_from_template(template: dict, controller: dict, controller_ref: dict | None) -> dict:
    """A new pod for a controller: the template's labels, annotations, finalizers and spec."""
    tmd = template.get("metadata") or {}
    md: dict[str, Any] = {"generateName": pods_prefix(controller["metadata"]["name"])}
    if tmd.get("labels"):
        md["labels"] = dict(tmd["labels"])
    if tmd.get("annotations"):
        md["annotations"] = dict(tmd["annotations"])
    if tmd.get("finalizers"):
        md["finalizers"] = list(tmd["finalizers"])
    if controller_ref is not None:
        md["ownerReferences"] = [dict(controller_ref)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": copy.deepcopy(template.get("spec") or {})}


def _no_labels() -> StatusError:
    return StatusError(400, StatusReason.BAD_REQUEST, "unable to create pods, no labels")


class RealPodControl:
    def __init__(self, client: Client, recorder: Recorder | None = None) -> None:
        self.client = client
        self.recorder = recorder or _NoRecorder()

    async def create_pods(self, namespace: str, template: dict, controller: dict,
                          controller_ref: dict | None) -> dict:
        pod = pod_from_template(template, controller, controller_ref)
        pod["metadata"]["namespace"] = namespace
        if not pod["metadata"].get("labels"):
            raise _no_labels()
        try:
            created = await self.client.create("pods", pod, namespace)
        except StatusError as e:
            if not is_namespace_terminating(e):
                self.recorder.event(controller, WARNING, FAILED_CREATE_POD_REASON, f"Error creating: {e}")
            raise
        self.recorder.event(controller, NORMAL, SUCCESSFUL_CREATE_POD_REASON,
                            f"Created pod: {created['metadata']['name']}")
        return created

    async def delete_pod(self, namespace: str, name: str, controller: dict) -> None:
        try:
            await self.client.delete("pods", name, namespace)
        except StatusError as e:
            if not is_not_found(e):
                self.recorder.event(controller, WARNING, FAILED_DELETE_POD_REASON, f"Error deleting: {e}")
            raise
        self.recorder.event(controller, NORMAL, SUCCESSFUL_DELETE_POD_REASON, f"Deleted pod: {name}")

    async def patch_pod(self, namespace: str, name: str, patch: dict) -> dict:
        return await self.client.patch("pods", name, patch, namespace, patch_type="merge")


class FakePodControl:
    """Records what a controller asked for; set `err` to make every call fail, `create_limit` to
    fail creates past that many calls (Kubernetes' `FakePodControl`)."""

    def __init__(self) -> None:
        self.templates: list[dict] = []
        self.controller_refs: list[dict | None] = []
        self.delete_pod_names: list[str] = []
        self.patches: list[tuple[str, dict]] = []
        self.err: BaseException | None = None
        self.create_limit = 0
        self.create_call_count = 0

    async def create_pods(self, namespace: str, template: dict, controller: dict,
                          controller_ref: dict | None) -> dict:
        self.create_call_count += 1
        if self.create_limit and self.create_call_count > self.create_limit:
            raise StatusError(500, StatusReason.INTERNAL_ERROR,
                              f"not creating pod, limit {self.create_limit} already reached "
                              f"(create call {self.create_call_count})")
        if self.err is not None:
            raise self.err
        self.templates.append(copy.deepcopy(template))
        self.controller_refs.append(copy.deepcopy(controller_ref))
        pod = pod_from_template(template, controller, controller_ref)
        pod["metadata"]["namespace"] = namespace
        return pod

    async def delete_pod(self, namespace: str, name: str, controller: dict) -> None:
        if self.err is not None:
            raise self.err
        self.delete_pod_names.append(name)

    async def patch_pod(self, namespace: str, name: str, patch: dict) -> dict:
        if self.err is not None:
            raise self.err
        self.patches.append((name, copy.deepcopy(patch)))
        return {}

    def clear(self) -> None:
        self.templates.clear()
        self.controller_refs.clear()
        self.delete_pod_names.clear()
        self.patches.clear()
        self.create_call_count = 0
