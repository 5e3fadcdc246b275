"""`DeploymentController`: rolls Deployments out through ReplicaSets (Kubernetes'
`deployment_controller.go`).

`sync_deployment(key)`, in Kubernetes' order:

1. Read the Deployment from the cache (gone: nothing to do) and deep-copy it.
2. An empty selector selects everything: warn (`SelectingAll`) and do nothing else.
3. Claim its ReplicaSets (adopt matching orphans, release the ones that stopped matching) and
   group its pods by ReplicaSet.
4. Being deleted: only update the status.
5. Record pause/resume in the Progressing condition.
6. Paused, or `spec.replicas` changed (a scaling event): `sync.sync` scales (proportionally
   during a rollout) without rolling.
7. Otherwise roll out with the strategy: `recreate.rollout_recreate` or
   `rolling.rollout_rolling`.

Events are recorded on the Deployment (`ScalingReplicaSet`, `ReplicaSetCreateError`,
`SelectingAll`) by the `deployment-controller`.
"""

from __future__ import annotations

import copy
import logging

from kubelite.client import split_meta_namespace_key
from kubelite.machinery import labels
from kubelite.machinery.errors import StatusError, StatusReason, is_not_found

from ..base import Controller, ControllerContext
from ..util.ownerrefs import get_controller_of, resolve_controller_ref
from ..util.ref_manager import ControllerRefManager, recheck_deletion_timestamp
from . import util as du
from .recreate import rollout_recreate
from .rolling import rollout_rolling
from .sync import check_paused_conditions, is_scaling_event, sync, sync_status_only

log = logging.getLogger(__name__)

API_VERSION, KIND = "apps/v1", "Deployment"


