"""`NamespaceController`: carries out namespace deletion (see `deleter`).

Namespaces with a deletionTimestamp are queued (after an optional grace period, Kubernetes' 5
seconds for HA API servers: controller option `namespace_deletion_grace_period`, default 0
since one kubelite server answers consistently). While content is still going away the
namespace is looked at again after about half the estimate.
"""

from __future__ import annotations

import logging

from ..base import Controller, ControllerContext
from .deleter import NamespacedResourcesDeleter, ResourcesRemainingError, deletable_namespaced_resources

log = logging.getLogger(__name__)


class NamespaceController(Controller):
    name = "namespace-controller"
    workers = 10

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.grace_period = float(ctx.option("namespace_deletion_grace_period", 0.0))
        self.deleter = NamespacedResourcesDeleter(self.client, deletable_namespaced_resources(self.client.scheme),
                                                  clock=ctx.clock)
        self.ns_informer = ctx.informers.informer_for("namespaces")
        self.ns_informer.add_event_handler(self.enqueue_namespace, lambda old, new: self.enqueue_namespace(new))

    def enqueue_namespace(self, ns: dict) -> None:
        if not ns["metadata"].get("deletionTimestamp"):
            return
        if self.grace_period > 0:
            self.enqueue_after(ns, self.grace_period)
        else:
            self.enqueue(ns)

    async def sync(self, key: str) -> None:
        await self.sync_namespace(key)

    async def sync_namespace(self, name: str) -> None:
        try:
            await self.deleter.delete(name)
        except ResourcesRemainingError as e:
            wait = e.estimate // 2 + 1
            log.debug("content remaining in namespace %s: looking again in %ds", name, wait)
            self.enqueue_after(name, wait)
