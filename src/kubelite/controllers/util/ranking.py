"""Which pods a controller deletes first when it scales down (Kubernetes' `ActivePodsWithRanks`).

A pod sorts earlier (is deleted sooner) when, in this order:

1. it is unassigned and the other is assigned to a node;
2. its phase is earlier in Pending < Unknown < Running;
3. it is not ready and the other is;
4. its `controller.kubernetes.io/pod-deletion-cost` annotation is lower;
5. more related pods share its node (its rank is higher);
6. both are ready and it became ready more recently (compared on a log2 scale of the age, so
   pods of about the same age tie; ties fall to the UID);
7. its containers restarted more;
8. it was created more recently (same log2 scale, then UID).

`active_pods_rank` is the older order without the cost, the rank and the log2 scale
(Kubernetes' `ActivePods`), which the Job controller uses.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime

from kubelite.machinery.timeutil import parse_time

from .pods import is_pod_active, is_pod_ready, phase, pod_ready_time

POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_cost(pod: dict) -> int:
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(POD_DELETION_COST)
    try:
        v = int(raw) if raw is not None else 0
    except ValueError:
        return 0
    return v if -(2 ** 31) <= v < 2 ** 31 else 0


def _max_restarts(pod: dict) -> tuple[int, int]:
    """(regular, sidecar) maximum restart counts."""
    status = pod.get("status") or {}
    regular = max([c.get("restartCount") or 0 for c in status.get("containerStatuses") or []], default=0)
    init_specs = {c.get("name"): c for c in (pod.get("spec") or {}).get("initContainers") or []}
    sidecar = max([c.get("restartCount") or 0 for c in status.get("initContainerStatuses") or []
                   if (init_specs.get(c.get("name")) or {}).get("restartPolicy") == "Always"], default=0)
    return regular, sidecar


def _log_rank(t: datetime, now: datetime) -> int:
    ns = (now - t).total_seconds() * 1e9
    return int(math.log2(ns)) if ns > 0 else -1


def _newer_first(t1: datetime | None, t2: datetime | None, now: datetime | None, uid1: str, uid2: str) -> bool:
    """True when t1 sorts first: zero times first, then the newer one (on a log2 scale with `now`)."""
    if t1 is None or t2 is None:
        return t1 is None
    if now is None:
        return t1 > t2
    diff = _log_rank(t1, now) - _log_rank(t2, now)
    if diff == 0:
        return uid1 < uid2
    return diff < 0


def _less(a: tuple[dict, int], b: tuple[dict, int], now: datetime | None) -> bool:
    pi, ri = a
    pj, rj = b
    ni, nj = (pi.get("spec") or {}).get("nodeName") or "", (pj.get("spec") or {}).get("nodeName") or ""
    if ni != nj and (not ni or not nj):
        return not ni
    oi, oj = _PHASE_ORDINAL.get(phase(pi), 0), _PHASE_ORDINAL.get(phase(pj), 0)
    if oi != oj:
        return oi < oj
    ready_i, ready_j = is_pod_ready(pi), is_pod_ready(pj)
    if ready_i != ready_j:
        return not ready_i
    ci, cj = deletion_cost(pi), deletion_cost(pj)
    if ci != cj:
        return ci < cj
    if ri != rj:
        return ri > rj
    uid_i, uid_j = (pi.get("metadata") or {}).get("uid", ""), (pj.get("metadata") or {}).get("uid", "")
    if ready_i and ready_j:
        ti, tj = pod_ready_time(pi), pod_ready_time(pj)
        if ti != tj:
            return _newer_first(ti, tj, now, uid_i, uid_j)
    reg_i, side_i = _max_restarts(pi)
    reg_j, side_j = _max_restarts(pj)
    if reg_i != reg_j:
        return reg_i > reg_j
    if side_i != side_j:
        return side_i > side_j
    ci_t = parse_time((pi.get("metadata") or {}).get("creationTimestamp"))
    cj_t = parse_time((pj.get("metadata") or {}).get("creationTimestamp"))
    if ci_t != cj_t:
        return _newer_first(ci_t, cj_t, now, uid_i, uid_j)
    return False


def _recent_first(t: datetime | None) -> float:
    """Sort key: a missing time first, then the most recent."""
    return -t.timestamp() if t is not None else float("-inf")


def active_pods_rank(pod: dict) -> tuple:
    """Sort key: pods earlier in the order are better to delete (unscheduled < scheduled,
    Pending < Unknown < Running, not ready < ready, ready for less time, more restarts, newer)."""
    ready = is_pod_ready(pod)
    ready_since = _recent_first(pod_ready_time(pod)) if ready else 0.0
    created = parse_time((pod.get("metadata") or {}).get("creationTimestamp"))
    return (bool((pod.get("spec") or {}).get("nodeName")), _PHASE_ORDINAL.get(phase(pod), 0), ready, ready_since,
            -_max_restarts(pod)[0], _recent_first(created))


def sort_pods_for_deletion(pods: list[dict], ranks: list[int], now: datetime | None = None) -> list[dict]:
    """The pods, first to delete first."""
    def cmp(a: tuple[dict, int], b: tuple[dict, int]) -> int:
        if _less(a, b, now):
            return -1
        if _less(b, a, now):
            return 1
        return 0

    return [p for p, _ in sorted(zip(pods, ranks), key=functools.cmp_to_key(cmp))]


def ranks_by_related_pods_on_same_node(pods: list[dict], related: list[dict]) -> list[int]:
    """For each pod, how many active related pods run on its node."""
    on_node: dict[str, int] = {}
    for p in related:
        if is_pod_active(p):
            n = (p.get("spec") or {}).get("nodeName") or ""
            on_node[n] = on_node.get(n, 0) + 1
    return [on_node.get((p.get("spec") or {}).get("nodeName") or "", 0) for p in pods]


def get_pods_to_delete(filtered: list[dict], related: list[dict], diff: int,
                       now: datetime | None = None) -> list[dict]:
    """The `diff` pods of `filtered` to delete; `related` are all pods of sibling controllers."""
    if diff < len(filtered):
        filtered = sort_pods_for_deletion(filtered, ranks_by_related_pods_on_same_node(filtered, related), now)
    return filtered[:diff]
