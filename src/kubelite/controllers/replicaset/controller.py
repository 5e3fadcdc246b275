"""`ReplicaSetController`: create and delete pods until each ReplicaSet has `spec.replicas`.

The sync of one ReplicaSet (`sync_replica_set`), as Kubernetes does it:

1. Read it from the cache; gone means forget its expectations.
2. List the namespace's active pods and claim them (adopt matching orphans, release owned
   pods that stopped matching).
3. If its expectations are satisfied and it is not being deleted, `manage_replicas`: create
   the missing pods in slow-start batches (1, 2, 4, ...; at most `BURST_REPLICAS` per sync) or
   delete the surplus, the cheapest pods first (`util.ranking`). Expectations are raised before
   acting, so the next sync waits until the informer has seen the result.
4. Write the status through `/status` (replicas, fullyLabeledReplicas, readyReplicas,
   availableReplicas, observedGeneration, ReplicaFailure) when it changed; with
   minReadySeconds, come back when the ready pods become available.
"""

from __future__ import annotations

import asyncio
import copy
import logging

from kubelite.client import meta_namespace_key, split_meta_namespace_key
from kubelite.machinery import labels
from kubelite.machinery.errors import StatusError, StatusReason, is_not_found

from ..base import Controller, ControllerContext
from ..util.batch import SLOW_START_INITIAL_BATCH_SIZE, slow_start_batch
from ..util.expectations import UIDTrackingControllerExpectations
from ..util.ownerrefs import get_controller_of, is_namespace_terminating, new_controller_ref, resolve_controller_ref
from ..util.pod_control import PodControl, RealPodControl
from ..util.pods import filter_active_pods, is_pod_ready, pod_key
from ..util.ranking import get_pods_to_delete
from ..util.ref_manager import ControllerRefManager, recheck_deletion_timestamp
from .status import calculate_status, replicas_of, status_unchanged

log = logging.getLogger(__name__)

BURST_REPLICAS = 500
STATUS_UPDATE_RETRIES = 1
API_VERSION, KIND = "apps/v1", "ReplicaSet"
RESOURCE = "replicasets.apps"


def _selector(rs: dict) -> labels.Selector:
    return labels.selector_from_label_selector((rs.get("spec") or {}).get("selector"))


