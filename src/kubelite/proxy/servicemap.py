"""What the proxy needs from Services and EndpointSlices, as small frozen values (pure).

kube-proxy's `ServicePort`, `Endpoint` and `CategorizeEndpoints` (pkg/proxy/servicechangetracker.go,
endpointslicecache.go, topology.go), over plain JSON dicts:

- `service_ports(service)`: one `ServicePort` per port of a Service kube-proxy would program
  (none for headless, ExternalName, or Services labelled for another proxy).
- `endpoints_by_port(ports, slices, node_name)`: the endpoints of each service port, merged over
  the Service's EndpointSlices (matched by port name and protocol), deduplicated, sorted.
- `categorize_endpoints(port, endpoints)`: which endpoints Cluster and Local traffic policies use
  (ready ones; serving-and-terminating ones only when none is ready).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Mapping

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
SERVICE_PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
HEADLESS_LABEL = "service.kubernetes.io/headless"
# What kube-proxy's informers select on: Services and slices that are not headless and not
# handled by another proxy.
PROXY_LABEL_SELECTOR = f"!{SERVICE_PROXY_NAME_LABEL},!{HEADLESS_LABEL}"
DEFAULT_AFFINITY_TIMEOUT = 10800


@dataclass(frozen=True)
class ServicePort:
    namespace: str
    name: str
    port_name: str
    protocol: str          # "tcp", "udp" or "sctp"
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    load_balancer_ips: tuple[str, ...] = ()
    load_balancer_source_ranges: tuple[str, ...] = ()
    affinity_timeout: int = 0   # seconds of ClientIP session affinity; 0 = none
    external_policy_local: bool = False
    internal_policy_local: bool = False

    @property
    def key(self) -> str:
        """The name of the service port in chain names: `ns/svc/proto/portname`."""
        return f"{self.namespace}/{self.name}/{self.protocol}/{self.port_name}"

    @property
    def display(self) -> str:
        """kube-proxy's `ServicePortName.String()`: `ns/svc:portname` (used in comments)."""
        return f"{self.namespace}/{self.name}" + (f":{self.port_name}" if self.port_name else "")

    @property
    def externally_accessible(self) -> bool:
        return bool(self.node_port or self.external_ips or self.load_balancer_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        return not self.internal_policy_local or (self.externally_accessible and not self.external_policy_local)

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_policy_local or (self.externally_accessible and self.external_policy_local)


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    is_local: bool = False

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class Categorized:
    cluster: tuple[Endpoint, ...]
    local: tuple[Endpoint, ...]
    all_reachable: tuple[Endpoint, ...]
    has_any: bool


def _meta(obj: Mapping) -> Mapping:
    return obj.get("metadata") or {}


def _ipv4(s: object) -> str | None:
    try:
        return str(ipaddress.IPv4Address(str(s)))
    except ValueError:
        return None


def should_skip_service(service: Mapping) -> bool:
    spec = service.get("spec") or {}
    if SERVICE_PROXY_NAME_LABEL in (_meta(service).get("labels") or {}):
        return True
    if spec.get("type") == "ExternalName":
        return True
    ip = spec.get("clusterIP")
    return ip in (None, "", "None")


def service_ports(service: Mapping) -> list[ServicePort]:
    """The IPv4 service ports of a Service, in spec order; [] if kube-proxy would skip it."""
    if should_skip_service(service):
        return []
    spec = service.get("spec") or {}
    meta = _meta(service)
    cluster_ip = _ipv4(spec.get("clusterIP"))
    if cluster_ip is None:
        return []
    stype = spec.get("type") or "ClusterIP"
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
        affinity = int(cfg.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT)
    external_ips = tuple(sorted({ip for ip in map(_ipv4, spec.get("externalIPs") or []) if ip},
                                key=ipaddress.IPv4Address))
    lb_ips: tuple[str, ...] = ()
    if stype == "LoadBalancer":
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        # ipMode "Proxy" means the load balancer delivers to the node, not to the VIP.
        lb_ips = tuple(sorted({ip for ip in (_ipv4(i.get("ip")) for i in ingress
                                             if i.get("ipMode") in (None, "", "VIP")) if ip},
                              key=ipaddress.IPv4Address))
    ranges = tuple(sorted({str(ipaddress.ip_network(r.strip(), strict=False))
                           for r in spec.get("loadBalancerSourceRanges") or [] if _is_v4_cidr(r)}))
    external_local = spec.get("externalTrafficPolicy") == "Local"
    internal_local = spec.get("internalTrafficPolicy") == "Local"
    out = []
    for p in spec.get("ports") or []:
        port = p.get("port")
        if not isinstance(port, int):
            continue
        node_port = int(p.get("nodePort") or 0) if stype in ("NodePort", "LoadBalancer") else 0
        out.append(ServicePort(
            namespace=meta.get("namespace") or "default", name=meta.get("name") or "",
            port_name=p.get("name") or "", protocol=(p.get("protocol") or "TCP").lower(),
            cluster_ip=cluster_ip, port=port, node_port=node_port, external_ips=external_ips,
            load_balancer_ips=lb_ips, load_balancer_source_ranges=ranges, affinity_timeout=affinity,
            external_policy_local=external_local and bool(node_port or external_ips or lb_ips),
            internal_policy_local=internal_local))
    return out


def _is_v4_cidr(s: object) -> bool:
    try:
        return ipaddress.ip_network(str(s).strip(), strict=False).version == 4
    except ValueError:
        return False


def slice_service_name(slice_: Mapping) -> str | None:
    return (_meta(slice_).get("labels") or {}).get(SERVICE_NAME_LABEL)


def endpoints_by_port(ports: Iterable[ServicePort], slices: Iterable[Mapping],
                      node_name: str) -> dict[str, tuple[Endpoint, ...]]:
    """Endpoints of each service port (keyed by `ServicePort.key`), sorted by IP then port.

    An address listed by several slices (during a controller's rebalancing) appears once, with
    the most available conditions seen.
    """
    wanted = {(p.port_name, p.protocol): p.key for p in ports}
    found: dict[str, dict[tuple[str, int], Endpoint]] = {k: {} for k in wanted.values()}
    for s in slices:
        if s.get("addressType", "IPv4") != "IPv4":
            continue
        for sp in s.get("ports") or []:
            key = wanted.get((sp.get("name") or "", (sp.get("protocol") or "TCP").lower()))
            port = sp.get("port")
            if key is None or not isinstance(port, int):
                continue
            bucket = found[key]
            for e in s.get("endpoints") or []:
                cond = e.get("conditions") or {}
                ready = cond.get("ready") is not False
                serving = cond.get("serving") is not False if cond.get("serving") is not None else ready
                terminating = cond.get("terminating") is True
                is_local = bool(node_name) and e.get("nodeName") == node_name
                for addr in (e.get("addresses") or [])[:1]:   # kube-proxy uses the first address
                    ip = _ipv4(addr)
                    if ip is None:
                        continue
                    ep = Endpoint(ip, port, ready, serving, terminating, is_local)
                    prev = bucket.get((ip, port))
                    if prev is None or _rank(ep) > _rank(prev):
                        bucket[(ip, port)] = ep
    return {k: tuple(sorted(v.values(), key=lambda e: (ipaddress.IPv4Address(e.ip), e.port)))
            for k, v in found.items()}


def _rank(e: Endpoint) -> tuple[bool, bool, bool]:
    return (e.ready, e.serving, not e.terminating)


def categorize_endpoints(port: ServicePort, endpoints: Iterable[Endpoint]) -> Categorized:
    """Split endpoints by traffic policy as kube-proxy's `CategorizeEndpoints` does."""
    eps = tuple(endpoints)
    cluster: tuple[Endpoint, ...] = ()
    local: tuple[Endpoint, ...] = ()
    has_any = False
    if port.uses_cluster_endpoints:
        cluster = tuple(e for e in eps if e.ready)
        if not cluster:
            cluster = tuple(e for e in eps if e.serving and e.terminating)
        has_any = bool(cluster)
    if not port.uses_local_endpoints:
        return Categorized(cluster, (), cluster, has_any)
    local_ready = local_terminating = False
    for e in eps:
        if e.ready:
            has_any = True
            local_ready = local_ready or e.is_local
        elif e.serving and e.terminating:
            has_any = True
            local_terminating = local_terminating or e.is_local
    if local_ready:
        local = tuple(e for e in eps if e.ready and e.is_local)
    elif local_terminating:
        local = tuple(e for e in eps if e.serving and e.terminating and e.is_local)
    if not port.uses_cluster_endpoints:
        return Categorized((), local, local, has_any)
    seen = {e.address for e in cluster}
    both = cluster + tuple(e for e in local if e.address not in seen)
    return Categorized(cluster, local, both, has_any)
