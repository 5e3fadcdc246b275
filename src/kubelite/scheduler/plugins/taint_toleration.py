"""TaintToleration: a node's NoSchedule and NoExecute taints must all be tolerated; scores prefer
nodes with fewer untolerated PreferNoSchedule taints (reversed and scaled to 0..100).

The rejection names the first untolerated taint: "node(s) had untolerated taint {key: value}".
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ...api.helpers import find_untolerated_taint, tolerates_any
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
from ..framework.corev1 import PREFER_NO_SCHEDULE, taint_string
from .names import TAINT_TOLERATION

_PRE_SCORE_KEY = "PreScore" + TAINT_TOLERATION
_statuses: dict[str, Status] = {}


def untolerated_taint_status(taint: Mapping) -> Status:
    reason = f"node(s) had untolerated taint {taint_string(taint)}"
    st = _statuses.get(reason)
    if st is None:
        st = _statuses[reason] = unresolvable(reason, plugin=TAINT_TOLERATION)
    return st


class TaintToleration:
    name = TAINT_TOLERATION

    def __init__(self, handle: Any = None) -> None:
        self.handle = handle

    def pre_filter(self, state: CycleState, pod: PodInfo,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        # No node has a NoSchedule or NoExecute taint: nothing to check.
        if self.handle is not None:
            none = self.handle.snapshot().summary.filter_taints == 0
        else:
            none = not any(ni.filter_taints for ni in nodes)
        return None, (SKIP if none else None)

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        if not node_info.filter_taints:
            return None
        taint = find_untolerated_taint(node_info.filter_taints, pod.tolerations)
        return None if taint is None else untolerated_taint_status(taint)

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status | None:
        # No node has a PreferNoSchedule taint: every node would score the same (100).
        if self.handle is not None:
            none = self.handle.snapshot().summary.prefer_no_schedule_taints == 0
        else:
            none = not any(ni.prefer_no_schedule_taints for ni in nodes)
        if none:
            return SKIP
        state.write(_PRE_SCORE_KEY, tuple(t for t in pod.tolerations
                                          if not t.get("effect") or t.get("effect") == PREFER_NO_SCHEDULE))
        return None

    def score(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> int:
        taints = node_info.prefer_no_schedule_taints
        if not taints:
            return 0
        tolerations = state.get(_PRE_SCORE_KEY, pod.tolerations)
        return sum(1 for t in taints if not tolerates_any(tolerations, t))

    def normalize_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo], scores: list[int]) -> None:
        default_normalize_score(MAX_NODE_SCORE, True, scores)

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_TAINT),
                ClusterEvent(EventResource.UNSCHEDULED_POD, ActionType.UPDATE_POD_TOLERATION)]
