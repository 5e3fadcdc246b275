"""The scheduling framework: extension-point Protocols, `Status`, `CycleState`, the `NodeInfo` and
`PodInfo` views, the `Snapshot`, and `Framework`, which runs one profile's plugins.

Pure: nothing here awaits or does I/O (style guide H12). Kubernetes' `pkg/scheduler/framework`.
"""

from .cycle_state import CycleState
from .interfaces import (
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    ActionType,
    ClusterEvent,
    EventResource,
    Handle,
    Listers,
    PostFilterResult,
    PreFilterResult,
    default_normalize_score,
)
from .resources import Resource, pod_non_zero_requests, pod_requests
from .runtime import Framework, NoListers, NoNominations
from .snapshot import Snapshot
from .status import SKIP, Code, Status, error, is_success, unresolvable, unschedulable
from .types import AffinityTerm, ImageState, NodeInfo, PodInfo, node_info

__all__ = [
    "MAX_NODE_SCORE", "MIN_NODE_SCORE", "SKIP", "ActionType", "AffinityTerm", "ClusterEvent", "Code", "CycleState",
    "EventResource", "Framework", "Handle", "ImageState", "Listers", "NoListers", "NoNominations", "NodeInfo",
    "PodInfo", "PostFilterResult", "PreFilterResult", "Resource", "Snapshot", "Status", "default_normalize_score",
    "error", "is_success", "node_info", "pod_non_zero_requests", "pod_requests", "unresolvable", "unschedulable",
]
