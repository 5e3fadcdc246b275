"""NodeAffinity: `spec.nodeSelector` and required node affinity filter nodes; preferred node
affinity scores them (the sum of the weights of the terms a node matches, scaled to 0..100).

When every required term pins `metadata.name` with `matchFields ... In`, PreFilter narrows the
search to those nodes (DaemonSet pods do this), so the other nodes are not even visited.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..framework import (
    MAX_NODE_SCORE,
    SKIP,
    ActionType,
    ClusterEvent,
    CycleState,
    EventResource,
    NodeInfo,
    PodInfo,
    PreFilterResult,
    Status,
    default_normalize_score,
    unresolvable,
)
from ..framework.corev1 import PreferredSchedulingTerms, RequiredNodeAffinity
from .names import NODE_AFFINITY

ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"

_REJECT = unresolvable(ERR_REASON_POD, plugin=NODE_AFFINITY)
_PRE_FILTER_KEY = "PreFilter" + NODE_AFFINITY
_PRE_SCORE_KEY = "PreScore" + NODE_AFFINITY


def node_names_from_fields(pod: PodInfo) -> set[str] | None:
    """Node names every required term is limited to by `metadata.name In`, or None."""
    na = ((pod.pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not req:
        return None
    names: set[str] = set()
    for term in req.get("nodeSelectorTerms") or []:
        found = False
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In":
                names.update(f.get("values") or ())
                found = True
        if not found:
            return None
    return names


class NodeAffinity:
    name = NODE_AFFINITY

    def __init__(self, handle: Any = None) -> None:
        pass

    def pre_filter(self, state: CycleState, pod: PodInfo,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        required = RequiredNodeAffinity(pod.pod)
        if required.is_empty():
            return None, SKIP
        state.write(_PRE_FILTER_KEY, required)
        names = node_names_from_fields(pod)
        if names is not None:
            return PreFilterResult(names), None
        return None, None

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        required: RequiredNodeAffinity | None = state.get(_PRE_FILTER_KEY)
        if required is None:
            required = RequiredNodeAffinity(pod.pod)
        if required.matches(node_info.labels, node_info.name):
            return None
        return _REJECT

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status | None:
        preferred = PreferredSchedulingTerms(pod.pod)
        if not preferred.terms:
            return SKIP
        state.write(_PRE_SCORE_KEY, preferred)
        return None

    def score(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> int:
        preferred: PreferredSchedulingTerms | None = state.get(_PRE_SCORE_KEY)
        if preferred is None:
            preferred = PreferredSchedulingTerms(pod.pod)
        return preferred.score(node_info.labels, node_info.name)

    def normalize_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo], scores: list[int]) -> None:
        default_normalize_score(MAX_NODE_SCORE, False, scores)

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_LABEL),
                ClusterEvent(EventResource.UNSCHEDULED_POD, ActionType.UPDATE_OTHER)]
