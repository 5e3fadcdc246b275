"""Deployment sync steps shared by both strategies (Kubernetes' `sync.go`): finding or creating
the new ReplicaSet and keeping revisions in step, proportional scaling, history cleanup and
status.

Every function takes the controller (`dc`) and a deep copy of the Deployment (`d`) that it may
change; writes go through `dc` (which keeps `d`'s resourceVersion current).
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING

from kubelite.machinery.errors import StatusError, is_already_exists, is_not_found

from ..util.hashing import compute_hash
from ..util.ownerrefs import get_controller_of, is_namespace_terminating, new_controller_ref
from . import util as du

if TYPE_CHECKING:
    from .controller import DeploymentController

log = logging.getLogger(__name__)

SCALING_REPLICA_SET = "ScalingReplicaSet"


def _name(obj: dict) -> str:
    return obj["metadata"]["name"]


async def sync_status_only(dc: DeploymentController, d: dict, rs_list: list[dict]) -> None:
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(dc, d, rs_list, False)
    await sync_deployment_status(dc, old_rss + [new_rs], new_rs, d)


async def sync(dc: DeploymentController, d: dict, rs_list: list[dict]) -> None:
    """Reconcile a scaling event or a paused deployment: scale, clean up, write status."""
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(dc, d, rs_list, False)
    await scale(dc, d, new_rs, old_rss)
    if du.is_paused(d) and du.ROLLBACK_TO_ANNOTATION not in du.annotations(d):
        await cleanup_deployment(dc, old_rss, d)
    await sync_deployment_status(dc, old_rss + [new_rs], new_rs, d)


async def check_paused_conditions(dc: DeploymentController, d: dict) -> None:
    """Progressing Unknown DeploymentPaused/DeploymentResumed, so a long pause never times out."""
    if not du.has_progress_deadline(d):
        return
    st = d.setdefault("status", {})
    cond = du.get_condition(st, du.PROGRESSING)
    if cond is not None and cond.get("reason") == du.TIMED_OUT_REASON:
        return
    paused_cond = cond is not None and cond.get("reason") == du.PAUSED_DEPLOY_REASON
    if du.is_paused(d) and not paused_cond:
        du.set_condition(st, du.new_condition(du.PROGRESSING, "Unknown", du.PAUSED_DEPLOY_REASON,
                                              "Deployment is paused", dc.now()))
    elif not du.is_paused(d) and paused_cond:
        du.set_condition(st, du.new_condition(du.PROGRESSING, "Unknown", du.RESUMED_DEPLOY_REASON,
                                              "Deployment is resumed", dc.now()))
    else:
        return
    await dc.update_deployment_status(d)


async def get_all_replica_sets_and_sync_revision(dc: DeploymentController, d: dict, rs_list: list[dict],
                                                 create_if_not_existed: bool) -> tuple[dict | None, list[dict]]:
    _, all_old = du.find_old_replica_sets(d, rs_list)
    new_rs = await get_new_replica_set(dc, d, rs_list, all_old, create_if_not_existed)
    return new_rs, all_old


def _selector_with_hash(selector: dict | None, h: str) -> dict:
    sel = copy.deepcopy(selector or {})
    sel.setdefault("matchLabels", {})
    sel["matchLabels"] = {**(sel["matchLabels"] or {}), du.DEFAULT_UNIQUE_LABEL_KEY: h}
    return sel


async def get_new_replica_set(dc: DeploymentController, d: dict, rs_list: list[dict], old_rss: list[dict],
                              create_if_not_existed: bool) -> dict | None:
    """The ReplicaSet for the current template, its revision moved past every old one;
    created (with the replicas the strategy allows) when missing and asked to."""
    existing = du.find_new_replica_set(d, rs_list)
    new_revision = str(du.max_revision(old_rss) + 1)
    st = d.setdefault("status", {})

    if existing is not None:
        rs_copy = copy.deepcopy(existing)
        annotations_updated = du.set_new_replica_set_annotations(d, rs_copy, new_revision, True)
        min_ready_needs_update = du.min_ready_seconds(rs_copy) != du.min_ready_seconds(d)
        if annotations_updated or min_ready_needs_update:
            rs_copy["spec"]["minReadySeconds"] = du.min_ready_seconds(d)
            updated = await dc.write_replica_set(rs_copy)
            # Later steps of this sync read the list again: let them see the write.
            for i, rs in enumerate(rs_list):
                if rs["metadata"].get("uid") == updated["metadata"].get("uid"):
                    rs_list[i] = updated
            return updated
        needs_update = du.set_deployment_revision(d, du.annotations(rs_copy).get(du.REVISION_ANNOTATION, ""))
        if du.has_progress_deadline(d) and du.get_condition(st, du.PROGRESSING) is None:
            du.set_condition(st, du.new_condition(du.PROGRESSING, "True", du.FOUND_NEW_RS_REASON,
                                                  f'Found new replica set "{_name(rs_copy)}"', dc.now()))
            needs_update = True
        if needs_update:
            await dc.update_deployment_status(d)
        return rs_copy

    if not create_if_not_existed:
        return None

    template = copy.deepcopy(du.spec(d).get("template") or {})
    h = compute_hash(template, st.get("collisionCount"))
    tmd = template.setdefault("metadata", {})
    tmd["labels"] = {**(tmd.get("labels") or {}), du.DEFAULT_UNIQUE_LABEL_KEY: h}
    md = d["metadata"]
    new_rs = {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{md['name']}-{h}", "namespace": md["namespace"],
                     "ownerReferences": [new_controller_ref(d, "apps/v1", "Deployment")],
                     "labels": dict(tmd["labels"])},
        "spec": {"replicas": 0, "minReadySeconds": du.min_ready_seconds(d),
                 "selector": _selector_with_hash(du.spec(d).get("selector"), h), "template": template},
    }
    new_count = du.new_rs_new_replicas(d, old_rss + [new_rs], new_rs)
    new_rs["spec"]["replicas"] = new_count
    du.set_new_replica_set_annotations(d, new_rs, new_revision, False)

    already_exists = False
    try:
        created = await dc.client.create(dc.RS_RESOURCE, new_rs, md["namespace"])
    except StatusError as e:
        if is_already_exists(e):
            already_exists = True
            rs = dc.rs_lister.get(_name(new_rs), md["namespace"])
            ref = get_controller_of(rs)
            if ref is not None and ref.get("uid") == md["uid"] and \
                    du.equal_ignore_hash(du.spec(d).get("template") or {}, du.spec(rs).get("template") or {}):
                created = rs
            else:
                # A hash collision: bump collisionCount and try another name on the next sync.
                st["collisionCount"] = int(st.get("collisionCount") or 0) + 1
                try:
                    await dc.update_deployment_status(d)
                    log.info("found a hash collision for deployment %s/%s: collisionCount is now %d",
                             md["namespace"], md["name"], st["collisionCount"])
                except StatusError:
                    pass
                raise
        elif is_namespace_terminating(e):
            raise
        else:
            msg = f'Failed to create new replica set "{_name(new_rs)}": {e}'
            if du.has_progress_deadline(d):
                du.set_condition(st, du.new_condition(du.PROGRESSING, "False", du.FAILED_RS_CREATE_REASON, msg,
                                                      dc.now()))
                try:
                    await dc.update_deployment_status(d)
                except StatusError:
                    pass
            dc.event(d, "Warning", du.FAILED_RS_CREATE_REASON, msg)
            raise
    if not already_exists and new_count > 0:
        dc.event(d, "Normal", SCALING_REPLICA_SET, f"Scaled up replica set {_name(created)} from 0 to {new_count}")
    needs_update = du.set_deployment_revision(d, new_revision)
    if not already_exists and du.has_progress_deadline(d):
        du.set_condition(st, du.new_condition(du.PROGRESSING, "True", du.NEW_REPLICA_SET_REASON,
                                              f'Created new replica set "{_name(created)}"', dc.now()))
        needs_update = True
    if needs_update:
        await dc.update_deployment_status(d)
    return created


async def scale(dc: DeploymentController, d: dict, new_rs: dict | None, old_rss: list[dict]) -> None:
    """Scale for a changed `spec.replicas`: one active ReplicaSet takes it all; during a rollout
    the change is shared proportionally (larger ReplicaSets first; newer first when adding,
    older first when removing; leftovers to the first)."""
    active_or_latest = du.find_active_or_latest(new_rs, old_rss)
    if active_or_latest is not None:
        if du.replicas(active_or_latest) == du.replicas(d):
            return
        await scale_replica_set_and_record_event(dc, active_or_latest, du.replicas(d), d)
        return
    if du.is_saturated(d, new_rs):
        for old in du.filter_active_replica_sets(old_rss):
            await scale_replica_set_and_record_event(dc, old, 0, d)
        return
    if not du.is_rolling_update(d):
        return
    all_rss = du.filter_active_replica_sets(old_rss + [new_rs])
    all_replicas = du.replica_count(all_rss)
    allowed = du.replicas(d) + du.max_surge(d) if du.replicas(d) > 0 else 0
    to_add = allowed - all_replicas
    operation = ""
    if to_add > 0:
        all_rss = du.sort_by_size_newer(all_rss)
        operation = "up"
    elif to_add < 0:
        all_rss = du.sort_by_size_older(all_rss)
        operation = "down"
    added = 0
    sizes: dict[str, int] = {}
    for rs in all_rss:
        if to_add != 0:
            p = du.get_proportion(rs, d, to_add, added)
            sizes[_name(rs)] = du.replicas(rs) + p
            added += p
        else:
            sizes[_name(rs)] = du.replicas(rs)
    for i, rs in enumerate(all_rss):
        if i == 0 and to_add != 0:
            sizes[_name(rs)] = max(0, sizes[_name(rs)] + to_add - added)
        await scale_replica_set(dc, rs, sizes[_name(rs)], d, operation)


async def scale_replica_set_and_record_event(dc: DeploymentController, rs: dict, new_scale: int,
                                             d: dict) -> tuple[bool, dict]:
    if du.replicas(rs) == new_scale:
        return False, rs
    operation = "up" if du.replicas(rs) < new_scale else "down"
    return await scale_replica_set(dc, rs, new_scale, d, operation)


async def scale_replica_set(dc: DeploymentController, rs: dict, new_scale: int, d: dict,
                            operation: str) -> tuple[bool, dict]:
    size_needs_update = du.replicas(rs) != new_scale
    desired, max_replicas = du.replicas(d), du.replicas(d) + du.max_surge(d)
    if not size_needs_update and not du.replicas_annotations_need_update(rs, desired, max_replicas):
        return False, rs
    old_scale = du.replicas(rs)
    rs_copy = copy.deepcopy(rs)
    rs_copy.setdefault("spec", {})["replicas"] = new_scale
    du.set_replicas_annotations(rs_copy, desired, max_replicas)
    updated = await dc.write_replica_set(rs_copy)
    if size_needs_update:
        dc.event(d, "Normal", SCALING_REPLICA_SET,
                 f"Scaled {operation} replica set {_name(updated)} to {new_scale} from {old_scale}")
    return size_needs_update, updated


async def cleanup_deployment(dc: DeploymentController, old_rss: list[dict], d: dict) -> None:
    """Delete the oldest old ReplicaSets beyond revisionHistoryLimit (only empty, settled ones)."""
    limit = du.revision_history_limit(d)
    if limit is None:
        return
    cleanable = [rs for rs in old_rss if rs is not None and not rs["metadata"].get("deletionTimestamp")]
    diff = len(cleanable) - limit
    if diff <= 0:
        return
    for rs in du.sort_by_revision(cleanable)[:diff]:
        md = rs["metadata"]
        if du.status_int(rs, "replicas") != 0 or du.replicas(rs) != 0 or md.get("deletionTimestamp") or \
                int(md.get("generation") or 0) > du.status_int(rs, "observedGeneration"):
            continue
        log.debug("deleting old replica set %s/%s", md["namespace"], md["name"])
        try:
            await dc.client.delete(dc.RS_RESOURCE, md["name"], md["namespace"])
        except StatusError as e:
            if not is_not_found(e):
                raise


def calculate_status(dc: DeploymentController, all_rss: list[dict | None], new_rs: dict | None, d: dict) -> dict:
    available = du.available_replica_count(all_rss)
    total = du.replica_count(all_rss)
    st: dict = {
        "observedGeneration": d["metadata"].get("generation"),
        "replicas": du.actual_replica_count(all_rss),
        "updatedReplicas": du.actual_replica_count([new_rs]),
        "readyReplicas": du.ready_replica_count(all_rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, total - available),
    }
    st = du.normalized_status(st)
    old = du.status(d)
    if old.get("collisionCount") is not None:
        st["collisionCount"] = old["collisionCount"]
    if old.get("conditions"):
        st["conditions"] = copy.deepcopy(old["conditions"])
    if available >= du.replicas(d) - du.max_unavailable(d):
        cond = du.new_condition(du.AVAILABLE, "True", du.MINIMUM_REPLICAS_AVAILABLE,
                                "Deployment has minimum availability.", dc.now())
    else:
        cond = du.new_condition(du.AVAILABLE, "False", du.MINIMUM_REPLICAS_UNAVAILABLE,
                                "Deployment does not have minimum availability.", dc.now())
    du.set_condition(st, cond)
    return st


def same_status(a: dict, b: dict) -> bool:
    def norm(s: dict) -> dict:
        out = du.normalized_status(s)
        if s.get("collisionCount") is not None:
            out["collisionCount"] = s["collisionCount"]
        return out
    return norm(a) == norm(b)


async def sync_deployment_status(dc: DeploymentController, all_rss: list[dict | None], new_rs: dict | None,
                                 d: dict) -> None:
    new_status = calculate_status(dc, all_rss, new_rs, d)
    if same_status(du.status(d), new_status):
        return
    d["status"] = new_status
    await dc.update_deployment_status(d)


async def is_scaling_event(dc: DeploymentController, d: dict, rs_list: list[dict]) -> bool:
    """Whether spec.replicas changed since the active ReplicaSets were last sized."""
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(dc, d, rs_list, False)
    for rs in du.filter_active_replica_sets(old_rss + [new_rs]):
        desired = du.desired_replicas_annotation(rs)
        if desired is None:
            continue
        if desired != du.replicas(d):
            return True
    return False
