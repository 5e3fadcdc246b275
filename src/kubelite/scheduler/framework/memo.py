"""`ScoreMemo`: remember a plugin's score for a node until the node changes.

A node's `NodeInfo.generation` changes whenever a pod is placed on or removed from it or the
node object changes, and every change takes a new, never reused number. A score that depends
only on the node's contents and a few numbers of the pod can therefore be cached under
(generation, those numbers): between two pods of the same shape only the node that got the
last pod is scored again. A dict (so lookups are plain `get`s), cleared when it reaches `limit`.

    k = (node_info.generation, pod.request_key)
    s = memo.get(k)
    if s is None:
        s = memo.put(k, compute(pod, node_info))

`MemoizedRequestScore` gives a Score plugin whose score depends only on the node and the pod's
requests its `score` and `score_nodes` on that pattern.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Hashable, Sequence

if TYPE_CHECKING:
    from .types import NodeInfo, PodInfo
    from .cycle_state import CycleState


class ScoreMemo(dict):
    def __init__(self, limit: int = 65536) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: Hashable, score: int) -> int:
        if len(self) >= self.limit:
            self.clear()
        self[key] = score
        return score


class MemoizedRequestScore:
    """`score` and `score_nodes` memoized per (node generation, `pod.request_key`); the plugin
    defines `_score(pod, node_info)` and sets `self._memo = ScoreMemo()`."""

    _memo: ScoreMemo

    def _score(self, pod: PodInfo, node_info: NodeInfo) -> int:
        raise NotImplementedError

    def score(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> int:
        k = (node_info.generation, pod.request_key)
        s = self._memo.get(k)
        if s is None:
            s = self._memo.put(k, self._score(pod, node_info))
        return s

    def score_nodes(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        memo, key, compute = self._memo, pod.request_key, self._score
        get = memo.get
        out = []
        for ni in nodes:
            k = (ni.generation, key)
            s = get(k)
            if s is None:
                s = memo.put(k, compute(pod, ni))
            out.append(s)
        return out
