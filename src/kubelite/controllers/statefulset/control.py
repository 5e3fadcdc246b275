"""The StatefulSet update algorithm, over a `StatefulPodControl` seam (real: the API with events).

`update_statefulset` makes one pass, as Kubernetes' `defaultStatefulSetControl` does:

1. Pods with ordinals in `[start, start + replicas)` are replicas, other members are condemned.
2. Replicas in ordinal order: recreate failed or succeeded ones, create missing ones, fix their
   identity. With `OrderedReady` (monotonic) the pass stops at the first pod that was just created,
   is terminating, or is not Running+Ready(+available): one pod at a time, each waiting for its
   predecessors. `Parallel` does all of them at once.
3. Condemned pods from the highest ordinal down; monotonic passes delete one and wait, and only
   when no other pod is unhealthy.
4. RollingUpdate: the highest-ordinal pod at or above the partition that is not at the update
   revision is deleted (step 2 recreates it at the update revision on a later pass); the update
   waits for each to be healthy again. OnDelete stops after step 3.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Protocol

from kubelite.client import Client
from kubelite.machinery.errors import StatusError, is_already_exists, is_not_found

from ..util.pods import is_terminating, phase
from . import identity as ident
from .history import apply_revision

EventFunc = Callable[[dict, str, str, str], None]

# Event reasons.
SUCCESSFUL_CREATE = "SuccessfulCreate"
FAILED_CREATE = "FailedCreate"
SUCCESSFUL_DELETE = "SuccessfulDelete"
FAILED_DELETE = "FailedDelete"
SUCCESSFUL_UPDATE = "SuccessfulUpdate"
FAILED_UPDATE = "FailedUpdate"
RECREATING_FAILED_POD = "RecreatingFailedPod"
RECREATING_TERMINATED_POD = "RecreatingTerminatedPod"


class StatefulPodControl(Protocol):
    async def create_stateful_pod(self, sts: dict, pod: dict) -> None: ...

    async def update_stateful_pod(self, sts: dict, pod: dict) -> None: ...

    async def delete_stateful_pod(self, sts: dict, pod: dict) -> None: ...


class RealStatefulPodControl:
    """Writes pods and records `<verb> Pod <pod> in StatefulSet <set> successful|failed` events."""

    def __init__(self, client: Client, event: EventFunc) -> None:
        self.client = client
        self.event = event

    def _record(self, verb: str, sts: dict, pod: dict, err: BaseException | None) -> None:
        pod_name, set_name = pod["metadata"]["name"], sts["metadata"]["name"]
        if err is None:
            self.event(sts, "Normal", f"Successful{verb}",
                       f"{verb.lower()} Pod {pod_name} in StatefulSet {set_name} successful")
        else:
            self.event(sts, "Warning", f"Failed{verb}",
                       f"{verb.lower()} Pod {pod_name} in StatefulSet {set_name} failed error: {err}")

    async def create_stateful_pod(self, sts: dict, pod: dict) -> None:
        try:
            await self.client.create("pods", pod, sts["metadata"]["namespace"])
        except StatusError as e:
            if is_already_exists(e):
                return
            self._record("Create", sts, pod, e)
            raise
        self._record("Create", sts, pod, None)

    async def update_stateful_pod(self, sts: dict, pod: dict) -> None:
        try:
            await self.client.update("pods", pod, sts["metadata"]["namespace"])
        except StatusError as e:
            self._record("Update", sts, pod, e)
            raise
        self._record("Update", sts, pod, None)

    async def delete_stateful_pod(self, sts: dict, pod: dict) -> None:
        try:
            await self.client.delete("pods", pod["metadata"]["name"], sts["metadata"]["namespace"])
        except StatusError as e:
            if is_not_found(e):
                return
            self._record("Delete", sts, pod, e)
            raise
        self._record("Delete", sts, pod, None)


def strategy(sts: dict) -> tuple[str, int]:
    """`(type, partition)` with Kubernetes' defaults (RollingUpdate, partition 0)."""
    s = (sts.get("spec") or {}).get("updateStrategy") or {}
    type_ = s.get("type") or "RollingUpdate"
    partition = int((s.get("rollingUpdate") or {}).get("partition") or 0) if type_ == "RollingUpdate" else 0
    return type_, partition


def is_parallel(sts: dict) -> bool:
    return (sts.get("spec") or {}).get("podManagementPolicy") == "Parallel"


def new_versioned_pod(current_set: dict, update_set: dict, current_name: str, update_name: str,
                      ordinal: int) -> dict:
    """Ordinals below the partition are (re)made at the current revision, the rest at the update one."""
    type_, partition = strategy(current_set)
    if type_ == "RollingUpdate" and ordinal < ident.start_ordinal(current_set) + partition:
        return ident.new_pod(current_set, ordinal, current_name)
    return ident.new_pod(update_set, ordinal, update_name)


