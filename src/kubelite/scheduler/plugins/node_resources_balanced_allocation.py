"""NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory would be used in similar
proportions after placing the pod.

For each resource with a non-zero allocatable, the fraction (requested + pod) / allocatable,
capped at 1; the score is (1 - standard deviation of the fractions) * 100 (for two resources the
deviation is half their difference). Uses the real requests, not the non-zero ones; a pod that
requests nothing is not scored by this plugin.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..framework import SKIP, MAX_NODE_SCORE, CycleState, NodeInfo, PodInfo, Status
from ..framework.memo import MemoizedRequestScore, ScoreMemo
from ..framework.resources import CPU, MEMORY
from .names import NODE_RESOURCES_BALANCED_ALLOCATION

DEFAULT_RESOURCES = ((CPU, 1), (MEMORY, 1))


def balanced_score(fractions: Sequence[float]) -> int:
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
    else:
        std = 0.0
    return int((1 - std) * MAX_NODE_SCORE)


class NodeResourcesBalancedAllocation(MemoizedRequestScore):
    name = NODE_RESOURCES_BALANCED_ALLOCATION

    def __init__(self, handle: Any = None, *, resources: Sequence[tuple[str, int]] = DEFAULT_RESOURCES) -> None:
        self.resources = tuple(name for name, _ in resources)
        self._default = self.resources == (CPU, MEMORY)
        self._memo = ScoreMemo()

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status | None:
        if all(pod.requests.get(r) == 0 for r in self.resources):
            return SKIP
        return None

    def _score(self, pod: PodInfo, node_info: NodeInfo) -> int:
        alloc, used, want = node_info.allocatable, node_info.requested, pod.requests
        if self._default:
            cap_cpu, cap_mem = alloc.milli_cpu, alloc.memory
            if cap_cpu and cap_mem:
                f1 = (used.milli_cpu + want.milli_cpu) / cap_cpu
                f2 = (used.memory + want.memory) / cap_mem
                if f1 > 1:
                    f1 = 1.0
                if f2 > 1:
                    f2 = 1.0
                return int((1 - abs((f1 - f2) / 2)) * MAX_NODE_SCORE)
        fractions = []
        for name in self.resources:
            cap = alloc.get(name)
            if not cap:
                continue
            fractions.append(min(1.0, (used.get(name) + want.get(name)) / cap))
        return balanced_score(fractions)