class DeploymentController(Controller):
    name = "deployment-controller"
    workers = 5
    RESOURCE = "deployments.apps"
    RS_RESOURCE = "replicasets.apps"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.d_informer = ctx.informers.informer_for(self.RESOURCE)
        self.rs_informer = ctx.informers.informer_for(self.RS_RESOURCE)
        self.pod_informer = ctx.informers.informer_for("pods")
        self.d_lister = self.d_informer.lister()
        self.rs_lister = self.rs_informer.lister()
        self.pod_lister = self.pod_informer.lister()
        self.d_informer.add_event_handler(self.add_deployment, self.update_deployment, self.delete_deployment)
        self.rs_informer.add_event_handler(self.add_replica_set, self.update_replica_set, self.delete_replica_set)
        self.pod_informer.add_event_handler(on_delete=self.delete_pod)

    def now(self):
        return self.clock.now()

    # -- writes (keep the deployment copy's resourceVersion current) -----------------------------
    async def update_deployment_status(self, d: dict) -> dict:
        out = await self.client.update_status(self.RESOURCE, d)
        d["metadata"]["resourceVersion"] = out["metadata"]["resourceVersion"]
        want = du.annotations(d).get(du.REVISION_ANNOTATION)
        if want is not None and du.annotations(out).get(du.REVISION_ANNOTATION) != want:
            # Kubernetes lets a status write carry this annotation; write it explicitly in case
            # the server keeps only .status.
            out = await self.client.patch(
                self.RESOURCE, d["metadata"]["name"],
                {"metadata": {"annotations": {du.REVISION_ANNOTATION: want},
                              "resourceVersion": d["metadata"]["resourceVersion"]}},
                d["metadata"]["namespace"], patch_type="merge")
            d["metadata"]["resourceVersion"] = out["metadata"]["resourceVersion"]
        return out

    async def write_replica_set(self, rs: dict) -> dict:
        return await self.client.update(self.RS_RESOURCE, rs)

    # -- handlers ---------------------------------------------------------------------------------
    def add_deployment(self, d: dict) -> None:
        self.enqueue(d)

    def update_deployment(self, old: dict, cur: dict) -> None:
        self.enqueue(cur)

    def delete_deployment(self, d: dict) -> None:
        self.enqueue(d)

    def resolve_controller_ref(self, namespace: str, ref: dict) -> dict | None:
        return resolve_controller_ref(self.d_lister, namespace, ref, KIND, "apps")

    def get_deployments_for_replica_set(self, rs: dict) -> list[dict]:
        md = rs.get("metadata") or {}
        out = []
        for d in self.d_lister.list(md.get("namespace")):
            try:
                sel = labels.selector_from_label_selector(du.spec(d).get("selector"))
            except labels.SelectorError:
                continue
            if sel.empty() or not sel.matches(md.get("labels")):
                continue
            out.append(d)
        return out

    def add_replica_set(self, rs: dict) -> None:
        if rs["metadata"].get("deletionTimestamp"):
            self.delete_replica_set(rs)
            return
        ref = get_controller_of(rs)
        if ref is not None:
            d = self.resolve_controller_ref(rs["metadata"].get("namespace", ""), ref)
            if d is not None:
                self.enqueue(d)
            return
        for d in self.get_deployments_for_replica_set(rs):
            self.enqueue(d)

    def update_replica_set(self, old: dict, cur: dict) -> None:
        if old["metadata"].get("resourceVersion") == cur["metadata"].get("resourceVersion"):
            return
        cur_ref, old_ref = get_controller_of(cur), get_controller_of(old)
        ref_changed = cur_ref != old_ref
        ns = cur["metadata"].get("namespace", "")
        if ref_changed and old_ref is not None:
            d = self.resolve_controller_ref(ns, old_ref)
            if d is not None:
                self.enqueue(d)
        if cur_ref is not None:
            d = self.resolve_controller_ref(ns, cur_ref)
            if d is not None:
                self.enqueue(d)
            return
        if ref_changed or old["metadata"].get("labels") != cur["metadata"].get("labels"):
            for d in self.get_deployments_for_replica_set(cur):
                self.enqueue(d)

    def delete_replica_set(self, rs: dict) -> None:
        ref = get_controller_of(rs)
        if ref is None:
            return
        d = self.resolve_controller_ref(rs["metadata"].get("namespace", ""), ref)
        if d is not None:
            self.enqueue(d)

    def delete_pod(self, pod: dict) -> None:
        """A Recreate rollout waits for old pods to be gone: look again when one goes."""
        ns = pod["metadata"].get("namespace", "")
        ref = get_controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        try:
            rs = self.rs_lister.get(ref.get("name", ""), ns)
        except StatusError:
            return
        if rs["metadata"].get("uid") != ref.get("uid"):
            return
        rs_ref = get_controller_of(rs)
        d = self.resolve_controller_ref(ns, rs_ref) if rs_ref is not None else None
        if d is not None and du.strategy_type(d) == du.RECREATE:
            self.enqueue(d)

    # -- sync ------------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        await self.sync_deployment(key)

    async def get_replica_sets_for_deployment(self, d: dict) -> list[dict]:
        md = d["metadata"]
        rs_list = self.rs_lister.list(md["namespace"])
        selector = labels.selector_from_label_selector(du.spec(d).get("selector"))

        async def fresh() -> dict:
            obj = await self.client.get(self.RESOURCE, md["name"], md["namespace"])
            if obj["metadata"].get("uid") != md["uid"]:
                raise StatusError(409, StatusReason.CONFLICT, f"original Deployment {md['namespace']}/{md['name']} "
                                  f"is gone: got uid {obj['metadata'].get('uid')}, wanted {md['uid']}")
            return obj

        async def patch(rs: dict, body: dict) -> dict:
            return await self.client.patch(self.RS_RESOURCE, rs["metadata"]["name"], body, rs["metadata"]["namespace"],
                                    patch_type="merge")

        cm = ControllerRefManager(d, selector, API_VERSION, KIND, recheck_deletion_timestamp(fresh), patch,
                                  object_kind="ReplicaSet")
        return await cm.claim(rs_list)

    def get_pod_map_for_deployment(self, d: dict, rs_list: list[dict]) -> dict[str, list[dict]]:
        selector = labels.selector_from_label_selector(du.spec(d).get("selector"))
        pod_map: dict[str, list[dict]] = {rs["metadata"]["uid"]: [] for rs in rs_list}
        for pod in self.pod_lister.list(d["metadata"]["namespace"], selector):
            ref = get_controller_of(pod)
            if ref is not None and ref.get("uid") in pod_map:
                pod_map[ref["uid"]].append(pod)
        return pod_map

    async def sync_deployment(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        try:
            cached = self.d_lister.get(name, namespace)
        except StatusError as e:
            if is_not_found(e):
                log.debug("deployment %s has been deleted", key)
                return
            raise
        d = copy.deepcopy(cached)
        if du.spec(d).get("selector") == {}:
            self.event(d, "Warning", "SelectingAll",
                       "This deployment is selecting all pods. A non-empty selector is required.")
            gen = int(d["metadata"].get("generation") or 0)
            if du.status_int(d, "observedGeneration") < gen:
                d.setdefault("status", {})["observedGeneration"] = gen
                await self.update_deployment_status(d)
            return
        rs_list = await self.get_replica_sets_for_deployment(d)
        pod_map = self.get_pod_map_for_deployment(d, rs_list)
        if d["metadata"].get("deletionTimestamp"):
            await sync_status_only(self, d, rs_list)
            return
        await check_paused_conditions(self, d)
        if du.is_paused(d):
            await sync(self, d, rs_list)
            return
        if await is_scaling_event(self, d, rs_list):
            await sync(self, d, rs_list)
            return
        strategy = du.strategy_type(d)
        if strategy == du.RECREATE:
            await rollout_recreate(self, d, rs_list, pod_map)
        elif strategy == du.ROLLING_UPDATE:
            await rollout_rolling(self, d, rs_list)
        else:
            raise ValueError(f"unexpected deployment strategy type: {strategy}")
