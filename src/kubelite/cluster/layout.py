"""Names and addresses of a local cluster (pure).

A cluster takes one *slot* k of the address plan, so that several clusters can share the host
bridge at once: its nodes are 198.18.0.(10 + 16k + X) for X = 1..15, and its nodes' pod CIDRs
come from the /20 198.19.(16k).0/20 (one /24 per node, handed out by node IPAM). Slot 0 is the
plan's defaults: nodes 198.18.0.11, .12, ... and pods 198.19.0.0/24, 198.19.1.0/24, ...

Names: node namespace `kl-<cluster>-node<X>`, node `<cluster>-node<X>`, host-side veth
`kl<6 hex of the name>n<X>` (interface names have 15 characters at most), pod network
namespaces `kl-<cluster>-n<X>-<sandbox>`, cgroups under `/kl-<cluster>-node<X>`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass

from kubelite.machinery.addressplan import DEFAULT, AddressPlan

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$")
NETNS_PREFIX = "kl-"
BRIDGE = "kubelite0"
SLOT_NODES = 16           # addresses per slot; node X uses offset X (1..15)
NODE_BASE = 10            # first slot's nodes are .11, .12, ...
MAX_NODES = SLOT_NODES - 1
MAX_SLOTS = 15


class LayoutError(ValueError):
    pass


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise LayoutError(f'invalid cluster name "{name}": use 1-20 lowercase letters, digits and "-", starting '
                          f"and ending with a letter or digit")
    return name


@dataclass(frozen=True)
class Layout:
    name: str
    slot: int = 0
    plan: AddressPlan = DEFAULT

    @property
    def prefix(self) -> str:
        """Every network namespace and cgroup of this cluster starts with this."""
        return f"{NETNS_PREFIX}{self.name}-"

    @property
    def veth_prefix(self) -> str:
        return "kl" + hashlib.sha1(self.name.encode()).hexdigest()[:6] + "n"

    def netns(self, x: int) -> str:
        return f"{self.prefix}node{x}"

    def netns_path(self, x: int) -> str:
        return f"/var/run/netns/{self.netns(x)}"

    def node_name(self, x: int) -> str:
        return f"{self.name}-node{x}"

    def veth(self, x: int) -> str:
        return f"{self.veth_prefix}{x}"

    def cgroup_root(self, x: int) -> str:
        return self.netns(x)

    def pod_netns_prefix(self, x: int) -> str:
        return f"{self.prefix}n{x}"

    def node_ip(self, x: int) -> str:
        if not 1 <= x <= MAX_NODES:
            raise LayoutError(f"a local cluster has at most {MAX_NODES} nodes")
        net = ipaddress.ip_network(self.plan.node_cidr)
        return str(net[NODE_BASE + SLOT_NODES * self.slot + x])

    @property
    def node_prefixlen(self) -> int:
        return ipaddress.ip_network(self.plan.node_cidr).prefixlen

    @property
    def host_ip(self) -> str:
        return self.plan.host_address

    @property
    def cluster_cidr(self) -> str:
        """This cluster's pod block: 16 /24s of the plan's cluster CIDR."""
        net = ipaddress.ip_network(self.plan.cluster_cidr)
        size = 2 ** (32 - self.plan.node_pod_prefix) * SLOT_NODES
        base = int(net.network_address) + size * self.slot
        block = ipaddress.ip_network((base, 32 - (size.bit_length() - 1)))
        if not block.subnet_of(net):  # type: ignore[arg-type]
            raise LayoutError("cluster CIDR exhausted")
        return str(block)

    def node_ips(self) -> set[str]:
        return {self.node_ip(x) for x in range(1, MAX_NODES + 1)}


def in_block(cidr: str, block: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).subnet_of(ipaddress.ip_network(block))  # type: ignore
    except (ValueError, TypeError):
        return False


def pick_slot(used_ips: set[str], used_routes: list[str], taken: set[int], name: str,
              plan: AddressPlan = DEFAULT) -> int:
    """The lowest slot none of whose node addresses or pod routes is in use (pure)."""
    for k in range(MAX_SLOTS):
        if k in taken:
            continue
        lay = Layout(name, k, plan)
        if lay.node_ips() & used_ips:
            continue
        block = lay.cluster_cidr
        if any(in_block(r, block) or in_block(block, r) for r in used_routes if in_block(r, plan.cluster_cidr)):
            continue
        return k
    raise LayoutError("no free address slot for another local cluster (at most 15 at once)")
