"""ReplicaSet status, computed purely from the ReplicaSet and the pods it owns."""

from __future__ import annotations

import copy
from datetime import datetime

from kubelite.machinery import labels
from kubelite.machinery.timeutil import rfc3339

from ..util.pods import is_pod_available, is_pod_ready

REPLICA_FAILURE = "ReplicaFailure"
FAILED_CREATE = "FailedCreate"
FAILED_DELETE = "FailedDelete"

# Fields compared to decide whether a status write is needed (absent means 0).
COUNTS = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")


def replicas_of(rs: dict) -> int:
    r = (rs.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def get_condition(status: dict, ctype: str) -> dict | None:
    for c in status.get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def new_condition(ctype: str, status: str, reason: str, message: str, now: datetime) -> dict:
    return {"type": ctype, "status": status, "lastTransitionTime": rfc3339(now), "reason": reason,
            "message": message}


def set_condition(status: dict, cond: dict) -> None:
    cur = get_condition(status, cond["type"])
    if cur is not None and cur.get("status") == cond["status"] and cur.get("reason") == cond.get("reason"):
        return
    conds = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]]
    conds.append(cond)
    status["conditions"] = conds


def remove_condition(status: dict, ctype: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def calculate_status(rs: dict, pods: list[dict], manage_error: BaseException | None, now: datetime) -> dict:
    """The new status (without observedGeneration) for `rs` owning the active `pods`."""
    status = copy.deepcopy(rs.get("status") or {})
    spec = rs.get("spec") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    template_selector = labels.parse(",".join(f"{k}={v}" for k, v in sorted(template_labels.items())))
    min_ready = int(spec.get("minReadySeconds") or 0)
    fully_labeled = ready = available = 0
    for pod in pods:
        if template_selector.matches((pod.get("metadata") or {}).get("labels")):
            fully_labeled += 1
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
    failure = get_condition(status, REPLICA_FAILURE)
    if manage_error is not None and failure is None:
        diff = len(pods) - replicas_of(rs)
        reason = FAILED_CREATE if diff < 0 else FAILED_DELETE if diff > 0 else ""
        set_condition(status, new_condition(REPLICA_FAILURE, "True", reason, str(manage_error), now))
    elif manage_error is None and failure is not None:
        remove_condition(status, REPLICA_FAILURE)
    status["replicas"] = len(pods)
    for k, v in (("fullyLabeledReplicas", fully_labeled), ("readyReplicas", ready), ("availableReplicas", available)):
        if v:
            status[k] = v
        else:
            status.pop(k, None)
    return status


def status_unchanged(rs: dict, new_status: dict) -> bool:
    old = rs.get("status") or {}
    if any(int(old.get(k) or 0) != int(new_status.get(k) or 0) for k in COUNTS):
        return False
    if int((rs.get("metadata") or {}).get("generation") or 0) != int(old.get("observedGeneration") or 0):
        return False
    return (old.get("conditions") or []) == (new_status.get("conditions") or [])
