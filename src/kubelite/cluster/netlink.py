"""The `ip` commands a local cluster needs, run with asyncio (never blocking the loop).

Everything stays on the host bridge and inside the cluster's own network namespaces: node
namespaces get no default route (pod traffic to anything outside the cluster has nowhere to go),
and the host gets routes only for the cluster's own pod CIDRs, via its own node addresses.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os

log = logging.getLogger(__name__)

NETNS_DIR = "/var/run/netns"


class NetlinkError(Exception):
    pass


async def run(*argv: str, check: bool = True, timeout: float = 30.0) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise NetlinkError(f"{' '.join(argv)}: timed out") from None
    rc = proc.returncode or 0
    if check and rc != 0:
        raise NetlinkError(f"{' '.join(argv)}: {err.decode(errors='replace').strip()}")
    return rc, out.decode(errors="replace"), err.decode(errors="replace")


def _ip(netns: str | None) -> list[str]:
    return ["ip", "-n", netns] if netns else ["ip"]


async def ip_json(*args: str, netns: str | None = None) -> list[dict]:
    _, out, _ = await run(*_ip(netns), "-j", *args)
    return json.loads(out or "[]")


# ----- links and the bridge -------------------------------------------------------------------


async def link_exists(name: str, netns: str | None = None) -> bool:
    rc, _, _ = await run(*_ip(netns), "link", "show", "dev", name, check=False)
    return rc == 0


async def ensure_bridge(name: str, address: str, prefixlen: int) -> bool:
    """The host bridge exists, is up and carries `address`; True when this call created it."""
    created = False
    if not await link_exists(name):
        rc, _, err = await run("ip", "link", "add", name, "type", "bridge", check=False)
        if rc != 0 and not await link_exists(name):
            raise NetlinkError(f"cannot create bridge {name}: {err.strip()}")
        created = rc == 0
    addrs = await ip_json("-4", "addr", "show", "dev", name)
    have = {a.get("local") for d in addrs for a in d.get("addr_info", [])}
    if address not in have:
        rc, _, err = await run("ip", "addr", "add", f"{address}/{prefixlen}", "dev", name, check=False)
        if rc != 0 and "File exists" not in err:
            raise NetlinkError(f"cannot add {address} to {name}: {err.strip()}")
    await run("ip", "link", "set", name, "up")
    return created


async def bridge_ports(bridge: str) -> list[str]:
    return [d["ifname"] for d in await ip_json("link", "show", "master", bridge)]


async def list_links(prefix: str) -> list[str]:
    return [d["ifname"] for d in await ip_json("link", "show") if d.get("ifname", "").startswith(prefix)]


async def delete_link(name: str, netns: str | None = None) -> bool:
    rc, _, _ = await run(*_ip(netns), "link", "delete", name, check=False)
    return rc == 0


async def set_link(name: str, up: bool, netns: str | None = None) -> None:
    await run(*_ip(netns), "link", "set", name, "up" if up else "down")


# ----- network namespaces ---------------------------------------------------------------------


def list_netns(prefix: str = "") -> list[str]:
    if not os.path.isdir(NETNS_DIR):
        return []
    return sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(prefix))


async def add_netns(name: str) -> None:
    await run("ip", "netns", "add", name)
    await run("ip", "-n", name, "link", "set", "lo", "up")


async def delete_netns(name: str) -> bool:
    rc, _, _ = await run("ip", "netns", "delete", name, check=False)
    return rc == 0


async def add_node_link(netns: str, veth: str, bridge: str, address: str, prefixlen: int) -> None:
    """A veth from the bridge into the node namespace, named eth0 there, with the node address."""
    await run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns)
    await run("ip", "link", "set", veth, "master", bridge)
    await run("ip", "link", "set", veth, "up")
    await run("ip", "-n", netns, "addr", "add", f"{address}/{prefixlen}", "dev", "eth0")
    await run("ip", "-n", netns, "link", "set", "eth0", "up")


async def enable_forwarding(netns: str) -> None:
    """IPv4 forwarding inside the node namespace only (never on the host)."""
    await run("nsenter", f"--net={NETNS_DIR}/{netns}", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")


async def addresses(netns: str | None = None) -> set[str]:
    try:
        data = await ip_json("-4", "addr", "show", netns=netns)
    except (NetlinkError, json.JSONDecodeError):
        return set()
    return {a["local"] for d in data for a in d.get("addr_info", []) if a.get("local")}


# ----- routes ---------------------------------------------------------------------------------


async def routes(netns: str | None = None) -> list[dict]:
    """IPv4 main-table routes: [{"dst": "198.19.1.0/24", "gateway": "...", "dev": "..."}]."""
    return await ip_json("-4", "route", "show", netns=netns)


async def route_replace(dst: str, *, via: str | None = None, dev: str | None = None, scope: str | None = None,
                        netns: str | None = None) -> None:
    args = [*_ip(netns), "route", "replace", dst]
    if via:
        args += ["via", via]
    if dev:
        args += ["dev", dev]
    if scope:
        args += ["scope", scope]
    await run(*args)


async def route_delete(dst: str, *, via: str | None = None, netns: str | None = None) -> bool:
    args = [*_ip(netns), "route", "delete", dst]
    if via:
        args += ["via", via]
    rc, _, _ = await run(*args, check=False)
    return rc == 0
