"""`ClusterRecords`: what cluster DNS knows, kept current from informer events (no I/O).

Holds Services, the EndpointSlices of each Service and (for verified pod records) pod IPs,
and answers the questions `resolve` asks: a Service by name, its endpoints (merged over its
slices, deduplicated by address), whether a namespace has Services, whether a pod has an IP,
and which names an IP has (PTR).
"""

from __future__ import annotations

import ipaddress
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True)
class EndpointRecord:
    ip: str
    hostname: str          # the endpoint's hostname, or its IP with dashes (CoreDNS's choice)
    ready: bool
    ports: tuple[tuple[str, str, int], ...]     # (name, protocol lowercased, port)


def _meta(obj: Mapping) -> Mapping:
    return obj.get("metadata") or {}


def _key(obj: Mapping) -> tuple[str, str]:
    m = _meta(obj)
    return (m.get("namespace") or "default", m.get("name") or "")


def is_headless(service: Mapping) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


class ClusterRecords:
    def __init__(self) -> None:
        self.services: dict[tuple[str, str], Mapping] = {}
        self.slices: dict[tuple[str, str], dict[str, Mapping]] = defaultdict(dict)
        self._ns_count: dict[str, int] = defaultdict(int)
        self._pods: dict[tuple[str, str], tuple[str, ...]] = {}           # (ns, name) -> IPs
        self._pod_ips: dict[tuple[str, str], int] = defaultdict(int)      # (ns, ip) -> count
        self._endpoints: dict[tuple[str, str], tuple[EndpointRecord, ...]] = {}
        self._ptr: dict[str, set[str]] = defaultdict(set)                # ip -> relative names
        self._ptr_of: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        self.serial = int(time.time())

    def _changed(self) -> None:
        self.serial += 1

    # -- services -------------------------------------------------------------------------

    def set_service(self, svc: Mapping) -> None:
        key = _key(svc)
        if key not in self.services:
            self._ns_count[key[0]] += 1
        self.services[key] = svc
        self._reindex(key)

    def delete_service(self, svc: Mapping) -> None:
        key = _key(svc)
        if self.services.pop(key, None) is not None:
            self._ns_count[key[0]] -= 1
            if self._ns_count[key[0]] <= 0:
                del self._ns_count[key[0]]
        self._reindex(key)

    # -- endpoint slices --------------------------------------------------------------------

    def set_slice(self, slice_: Mapping) -> None:
        svc = (_meta(slice_).get("labels") or {}).get(SERVICE_NAME_LABEL)
        if not svc:
            return
        key = (_key(slice_)[0], svc)
        self.slices[key][_key(slice_)[1]] = slice_
        self._reindex(key)

    def delete_slice(self, slice_: Mapping) -> None:
        svc = (_meta(slice_).get("labels") or {}).get(SERVICE_NAME_LABEL)
        if not svc:
            return
        key = (_key(slice_)[0], svc)
        self.slices.get(key, {}).pop(_key(slice_)[1], None)
        if not self.slices.get(key):
            self.slices.pop(key, None)
        self._reindex(key)

    # -- pods ---------------------------------------------------------------------------------

    def set_pod(self, pod: Mapping) -> None:
        key = _key(pod)
        status = pod.get("status") or {}
        ips = tuple(sorted({p.get("ip") for p in status.get("podIPs") or [] if p.get("ip")}
                           | ({status["podIP"]} if status.get("podIP") else set())))
        self._forget_pod(key)
        self._pods[key] = ips
        for ip in ips:
            self._pod_ips[(key[0], ip)] += 1

    def delete_pod(self, pod: Mapping) -> None:
        self._forget_pod(_key(pod))

    def _forget_pod(self, key: tuple[str, str]) -> None:
        for ip in self._pods.pop(key, ()):
            k = (key[0], ip)
            self._pod_ips[k] -= 1
            if self._pod_ips[k] <= 0:
                del self._pod_ips[k]

    # -- queries ------------------------------------------------------------------------------

    def service(self, namespace: str, name: str) -> Mapping | None:
        return self.services.get((namespace, name))

    def has_namespace(self, namespace: str) -> bool:
        return namespace in self._ns_count

    def has_pod_ip(self, namespace: str, ip: str) -> bool:
        return (namespace, ip) in self._pod_ips

    def endpoints(self, namespace: str, name: str) -> tuple[EndpointRecord, ...]:
        """Endpoints DNS publishes: ready ones (all of them with publishNotReadyAddresses)."""
        return self._endpoints.get((namespace, name), ())

    def ptr(self, ip: str) -> list[str]:
        """Names (relative to the zone, e.g. `svc.ns.svc`) pointing back at `ip`."""
        return sorted(self._ptr.get(ip, ()))

    # -- index --------------------------------------------------------------------------------

    def _reindex(self, key: tuple[str, str]) -> None:
        self._changed()
        svc = self.services.get(key)
        eps: tuple[EndpointRecord, ...] = ()
        if svc is not None and (svc.get("spec") or {}).get("type") != "ExternalName":
            publish_all = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
            eps = tuple(e for e in _merge(self.slices.get(key, {}).values()) if e.ready or publish_all)
        if eps:
            self._endpoints[key] = eps
        else:
            self._endpoints.pop(key, None)
        for ip, name in self._ptr_of.pop(key, set()):
            self._ptr[ip].discard(name)
            if not self._ptr[ip]:
                del self._ptr[ip]
        if svc is None:
            return
        ns, name = key
        base = f"{name}.{ns}.svc"
        entries: set[tuple[str, str]] = set()
        spec = svc.get("spec") or {}
        if is_headless(svc):
            for e in eps:
                entries.add((e.ip, f"{e.hostname}.{base}"))
        elif spec.get("type") != "ExternalName":
            for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
                if ip and ip != "None":
                    entries.add((ip, base))
        for ip, n in entries:
            self._ptr[ip].add(n)
        if entries:
            self._ptr_of[key] = entries


def _merge(slices: Iterable[Mapping]) -> list[EndpointRecord]:
    by_ip: dict[str, EndpointRecord] = {}
    for s in sorted(slices, key=lambda s: _meta(s).get("name") or ""):
        if s.get("addressType", "IPv4") not in ("IPv4", "IPv6"):
            continue
        ports = tuple((p.get("name") or "", (p.get("protocol") or "TCP").lower(), int(p["port"]))
                      for p in s.get("ports") or [] if isinstance(p.get("port"), int))
        for e in s.get("endpoints") or []:
            ready = (e.get("conditions") or {}).get("ready") is not False
            for ip in e.get("addresses") or []:
                try:
                    ip = str(ipaddress.ip_address(ip))
                except ValueError:
                    continue
                rec = EndpointRecord(ip, (e.get("hostname") or dashed(ip)).lower(), ready, ports)
                prev = by_ip.get(ip)
                if prev is None or (rec.ready and not prev.ready):
                    by_ip[ip] = rec
                elif prev.ready == rec.ready:
                    by_ip[ip] = EndpointRecord(prev.ip, prev.hostname, prev.ready,
                                               tuple(dict.fromkeys(prev.ports + rec.ports)))
    return sorted(by_ip.values(), key=lambda e: (ipaddress.ip_address(e.ip).version, ipaddress.ip_address(e.ip)))
