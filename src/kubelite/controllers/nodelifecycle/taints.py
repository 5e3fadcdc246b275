"""Node taints from node state, and pods' tolerations of them (pure).

NoSchedule taints mirror conditions (`not-ready` for Ready=False, `unreachable` for Unknown,
`memory-pressure`, `disk-pressure`, `pid-pressure`, `network-unavailable`) and
`spec.unschedulable`. NoExecute taints (`not-ready`, `unreachable`, stamped with `timeAdded`)
are what evicts pods; a pod tolerating a NoExecute taint for `tolerationSeconds` is evicted
that long after the taint is seen, one without a matching toleration at once.
"""

from __future__ import annotations

from kubelite.api.helpers import tolerates

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
PID_PRESSURE = "node.kubernetes.io/pid-pressure"
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"

NO_SCHEDULE, NO_EXECUTE = "NoSchedule", "NoExecute"

# (condition type, status) -> NoSchedule taint key
CONDITION_TAINTS = {
    ("Ready", "False"): NOT_READY,
    ("Ready", "Unknown"): UNREACHABLE,
    ("MemoryPressure", "True"): MEMORY_PRESSURE,
    ("DiskPressure", "True"): DISK_PRESSURE,
    ("NetworkUnavailable", "True"): NETWORK_UNAVAILABLE,
    ("PIDPressure", "True"): PID_PRESSURE,
}
NO_SCHEDULE_KEYS = frozenset(CONDITION_TAINTS.values()) | {UNSCHEDULABLE}
NO_EXECUTE_KEYS = frozenset({NOT_READY, UNREACHABLE})


def taints_of(node: dict) -> list[dict]:
    return list((node.get("spec") or {}).get("taints") or [])


def has_taint(taints: list[dict], key: str, effect: str) -> bool:
    return any(t.get("key") == key and t.get("effect") == effect for t in taints)


def no_schedule_taints(node: dict) -> list[dict]:
    out = []
    for c in (node.get("status") or {}).get("conditions") or []:
        key = CONDITION_TAINTS.get((c.get("type"), c.get("status")))
        if key is not None:
            out.append({"key": key, "effect": NO_SCHEDULE})
    if (node.get("spec") or {}).get("unschedulable"):
        out.append({"key": UNSCHEDULABLE, "effect": NO_SCHEDULE})
    return out


def with_no_schedule_taints(node: dict) -> list[dict]:
    """The node's taints with the controller's NoSchedule ones brought up to date."""
    current = taints_of(node)
    want = no_schedule_taints(node)
    kept = [t for t in current if not (t.get("effect") == NO_SCHEDULE and t.get("key") in NO_SCHEDULE_KEYS)
            or any(t.get("key") == w["key"] for w in want)]
    for w in want:
        if not has_taint(kept, w["key"], NO_SCHEDULE):
            kept.append(w)
    return kept


def no_execute_key_for(ready_status: str | None) -> str | None:
    """The NoExecute taint a node with this Ready status should carry (None: neither)."""
    if ready_status == "False":
        return NOT_READY
    if ready_status in ("Unknown", None):
        return UNREACHABLE
    return None


def with_no_execute_taint(taints: list[dict], key: str | None, now: str, may_add: bool) -> list[dict]:
    """Swap or remove the controller's NoExecute taints to match `key`. A taint is added only when
    `may_add` (the zone's rate limiter) unless it replaces the other one."""
    present = [t for t in taints if t.get("effect") == NO_EXECUTE and t.get("key") in NO_EXECUTE_KEYS]
    others = [t for t in taints if t not in present]
    if key is None:
        return others
    if has_taint(present, key, NO_EXECUTE):
        return others + [t for t in present if t.get("key") == key]
    if not present and not may_add:
        return taints
    return others + [{"key": key, "effect": NO_EXECUTE, "timeAdded": now}]


# ----- tolerations


def eviction_delay(taints: list[dict], tolerations: list[dict]) -> float | None:
    """Seconds a pod may stay on a node with these NoExecute taints: 0 when one of them is not
    tolerated, the smallest `tolerationSeconds` of the tolerations used, or None for forever."""
    delay: float | None = None
    for taint in taints:
        if taint.get("effect") != NO_EXECUTE:
            continue
        used = [t for t in tolerations if tolerates(t, taint)]
        if not used:
            return 0.0
        for t in used:
            secs = t.get("tolerationSeconds")
            if secs is None:
                continue
            secs = max(0.0, float(secs))
            delay = secs if delay is None else min(delay, secs)
    return delay
