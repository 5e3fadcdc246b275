"""The RollingUpdate strategy (Kubernetes' `rolling.go`): grow the new ReplicaSet up to
replicas + maxSurge pods in total, shrink old ones while at least replicas - maxUnavailable
stay available, unhealthy old pods first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import util as du
from .progress import sync_rollout_status
from .sync import cleanup_deployment, get_all_replica_sets_and_sync_revision, scale_replica_set_and_record_event

if TYPE_CHECKING:
    from .controller import DeploymentController


async def rollout_rolling(dc: DeploymentController, d: dict, rs_list: list[dict]) -> None:
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(dc, d, rs_list, True)
    all_rss = old_rss + [new_rs]
    if await reconcile_new_replica_set(dc, all_rss, new_rs, d):
        await sync_rollout_status(dc, all_rss, new_rs, d)
        return
    if await reconcile_old_replica_sets(dc, all_rss, du.filter_active_replica_sets(old_rss), new_rs, d):
        await sync_rollout_status(dc, all_rss, new_rs, d)
        return
    if du.deployment_complete(d, du.status(d)):
        await cleanup_deployment(dc, old_rss, d)
    await sync_rollout_status(dc, all_rss, new_rs, d)


async def reconcile_new_replica_set(dc: DeploymentController, all_rss: list[dict], new_rs: dict,
                                    d: dict) -> bool:
    if du.replicas(new_rs) == du.replicas(d):
        return False
    if du.replicas(new_rs) > du.replicas(d):
        scaled, _ = await scale_replica_set_and_record_event(dc, new_rs, du.replicas(d), d)
        return scaled
    count = du.new_rs_new_replicas(d, all_rss, new_rs)
    scaled, _ = await scale_replica_set_and_record_event(dc, new_rs, count, d)
    return scaled


async def reconcile_old_replica_sets(dc: DeploymentController, all_rss: list[dict], old_rss: list[dict],
                                     new_rs: dict, d: dict) -> bool:
    if du.replica_count(old_rss) == 0:
        return False
    all_pods = du.replica_count(all_rss)
    min_available = du.replicas(d) - du.max_unavailable(d)
    new_unavailable = du.replicas(new_rs) - du.status_int(new_rs, "availableReplicas")
    max_scaled_down = all_pods - min_available - new_unavailable
    if max_scaled_down <= 0:
        return False
    old_rss, cleaned = await cleanup_unhealthy_replicas(dc, old_rss, d, max_scaled_down)
    scaled_down = await scale_down_old_replica_sets_for_rolling_update(dc, old_rss + [new_rs], old_rss, d)
    return cleaned + scaled_down > 0


async def cleanup_unhealthy_replicas(dc: DeploymentController, old_rss: list[dict], d: dict,
                                     max_cleanup: int) -> tuple[list[dict], int]:
    """Scale old ReplicaSets down by their unavailable pods, oldest first, at most `max_cleanup`."""
    old_rss = du.sort_by_creation(old_rss)
    total = 0
    for i, rs in enumerate(old_rss):
        if total >= max_cleanup:
            break
        if du.replicas(rs) == 0:
            continue
        # No unhealthy pods. (A status not yet caught up with a scale-down can report more
        # available pods than wanted; Kubernetes fails the sync then, the next one does this.)
        if du.replicas(rs) <= du.status_int(rs, "availableReplicas"):
            continue
        count = min(max_cleanup - total, du.replicas(rs) - du.status_int(rs, "availableReplicas"))
        new_count = du.replicas(rs) - count
        _, old_rss[i] = await scale_replica_set_and_record_event(dc, rs, new_count, d)
        total += count
    return old_rss, total


async def scale_down_old_replica_sets_for_rolling_update(dc: DeploymentController, all_rss: list[dict],
                                                         old_rss: list[dict], d: dict) -> int:
    min_available = du.replicas(d) - du.max_unavailable(d)
    # A ReplicaSet just scaled down may still report the pods it is deleting as available:
    # count at most spec.replicas of each (Kubernetes sums status.availableReplicas).
    available = sum(min(du.status_int(rs, "availableReplicas"), du.replicas(rs)) for rs in all_rss if rs is not None)
    if available <= min_available:
        return 0
    total_to_scale_down = available - min_available
    total = 0
    for rs in du.sort_by_creation(old_rss):
        if total >= total_to_scale_down:
            break
        if du.replicas(rs) == 0:
            continue
        count = min(du.replicas(rs), total_to_scale_down - total)
        await scale_replica_set_and_record_event(dc, rs, du.replicas(rs) - count, d)
        total += count
    return total
