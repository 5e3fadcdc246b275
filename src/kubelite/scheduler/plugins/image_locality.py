"""ImageLocality: prefer nodes that already hold the pod's images.

Per container image present on the node: its size scaled by the share of nodes that have it
(so an image everywhere counts little); the sum is clamped to [23 MB, 1000 MB * containers]
and mapped onto 0..100.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..framework import MAX_NODE_SCORE, SKIP, CycleState, NodeInfo, PodInfo, Status
from .names import IMAGE_LOCALITY

MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


def normalized_image_name(name: str) -> str:
    """`nginx` -> `nginx:latest`; names with a tag or digest are unchanged."""
    if "@" in name:
        return name
    if ":" not in name.rsplit("/", 1)[-1]:
        return name + ":latest"
    return name


def calculate_priority(sum_scores: int, num_containers: int) -> int:
    max_threshold = MAX_CONTAINER_THRESHOLD * num_containers
    if sum_scores < MIN_THRESHOLD:
        sum_scores = MIN_THRESHOLD
    elif sum_scores > max_threshold:
        sum_scores = max_threshold
    return MAX_NODE_SCORE * (sum_scores - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)


class ImageLocality:
    name = IMAGE_LOCALITY

    def __init__(self, handle: Any = None) -> None:
        self.handle = handle

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status | None:
        # No node reports images: every node would score 0.
        if self.handle is not None:
            return SKIP if self.handle.snapshot().summary.images == 0 else None
        return None if any(ni.image_states for ni in nodes) else SKIP

    def score(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> int:
        images = node_info.image_states
        if not images:
            return 0
        spec = pod.pod.get("spec") or {}
        containers = list(spec.get("initContainers") or []) + list(spec.get("containers") or [])
        total_nodes = self.handle.snapshot().num_nodes() if self.handle is not None else 1
        total = 0
        for c in containers:
            state_ = images.get(normalized_image_name(c.get("image") or ""))
            if state_ is not None and total_nodes:
                total += int(state_.size * (state_.num_nodes / total_nodes))
        return calculate_priority(total, len(containers)) if containers else 0
