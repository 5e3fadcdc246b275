"""NodePorts: the pod's host ports (`containers[].ports[].hostPort`) must be free on the node.

Two ports conflict when protocol and port are equal and the host IPs are equal or either is
`0.0.0.0`."""

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
    unschedulable,
)
from .names import NODE_PORTS

ERR_REASON = "node(s) didn't have free ports for the requested pod ports"

_REJECT = unschedulable(ERR_REASON, plugin=NODE_PORTS)


class NodePorts:
    name = NODE_PORTS

    def __init__(self, handle: Any = None) -> None:
        pass

    def pre_filter(self, state: CycleState, pod: PodInfo,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        return None, (None if pod.host_ports else SKIP)

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        if not node_info.used_ports:
            return None
        for hp in pod.host_ports:
            if node_info.port_conflict(hp):
                return _REJECT
        return None

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(EventResource.ASSIGNED_POD, ActionType.DELETE),
                ClusterEvent(EventResource.NODE, ActionType.ADD)]
