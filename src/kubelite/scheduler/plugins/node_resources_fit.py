"""NodeResourcesFit: the pod's requests must fit in what the node has left, and the node must have
room for one more pod; scores prefer the least allocated nodes (Kubernetes' default
`LeastAllocated` strategy, cpu and memory weighted 1 each; `MostAllocated` is the other choice).

Filter reasons: "Too many pods", "Insufficient cpu", "Insufficient memory",
"Insufficient ephemeral-storage", "Insufficient <extended resource>"; a node can fail several at
once and each counts in the FailedScheduling message. Scores use the non-zero requests (see
`framework.resources`) and are remembered per node generation (`framework.memo`).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..framework import (
    MAX_NODE_SCORE,
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
from ..framework.memo import MemoizedRequestScore, ScoreMemo
from ..framework.resources import CPU, MEMORY
from .names import NODE_RESOURCES_FIT

LEAST_ALLOCATED = "LeastAllocated"
MOST_ALLOCATED = "MostAllocated"
DEFAULT_RESOURCES = ((CPU, 1), (MEMORY, 1))

_statuses: dict[tuple[str, ...], Status] = {}


def _status(reasons: tuple[str, ...]) -> Status:
    st = _statuses.get(reasons)
    if st is None:
        st = _statuses[reasons] = unschedulable(*reasons, plugin=NODE_RESOURCES_FIT)
    return st


def insufficient_resources(pod: PodInfo, node_info: NodeInfo) -> tuple[str, ...]:
    """The reasons the pod does not fit the node, in Kubernetes' order (empty: it fits)."""
    out: list[str] = []
    alloc, used, want = node_info.allocatable, node_info.requested, pod.requests
    if len(node_info.pods) + 1 > alloc.allowed_pod_number:
        out.append("Too many pods")
    if want.is_zero():
        return tuple(out)
    if want.milli_cpu > 0 and want.milli_cpu > alloc.milli_cpu - used.milli_cpu:
        out.append("Insufficient cpu")
    if want.memory > 0 and want.memory > alloc.memory - used.memory:
        out.append("Insufficient memory")
    if want.ephemeral_storage > 0 and want.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage:
        out.append("Insufficient ephemeral-storage")
    for name, q in want.scalar.items():
        if q > 0 and q > alloc.scalar.get(name, 0) - used.scalar.get(name, 0):
            out.append(f"Insufficient {name}")
    return tuple(out)


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def most_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    return min(requested, capacity) * MAX_NODE_SCORE // capacity


class NodeResourcesFit(MemoizedRequestScore):
    name = NODE_RESOURCES_FIT

    def __init__(self, handle: Any = None, *, strategy: str = LEAST_ALLOCATED,
                 resources: Sequence[tuple[str, int]] = DEFAULT_RESOURCES) -> None:
        if strategy not in (LEAST_ALLOCATED, MOST_ALLOCATED):
            raise ValueError(f"scoring strategy {strategy!r} is not supported")
        self.strategy = strategy
        self.resources = tuple(resources)
        self._resource_score = least_requested_score if strategy == LEAST_ALLOCATED else most_requested_score
        self._default = self.resources == DEFAULT_RESOURCES and strategy == LEAST_ALLOCATED
        self._memo = ScoreMemo()

    def pre_filter(self, state: CycleState, pod: PodInfo,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        return None, None

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        alloc, used, want = node_info.allocatable, node_info.requested, pod.requests
        # Fast path: the common resources fit and there are no others to look at.
        if (len(node_info.pods) < alloc.allowed_pod_number
                and want.milli_cpu <= alloc.milli_cpu - used.milli_cpu
                and want.memory <= alloc.memory - used.memory
                and want.ephemeral_storage <= alloc.ephemeral_storage - used.ephemeral_storage
                and not want.scalar):
            return None
        reasons = insufficient_resources(pod, node_info)
        return _status(reasons) if reasons else None

    def _score(self, pod: PodInfo, node_info: NodeInfo) -> int:
        alloc = node_info.allocatable
        if self._default:
            cap_cpu, cap_mem = alloc.milli_cpu, alloc.memory
            req_cpu = node_info.non_zero_cpu + pod.non_zero_cpu
            req_mem = node_info.non_zero_mem + pod.non_zero_mem
            total = weight = 0
            if cap_cpu:
                total += (cap_cpu - req_cpu) * MAX_NODE_SCORE // cap_cpu if req_cpu <= cap_cpu else 0
                weight += 1
            if cap_mem:
                total += (cap_mem - req_mem) * MAX_NODE_SCORE // cap_mem if req_mem <= cap_mem else 0
                weight += 1
            return total // weight if weight else 0
        total = weight = 0
        for name, w in self.resources:
            cap = alloc.get(name)
            if not cap:
                continue
            if name == CPU:
                req = node_info.non_zero_cpu + pod.non_zero_cpu
            elif name == MEMORY:
                req = node_info.non_zero_mem + pod.non_zero_mem
            else:
                req = node_info.requested.get(name) + pod.requests.get(name)
            total += self._resource_score(req, cap) * w
            weight += w
        return total // weight if weight else 0

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(EventResource.ASSIGNED_POD, ActionType.DELETE | ActionType.UPDATE_POD_SCALE_DOWN),
                ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_ALLOCATABLE)]
