"""NodeUnschedulable: a cordoned node (`spec.unschedulable`) takes only pods that tolerate the
`node.kubernetes.io/unschedulable:NoSchedule` taint."""

from __future__ import annotations

from typing import Any, Sequence

from ...api.helpers import tolerates_any
from ..framework import (
    SKIP,
    ActionType,
    ClusterEvent,
    CycleState,
    EventResource,
    NodeInfo,
    PodInfo,
    PreFilterResult,
    Status,
    unresolvable,
)
from ..framework.corev1 import NO_SCHEDULE, TAINT_NODE_UNSCHEDULABLE
from .names import NODE_UNSCHEDULABLE

ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"

_TAINT = {"key": TAINT_NODE_UNSCHEDULABLE, "effect": NO_SCHEDULE}
_REJECT = unresolvable(ERR_REASON_UNSCHEDULABLE, plugin=NODE_UNSCHEDULABLE)


class NodeUnschedulable:
    name = NODE_UNSCHEDULABLE

    def __init__(self, handle: Any = None) -> None:
        self.handle = handle

    def pre_filter(self, state: CycleState, pod: PodInfo,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        # Nothing cordoned: nothing to check.
        if self.handle is not None:
            none = self.handle.snapshot().summary.unschedulable == 0
        else:
            none = not any(ni.unschedulable for ni in nodes)
        return None, (SKIP if none else None)

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        if not node_info.unschedulable or tolerates_any(pod.tolerations, _TAINT):
            return None
        return _REJECT

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_TAINT),
                ClusterEvent(EventResource.UNSCHEDULED_POD, ActionType.UPDATE_POD_TOLERATION)]
