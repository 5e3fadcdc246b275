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
"""

from __future__ import annotations

from typing import Hashable


class ScoreMemo(dict):
    def __init__(self, limit: int = 65536) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: Hashable, score: int) -> int:
        if len(self) >= self.limit:
            self.clear()
        self[key] = score
        return score
