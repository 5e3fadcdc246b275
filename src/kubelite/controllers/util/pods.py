"""Pod predicates the controllers share (Kubernetes' `podutil` and `controller_utils`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from kubelite.machinery.timeutil import parse_time

SUCCEEDED, FAILED, RUNNING, PENDING, UNKNOWN = "Succeeded", "Failed", "Running", "Pending", "Unknown"


def pod_key(pod: dict) -> str:
    md = pod.get("metadata") or {}
    return f"{md.get('namespace', '')}/{md.get('name', '')}"


def phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def is_terminating(obj: dict) -> bool:
    """The object (a pod or its controller) has a `deletionTimestamp`."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_pod_terminal(pod: dict) -> bool:
    """Succeeded or Failed (`podutil.IsPodTerminal`)."""
    return phase(pod) in (SUCCEEDED, FAILED)


def is_pod_active(pod: dict) -> bool:
    """Not finished and not being deleted."""
    return not is_pod_terminal(pod) and not is_terminating(pod)


def filter_active_pods(pods: list[dict]) -> list[dict]:
    return [p for p in pods if is_pod_active(p)]


def get_pod_condition(pod: dict, type_: str) -> dict | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c
    return None


def get_pod_ready_condition(pod: dict) -> dict | None:
    return get_pod_condition(pod, "Ready")


def is_pod_ready(pod: dict) -> bool:
    c = get_pod_ready_condition(pod)
    return c is not None and c.get("status") == "True"


def is_pod_available(pod: dict, min_ready_seconds: int, now: datetime) -> bool:
    """Ready for at least `min_ready_seconds` (Kubernetes' `IsPodAvailable`)."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    c = get_pod_ready_condition(pod) or {}
    since = parse_time(c.get("lastTransitionTime"))
    return since is not None and since + timedelta(seconds=min_ready_seconds) < now


def pod_ready_time(pod: dict) -> datetime | None:
    """When the pod became ready (None when it is not ready or the time is unknown)."""
    if not is_pod_ready(pod):
        return None
    return parse_time((get_pod_ready_condition(pod) or {}).get("lastTransitionTime"))
