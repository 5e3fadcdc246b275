"""NodeName: a pod that names its node (`spec.nodeName`) fits only there."""

from __future__ import annotations

from typing import Any, Sequence

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
from .names import NODE_NAME

ERR_REASON = "node(s) didn't match the requested node name"

_REJECT = unresolvable(ERR_REASON, plugin=NODE_NAME)


class NodeName:
    name = NODE_NAME

    def __init__(self, handle: Any = None) -> None:
        pass

    def pre_filter(self, state: CycleState, pod: PodInfo,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        return None, (None if pod.node_name else SKIP)

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        if not pod.node_name or pod.node_name == node_info.name:
            return None
        return _REJECT

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(EventResource.NODE, ActionType.ADD)]