class ReplicaSetController(Controller):
    name = "replicaset-controller"
    workers = 5

    def __init__(self, ctx: ControllerContext, *, pod_control: PodControl | None = None,
                 burst_replicas: int = BURST_REPLICAS) -> None:
        super().__init__(ctx)
        self.burst_replicas = burst_replicas
        self.expectations = UIDTrackingControllerExpectations(ctx.clock)
        self.pod_control = pod_control or RealPodControl(self.client, self.recorder)
        self.rs_informer = ctx.informers.informer_for(RESOURCE)
        self.pod_informer = ctx.informers.informer_for("pods")
        self.rs_lister = self.rs_informer.lister()
        self.pod_lister = self.pod_informer.lister()
        self.rs_informer.add_event_handler(self.add_replica_set, self.update_replica_set, self.delete_replica_set)
        self.pod_informer.add_event_handler(self.add_pod, self.update_pod, self.delete_pod)

    # -- handlers ---------------------------------------------------------------------------
    def enqueue_replica_set(self, rs: dict) -> None:
        self.enqueue(rs)

    def add_replica_set(self, rs: dict) -> None:
        self.enqueue_replica_set(rs)

    def update_replica_set(self, old: dict, cur: dict) -> None:
        if old["metadata"].get("uid") != cur["metadata"].get("uid"):
            self.delete_replica_set(old)
        self.enqueue_replica_set(cur)

    def delete_replica_set(self, rs: dict) -> None:
        key = meta_namespace_key(rs)
        self.expectations.delete_expectations(key)
        self.queue.add(key)

    def resolve_controller_ref(self, namespace: str, ref: dict) -> dict | None:
        return resolve_controller_ref(self.rs_lister, namespace, ref, KIND, "apps")

    def get_pod_replica_sets(self, pod: dict) -> list[dict]:
        md = pod.get("metadata") or {}
        out = []
        for rs in self.rs_lister.list(md.get("namespace")):
            try:
                sel = _selector(rs)
            except labels.SelectorError:
                continue
            if sel.empty() or not sel.matches(md.get("labels")):
                continue
            out.append(rs)
        return out

    def add_pod(self, pod: dict) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            # Restarted controller: a pod already being deleted counts as a deletion.
            self.delete_pod(pod)
            return
        ref = get_controller_of(pod)
        if ref is not None:
            rs = self.resolve_controller_ref(pod["metadata"].get("namespace", ""), ref)
            if rs is None:
                return
            key = meta_namespace_key(rs)
            self.expectations.creation_observed(key)
            self.queue.add(key)
            return
        for rs in self.get_pod_replica_sets(pod):
            self.enqueue_replica_set(rs)

    def update_pod(self, old: dict, cur: dict) -> None:
        if old["metadata"].get("resourceVersion") == cur["metadata"].get("resourceVersion"):
            return
        label_changed = old["metadata"].get("labels") != cur["metadata"].get("labels")
        if cur["metadata"].get("deletionTimestamp"):
            # A graceful delete: replace the pod now rather than when the kubelet is done.
            self.delete_pod(cur)
            if label_changed:
                self.delete_pod(old)
            return
        cur_ref, old_ref = get_controller_of(cur), get_controller_of(old)
        ref_changed = cur_ref != old_ref
        ns = cur["metadata"].get("namespace", "")
        if ref_changed and old_ref is not None:
            rs = self.resolve_controller_ref(ns, old_ref)
            if rs is not None:
                self.enqueue_replica_set(rs)
        if cur_ref is not None:
            rs = self.resolve_controller_ref(ns, cur_ref)
            if rs is None:
                return
            self.enqueue_replica_set(rs)
            min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
            if not is_pod_ready(old) and is_pod_ready(cur) and min_ready > 0:
                self.enqueue_after(rs, min_ready + 1)
            return
        if label_changed or ref_changed:
            for rs in self.get_pod_replica_sets(cur):
                self.enqueue_replica_set(rs)

    def delete_pod(self, pod: dict) -> None:
        ref = get_controller_of(pod)
        if ref is None:
            return
        rs = self.resolve_controller_ref(pod["metadata"].get("namespace", ""), ref)
        if rs is None:
            return
        key = meta_namespace_key(rs)
        self.expectations.deletion_observed(key, pod_key(pod))
        self.queue.add(key)

    # -- sync -------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        await self.sync_replica_set(key)

    async def sync_replica_set(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        try:
            cached = self.rs_lister.get(name, namespace)
        except StatusError as e:
            if is_not_found(e):
                log.debug("replica set %s has been deleted", key)
                self.expectations.delete_expectations(key)
                return
            raise
        needs_sync = self.expectations.satisfied_expectations(key)
        try:
            selector = _selector(cached)
        except labels.SelectorError as e:
            log.error("replica set %s has an invalid selector: %s", key, e)
            return
        pods = filter_active_pods(self.pod_lister.list(namespace))
        pods = await self.claim_pods(cached, selector, pods)

        manage_error: StatusError | None = None
        if needs_sync and not cached["metadata"].get("deletionTimestamp"):
            try:
                await self.manage_replicas(pods, cached)
            except StatusError as e:
                manage_error = e
        rs = copy.deepcopy(cached)
        new_status = calculate_status(rs, pods, manage_error, self.clock.now())
        updated = await self.update_replica_set_status(rs, new_status)
        spec = updated.get("spec") or {}
        status = updated.get("status") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        if manage_error is None and min_ready > 0 and int(status.get("readyReplicas") or 0) == replicas_of(updated) \
                and int(status.get("availableReplicas") or 0) != replicas_of(updated):
            self.enqueue_after(key, min_ready)
        if manage_error is not None:
            raise manage_error

    async def claim_pods(self, rs: dict, selector: labels.Selector, pods: list[dict]) -> list[dict]:
        md = rs["metadata"]

        async def fresh() -> dict:
            obj = await self.client.get(RESOURCE, md["name"], md["namespace"])
            if obj["metadata"].get("uid") != md["uid"]:
                raise StatusError(409, StatusReason.CONFLICT, f"original {KIND} {md['namespace']}/{md['name']} is gone: "
                                  f"got uid {obj['metadata'].get('uid')}, wanted {md['uid']}")
            return obj

        async def patch(pod: dict, body: dict) -> dict:
            return await self.pod_control.patch_pod(pod["metadata"]["namespace"], pod["metadata"]["name"], body)

        cm = ControllerRefManager(rs, selector, API_VERSION, KIND, recheck_deletion_timestamp(fresh), patch)
        return await cm.claim(pods)

    def get_indirectly_related_pods(self, rs: dict) -> list[dict]:
        """Active and inactive pods of every ReplicaSet with the same controller (for ranking)."""
        ref = get_controller_of(rs)
        if ref is None:
            siblings = [rs]
        else:
            siblings = [o for o in self.rs_lister.list(rs["metadata"].get("namespace"))
                        if (get_controller_of(o) or {}).get("uid") == ref.get("uid")]
        seen: set[str] = set()
        related: list[dict] = []
        for sib in siblings:
            try:
                sel = _selector(sib)
            except labels.SelectorError:
                continue
            for pod in self.pod_lister.list(sib["metadata"].get("namespace"), sel):
                uid = pod["metadata"].get("uid", "")
                if uid in seen:
                    continue
                seen.add(uid)
                related.append(pod)
        return related

    async def manage_replicas(self, pods: list[dict], rs: dict) -> None:
        key = meta_namespace_key(rs)
        diff = len(pods) - replicas_of(rs)
        if diff < 0:
            diff = min(-diff, self.burst_replicas)
            self.expectations.expect_creations(key, diff)
            log.debug("too few replicas for %s: need %d, creating %d", key, replicas_of(rs), diff)
            template = (rs.get("spec") or {}).get("template") or {}
            ref = new_controller_ref(rs, API_VERSION, KIND)

            async def create() -> None:
                try:
                    await self.pod_control.create_pods(rs["metadata"]["namespace"], template, rs, ref)
                except StatusError as e:
                    if is_namespace_terminating(e):
                        return
                    raise

            created, err = await slow_start_batch(diff, SLOW_START_INITIAL_BATCH_SIZE, create)
            skipped = diff - created
            if skipped > 0:
                log.debug("slow-start failure for %s: skipping %d creations", key, skipped)
                for _ in range(skipped):
                    self.expectations.creation_observed(key)
            if err is not None:
                raise err
        elif diff > 0:
            diff = min(diff, self.burst_replicas)
            log.debug("too many replicas for %s: need %d, deleting %d", key, replicas_of(rs), diff)
            related = self.get_indirectly_related_pods(rs)
            victims = get_pods_to_delete(pods, related, diff, self.clock.now())
            self.expectations.expect_deletions(key, [pod_key(p) for p in victims])

            async def delete(pod: dict) -> None:
                try:
                    await self.pod_control.delete_pod(pod["metadata"]["namespace"], pod["metadata"]["name"], rs)
                except StatusError as e:
                    self.expectations.deletion_observed(key, pod_key(pod))
                    if not is_not_found(e):
                        raise

            results = await asyncio.gather(*(delete(p) for p in victims), return_exceptions=True)
            for r in results:
                if isinstance(r, asyncio.CancelledError):
                    raise r
            errs = [r for r in results if isinstance(r, BaseException)]
            if errs:
                raise errs[0]

    async def update_replica_set_status(self, rs: dict, new_status: dict) -> dict:
        if status_unchanged(rs, new_status):
            return rs
        generation = rs["metadata"].get("generation")
        if generation:
            new_status["observedGeneration"] = generation
        attempt = 0
        while True:
            rs["status"] = new_status
            try:
                return await self.client.update_status(RESOURCE, rs)
            except StatusError:
                if attempt >= STATUS_UPDATE_RETRIES:
                    raise
            attempt += 1
            rs = await self.client.get(RESOURCE, rs["metadata"]["name"], rs["metadata"]["namespace"])
