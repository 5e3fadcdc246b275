"""The subsets of an Endpoints object (pure): one address per backing pod and Service port,
repacked so that addresses offering the same ports share a subset, sorted, and truncated to
1000 addresses (ready ones kept first).
"""

from __future__ import annotations

from ..util.endpoint import (
    find_port,
    is_headless,
    pod_ip_for_family,
    service_family,
    should_pod_be_in_endpoints,
    should_set_hostname,
    target_ref,
)
from ..util.pods import is_pod_ready

MAX_CAPACITY = 1000


def endpoint_address(pod: dict, service: dict) -> dict | None:
    ip = pod_ip_for_family(pod, service_family(service))
    if ip is None:
        return None
    addr: dict = {"ip": ip}
    if should_set_hostname(pod, service):
        addr["hostname"] = pod["spec"]["hostname"]
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        addr["nodeName"] = node
    addr["targetRef"] = target_ref(pod)
    return addr


def _port(service_port: dict, number: int) -> dict:
    p = {"port": number, "protocol": service_port.get("protocol") or "TCP"}
    if service_port.get("name"):
        p["name"] = service_port["name"]
    if service_port.get("appProtocol"):
        p["appProtocol"] = service_port["appProtocol"]
    return p


def _addr_key(addr: dict) -> tuple[str, str]:
    return addr["ip"], (addr.get("targetRef") or {}).get("uid", "")


def _port_key(port: dict) -> tuple:
    return port.get("name", ""), port["port"], port.get("protocol", ""), port.get("appProtocol", "")


def build_subsets(service: dict, pods: list[dict]) -> list[dict]:
    """`(ready address, not-ready address, port)` per pod and port, repacked."""
    spec = service.get("spec") or {}
    tolerate_unready = bool(spec.get("publishNotReadyAddresses"))
    entries: list[tuple[dict, bool, dict | None]] = []
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, tolerate_unready):
            continue
        addr = endpoint_address(pod, service)
        if addr is None:
            continue
        ready = tolerate_unready or is_pod_ready(pod)
        ports = spec.get("ports") or []
        if not ports:
            if is_headless(service):
                entries.append((addr, ready, None))
            continue
        for sp in ports:
            number = find_port(pod, sp)
            if number is not None:
                entries.append((addr, ready, _port(sp, number)))
    return repack(entries)


def repack(entries: list[tuple[dict, bool, dict | None]]) -> list[dict]:
    """Group addresses by the set of ports they offer; ready wins over not ready."""
    addrs: dict[tuple, dict] = {}
    by_port: dict[tuple | None, dict[tuple, bool]] = {}
    ports: dict[tuple, dict] = {}
    for addr, ready, port in entries:
        k = _addr_key(addr)
        addrs.setdefault(k, addr)
        pk = _port_key(port) if port is not None else None
        if port is not None:
            ports[pk] = port
        seen = by_port.setdefault(pk, {})
        seen[k] = seen.get(k, False) or ready
    groups: dict[tuple, list[tuple]] = {}
    for pk, members in by_port.items():
        group_key = tuple(sorted(members.items()))
        groups.setdefault(group_key, [])
        if pk is not None:
            groups[group_key].append(pk)
    subsets = []
    for members, pks in groups.items():
        subset: dict = {}
        ready = [addrs[k] for k, r in members if r]
        not_ready = [addrs[k] for k, r in members if not r]
        if ready:
            subset["addresses"] = sorted(ready, key=_addr_key)
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=_addr_key)
        if pks:
            subset["ports"] = [ports[pk] for pk in sorted(pks)]
        subsets.append(subset)
    return sorted(subsets, key=_subset_key)


def _subset_key(subset: dict) -> tuple:
    first = (subset.get("addresses") or subset.get("notReadyAddresses") or [{"ip": ""}])[0]
    return _addr_key(first) if "ip" in first else ("", ""), [_port_key(p) for p in subset.get("ports") or []]


def truncate(subsets: list[dict], limit: int = MAX_CAPACITY) -> bool:
    """Keep at most `limit` addresses, ready ones first; True if anything was dropped."""
    total = sum(len(s.get("addresses") or []) + len(s.get("notReadyAddresses") or []) for s in subsets)
    if total <= limit:
        return False
    room = limit
    for field_ in ("addresses", "notReadyAddresses"):
        for s in subsets:
            items = s.get(field_) or []
            keep = items[:room]
            room -= len(keep)
            if keep:
                s[field_] = keep
            else:
                s.pop(field_, None)
    return True
