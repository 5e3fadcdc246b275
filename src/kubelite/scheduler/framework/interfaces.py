"""The plugin extension points (Kubernetes' `framework/interface.go`), as small Protocols.

A plugin is an object with a `name` and any of these methods; the framework finds out which
extension points it implements by looking for them. None of them awaits: deciding is pure, the
scheduler does the I/O (binding, status updates, evictions) with what they return.

- PreFilter `pre_filter(state, pod, nodes) -> (PreFilterResult | None, Status | None)`: compute
  per-cycle data into `state`; return `SKIP` when the pod gives the plugin nothing to check.
  With `add_pod`/`remove_pod` (PreFilter extensions) the plugin keeps that data right when
  preemption's dry run adds or removes pods on a node.
- Filter `filter(state, pod, node_info) -> Status | None`: can the pod run on this node?
- PostFilter `post_filter(state, pod, node_to_status) -> (PostFilterResult | None, Status)`: run
  when no node fits (preemption).
- PreScore `pre_score(state, pod, nodes) -> Status | None`, Score
  `score(state, pod, node_info) -> int` and optionally
  `normalize_score(state, pod, nodes, scores)`: rank feasible nodes, 0..100 after normalising.
  A Score plugin may also offer `score_nodes(state, pod, nodes) -> list[int]`, the same scores
  for a whole list in one call (cheaper in Python than one call per node); the framework
  prefers it.
- `events_to_register() -> list[ClusterEvent]`: which cluster changes may make a pod this
  plugin rejected schedulable (the queue moves such pods out of the unschedulable pool).

Plugins get what they need from the cluster through `Handle`, which the framework implements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntFlag
from typing import Mapping, Protocol, Sequence, runtime_checkable

from .cycle_state import CycleState
from .snapshot import Snapshot
from .status import Status
from .types import NodeInfo, PodInfo

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0


@dataclass(slots=True)
class PreFilterResult:
    """Restricts the nodes the Filter phase looks at (None: all nodes)."""

    node_names: set[str] | None = None
    plugins: list[str] = field(default_factory=list)      # set by the framework: who restricted


@dataclass(slots=True)
class PostFilterResult:
    """A nominated node for the pod, and the pods to evict there to make room."""

    nominated_node_name: str = ""
    victims: list[PodInfo] = field(default_factory=list)
    lower_priority_nominated: list[PodInfo] = field(default_factory=list)


class ActionType(IntFlag):
    ADD = 1
    DELETE = 2
    UPDATE_NODE_ALLOCATABLE = 4
    UPDATE_NODE_LABEL = 8
    UPDATE_NODE_TAINT = 16
    UPDATE_NODE_CONDITION = 32
    UPDATE_POD_LABEL = 64
    UPDATE_POD_SCALE_DOWN = 128
    UPDATE_POD_TOLERATION = 256
    UPDATE_OTHER = 512
    UPDATE = (UPDATE_NODE_ALLOCATABLE | UPDATE_NODE_LABEL | UPDATE_NODE_TAINT | UPDATE_NODE_CONDITION
              | UPDATE_POD_LABEL | UPDATE_POD_SCALE_DOWN | UPDATE_POD_TOLERATION | UPDATE_OTHER)
    ALL = ADD | DELETE | UPDATE


class EventResource:
    NODE = "Node"
    ASSIGNED_POD = "AssignedPod"
    UNSCHEDULED_POD = "UnscheduledPod"
    NAMESPACE = "Namespace"
    PDB = "PodDisruptionBudget"
    WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    resource: str
    action: ActionType
    label: str = ""

    def matches(self, incoming: ClusterEvent) -> bool:
        """Whether this registered interest covers an incoming event."""
        if self.resource == EventResource.WILDCARD:
            return True
        return self.resource == incoming.resource and bool(self.action & incoming.action)


class Listers(Protocol):
    """Cached API objects a plugin may read (the scheduler's informers; a dict in tests)."""

    def list(self, resource: str, namespace: str | None = None) -> list[dict]: ...

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict | None: ...


class Nominator(Protocol):
    def nominated_pods_for_node(self, node_name: str) -> list[PodInfo]: ...


class Handle(Protocol):
    """What the framework gives plugins: the cycle's snapshot, listers, the nominator, and
    filter runs for preemption's dry runs."""

    scheduler_name: str
    listers: Listers
    nominator: Nominator

    def snapshot(self) -> Snapshot: ...

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None: ...

    def run_filter_plugins_with_nominated_pods(self, state: CycleState, pod: PodInfo,
                                               node_info: NodeInfo) -> Status | None: ...

    def run_pre_filter_extension_add_pod(self, state: CycleState, pod: PodInfo, pod_to_add: PodInfo,
                                         node_info: NodeInfo) -> Status | None: ...

    def run_pre_filter_extension_remove_pod(self, state: CycleState, pod: PodInfo, pod_to_remove: PodInfo,
                                            node_info: NodeInfo) -> Status | None: ...


class Plugin(Protocol):
    name: str


@runtime_checkable
class PreFilterPlugin(Protocol):
    name: str

    def pre_filter(self, state: CycleState, pod: PodInfo,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]: ...


@runtime_checkable
class PreFilterExtensions(Protocol):
    def add_pod(self, state: CycleState, pod: PodInfo, pod_to_add: PodInfo,
                node_info: NodeInfo) -> Status | None: ...

    def remove_pod(self, state: CycleState, pod: PodInfo, pod_to_remove: PodInfo,
                   node_info: NodeInfo) -> Status | None: ...


@runtime_checkable
class FilterPlugin(Protocol):
    name: str

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None: ...


@runtime_checkable
class PostFilterPlugin(Protocol):
    name: str

    def post_filter(self, state: CycleState, pod: PodInfo,
                    node_to_status: Mapping[str, Status]) -> tuple[PostFilterResult | None, Status]: ...


@runtime_checkable
class PreScorePlugin(Protocol):
    name: str

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status | None: ...


@runtime_checkable
class ScorePlugin(Protocol):
    name: str

    def score(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> int: ...


@runtime_checkable
class ScoreExtensions(Protocol):
    def normalize_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo],
                        scores: list[int]) -> None: ...


@runtime_checkable
class EnqueueExtensions(Protocol):
    def events_to_register(self) -> list[ClusterEvent]: ...


def default_normalize_score(max_priority: int, reverse: bool, scores: list[int]) -> None:
    """Scale scores so the highest is `max_priority` (reversed: the highest becomes 0)."""
    max_count = max(scores, default=0)
    if max_count == 0:
        if reverse:
            scores[:] = [max_priority] * len(scores)
        return
    for i, s in enumerate(scores):
        s = max_priority * s // max_count
        scores[i] = max_priority - s if reverse else s
