"""`StatefulSetController`: stable, ordered pods `<set>-0 .. <set>-N-1`.

A sync (`sync_statefulset(key)`): claim the set's pods (selector and name), find the current and
update ControllerRevisions, make one pass of `control.update_statefulset`, then write the status
(replica counts, `currentRevision`, `updateRevision`, `collisionCount`, `observedGeneration`)
through `/status` and prune revisions beyond `revisionHistoryLimit`. When a RollingUpdate is
complete (every replica updated and ready) the update revision becomes the current one.
"""

from __future__ import annotations

import logging

from kubelite.client import split_meta_namespace_key
from kubelite.client.informers import meta_namespace_key
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.errors import StatusError, is_conflict, is_not_found, new_conflict

from ..util.history import delete_revision
from ..util.ownerrefs import get_controller_of, resolve_controller_ref
from ..util.pods import is_terminating
from ..util.ref_manager import ControllerRefManager, selector_of
from . import control, history
from . import identity as ident

log = logging.getLogger(__name__)

API_VERSION, KIND = "apps/v1", "StatefulSet"


def complete_rolling_update(sts: dict, status: dict) -> None:
    type_, _ = control.strategy(sts)
    if type_ == "RollingUpdate" and status["updatedReplicas"] == status["replicas"] \
            and status["readyReplicas"] == status["replicas"]:
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = status["updateRevision"]


class StatefulSetController(Controller):
    name = "statefulset-controller"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        inf = ctx.informers
        self.statefulsets = inf.informer_for("statefulsets.apps")
        self.pods = inf.informer_for("pods")
        self.revisions = inf.informer_for("controllerrevisions.apps")
        self.sts_lister = self.statefulsets.lister()
        self.pod_lister = self.pods.lister()
        self.revision_lister = self.revisions.lister()
        self.pod_control: control.StatefulPodControl = control.RealStatefulPodControl(self.client, self.event)
        self.statefulsets.add_event_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pods.add_event_handler(self.add_pod, self.update_pod, self.enqueue_owner)
        self.revisions.add_event_handler(self.enqueue_owner, lambda old, new: self.enqueue_owner(new),
                                         self.enqueue_owner)

    # ----- handlers

    def _owner_key(self, obj: dict) -> str | None:
        ref = get_controller_of(obj)
        sts = resolve_controller_ref(self.sts_lister, obj["metadata"].get("namespace", ""), ref, KIND) if ref else None
        return meta_namespace_key(sts) if sts is not None else None

    def enqueue_owner(self, obj: dict) -> None:
        if (key := self._owner_key(obj)) is not None:
            self.enqueue(key)

    def _enqueue_selecting(self, pod: dict) -> None:
        md = pod["metadata"]
        for sts in self.sts_lister.list(md.get("namespace")):
            if selector_of(sts).matches(md.get("labels")) and ident.is_member_of(sts, pod):
                self.enqueue(sts)

    def add_pod(self, pod: dict) -> None:
        if get_controller_of(pod) is None:
            self._enqueue_selecting(pod)
        else:
            self.enqueue_owner(pod)

    def update_pod(self, old: dict, new: dict) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        old_key, new_key = self._owner_key(old), self._owner_key(new)
        if old_key is not None and old_key != new_key:
            self.enqueue(old_key)
        if new_key is not None:
            self.enqueue(new_key)
        elif get_controller_of(new) is None:
            self._enqueue_selecting(new)

    # ----- sync

    async def sync(self, key: str) -> None:
        await self.sync_statefulset(key)

    async def _can_adopt(self, sts: dict) -> None:
        md = sts["metadata"]
        fresh = await self.client.get("statefulsets.apps", md["name"], md["namespace"])
        if fresh["metadata"].get("uid") != md["uid"] or is_terminating(fresh):
            raise new_conflict("apps", "statefulsets", md["name"], "the StatefulSet is gone or being deleted and "
                                                                 "cannot adopt pods")

    async def sync_statefulset(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        try:
            sts = self.sts_lister.get(name, ns)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        selector = selector_of(sts)
        if selector.empty():
            return
        manager = ControllerRefManager(sts, selector, API_VERSION, KIND, lambda: self._can_adopt(sts), self._patch_pod)
        pods = await manager.claim(self.pod_lister.list(ns), (lambda pod: ident.is_member_of(sts, pod),))
        uid = sts["metadata"]["uid"]
        revisions = [r for r in self.revision_lister.list(ns) if (get_controller_of(r) or {}).get("uid") == uid]
        current, update_rev, collision_count = await history.revisions_for_update(self.client, sts, revisions)
        counts = await control.update_statefulset(sts, current, update_rev, pods, self.pod_control, self.event,
                                                  self.clock.now())
        status = {**(sts.get("status") or {}), **counts,
                  "observedGeneration": sts["metadata"].get("generation", 0),
                  "currentRevision": current["metadata"]["name"], "updateRevision": update_rev["metadata"]["name"],
                  "collisionCount": collision_count}
        complete_rolling_update(sts, status)
        await self.update_status(sts, status)
        min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and status["readyReplicas"] != status["availableReplicas"]:
            self.enqueue_after(key, min_ready)
        live = {current["metadata"]["name"], update_rev["metadata"]["name"]} | {ident.revision_of(p) for p in pods}
        limit = (sts.get("spec") or {}).get("revisionHistoryLimit")
        for r in history.revisions_to_prune(revisions, live, 10 if limit is None else int(limit)):
            await delete_revision(self.client, r)

    async def _patch_pod(self, pod: dict, patch: dict) -> dict:
        md = pod["metadata"]
        return await self.client.patch("pods", md["name"], patch, md["namespace"])

    async def update_status(self, sts: dict, status: dict) -> None:
        if status == (sts.get("status") or {}):
            return
        try:
            await self.client.update_status("statefulsets.apps", {**sts, "status": status})
        except StatusError as e:
            if not is_conflict(e):
                raise
            md = sts["metadata"]
            fresh = await self.client.get("statefulsets.apps", md["name"], md["namespace"])
            await self.client.update_status("statefulsets.apps", {**fresh, "status": status})