def replica_status(pods: list[dict], current_name: str, update_name: str, min_ready: int, now: datetime) -> dict:
    st = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0, "updatedReplicas": 0}
    for pod in pods:
        created = ident.is_created(pod)
        st["replicas"] += created
        if ident.is_running_and_ready(pod):
            st["readyReplicas"] += 1
            st["availableReplicas"] += ident.is_running_and_available(pod, min_ready, now)
        if created and not is_terminating(pod):
            rev = ident.revision_of(pod)
            st["currentReplicas"] += rev == current_name
            st["updatedReplicas"] += rev == update_name
    return st


async def update_statefulset(sts: dict, current_revision: dict, update_revision: dict, pods: list[dict],
                             control: StatefulPodControl, event: EventFunc, now: datetime) -> dict:
    """One pass; returns the replica counts of the status (see `replica_status`)."""
    current_set = apply_revision(sts, current_revision)
    update_set = apply_revision(sts, update_revision)
    current_name, update_name = current_revision["metadata"]["name"], update_revision["metadata"]["name"]
    min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
    start, count = ident.start_ordinal(sts), ident.replicas(sts)
    replicas: list[dict | None] = [None] * count
    condemned: list[dict] = []
    for pod in pods:
        if ident.in_ordinal_range(sts, pod):
            replicas[ident.ordinal(pod) - start] = pod
        elif ident.ordinal(pod) >= 0:
            condemned.append(pod)
    for i in range(count):
        if replicas[i] is None:
            replicas[i] = new_versioned_pod(current_set, update_set, current_name, update_name, start + i)
    live: list[dict] = [p for p in replicas if p is not None]
    condemned.sort(key=ident.ordinal, reverse=True)
    first_unhealthy = next((p for p in live if not ident.is_healthy(p)), None)
    if first_unhealthy is None:
        first_unhealthy = next((p for p in reversed(condemned) if not ident.is_healthy(p)), None)

    def status() -> dict:
        return replica_status(live + condemned, current_name, update_name, min_ready, now)

    if is_terminating(sts):
        return status()
    monotonic = not is_parallel(sts)
    ns, set_name = sts["metadata"]["namespace"], sts["metadata"]["name"]

    async def process_replica(i: int) -> bool:
        pod = live[i]
        if phase(pod) in ("Failed", "Succeeded"):
            if phase(pod) == "Failed":
                event(sts, "Warning", RECREATING_FAILED_POD,
                      f"StatefulSet {ns}/{set_name} is recreating failed Pod {pod['metadata']['name']}")
            else:
                event(sts, "Normal", RECREATING_TERMINATED_POD,
                      f"StatefulSet {ns}/{set_name} is recreating terminated Pod {pod['metadata']['name']}")
            await control.delete_stateful_pod(sts, pod)
            pod = live[i] = new_versioned_pod(current_set, update_set, current_name, update_name, start + i)
        if not ident.is_created(pod):
            await control.create_stateful_pod(sts, pod)
            return monotonic
        if is_terminating(pod) and monotonic:
            return True
        if not ident.is_running_and_ready(pod) and monotonic:
            return True
        if not ident.is_running_and_available(pod, min_ready, now) and monotonic:
            return True
        if ident.identity_matches(sts, pod) or is_terminating(pod):
            return False
        await control.update_stateful_pod(sts, ident.with_identity(sts, pod))
        return False

    async def process_condemned(pod: dict) -> bool:
        if is_terminating(pod):
            return monotonic
        if monotonic and pod is not first_unhealthy and (
                not ident.is_running_and_ready(pod) or not ident.is_running_and_available(pod, min_ready, now)):
            return True
        await control.delete_stateful_pod(sts, pod)
        return monotonic

    if await _run_for_all([lambda i=i: process_replica(i) for i in range(len(live))], monotonic):
        return status()
    if await _run_for_all([lambda p=p: process_condemned(p) for p in condemned], monotonic):
        return status()
    result = status()
    type_, partition = strategy(sts)
    if type_ == "OnDelete":
        return result
    for target in range(len(live) - 1, partition - 1, -1):
        pod = live[target]
        if ident.revision_of(pod) != update_name and not is_terminating(pod):
            await control.delete_stateful_pod(sts, pod)
            result["currentReplicas"] -= 1
            return result
        if not ident.is_healthy(pod):
            return result
    return result


async def _run_for_all(steps: list, monotonic: bool) -> bool:
    """Run steps in order, stopping at the first that says so (monotonic), or all (burst)."""
    if monotonic:
        for step in steps:
            if await step():
                return True
        return False
    errors: list[BaseException] = []
    stop = False
    for step in steps:                       # one at a time: writes stay ordered and bounded
        try:
            stop = await step() or stop
        except StatusError as e:
            errors.append(e)
    if errors:
        raise errors[0]
    return stop
