"""The DaemonSet RollingUpdate decision (pure).

Without surge (`maxSurge` 0), old pods are deleted, at most `maxUnavailable` nodes being without
an available pod at a time (old pods that are not available anyway are replaced at once); the
manage pass then creates the new pod. With surge, a new pod is created beside the old one on at
most `maxSurge` nodes at a time, and the old pod goes once the new one is available.
"""

from __future__ import annotations

import math
from datetime import datetime

from ..util.history import REVISION_HASH_LABEL
from ..util.pods import is_pod_available, is_pod_ready, is_terminating

TEMPLATE_GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """An int-or-percent field against `total` (intstr.GetScaledValueFromIntOrPercent)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    s = str(value)
    if not s.endswith("%"):
        return int(s)
    pct = int(s[:-1]) * total / 100
    return math.ceil(pct) if round_up else math.floor(pct)


def template_generation(ds: dict) -> str | None:
    return ((ds.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)


def is_pod_updated(pod: dict, hash_: str, generation: str | None) -> bool:
    lbls = (pod.get("metadata") or {}).get("labels") or {}
    if generation is not None and lbls.get(TEMPLATE_GENERATION_LABEL) == generation:
        return True
    return bool(hash_) and lbls.get(REVISION_HASH_LABEL) == hash_


def find_updated_pods_on_node(pods: list[dict], hash_: str, generation: str | None
                              ) -> tuple[dict | None, dict | None, bool]:
    """`(new, old, ok)`: the node's live new and old pod; not ok when there are two of a kind."""
    new = old = None
    for pod in pods:
        if is_terminating(pod):
            continue
        if is_pod_updated(pod, hash_, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def is_rolling_update(ds: dict) -> bool:
    return (((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def surge_and_unavailable(ds: dict, desired: int) -> tuple[int, int]:
    ru = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    surge = scaled_value(ru.get("maxSurge", 0), desired, True)
    unavailable = scaled_value(ru.get("maxUnavailable", 1), desired, True)
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _name(pod: dict) -> str:
    return pod["metadata"]["name"]


def rolling_update(ds: dict, node_to_pods: dict[str, list[dict]], desired_nodes: list[str], hash_: str,
                   now: datetime) -> tuple[list[str], list[str]]:
    """`(old pods to delete, nodes to create a new pod on)` for one RollingUpdate step."""
    pods_by_node = {n: list(ps) for n, ps in node_to_pods.items()}
    for n in desired_nodes:
        pods_by_node.setdefault(n, [])
    surge, max_unavailable = surge_and_unavailable(ds, len(desired_nodes))
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    generation = template_generation(ds)
    if surge == 0:
        unavailable = 0
        replace_now: list[str] = []
        candidates: list[str] = []
        for node in sorted(pods_by_node):
            new, old, ok = find_updated_pods_on_node(pods_by_node[node], hash_, generation)
            if not ok or (new is None) == (old is None):
                unavailable += 1          # the manage pass creates or deletes here
            elif new is not None:
                if not is_pod_available(new, min_ready, now):
                    unavailable += 1
            elif old is not None and not is_pod_available(old, min_ready, now):
                replace_now.append(_name(old))
            elif old is not None and unavailable < max_unavailable:
                candidates.append(_name(old))
        room = max(0, min(max_unavailable - unavailable, len(candidates)))
        return replace_now + candidates[:room], []
    surged = 0
    to_delete: list[str] = []
    create_now: list[str] = []
    create_candidates: list[str] = []
    for node in sorted(pods_by_node):
        new, old, ok = find_updated_pods_on_node(pods_by_node[node], hash_, generation)
        if not ok:
            surged += 1
        elif old is None:
            continue
        elif new is None:
            if not is_pod_available(old, min_ready, now):
                create_now.append(node)
            elif surged < surge:
                create_candidates.append(node)
        elif not is_pod_available(new, min_ready, now):
            surged += 1
        else:
            to_delete.append(_name(old))
    room = max(0, min(surge - surged, len(create_candidates)))
    return to_delete, create_now + create_candidates[:room]


def surge_pods_to_delete(running: list[dict], hash_: str, generation: str | None, min_ready: int,
                         now: datetime) -> list[str]:
    """With surge allowed, a node keeps its oldest new pod and, while that one is not yet
    available, its oldest ready old pod; everything else goes."""
    new = old = None
    out: list[str] = []
    for pod in running:
        if is_pod_updated(pod, hash_, generation):
            if new is None:
                new = pod
                continue
        elif old is None:
            old = pod
            continue
        out.append(_name(pod))
    if new is not None and old is not None:
        if not is_pod_ready(old) or is_pod_available(new, min_ready, now):
            out.append(_name(old))
    return out
