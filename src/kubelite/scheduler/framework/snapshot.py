"""`Snapshot`: the read-only view of the cluster one scheduling cycle decides from.

It lists every node's `NodeInfo` (in zone round-robin order, like Kubernetes' node tree, so
that a sampled search spreads across zones), finds one by name, and lists the nodes that have
pods with affinity or with required anti-affinity (so the inter-pod affinity plugin does not
walk every node), and counts nodes with taints, images or `spec.unschedulable` (`summary`, kept
current by the cache) so plugins with nothing to check can skip. The cache owns the `NodeInfo`s and rebuilds the lists only when nodes come
or go or a node gains or loses such pods; a cycle runs without awaiting, so the view cannot
change under it.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .corev1 import LABEL_TOPOLOGY_REGION, LABEL_TOPOLOGY_ZONE
from .types import NodeInfo


def zone_key(ni: NodeInfo) -> str:
    region = ni.labels.get(LABEL_TOPOLOGY_REGION, "")
    zone = ni.labels.get(LABEL_TOPOLOGY_ZONE, "")
    return f"{region}:\x00:{zone}" if region or zone else ""


def zone_round_robin(nodes: Iterable[NodeInfo]) -> list[NodeInfo]:
    """Nodes ordered one per zone in turn (zones in first-seen order, nodes in given order)."""
    zones: dict[str, list[NodeInfo]] = {}
    for ni in nodes:
        zones.setdefault(zone_key(ni), []).append(ni)
    if len(zones) <= 1:
        return [ni for group in zones.values() for ni in group]
    out: list[NodeInfo] = []
    groups = list(zones.values())
    for i in range(max(len(g) for g in groups)):
        for g in groups:
            if i < len(g):
                out.append(g[i])
    return out


class NodeSummary:
    """How many nodes have a property some plugin checks (so it can skip when none has)."""

    __slots__ = ("unschedulable", "filter_taints", "prefer_no_schedule_taints", "images")

    def __init__(self) -> None:
        self.unschedulable = 0
        self.filter_taints = 0
        self.prefer_no_schedule_taints = 0
        self.images = 0

    def count(self, ni: NodeInfo, sign: int) -> None:
        self.unschedulable += sign * bool(ni.unschedulable)
        self.filter_taints += sign * bool(ni.filter_taints)
        self.prefer_no_schedule_taints += sign * bool(ni.prefer_no_schedule_taints)
        self.images += sign * bool(ni.image_states)

    @classmethod
    def of(cls, nodes: Iterable[NodeInfo]) -> NodeSummary:
        s = cls()
        for ni in nodes:
            s.count(ni, 1)
        return s


class Snapshot:
    __slots__ = ("node_infos", "_by_name", "have_pods_with_affinity", "have_pods_with_required_anti_affinity",
                 "summary")

    def __init__(self, node_infos: Sequence[NodeInfo] = (), *, ordered: bool = False,
                 summary: NodeSummary | None = None) -> None:
        self.node_infos: list[NodeInfo] = list(node_infos) if ordered else zone_round_robin(node_infos)
        self.summary = summary if summary is not None else NodeSummary.of(self.node_infos)
        self._by_name = {ni.name: ni for ni in self.node_infos}
        self.have_pods_with_affinity = [ni for ni in self.node_infos if ni.pods_with_affinity]
        self.have_pods_with_required_anti_affinity = [ni for ni in self.node_infos
                                                      if ni.pods_with_required_anti_affinity]

    def get(self, name: str) -> NodeInfo | None:
        return self._by_name.get(name)

    def __len__(self) -> int:
        return len(self.node_infos)

    def num_nodes(self) -> int:
        return len(self.node_infos)
