"""`NodeIPAMController`: gives every Node its pod CIDR (Kubernetes' range allocator).

Before allocating anything the controller marks the CIDRs existing nodes hold as used (so a
restart never hands one out twice). `sync_node(name)` allocates the next free subnet of each
cluster CIDR (one per IP family) to a node without `spec.podCIDRs` and writes `podCIDR` and
`podCIDRs`; a node deleted gives its subnets back. Events: `CIDRNotAvailable` when the range is
full, `CIDRAssignmentFailed` when the node cannot be updated.

Options: `cluster_cidr` (comma-separated for dual stack; default the address plan's
198.19.0.0/16), `node_cidr_mask_size` (IPv4, default /24), `node_cidr_mask_size_ipv6` (/64).
"""

from __future__ import annotations

import logging

from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.addressplan import DEFAULT
from kubelite.machinery.errors import StatusError, is_not_found

from .cidrset import CIDRRangeFull, CIDRSet, CIDRSetError

log = logging.getLogger(__name__)


def node_cidrs(node: dict) -> list[str]:
    spec = node.get("spec") or {}
    return list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))


class NodeIPAMController(Controller):
    name = "node-ipam-controller"
    workers = 1

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        self.nodes = ctx.informers.informer_for("nodes")
        self.node_lister = self.nodes.lister()
        cidrs = str(ctx.option("cluster_cidr", DEFAULT.cluster_cidr))
        v4 = int(ctx.option("node_cidr_mask_size", DEFAULT.node_pod_prefix))
        v6 = int(ctx.option("node_cidr_mask_size_ipv6", 64))
        self.cidr_sets: list[CIDRSet] = []
        for cidr in (c.strip() for c in cidrs.split(",") if c.strip()):
            probe = CIDRSet(cidr, v4) if ":" not in cidr else CIDRSet(cidr, v6)
            self.cidr_sets.append(probe)
        self.allocated: dict[str, list[str]] = {}
        self._rebuilt = False
        self.nodes.add_event_handler(self.enqueue, lambda old, new: self.enqueue(new), self.delete_node)

    # ----- handlers

    def delete_node(self, node: dict) -> None:
        self.release(node["metadata"]["name"], node_cidrs(node))

    def release(self, name: str, cidrs: list[str]) -> None:
        for cidr in set(cidrs) | set(self.allocated.pop(name, [])):
            for s in self.cidr_sets:
                try:
                    s.release(cidr)
                except CIDRSetError:
                    continue

    # ----- loop

    async def run(self) -> None:
        await self.informers.wait_for_cache_sync()
        self.rebuild()
        await super().run()

    def rebuild(self) -> None:
        """Mark the CIDRs existing nodes hold as used (once, before the first allocation)."""
        if self._rebuilt:
            return
        self._rebuilt = True
        for node in self.node_lister.list():
            self.occupy(node)

    def occupy(self, node: dict) -> None:
        name = node["metadata"]["name"]
        cidrs = node_cidrs(node)
        for cidr, s in zip(cidrs, self.cidr_sets):
            try:
                s.occupy(cidr)
            except CIDRSetError as e:
                log.warning("failed to mark cidr %s as occupied for node %s: %s", cidr, name, e)
        self.allocated[name] = cidrs

    # ----- sync

    async def sync(self, key: str) -> None:
        await self.sync_node(key)

    async def sync_node(self, name: str) -> None:
        self.rebuild()
        try:
            node = self.node_lister.get(name)
        except StatusError as e:
            if not is_not_found(e):
                raise
            return
        if node["metadata"].get("deletionTimestamp"):
            return
        if node_cidrs(node):
            self.occupy(node)
            return
        cidrs = self.allocated.get(name) or []
        if not cidrs:
            try:
                for s in self.cidr_sets:
                    cidrs.append(s.allocate_next())
            except CIDRRangeFull:
                self.release(name, cidrs)
                self.event(_node_ref(node), "Normal", "CIDRNotAvailable",
                           f"Node {name} status is now: CIDRNotAvailable")
                return
            self.allocated[name] = cidrs
        try:
            await self.client.patch("nodes", name, {"metadata": {"uid": node["metadata"]["uid"]},
                                                    "spec": {"podCIDR": cidrs[0], "podCIDRs": cidrs}})
        except StatusError as e:
            if is_not_found(e):
                self.release(name, cidrs)
                return
            self.event(_node_ref(node), "Normal", "CIDRAssignmentFailed",
                       f"Node {name} status is now: CIDRAssignmentFailed")
            raise


def _node_ref(node: dict) -> dict:
    md = node["metadata"]
    return {"kind": "Node", "apiVersion": "v1", "name": md["name"], "uid": md.get("uid", md["name"])}
