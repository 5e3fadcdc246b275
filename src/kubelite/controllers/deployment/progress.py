"""The Progressing condition and progress deadlines (Kubernetes' `progress.go`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubelite.machinery.timeutil import parse_time

from . import util as du
from .sync import calculate_status, same_status

if TYPE_CHECKING:
    from .controller import DeploymentController


def get_replica_failures(all_rss: list[dict | None], new_rs: dict | None) -> list[dict]:
    """ReplicaFailure conditions of the new ReplicaSet, else of any ReplicaSet."""
    out = []
    if new_rs is not None:
        out = [du.replica_set_to_deployment_condition(c) for c in du.status(new_rs).get("conditions") or []
               if c.get("type") == du.REPLICA_FAILURE]
    if out:
        return out
    for rs in all_rss:
        if rs is None:
            continue
        out += [du.replica_set_to_deployment_condition(c) for c in du.status(rs).get("conditions") or []
                if c.get("type") == du.REPLICA_FAILURE]
    return out


async def sync_rollout_status(dc: DeploymentController, all_rss: list[dict | None], new_rs: dict | None,
                              d: dict) -> None:
    """Write status with the Progressing condition moved on: NewReplicaSetAvailable when
    complete, ReplicaSetUpdated while progressing, ProgressDeadlineExceeded when stuck too long."""
    new_status = calculate_status(dc, all_rss, new_rs, d)
    if not du.has_progress_deadline(d):
        du.remove_condition(new_status, du.PROGRESSING)
    current = du.get_condition(du.status(d), du.PROGRESSING)
    is_complete = int(new_status.get("replicas") or 0) == int(new_status.get("updatedReplicas") or 0) and \
        current is not None and current.get("reason") == du.NEW_RS_AVAILABLE_REASON
    name = d["metadata"]["name"]
    now = dc.now()
    if du.has_progress_deadline(d) and not is_complete:
        if du.deployment_complete(d, new_status):
            msg = f'ReplicaSet "{new_rs["metadata"]["name"]}" has successfully progressed.' if new_rs else \
                f'Deployment "{name}" has successfully progressed.'
            du.set_condition(new_status, du.new_condition(du.PROGRESSING, "True", du.NEW_RS_AVAILABLE_REASON, msg, now))
        elif du.deployment_progressing(d, new_status):
            msg = f'ReplicaSet "{new_rs["metadata"]["name"]}" is progressing.' if new_rs else \
                f'Deployment "{name}" is progressing.'
            cond = du.new_condition(du.PROGRESSING, "True", du.REPLICA_SET_UPDATED_REASON, msg, now)
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                du.remove_condition(new_status, du.PROGRESSING)
            du.set_condition(new_status, cond)
        elif du.deployment_timed_out(d, new_status, now):
            msg = f'ReplicaSet "{new_rs["metadata"]["name"]}" has timed out progressing.' if new_rs else \
                f'Deployment "{name}" has timed out progressing.'
            du.set_condition(new_status, du.new_condition(du.PROGRESSING, "False", du.TIMED_OUT_REASON, msg, now))
    failures = get_replica_failures(all_rss, new_rs)
    if failures:
        du.set_condition(new_status, failures[0])
    else:
        du.remove_condition(new_status, du.REPLICA_FAILURE)
    if same_status(du.status(d), new_status):
        requeue_stuck_deployment(dc, d, new_status)
        return
    d["status"] = new_status
    await dc.update_deployment_status(d)


def requeue_stuck_deployment(dc: DeploymentController, d: dict, new_status: dict) -> float:
    """Come back when the progress deadline would pass (-1: no need)."""
    current = du.get_condition(du.status(d), du.PROGRESSING)
    deadline = du.progress_deadline_seconds(d)
    if deadline is None or current is None:
        return -1
    if du.deployment_complete(d, new_status) or current.get("reason") == du.TIMED_OUT_REASON:
        return -1
    since = parse_time(current.get("lastUpdateTime"))
    if since is None:
        return -1
    after = (since - dc.now()).total_seconds() + deadline
    # Kubernetes requeues rate-limited under a second; a short fixed delay does the same job.
    delay = max(after, 0.0) + (1.0 if after >= 1.0 else 0.1)
    dc.enqueue_after(d, delay)
    return delay
