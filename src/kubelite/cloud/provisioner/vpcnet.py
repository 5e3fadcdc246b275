"""The host's side of the VPCs: each VPC is a Linux bridge `klv<hex of its block>` that its node
instances' `eth0` veths attach to, and the host (which stands in for a machine inside the VPC)
is on it through addresses the service gives out from the VPC's subnets: each cluster's control
plane network interface (where its API server and cluster DNS are reached from the VPC) and each
internal load balancer. The bridge carries the VPC's prefix, so the host reaches every node and
pod of the VPC directly; node namespaces have no default route, so nothing in one VPC reaches
another VPC or anything off the machine.

Internet-facing load balancers get addresses from the service's public pool (inside the address
plan's load-balancer range), held on `lo` with the label `lo:klb` so cleanup finds them.

`HostNetwork` is the real one (`ip` commands); `FakeHostNetwork` records what it was asked, for
tests without root.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Protocol

log = logging.getLogger(__name__)

PUBLIC_LABEL = "lo:klb"
BRIDGE_PREFIX = "klv"


def bridge_name(vpc_cidr: str) -> str:
    net = ipaddress.ip_network(vpc_cidr, strict=False)
    return f"{BRIDGE_PREFIX}{int(net.network_address):08x}"[:15]


class HostNetworks(Protocol):
    async def ensure_vpc(self, vpc_cidr: str) -> str:
        """The VPC's bridge exists and is up; its name."""

    async def attach(self, vpc_cidr: str, address: str) -> None:
        """The host holds `address` on the VPC's bridge (with the VPC's prefix)."""

    async def detach(self, vpc_cidr: str, address: str) -> None:
        """The host no longer holds `address`; the bridge goes when nothing uses it any more."""

    async def add_public(self, address: str) -> None: ...

    async def remove_public(self, address: str) -> None: ...

    async def release_vpc(self, vpc_cidr: str) -> None:
        """Remove the VPC's bridge if no port and no host address is left on it."""

    async def public_addresses_in_use(self) -> set[str]: ...


class HostNetwork:
    async def ensure_vpc(self, vpc_cidr: str) -> str:
        from kubelite.cluster import netlink

        bridge = bridge_name(vpc_cidr)
        if not await netlink.link_exists(bridge):
            rc, _, err = await netlink.run("ip", "link", "add", bridge, "type", "bridge", check=False)
            if rc != 0 and not await netlink.link_exists(bridge):
                raise OSError(f"cannot create the VPC bridge {bridge}: {err.strip()}")
        # Removing the first address must not take the others (a cluster's, a load balancer's) along.
        await netlink.run("sysctl", "-q", "-w", f"net.ipv4.conf.{bridge}.promote_secondaries=1", check=False)
        await netlink.run("ip", "link", "set", bridge, "up")
        return bridge

    async def attach(self, vpc_cidr: str, address: str) -> None:
        from kubelite.cluster import netlink

        bridge = await self.ensure_vpc(vpc_cidr)
        prefix = ipaddress.ip_network(vpc_cidr, strict=False).prefixlen
        rc, _, err = await netlink.run("ip", "addr", "add", f"{address}/{prefix}", "dev", bridge, check=False)
        if rc != 0 and "File exists" not in err and "already assigned" not in err:
            raise OSError(f"cannot add {address} to {bridge}: {err.strip()}")

    async def detach(self, vpc_cidr: str, address: str) -> None:
        from kubelite.cluster import netlink

        bridge = bridge_name(vpc_cidr)
        prefix = ipaddress.ip_network(vpc_cidr, strict=False).prefixlen
        await netlink.run("ip", "addr", "del", f"{address}/{prefix}", "dev", bridge, check=False)
        await self.release_vpc(vpc_cidr)

    async def release_vpc(self, vpc_cidr: str) -> None:
        from kubelite.cluster import netlink

        bridge = bridge_name(vpc_cidr)
        if not await netlink.link_exists(bridge):
            return
        addrs = await netlink.ip_json("-4", "addr", "show", "dev", bridge)
        if any(d.get("addr_info") for d in addrs) or await netlink.bridge_ports(bridge):
            return
        await netlink.delete_link(bridge)

    async def add_public(self, address: str) -> None:
        from kubelite.cluster import netlink

        rc, _, err = await netlink.run("ip", "addr", "add", f"{address}/32", "dev", "lo", "label", PUBLIC_LABEL,
                                       check=False)
        if rc != 0 and "File exists" not in err and "already assigned" not in err:
            raise OSError(f"cannot add {address} to lo: {err.strip()}")

    async def remove_public(self, address: str) -> None:
        from kubelite.cluster import netlink

        await netlink.run("ip", "addr", "del", f"{address}/32", "dev", "lo", check=False)

    async def public_addresses_in_use(self) -> set[str]:
        from kubelite.cluster import netlink

        out = set()
        for d in await netlink.ip_json("-4", "addr", "show", "dev", "lo"):
            for a in d.get("addr_info") or []:
                out.add(a.get("local", ""))
        return out


class FakeHostNetwork:
    def __init__(self) -> None:
        self.vpcs: dict[str, set[str]] = {}
        self.public: set[str] = set()

    async def ensure_vpc(self, vpc_cidr: str) -> str:
        self.vpcs.setdefault(vpc_cidr, set())
        return bridge_name(vpc_cidr)

    async def attach(self, vpc_cidr: str, address: str) -> None:
        self.vpcs.setdefault(vpc_cidr, set()).add(address)

    async def detach(self, vpc_cidr: str, address: str) -> None:
        self.vpcs.get(vpc_cidr, set()).discard(address)
        await self.release_vpc(vpc_cidr)

    async def release_vpc(self, vpc_cidr: str) -> None:
        if not self.vpcs.get(vpc_cidr):
            self.vpcs.pop(vpc_cidr, None)

    async def add_public(self, address: str) -> None:
        self.public.add(address)

    async def remove_public(self, address: str) -> None:
        self.public.discard(address)

    async def public_addresses_in_use(self) -> set[str]:
        return set(self.public)
