"""host-gw routing between nodes (flannel's host-gw backend, `dataplane-contract.md` §3.3).

Every node namespace needs, for every *other* node, a route to that node's pod CIDR via that
node's InternalIP; the host gets one route per node so that pods can reach (and be answered by)
the API server on the bridge. `desired_routes` is the pure part; `RouteSyncer` watches Nodes
and reconciles the routes it owns: only routes inside the cluster's pod block, so the CNI
bridge's own connected route and anything else are never touched.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from kubelite.client import InformerFactory

from . import netlink
from .layout import BRIDGE, in_block

log = logging.getLogger(__name__)


def node_ip(node: dict) -> str:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return a.get("address", "")
    return ""


def node_cidrs(node: dict) -> list[str]:
    spec = node.get("spec") or {}
    return list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))


def pod_cidr_table(nodes: list[dict], block: str) -> dict[str, tuple[str, str]]:
    """pod CIDR -> (node name, node IP), for nodes with both, inside `block`."""
    out: dict[str, tuple[str, str]] = {}
    for n in nodes:
        ip = node_ip(n)
        if not ip or (n.get("metadata") or {}).get("deletionTimestamp"):
            continue
        for cidr in node_cidrs(n):
            if ":" not in cidr and in_block(cidr, block):
                out[cidr] = (n["metadata"]["name"], ip)
    return out


def desired_routes(table: dict[str, tuple[str, str]], node_name: str | None) -> dict[str, str]:
    """dst -> via for one node's namespace (None: the host, which routes to every node)."""
    return {cidr: ip for cidr, (name, ip) in table.items() if name != node_name}


def route_changes(current: dict[str, str], desired: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """(routes to add or replace, destinations to delete)."""
    put = {d: v for d, v in desired.items() if current.get(d) != v}
    drop = [d for d in current if d not in desired]
    return put, drop


class RouteSyncer:
    """Keeps host-gw routes in sync with the Nodes (`run()` until cancelled)."""

    def __init__(self, client, block: str, netns_of: Callable[[str], str | None], *, host: bool = True,
                 resync_period: float = 10.0):
        self.client = client
        self.block = block
        self.netns_of = netns_of
        self.host = host
        self.resync_period = resync_period
        self.factory = InformerFactory(client)
        self.nodes = self.factory.informer_for("nodes")
        self._dirty = asyncio.Event()
        mark = lambda *_: self._dirty.set()  # noqa: E731
        self.nodes.add_event_handler(mark, mark, mark)
        self.synced = asyncio.Event()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.factory.run(), name="route-informers")
            await self.factory.wait_for_cache_sync()
            while True:
                self._dirty.clear()
                try:
                    await self.sync_all()
                    self.synced.set()
                except Exception:  # noqa: BLE001 - retried at the next change or resync
                    log.exception("route sync failed")
                try:
                    async with asyncio.timeout(self.resync_period):
                        await self._dirty.wait()
                except TimeoutError:
                    pass

    async def sync_all(self) -> None:
        nodes = self.nodes.lister().list()
        table = pod_cidr_table(nodes, self.block)
        seen: set[str] = set()
        for n in nodes:
            name = n["metadata"]["name"]
            ns = self.netns_of(name)
            if ns and ns in netlink.list_netns(ns):
                seen.add(ns)
                await self.sync_netns(ns, desired_routes(table, name), dev="eth0")
        if self.host:
            await self.sync_netns(None, desired_routes(table, None), dev=BRIDGE)

    async def sync_netns(self, netns: str | None, desired: dict[str, str], *, dev: str) -> None:
        current = {}
        for r in await netlink.routes(netns):
            dst = r.get("dst", "")
            if r.get("gateway") and in_block(dst, self.block):
                current[dst] = r["gateway"]
        put, drop = route_changes(current, desired)
        for dst, via in put.items():
            try:
                await netlink.route_replace(dst, via=via, dev=dev, netns=netns)
                log.info("route %s via %s in %s", dst, via, netns or "host")
            except netlink.NetlinkError as e:  # e.g. the node's address is not on-link (yet)
                log.warning("route %s via %s in %s: %s", dst, via, netns or "host", e)
        for dst in drop:
            await netlink.route_delete(dst, netns=netns)
            log.info("route %s removed in %s", dst, netns or "host")
