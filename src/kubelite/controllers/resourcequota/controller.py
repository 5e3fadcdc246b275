"""`ResourceQuotaController`: `status.hard` and `status.used` of every ResourceQuota.

`sync_quota(key)` counts, from the informers' caches, what the quota's namespace uses of each
resource its `spec.hard` names (`usage.usage`), and writes the status through `/status` when it
changed. Any change to a counted object queues the quotas of its namespace; every
`resource_quota_sync_period` (300 s) all quotas are recounted. Resources named as
`count/<resource>.<group>` get an informer the first time a quota names them. Enforcing quotas
on create is the API server's admission, not this controller's.
"""

from __future__ import annotations

import asyncio
import logging

from kubelite.client import SharedInformer, split_meta_namespace_key
from kubelite.controllers.base import Controller, ControllerContext, RetryLater
from kubelite.machinery.errors import StatusError, is_not_found

from . import usage as usage_

log = logging.getLogger(__name__)


class CacheNotSynced(RetryLater):
    pass


class ResourceQuotaController(Controller):
    name = "resourcequota-controller"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        self.quotas = ctx.informers.informer_for("resourcequotas")
        self.quota_lister = self.quotas.lister()
        self.sync_period = float(ctx.option("resource_quota_sync_period", 300.0))
        self.counted: dict[str, SharedInformer] = {}
        for resource in ("pods", "services", "configmaps", "secrets"):
            self.watch(resource)
        self.quotas.add_event_handler(self.add_quota, self.update_quota, None)

    def watch(self, resource: str) -> SharedInformer | None:
        """The informer for a counted resource, made (and watched) on first use."""
        if resource in self.counted:
            return self.counted[resource]
        if resource == "resourcequotas":
            self.counted[resource] = self.quotas
            return self.quotas
        try:
            inf = self.ctx.informers.informer_for(resource)
        except ValueError:
            return None
        inf.add_event_handler(self.enqueue_namespace, self.update_counted, self.enqueue_namespace)
        self.counted[resource] = inf
        return inf

    # ----- handlers

    def add_quota(self, quota: dict) -> None:
        for resource in usage_.resources_counted(quota):
            self.watch(resource)
        self.enqueue(quota)

    def update_quota(self, old: dict, new: dict) -> None:
        if old.get("spec") != new.get("spec") or (new.get("status") or {}).get("hard") != \
                (new.get("spec") or {}).get("hard"):
            self.add_quota(new)

    def enqueue_namespace(self, obj: dict) -> None:
        for quota in self.quota_lister.list((obj.get("metadata") or {}).get("namespace")):
            self.enqueue(quota)

    def update_counted(self, old: dict, new: dict) -> None:
        if old["metadata"].get("resourceVersion") != new["metadata"].get("resourceVersion"):
            self.enqueue_namespace(new)

    # ----- loops

    async def run(self) -> None:
        await self.informers.wait_for_cache_sync()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(super().run())
            tg.create_task(self._resync())

    async def _resync(self) -> None:
        while True:
            await self.clock.sleep(self.sync_period)
            for quota in self.quota_lister.list():
                self.enqueue(quota)

    # ----- sync

    async def sync(self, key: str) -> None:
        await self.sync_quota(key)

    async def sync_quota(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        try:
            quota = self.quota_lister.get(name, ns)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        hard = dict((quota.get("spec") or {}).get("hard") or {})
        objects: dict[str, list[dict]] = {}
        for resource in usage_.resources_counted(quota):
            inf = self.watch(resource)
            if inf is None:
                continue
            if not inf.has_synced():
                raise CacheNotSynced(f"the {resource} cache is not synced yet")
            objects[resource] = inf.lister().list(ns)
        used = usage_.usage(quota, objects, self.clock.now())
        status = {"hard": hard, "used": {k: usage_.format_quantity(k, v) for k, v in used.items()}}
        if status == (quota.get("status") or {}):
            return
        await self.client.update_status("resourcequotas", {**quota, "status": status})
