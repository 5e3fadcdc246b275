"""`EndpointsController`: the Endpoints object of every Service with a selector.

`sync_service(key)` lists the pods the selector matches, turns them into subsets
(`subsets.build_subsets`: ready pods under `addresses`, others under `notReadyAddresses`, all
under `addresses` with `publishNotReadyAddresses`; terminating pods only then), and creates or
updates the Endpoints when its subsets, labels (the Service's, plus
`service.kubernetes.io/headless` for headless Services) or capacity annotation differ. Services
without a selector, ExternalName Services and `default/kubernetes` are left alone; a deleted
Service's Endpoints are deleted.
"""

from __future__ import annotations

import copy
import logging

from kubelite.client import split_meta_namespace_key
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.errors import StatusError, is_not_found

from . import subsets as subsets_
from ..util.endpoint import (
    HEADLESS_LABEL,
    LAST_CHANGE_TRIGGER_TIME,
    TriggerTimeTracker,
    format_trigger_time,
    service_selector,
    services_selecting,
)

log = logging.getLogger(__name__)

OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"


def _strip_ref_versions(subsets: list[dict]) -> list[dict]:
    out = copy.deepcopy(subsets)
    for s in out:
        for field_ in ("addresses", "notReadyAddresses"):
            for a in s.get(field_) or []:
                (a.get("targetRef") or {}).pop("resourceVersion", None)
    return out


class EndpointsController(Controller):
    name = "endpoint-controller"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        inf = ctx.informers
        self.services = inf.informer_for("services")
        self.pods = inf.informer_for("pods")
        self.endpoints = inf.informer_for("endpoints")
        self.service_lister = self.services.lister()
        self.pod_lister = self.pods.lister()
        self.endpoints_lister = self.endpoints.lister()
        self.triggers = TriggerTimeTracker()
        self.services.add_event_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pods.add_event_handler(self.add_pod, self.update_pod, self.add_pod)
        self.endpoints.add_event_handler(None, lambda old, new: self.enqueue(new), self.enqueue)

    # ----- handlers

    def _services_for(self, pod: dict) -> list[dict]:
        return services_selecting(self.service_lister, pod)

    def add_pod(self, pod: dict) -> None:
        for svc in self._services_for(pod):
            self.enqueue(svc)

    def update_pod(self, old: dict, new: dict) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        seen = {svc["metadata"]["name"] for svc in self._services_for(new)}
        for svc in self._services_for(new) + [s for s in self._services_for(old) if s["metadata"]["name"] not in seen]:
            self.enqueue(svc)

    # ----- sync

    async def sync(self, key: str) -> None:
        await self.sync_service(key)

    async def sync_service(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        try:
            service = self.service_lister.get(name, ns)
        except StatusError as e:
            if not is_not_found(e):
                raise
            self.triggers.forget(key)
            try:
                await self.client.delete("endpoints", name, ns)
            except StatusError as e2:
                if not is_not_found(e2):
                    raise
            return
        spec = service.get("spec") or {}
        if (ns, name) == ("default", "kubernetes") or spec.get("type") == "ExternalName" or not spec.get("selector"):
            return
        pods = self.pod_lister.list(ns, service_selector(service))
        trigger = self.triggers.compute(key, service, pods)
        subsets = subsets_.build_subsets(service, pods)
        try:
            current = self.endpoints_lister.get(name, ns)
        except StatusError as e:
            if not is_not_found(e):
                raise
            current = None
        svc_labels = dict(service["metadata"].get("labels") or {})
        if current is not None:
            have_labels = {k: v for k, v in (current["metadata"].get("labels") or {}).items() if k != HEADLESS_LABEL}
            capacity_ok = (OVER_CAPACITY in (current["metadata"].get("annotations") or {})) == (
                sum(len(s.get("addresses") or []) + len(s.get("notReadyAddresses") or [])
                    for s in current.get("subsets") or []) > subsets_.MAX_CAPACITY)
            if _strip_ref_versions(current.get("subsets") or []) == _strip_ref_versions(subsets) \
                    and have_labels == svc_labels and capacity_ok:
                return
        new = copy.deepcopy(current) if current is not None else {
            "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns}}
        annotations = dict(new["metadata"].get("annotations") or {})
        if trigger is not None:
            annotations[LAST_CHANGE_TRIGGER_TIME] = format_trigger_time(trigger)
        else:
            annotations.pop(LAST_CHANGE_TRIGGER_TIME, None)
        if subsets_.truncate(subsets):
            annotations[OVER_CAPACITY] = "truncated"
        else:
            annotations.pop(OVER_CAPACITY, None)
        new["metadata"]["annotations"] = annotations
        if spec.get("clusterIP") in (None, "", "None"):
            svc_labels[HEADLESS_LABEL] = ""
        new["metadata"]["labels"] = svc_labels
        new["subsets"] = subsets
        try:
            if current is None:
                await self.client.create("endpoints", new, ns)
            else:
                await self.client.update("endpoints", new, ns)
        except StatusError as e:
            if any(c.get("reason") == "NamespaceTerminating" for c in (e.details or {}).get("causes") or []):
                return
            if current is None:
                self.event(new, "Warning", "FailedToCreateEndpoint",
                           f"Failed to create endpoint for service {ns}/{name}: {e}")
            else:
                self.event(new, "Warning", "FailedToUpdateEndpoint", f"Failed to update endpoint {ns}/{name}: {e}")
            raise
