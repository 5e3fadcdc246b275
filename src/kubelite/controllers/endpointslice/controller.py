"""`EndpointSliceController`: the EndpointSlices of every Service with a selector.

`sync_service(key)` computes the endpoints the selected pods offer (ready, serving and
terminating conditions; `publishNotReadyAddresses`; hostname, node name and zone; named ports
resolved per pod), plans the changes to the Service's managed slices (`reconciler.reconcile`)
and applies them: creations, then updates, then deletions. Slices are labelled
`kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`, owned by the Service,
and carry `endpoints.kubernetes.io/last-change-trigger-time` when they change.

The controller remembers the resourceVersions it wrote; while its cache is older than those,
a sync fails (and is retried) rather than acting on stale slices.
"""

from __future__ import annotations

import logging

from kubelite.client import split_meta_namespace_key
from kubelite.controllers.base import Controller, ControllerContext, RetryLater
from kubelite.machinery.errors import StatusError, is_not_found

from . import reconciler
from ..util.endpoint import TriggerTimeTracker, format_trigger_time, service_selector, services_selecting

log = logging.getLogger(__name__)


class StaleCache(RetryLater):
    """The EndpointSlice cache has not yet seen this controller's last writes."""


def _rv(obj: dict) -> int:
    try:
        return int(obj["metadata"].get("resourceVersion") or 0)
    except ValueError:
        return 0


class EndpointSliceController(Controller):
    name = "endpointslice-controller"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        inf = ctx.informers
        self.services = inf.informer_for("services")
        self.pods = inf.informer_for("pods")
        self.nodes = inf.informer_for("nodes")
        self.slices = inf.informer_for("endpointslices.discovery.k8s.io")
        self.service_lister = self.services.lister()
        self.pod_lister = self.pods.lister()
        self.node_lister = self.nodes.lister()
        self.slice_lister = self.slices.lister()
        self.max_per_slice = int(ctx.option("max_endpoints_per_slice", reconciler.MAX_ENDPOINTS_PER_SLICE))
        self.triggers = TriggerTimeTracker()
        self.written: dict[str, dict[str, int | None]] = {}
        self.services.add_event_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pods.add_event_handler(self.add_pod, self.update_pod, self.add_pod)
        self.nodes.add_event_handler(None, self.update_node, None)
        self.slices.add_event_handler(self.enqueue_for_slice, lambda old, new: self.enqueue_for_slice(new),
                                      self.enqueue_for_slice)

    # ----- handlers

    def _services_for(self, pod: dict) -> list[dict]:
        return services_selecting(self.service_lister, pod)

    def add_pod(self, pod: dict) -> None:
        for svc in self._services_for(pod):
            self.enqueue(svc)

    def update_pod(self, old: dict, new: dict) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        for svc in {s["metadata"]["name"]: s for s in self._services_for(old) + self._services_for(new)}.values():
            self.enqueue(svc)

    def update_node(self, old: dict, new: dict) -> None:
        zone = reconciler.ZONE_LABEL
        if ((old["metadata"].get("labels") or {}).get(zone)) != ((new["metadata"].get("labels") or {}).get(zone)):
            for svc in self.service_lister.list():
                self.enqueue(svc)

    def enqueue_for_slice(self, slice_: dict) -> None:
        lbls = slice_["metadata"].get("labels") or {}
        if lbls.get(reconciler.MANAGED_BY_LABEL) == reconciler.CONTROLLER_NAME and \
                lbls.get(reconciler.SERVICE_NAME_LABEL):
            self.enqueue(f"{slice_['metadata']['namespace']}/{lbls[reconciler.SERVICE_NAME_LABEL]}")

    # ----- sync

    async def sync(self, key: str) -> None:
        await self.sync_service(key)

    def managed_slices(self, namespace: str, service_name: str) -> list[dict]:
        return self.slice_lister.list(namespace, {reconciler.SERVICE_NAME_LABEL: service_name,
                                                  reconciler.MANAGED_BY_LABEL: reconciler.CONTROLLER_NAME})

    def _check_cache(self, key: str, namespace: str) -> None:
        for name, rv in (self.written.get(key) or {}).items():
            try:
                cached = self.slice_lister.get(name, namespace)
            except StatusError:
                cached = None
            if (rv is None and cached is not None) or (rv is not None and (cached is None or _rv(cached) < rv)):
                raise StaleCache(f"EndpointSlice informer cache is out of date for {key}")
        self.written.pop(key, None)

    async def sync_service(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        self._check_cache(key, ns)
        try:
            service = self.service_lister.get(name, ns)
        except StatusError as e:
            if not is_not_found(e):
                raise
            self.triggers.forget(key)
            for s in self.managed_slices(ns, name):
                await self._delete(key, s)
            return
        spec = service.get("spec") or {}
        if (ns, name) == ("default", "kubernetes") or spec.get("type") == "ExternalName" or not spec.get("selector"):
            return
        pods = self.pod_lister.list(ns, service_selector(service))
        nodes = {n["metadata"]["name"]: n for n in self.node_lister.list()}
        trigger = self.triggers.compute(key, service, pods)
        desired = reconciler.desired_endpoints(service, pods, nodes)
        plan = reconciler.reconcile(service, desired, self.managed_slices(ns, name), self.max_per_slice,
                                    format_trigger_time(trigger) if trigger is not None else None)
        try:
            for s in plan.create:
                created = await self.client.create("endpointslices.discovery.k8s.io", s, ns)
                self.written.setdefault(key, {})[created["metadata"]["name"]] = _rv(created)
            for s in plan.update:
                updated = await self.client.update("endpointslices.discovery.k8s.io", s, ns)
                self.written.setdefault(key, {})[updated["metadata"]["name"]] = _rv(updated)
            for s in plan.delete:
                await self._delete(key, s)
        except StatusError as e:
            if any(c.get("reason") == "NamespaceTerminating" for c in (e.details or {}).get("causes") or []):
                return
            self.event(service, "Warning", "FailedToUpdateEndpointSlices",
                       f"Error updating Endpoint Slices for Service {ns}/{name}: {e}")
            raise

    async def _delete(self, key: str, slice_: dict) -> None:
        md = slice_["metadata"]
        try:
            await self.client.delete("endpointslices.discovery.k8s.io", md["name"], md["namespace"])
        except StatusError as e:
            if not is_not_found(e):
                raise
        self.written.setdefault(key, {})[md["name"]] = None
