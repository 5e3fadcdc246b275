"""`GarbageCollector`: deletes objects whose owners are gone, and carries out foreground and
orphan deletions (Kubernetes' `garbagecollector.go`).

It watches every stored resource that can be listed, watched and deleted (events excepted),
feeding the dependency graph (`graph.GraphBuilder`). Two kinds of workers:

- **attempt to delete** (`process_attempt_to_delete`), for one node:
  - being deleted without waiting for dependents: nothing to do;
  - gone from the API server (or replaced by another UID): removed from the graph as a
    "virtual delete", which queues its dependents;
  - waiting for its dependents (foreground): once no dependent with `blockOwnerDeletion`
    remains, the `foregroundDeletion` finalizer is removed so the owner goes;
  - otherwise its owners are classified by live reads: *solid* (exists),
    *dangling* (absent, or another UID, or another namespace) or *waiting for dependents*
    (being deleted in the foreground). With a solid owner, references to dangling and waiting
    owners are removed. Without one, it is deleted: in the foreground when an owner waits and
    it has dependents of its own (references to owners that wait are unblocked first if a
    dependent also waits, which breaks cycles), else with its own finalizers' policy
    (orphan, foreground) or in the background.
- **attempt to orphan** (`process_attempt_to_orphan`): remove the owner's reference from each
  dependent, then the owner's `orphan` finalizer.

Writes are JSON merge patches guarded by `resourceVersion` (Kubernetes' fallback when strategic
merge patch is not available), retried on conflict with a fresh read. Deletes carry a UID
precondition.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Awaitable, Callable

from kubelite.api.scheme import Resource, Scheme
from kubelite.client import ShutDown, WorkQueue
from kubelite.client.workqueue import default_controller_rate_limiter
from kubelite.machinery.errors import StatusError, is_conflict, is_not_found

from ..base import Controller, ControllerContext
from .graph import FOREGROUND, ORPHAN, GraphBuilder, Node, ObjectReference

log = logging.getLogger(__name__)

# Kubernetes' default ignored resources: events would flood the graph and never have owners.
IGNORED_RESOURCES = frozenset({("", "events"), ("events.k8s.io", "events")})
_CONFLICT_RETRIES = 5


class RESTMappingError(Exception):
    """An owner reference names a kind this server does not serve."""


class NamespacedOwnerOfClusterScopedObject(Exception):
    """A cluster-scoped object names a namespaced owner: invalid, and retrying will not help."""


def deletable_resources(scheme: Scheme) -> list[Resource]:
    """Stored resources that support list, watch and delete, one version per storage prefix."""
    out: list[Resource] = []
    seen: set[str] = set()
    for r in scheme.resources:
        if not r.stored or not {"list", "watch", "delete"} <= set(r.verbs):
            continue
        if (r.group, r.plural) in IGNORED_RESOURCES or r.key_prefix in seen:
            continue
        seen.add(r.key_prefix)
        out.append(r)
    return out


class GarbageCollector(Controller):
    name = "garbage-collector-controller"
    workers = 5

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_gc_syncs", self.workers))
        self.orphan_queue: WorkQueue[str] = WorkQueue("garbage_collector_attempt_to_orphan",
                                                      rate_limiter=default_controller_rate_limiter(ctx.clock),
                                                      clock=ctx.clock)
        self.graph = GraphBuilder(attempt_to_delete=lambda n: self.queue.add(n.uid),
                                  attempt_to_orphan=lambda n: self.orphan_queue.add(n.uid),
                                  requeue_delete=lambda n: self.queue.add_rate_limited(n.uid),
                                  report_invalid_namespace=self._report_invalid_namespace)
        self.scheme = self.client.scheme
        self.resources = deletable_resources(self.scheme)
        for r in self.resources:
            inf = ctx.informers.informer_for(r)
            inf.add_event_handler(functools.partial(self.graph.on_add, r.api_version, r.kind),
                                  functools.partial(self.graph.on_update, r.api_version, r.kind),
                                  functools.partial(self.graph.on_delete, r.api_version, r.kind))

    # -- loop --------------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.informers.wait_for_cache_sync()
        try:
            async with asyncio.TaskGroup() as tg:
                for i in range(self.workers):
                    tg.create_task(self._loop(self.queue, self.process_attempt_to_delete),
                                   name=f"{self.name}-delete-{i}")
                    tg.create_task(self._loop(self.orphan_queue, self.process_attempt_to_orphan),
                                   name=f"{self.name}-orphan-{i}")
        finally:
            self.queue.shut_down()
            self.orphan_queue.shut_down()

    async def _loop(self, queue: WorkQueue[str], process: Callable[[str], Awaitable[bool]]) -> None:
        while True:
            try:
                uid = await queue.get()
            except ShutDown:
                return
            try:
                if await process(uid):
                    queue.add_rate_limited(uid)
                else:
                    queue.forget(uid)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - one object must not stop the collector
                n = queue.num_requeues(uid)
                node = self.graph.get(uid)
                log.log(logging.INFO if n < 5 else logging.WARNING, "%s: %s failed (retry %d): %s", self.name,
                        node.identity if node else uid, n, e, exc_info=not isinstance(e, (StatusError,
                                                                                         RESTMappingError)))
                queue.add_rate_limited(uid)
            finally:
                queue.done(uid)

    async def sync(self, key: str) -> None:
        if await self.process_attempt_to_delete(key):
            raise RuntimeError(f"{key} is not observed yet")

    # -- API helpers -----------------------------------------------------------------------------
    def resource_for(self, api_version: str, kind: str) -> Resource:
        r = self.scheme.by_api_version_kind(api_version, kind)
        if r is None:
            group = api_version.rpartition("/")[0]
            r = next((x for x in self.scheme.resources if x.group == group and x.kind == kind and x.stored), None)
        if r is None:
            raise RESTMappingError(f'unable to get REST mapping for {api_version}/{kind}: no matches for kind '
                                   f'"{kind}" in version "{api_version}"')
        return r

    async def get_object(self, identity: ObjectReference) -> dict | None:
        """The live object, or None when it does not exist."""
        r = self.resource_for(identity.api_version, identity.kind)
        if r.namespaced and not identity.namespace:
            return None
        try:
            return await self.client.get(r, identity.name, identity.namespace if r.namespaced else None)
        except StatusError as e:
            if is_not_found(e):
                return None
            raise

    async def delete_object(self, identity: ObjectReference, policy: str) -> None:
        r = self.resource_for(identity.api_version, identity.kind)
        log.info("deleting %s with propagation policy %s", identity, policy)
        try:
            await self.client.delete(r, identity.name, identity.namespace if r.namespaced else None,
                                     propagation_policy=policy, preconditions={"uid": identity.uid})
        except StatusError as e:
            if not is_not_found(e):
                raise

    async def _patch_metadata(self, identity: ObjectReference, change: Callable[[dict], dict | None]) -> None:
        """Read the object, let `change` build a metadata patch (None: nothing to do), write it
        guarded by resourceVersion; retry on conflict."""
        r = self.resource_for(identity.api_version, identity.kind)
        ns = identity.namespace if r.namespaced else None
        for attempt in range(_CONFLICT_RETRIES):
            obj = await self.get_object(identity)
            if obj is None or obj["metadata"].get("uid") != identity.uid:
                return
            meta = change(obj)
            if meta is None:
                return
            meta["resourceVersion"] = obj["metadata"].get("resourceVersion")
            try:
                await self.client.patch(r, identity.name, {"metadata": meta}, ns, patch_type="merge")
                return
            except StatusError as e:
                if is_not_found(e):
                    return
                if not is_conflict(e) or attempt == _CONFLICT_RETRIES - 1:
                    raise

    async def remove_owner_references(self, identity: ObjectReference, owner_uids: set[str]) -> None:
        def change(obj: dict) -> dict | None:
            refs = obj["metadata"].get("ownerReferences") or []
            keep = [r for r in refs if r.get("uid") not in owner_uids]
            if len(keep) == len(refs):
                return None
            return {"ownerReferences": keep or None, "uid": identity.uid}
        await self._patch_metadata(identity, change)

    async def unblock_owner_references(self, identity: ObjectReference, owner_uids: set[str]) -> None:
        def change(obj: dict) -> dict | None:
            refs = obj["metadata"].get("ownerReferences") or []
            if not any(r.get("uid") in owner_uids and r.get("blockOwnerDeletion") for r in refs):
                return None
            out = [({**r, "blockOwnerDeletion": False} if r.get("uid") in owner_uids else r) for r in refs]
            return {"ownerReferences": out, "uid": identity.uid}
        await self._patch_metadata(identity, change)

    async def remove_finalizer(self, node: Node, finalizer: str) -> None:
        def change(obj: dict) -> dict | None:
            fins = obj["metadata"].get("finalizers") or []
            if finalizer not in fins:
                return None
            keep = [f for f in fins if f != finalizer]
            return {"finalizers": keep or None}
        await self._patch_metadata(node.identity, change)

    # -- events ----------------------------------------------------------------------------------
    def _report_invalid_namespace(self, node: Node, owner: ObjectReference) -> None:
        ref = next((r for r in node.owners if r.get("uid") == owner.uid), None)
        if ref is None:
            return
        invalid = ObjectReference.from_owner_ref(ref, node.identity.namespace)
        self.event(node.identity.as_event_object(), "Warning", "OwnerRefInvalidNamespace",
                   f'ownerRef {invalid} does not exist in namespace "{node.identity.namespace}"')

    # -- attempt to delete -----------------------------------------------------------------------
    async def process_attempt_to_delete(self, uid: str) -> bool:
        """Handle one queued node; True asks for a rate-limited retry."""
        node = self.graph.get(uid)
        if node is None:
            return False
        try:
            virtual_deleted = await self.attempt_to_delete_item(node)
        except NamespacedOwnerOfClusterScopedObject:
            return False
        if virtual_deleted:
            return False
        # A virtual node that exists but was not observed yet: look again later.
        return node.virtual

    async def attempt_to_delete_item(self, node: Node) -> bool:
        """Returns True when the node turned out not to exist (a virtual delete was processed)."""
        if node.being_deleted and not node.deleting_dependents:
            return False
        latest = await self.get_object(node.identity)
        if latest is None or latest["metadata"].get("uid") != node.uid:
            log.debug("%s not found: virtual delete", node.identity)
            self.graph.virtual_delete(node.identity)
            return True
        if node.deleting_dependents:
            await self.process_deleting_dependents_item(node)
            return False
        refs = latest["metadata"].get("ownerReferences") or []
        if not refs:
            return False
        solid, dangling, waiting = await self.classify_references(node, refs)
        log.debug("%s: solid owners %s, dangling %s, waiting for dependents %s", node.identity,
                  [r.get("uid") for r in solid], [r.get("uid") for r in dangling], [r.get("uid") for r in waiting])
        if solid:
            if not dangling and not waiting:
                return False
            await self.remove_owner_references(node.identity, {r.get("uid") for r in dangling + waiting})
            return False
        if waiting and node.dependents:
            for dep in list(node.dependents):
                if dep.deleting_dependents:
                    # A cycle (or a chain) of foreground deletions: stop blocking the owners.
                    await self.unblock_owner_references(node.identity, {r.get("uid") for r in waiting})
                    break
            await self.delete_object(node.identity, "Foreground")
            return False
        fins = latest["metadata"].get("finalizers") or []
        policy = "Orphan" if ORPHAN in fins else "Foreground" if FOREGROUND in fins else "Background"
        await self.delete_object(node.identity, policy)
        return False

    async def classify_references(self, node: Node, refs: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
        solid, dangling, waiting = [], [], []
        for ref in refs:
            is_dangling, owner = await self.is_dangling(ref, node)
            if is_dangling:
                dangling.append(ref)
            elif owner is not None and owner["metadata"].get("deletionTimestamp") and \
                    FOREGROUND in (owner["metadata"].get("finalizers") or []):
                waiting.append(ref)
            else:
                solid.append(ref)
        return solid, dangling, waiting

    async def is_dangling(self, ref: dict, node: Node) -> tuple[bool, dict | None]:
        coords = ObjectReference.from_owner_ref(ref, "")
        if coords in self.graph.absent_owner_cache:
            return True, None
        in_ns = ObjectReference.from_owner_ref(ref, node.identity.namespace)
        if in_ns in self.graph.absent_owner_cache:
            return True, None
        r = self.resource_for(ref.get("apiVersion", ""), ref.get("kind", ""))
        key = in_ns if r.namespaced else coords
        if r.namespaced and not node.identity.namespace:
            log.info("%s is cluster-scoped but refers to a namespaced owner of kind %s", node.identity,
                     ref.get("kind"))
            raise NamespacedOwnerOfClusterScopedObject(str(node.identity))
        try:
            owner = await self.client.get(r, ref.get("name", ""), node.identity.namespace if r.namespaced else None)
        except StatusError as e:
            if is_not_found(e):
                self.graph.absent_owner_cache.add(key)
                return True, None
            raise
        if owner["metadata"].get("uid") != ref.get("uid"):
            self.graph.absent_owner_cache.add(key)
            return True, None
        return False, owner

    async def process_deleting_dependents_item(self, node: Node) -> None:
        blocking = node.blocking_dependents()
        if not blocking:
            await self.remove_finalizer(node, FOREGROUND)
            return
        for dep in blocking:
            if not dep.deleting_dependents:
                self.queue.add(dep.uid)
            elif _waits_for(dep, node):
                # Foreground deletions waiting on each other (or an object owning itself) would
                # wait forever: the dependent stops blocking this owner.
                log.info("%s and %s wait for each other: unblocking", dep.identity, node.identity)
                await self.unblock_owner_references(dep.identity, {node.uid})

    # -- attempt to orphan -----------------------------------------------------------------------
    async def process_attempt_to_orphan(self, uid: str) -> bool:
        owner = self.graph.get(uid)
        if owner is None:
            return False
        deps = list(owner.dependents)
        results = await asyncio.gather(*(self.remove_owner_references(d.identity, {owner.uid}) for d in deps),
                                       return_exceptions=True)
        for res in results:
            if isinstance(res, BaseException):
                raise res
        await self.remove_finalizer(owner, ORPHAN)
        return False


def _waits_for(start: Node, target: Node) -> bool:
    """Whether `start`, being deleted in the foreground, (transitively) waits for `target`."""
    seen: set[int] = set()
    stack = [start]
    while stack:
        n = stack.pop()
        if n is target:
            return True
        if id(n) in seen:
            continue
        seen.add(id(n))
        stack.extend(d for d in n.blocking_dependents() if d.deleting_dependents)
    return False
