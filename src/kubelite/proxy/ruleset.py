"""The values a rendered table is made of (pure): names and constants of kube-proxy's layout,
`RenderOptions`, `Ruleset` (chains, sets/maps, elements), `KernelState` (what a listing found),
`Transaction` (an `nft -f` script), and kube-proxy's hashed chain names.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Mapping

from .servicemap import Endpoint, ServicePort

# chain and map names (kube-proxy's)
SERVICES = "services"
SERVICE_IPS = "service-ips"
SERVICE_NODEPORTS = "service-nodeports"
NODEPORT_IPS = "nodeport-ips"
CLUSTER_IPS = "cluster-ips"
ENDPOINTS_CHECK = "endpoints-check"
NO_ENDPOINT_SERVICES = "no-endpoint-services"
NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports"
REJECT_CHAIN = "reject-chain"
FIREWALL_IPS = "firewall-ips"
FIREWALL_CHECK = "firewall-check"
CLUSTER_IPS_CHECK = "cluster-ips-check"
MARK_MASQ = "mark-for-masquerade"
MASQUERADING = "masquerading"

NAME_LENGTH_MAX = 256
CHAIN_BASE_LENGTH_MAX = NAME_LENGTH_MAX - 16

SERVICE_KEY = "ipv4_addr . inet_proto . inet_service"
NODEPORT_KEY = "inet_proto . inet_service"


@dataclass(frozen=True)
class RenderOptions:
    table: str = "kubelite-proxy"
    # Pod CIDRs: traffic from elsewhere to a ClusterIP is masqueraded (kube-proxy's
    # --cluster-cidr local-traffic detector). Empty: no detection.
    cluster_cidrs: tuple[str, ...] = ("198.19.0.0/16",)
    # Service CIDRs: traffic to an unallocated ClusterIP is dropped, not routed. Empty: no rule.
    service_cidrs: tuple[str, ...] = ("198.18.128.0/20",)
    masquerade_all: bool = False
    masquerade_bit: int = 14
    # "primary": NodePorts answer on the node's IPs (kube-proxy's default in nftables mode);
    # "all": on every local address but 127.0.0.0/8.
    nodeport_addresses: str = "primary"

    @property
    def masquerade_mark(self) -> str:
        return f"{1 << self.masquerade_bit:#010x}"


@dataclass(frozen=True)
class BaseChain:
    name: str
    type: str
    hook: str
    priority: int


BASE_CHAINS = (
    BaseChain("filter-prerouting", "filter", "prerouting", -110),
    BaseChain("filter-input", "filter", "input", -110),
    BaseChain("filter-forward", "filter", "forward", -110),
    BaseChain("filter-output", "filter", "output", -110),
    BaseChain("filter-output-post-dnat", "filter", "output", -90),
    BaseChain("nat-prerouting", "nat", "prerouting", -100),
    BaseChain("nat-output", "nat", "output", -100),
    BaseChain("nat-postrouting", "nat", "postrouting", 100),
)


@dataclass(frozen=True)
class SetSpec:
    """A set (or, with `map=True`, a map) declaration."""

    type: str
    map: bool = False
    flags: tuple[str, ...] = ()
    timeout: int = 0
    comment: str = ""

    @property
    def dynamic(self) -> bool:
        """Elements are added by the packet path (affinity), never by us."""
        return "dynamic" in self.flags

    def declaration(self) -> str:
        parts = [f"type {self.type}"]
        if self.flags:
            parts.append("flags " + ",".join(self.flags))
        if self.timeout:
            parts.append(f"timeout {self.timeout}s")
        if self.comment:
            parts.append(f"comment {quote(self.comment)}")
        return "{ " + " ; ".join(parts) + " ; }"


@dataclass(frozen=True)
class Element:
    key: str
    value: str = ""
    comment: str = ""

    def text(self) -> str:
        s = self.key + (f" comment {quote(self.comment)}" if self.comment else "")
        return f"{s} : {self.value}" if self.value else s


@dataclass(frozen=True)
class ServiceState:
    """What conntrack cleanup needs to know about one UDP/TCP service port."""

    protocol: str
    ips: tuple[str, ...]               # ClusterIP, externalIPs, LoadBalancer IPs
    port: int
    node_port: int
    endpoints: frozenset[str]          # IPs of the endpoints traffic may be sent to


@dataclass(frozen=True)
class Fragment:
    """Everything one service port contributes to the table."""

    key: str
    chains: tuple[tuple[str, tuple[str, ...]], ...]
    sets: tuple[tuple[str, SetSpec], ...]
    elements: tuple[tuple[str, Element], ...]
    state: ServiceState


@dataclass(frozen=True)
class Ruleset:
    table: str
    chains: Mapping[str, tuple[str, ...]]               # every chain -> its rules, in order
    sets: Mapping[str, SetSpec]                         # sets and maps
    elements: Mapping[str, Mapping[str, Element]]       # set/map -> key -> element
    services: Mapping[str, ServiceState] = field(default_factory=dict)
    base_chains: tuple[BaseChain, ...] = BASE_CHAINS

    def chain_count(self) -> int:
        return len(self.chains)


@dataclass(frozen=True)
class KernelState:
    """What a listing of our table found: chain names and set specs (None when unparsed)."""

    exists: bool = False
    chains: frozenset[str] = frozenset()
    sets: Mapping[str, SetSpec | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Transaction:
    script: str
    full: bool
    commands: int
    stale_chains: frozenset[str] = frozenset()     # flushed by this script; delete them later
    changed_chains: int = 0

    def __bool__(self) -> bool:
        return self.commands > 0


# ---------------------------------------------------------------------------------------------
# names


def hash_and_truncate(name: str) -> str:
    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()
    out = digest[:8] + "-" + name
    if len(out) > CHAIN_BASE_LENGTH_MAX:
        out = out[:CHAIN_BASE_LENGTH_MAX - 3] + "..."
    return out


def service_chain_base(sp: ServicePort) -> str:
    return hash_and_truncate(sp.key)


def endpoint_chain_base(sp: ServicePort, ep: Endpoint) -> str:
    return hash_and_truncate(f"{sp.key}__{ep.ip}/{ep.port}")


def is_service_chain_name(name: str) -> bool:
    """Per-service chains always have a `/` in their names; our fixed chains never do."""
    return "/" in name


def is_affinity_set_name(name: str) -> bool:
    return name.startswith("affinity-")


def quote(s: str) -> str:
    return '"' + s.replace('"', "'") + '"'
