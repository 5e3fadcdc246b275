"""The node network bootstrap.

On the host: a `kubelite0` bridge carrying the host's node address (198.18.0.1/20 by default),
which is where pods and other nodes reach the API server, and an egress guard: the CNI bridge
plugin turns IPv4 forwarding on where it runs, so forwarded packets from pod addresses to
anything outside the address plan are dropped (nftables table `inet kubelite-guard`). Nothing
is routed or NATed off the machine. In a node network namespace: IPv4 forwarding on, inside
that namespace only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

log = logging.getLogger(__name__)


class HostNetworkError(Exception):
    pass


async def _run(*argv: str, check: bool = True) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if check and proc.returncode != 0:
        raise HostNetworkError(f"{' '.join(argv)}: {err.decode(errors='replace').strip()}")
    return proc.returncode or 0, out.decode(errors="replace")


async def ensure_bridge(name: str, address: str, cidr: str) -> bool:
    """The bridge exists, is up, and has `address` (with the prefix of `cidr`). True if anything
    had to be done."""
    prefix = ipaddress.ip_network(cidr, strict=False).prefixlen
    changed = False
    rc, _ = await _run("ip", "link", "show", "dev", name, check=False)
    if rc != 0:
        await _run("ip", "link", "add", name, "type", "bridge")
        changed = True
    _, out = await _run("ip", "-o", "-4", "addr", "show", "dev", name)
    if f" {address}/" not in out:
        await _run("ip", "addr", "add", f"{address}/{prefix}", "dev", name)
        changed = True
    _, out = await _run("ip", "-o", "link", "show", "dev", name)
    if "state UP" not in out and ",UP" not in out:
        await _run("ip", "link", "set", name, "up")
        changed = True
    if changed:
        log.info("host bridge %s with %s/%s is up", name, address, prefix)
    return changed


async def enable_forwarding(netns: str) -> None:
    """net.ipv4.ip_forward=1 inside the node's network namespace (never on the host)."""
    if not netns:
        raise HostNetworkError("refusing to change forwarding outside a node network namespace")
    await _run("nsenter", f"--net={netns}", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")


GUARD_TABLE = "kubelite-guard"


def guard_ruleset(pod_cidr: str, allowed_cidr: str) -> str:
    """Drop forwarded traffic from pods to destinations outside `allowed_cidr` (the address plan)."""
    return (f"add table inet {GUARD_TABLE}\n"
            f"flush table inet {GUARD_TABLE}\n"
            f"add chain inet {GUARD_TABLE} forward {{ type filter hook forward priority -10; policy accept; }}\n"
            f"add rule inet {GUARD_TABLE} forward ip saddr {pod_cidr} ip daddr != {allowed_cidr} drop\n")


async def ensure_egress_guard(pod_cidr: str, allowed_cidr: str, netns: str = "") -> None:
    argv = ["nft", "-f", "-"]
    if netns:
        argv = ["nsenter", f"--net={netns}", *argv]
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate(guard_ruleset(pod_cidr, allowed_cidr).encode())
    if proc.returncode != 0:
        raise HostNetworkError(f"installing the egress guard failed: {err.decode(errors='replace').strip()}")


async def ensure_plan_routes(bridge: str, address: str, cidrs: list[str]) -> None:
    """Route the address plan's virtual ranges (Service and load-balancer addresses) to the host
    bridge: the proxy's rules rewrite such traffic to pods, and anything left unanswered stays
    on the bridge instead of following the host's default route off the machine."""
    for cidr in cidrs:
        await _run("ip", "route", "replace", cidr, "dev", bridge, "src", address)
