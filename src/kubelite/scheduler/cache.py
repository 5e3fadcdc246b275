"""`Cache`: the scheduler's view of nodes and the pods placed on them, updated incrementally.

Pods come from the informer (bound pods) and from the scheduler itself: `assume(pod, node)`
places a pod on a node as soon as the scheduler picks it, before the binding is written, so
the next cycle already counts it. The informer later confirms it (`add_pod` of the bound pod);
a failed binding `forget`s it. An assumed pod whose binding finished but was never confirmed
expires after `assumed_ttl` seconds (None: never; Kubernetes' default since 1.26).

Nodes keep one `NodeInfo` each, changed in place; `snapshot()` returns the `Snapshot` for a
cycle, rebuilding its node lists only when nodes were added or removed or pods with
(anti-)affinity came or went. A pod can arrive before its node: it is kept on a node-less
`NodeInfo` that joins the snapshot when the node appears.

Images: every node's `status.images` feed one shared `ImageState` per image name, so
ImageLocality knows on how many nodes an image is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Mapping

from .framework import ImageState, NodeInfo, PodInfo, Snapshot
from .framework.snapshot import NodeSummary, zone_key

log = logging.getLogger(__name__)


@dataclass
class _PodState:
    info: PodInfo
    assumed: bool = False
    binding_finished: bool = False
    deadline: float | None = None


class Cache:
    def __init__(self, *, assumed_ttl: float | None = None, clock: Callable[[], float] | None = None) -> None:
        self._nodes: dict[str, NodeInfo] = {}
        self._pods: dict[str, _PodState] = {}          # by uid
        self._images: dict[str, ImageState] = {}
        self._snapshot: Snapshot | None = None
        self._summary = NodeSummary()
        self._assumed_ttl = assumed_ttl
        self._clock = clock

    # ----- nodes

    def add_node(self, node: Mapping) -> NodeInfo:
        name = node["metadata"]["name"]
        ni = self._nodes.get(name)
        if ni is None:
            ni = self._nodes[name] = NodeInfo(name=name)
        was_ghost = ni.node is None
        zone = zone_key(ni)
        if not was_ghost:
            self._summary.count(ni, -1)
        self._remove_images(ni)
        ni.set_node(node)
        self._add_images(ni, node)
        self._summary.count(ni, 1)
        if was_ghost or zone != zone_key(ni):
            self._snapshot = None
        return ni

    update_node = add_node

    def remove_node(self, name: str) -> None:
        ni = self._nodes.get(name)
        if ni is None:
            return
        if ni.node is not None:
            self._summary.count(ni, -1)
        self._remove_images(ni)
        if ni.pods:
            # Pods still reference it; keep their accounting until they go (Kubernetes does too).
            ni.node = None
        else:
            del self._nodes[name]
        self._snapshot = None

    def _add_images(self, ni: NodeInfo, node: Mapping) -> None:
        states: dict[str, ImageState] = {}
        for img in (node.get("status") or {}).get("images") or []:
            size = int(img.get("sizeBytes") or 0)
            for name in img.get("names") or []:
                st = self._images.get(name)
                if st is None:
                    st = self._images[name] = ImageState(size)
                st.size = size
                st.nodes.add(ni.name)
                states[name] = st
        ni.image_states = states

    def _remove_images(self, ni: NodeInfo) -> None:
        for name, st in ni.image_states.items():
            st.nodes.discard(ni.name)
            if not st.nodes:
                self._images.pop(name, None)
        ni.image_states = {}

    # ----- pods

    def assume(self, pod: PodInfo, node_name: str) -> None:
        """Place a pod we chose a node for (its binding is being written)."""
        if pod.uid in self._pods:
            raise ValueError(f"pod {pod.key} is in the cache, so can't be assumed")
        pod.node_name = node_name
        self._pods[pod.uid] = _PodState(pod, assumed=True)
        self._add_to_node(pod)

    def finish_binding(self, uid: str) -> None:
        ps = self._pods.get(uid)
        if ps is not None and ps.assumed:
            ps.binding_finished = True
            if self._assumed_ttl is not None and self._clock is not None:
                ps.deadline = self._clock() + self._assumed_ttl

    def forget(self, uid: str) -> None:
        """Undo `assume` (the binding failed)."""
        ps = self._pods.get(uid)
        if ps is not None and ps.assumed:
            self._remove_from_node(ps.info)
            del self._pods[uid]

    def is_assumed(self, uid: str) -> bool:
        ps = self._pods.get(uid)
        return ps is not None and ps.assumed

    def add_pod(self, pod: PodInfo) -> None:
        """A bound pod seen by the informer (confirms an assumed one)."""
        ps = self._pods.get(pod.uid)
        if ps is not None and ps.info is pod and ps.assumed:
            ps.assumed = False           # confirmed where we assumed it: the node is unchanged
            return
        if ps is not None:
            self._remove_from_node(ps.info)
        self._pods[pod.uid] = _PodState(pod)
        self._add_to_node(pod)

    update_pod = add_pod

    def remove_pod(self, uid: str) -> None:
        ps = self._pods.pop(uid, None)
        if ps is not None:
            self._remove_from_node(ps.info)

    def get_pod(self, uid: str) -> PodInfo | None:
        ps = self._pods.get(uid)
        return ps.info if ps is not None else None

    def cleanup_expired_assumed_pods(self) -> list[PodInfo]:
        if self._clock is None:
            return []
        now = self._clock()
        expired = [ps.info for ps in self._pods.values()
                   if ps.assumed and ps.binding_finished and ps.deadline is not None and now >= ps.deadline]
        for pi in expired:
            log.warning("assumed pod %s on node %s expired", pi.key, pi.node_name)
            self.forget(pi.uid)
        return expired

    def _add_to_node(self, pod: PodInfo) -> None:
        ni = self._nodes.get(pod.node_name)
        if ni is None:
            ni = self._nodes[pod.node_name] = NodeInfo(name=pod.node_name)
        before = (bool(ni.pods_with_affinity), bool(ni.pods_with_required_anti_affinity))
        ni.add_pod(pod)
        if (bool(ni.pods_with_affinity), bool(ni.pods_with_required_anti_affinity)) != before:
            self._snapshot = None

    def _remove_from_node(self, pod: PodInfo) -> None:
        ni = self._nodes.get(pod.node_name)
        if ni is None:
            return
        before = (bool(ni.pods_with_affinity), bool(ni.pods_with_required_anti_affinity))
        ni.remove_pod(pod.uid)
        if (bool(ni.pods_with_affinity), bool(ni.pods_with_required_anti_affinity)) != before:
            self._snapshot = None
        if ni.node is None and not ni.pods:
            del self._nodes[pod.node_name]

    # ----- reads

    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = Snapshot([ni for ni in self._nodes.values() if ni.node is not None],
                                      summary=self._summary)
        return self._snapshot

    def node_info(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    def pod_count(self) -> int:
        return len(self._pods)

    def assumed_count(self) -> int:
        return sum(1 for ps in self._pods.values() if ps.assumed)

    def statistics(self) -> dict[str, int]:
        return {"nodes": sum(1 for ni in self._nodes.values() if ni.node is not None), "pods": len(self._pods),
                "assumed_pods": self.assumed_count(), "images": len(self._images)}
