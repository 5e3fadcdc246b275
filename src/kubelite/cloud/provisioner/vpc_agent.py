"""The node agent of a managed node, networked as the Amazon VPC CNI networks EKS nodes:

- pods get secondary addresses of the node's own subnet (the ones the service gave the
  instance), through the CNI `ptp` plugin: a veth per pod, the pod's address as a /32 routed to
  it inside the node namespace, no bridge and no overlay; the node's `eth0` answers ARP for its
  pods (proxy ARP), as the VPC fabric delivers an ENI's secondary addresses to it. So every node
  of the VPC, and the host (a machine inside the VPC), reaches a pod directly at its address.
- the kubelet's HTTPS server (logs, exec, attach, port-forward, stats) listens on the node's own
  address inside the node namespace, so several nodes share the machine without sharing a port.
- a Fargate node is sized from its one pod's requests (its capacity is what Fargate provisions).

`VPCAgent` is `kubelite.agent.Agent` with those three parts replaced; `vpc_conflist` is pure.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import dataclasses
import ipaddress
import logging
import os
import socket
from typing import Any

from kubelite.agent import Agent

log = logging.getLogger(__name__)

CNI_VERSION = "1.0.0"
CLONE_NEWNET = 0x40000000


def address_ranges(addresses: list[str], subnet_cidr: str, gateway: str) -> list[dict[str, str]]:
    """host-local ranges covering exactly `addresses` (consecutive runs become one range)."""
    ips = sorted(ipaddress.ip_address(a) for a in addresses)
    runs: list[list[ipaddress.IPv4Address]] = []
    for ip in ips:
        if runs and int(ip) == int(runs[-1][-1]) + 1:
            runs[-1].append(ip)  # type: ignore[arg-type]
        else:
            runs.append([ip])  # type: ignore[list-item]
    return [{"subnet": subnet_cidr, "rangeStart": str(r[0]), "rangeEnd": str(r[-1]), "gateway": gateway}
            for r in runs]


def vpc_conflist(*, addresses: list[str], subnet_cidr: str, data_dir: str, name: str = "aws-cni",
                 mtu: int = 0) -> dict[str, Any]:
    """ptp (a routed veth per pod, no masquerade) + host-local over the node's secondary addresses
    + portmap (hostPort). The pods' gateway is the subnet's router address (.1), which only
    exists on the node side of each pod's veth."""
    net = ipaddress.ip_network(subnet_cidr)
    gateway = str(net.network_address + 1)
    ptp: dict[str, Any] = {
        "type": "ptp", "ipMasq": False,
        "ipam": {"type": "host-local", "ranges": [address_ranges(addresses, subnet_cidr, gateway)],
                 "routes": [{"dst": "0.0.0.0/0"}], "dataDir": data_dir},
    }
    if mtu:
        ptp["mtu"] = mtu
    return {"cniVersion": CNI_VERSION, "name": name,
            "plugins": [ptp, {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}]}


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def listening_socket_in_netns(netns: str, address: str, port: int) -> socket.socket:
    """A TCP socket bound to `address:port` inside the network namespace at path `netns` (made by
    a thread that enters the namespace and leaves it again; the socket stays in it)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(netns, os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns {netns}: {os.strerror(e)}")
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:  # pragma: no cover - the thread is a throwaway
                raise OSError(ctypes.get_errno(), "setns back failed")
    finally:
        os.close(target)
        os.close(own)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class VPCAgent(Agent):
    def __init__(self, cfg: Any, client: Any, *, vpc: dict[str, Any], capacity: dict[str, Any] | None = None):
        super().__init__(cfg, client)
        self.vpc = vpc
        if capacity:
            ns = self.kubelet.node_status
            ns.machine = dataclasses.replace(ns.machine, cpus=int(capacity.get("cpus") or ns.machine.cpus),
                                             memory_bytes=int(capacity.get("memory_bytes")
                                                              or ns.machine.memory_bytes))

    async def _pod_network(self) -> None:
        from kubelite.kubelet.network.cni.plugin import CNINetworkPlugin, CNIOptions

        await self.kubelet.node_status.registered.wait()
        run = self.cfg.runtime_dir
        conflist = vpc_conflist(addresses=list(self.vpc["addresses"]), subnet_cidr=self.vpc["subnet_cidr"],
                                data_dir=str(run / "ipam"))
        plugin = CNINetworkPlugin(CNIOptions(conflist=conflist, cache_dir=run / "cni", node_netns=self.cfg.node_netns,
                                             netns_prefix=self.cfg.netns_prefix))
        self.network.set(plugin)
        self.network_ready.set()
        log.info("node %s: VPC pod network, %d addresses of %s", self.cfg.node_name, len(self.vpc["addresses"]),
                 self.vpc["subnet_cidr"])
        await self.kubelet.refresh_node_status()

    async def _kubelet_server(self) -> None:
        """The kubelet's HTTPS API on the node's address inside its namespace."""
        from aiohttp import web

        from kubelite.agent.agent import self_signed_serving_pair
        from kubelite.kubelet.server.server import KubeletServer, KubeletServerOptions, serving_ssl_context

        cfg = self.cfg
        if cfg.client_ca_file is None:
            log.warning("node %s: no client CA for the kubelet server", cfg.node_name)
            return
        cert, key = await asyncio.to_thread(self_signed_serving_pair, cfg.data_dir, cfg.node_name, cfg.address)
        ctx = serving_ssl_context(str(cert), str(key), str(cfg.client_ca_file))
        server = KubeletServer(self.runtime, self.kubelet.lookup, node_name=cfg.node_name,
                               options=KubeletServerOptions(address=cfg.address, port=cfg.kubelet_port,
                                                            ssl_context=ctx))
        sock = await asyncio.to_thread(listening_socket_in_netns, cfg.node_netns, cfg.address, cfg.kubelet_port)
        runner = web.AppRunner(server.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.SockSite(runner, sock, ssl_context=ctx).start()
            log.info("node %s: kubelet server on %s:%d (node namespace)", cfg.node_name, cfg.address,
                     cfg.kubelet_port)
            await server.sampler.run()
        finally:
            await runner.cleanup()
