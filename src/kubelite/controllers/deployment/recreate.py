"""The Recreate strategy (Kubernetes' `recreate.go`): scale every old ReplicaSet to zero, wait
until no old pod runs, then scale the new ReplicaSet up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import util as du
from .progress import sync_rollout_status
from .sync import cleanup_deployment, get_all_replica_sets_and_sync_revision, scale_replica_set_and_record_event

if TYPE_CHECKING:
    from .controller import DeploymentController


async def rollout_recreate(dc: DeploymentController, d: dict, rs_list: list[dict],
                           pod_map: dict[str, list[dict]]) -> None:
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(dc, d, rs_list, False)
    all_rss = old_rss + [new_rs]
    if await scale_down_old_replica_sets_for_recreate(dc, du.filter_active_replica_sets(old_rss), d):
        await sync_rollout_status(dc, all_rss, new_rs, d)
        return
    if old_pods_running(new_rs, old_rss, pod_map):
        await sync_rollout_status(dc, all_rss, new_rs, d)
        return
    if new_rs is None:
        new_rs, old_rss = await get_all_replica_sets_and_sync_revision(dc, d, rs_list, True)
        all_rss = old_rss + [new_rs]
    await scale_replica_set_and_record_event(dc, new_rs, du.replicas(d), d)
    if du.deployment_complete(d, du.status(d)):
        await cleanup_deployment(dc, old_rss, d)
    await sync_rollout_status(dc, all_rss, new_rs, d)


async def scale_down_old_replica_sets_for_recreate(dc: DeploymentController, old_rss: list[dict], d: dict) -> bool:
    scaled = False
    for rs in old_rss:
        if du.replicas(rs) == 0:
            continue
        did, _ = await scale_replica_set_and_record_event(dc, rs, 0, d)
        scaled = scaled or did
    return scaled


def old_pods_running(new_rs: dict | None, old_rss: list[dict], pod_map: dict[str, list[dict]]) -> bool:
    if du.actual_replica_count(old_rss) > 0:
        return True
    new_uid = new_rs["metadata"].get("uid") if new_rs is not None else None
    for uid, pods in pod_map.items():
        if uid == new_uid:
            continue
        for pod in pods:
            if (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded"):
                continue
            return True
    return False
