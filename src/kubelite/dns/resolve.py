"""Answering one DNS question from `ClusterRecords` (pure): the Kubernetes DNS specification
(kubernetes/dns `docs/specification.md`) as CoreDNS's `kubernetes` plugin implements it.

Under the cluster zone (default `cluster.local`):

| name                                              | answer                                         |
|---------------------------------------------------|------------------------------------------------|
| `<svc>.<ns>.svc.<zone>`                           | A: the ClusterIP; headless: one A per ready    |
|                                                   | endpoint (NXDOMAIN when none); ExternalName:   |
|                                                   | CNAME; SRV: one per port (and endpoint)         |
| `<hostname>.<svc>.<ns>.svc.<zone>`                | A of the endpoints with that hostname (or IP   |
|                                                   | with dashes)                                   |
| `_<port>._<proto>.<svc>.<ns>.svc.<zone>`          | SRV for a named port: `0 <weight> <port>       |
|                                                   | <target>`, targets' A records in additional    |
| `<a-b-c-d>.<ns>.pod.<zone>`                       | A a.b.c.d (pods "insecure"; "verified" needs a |
|                                                   | pod with that IP in that namespace)            |
| `dns-version.<zone>`                              | TXT "1.1.0"                                    |
| `<zone>`                                          | SOA, NS                                        |
| anything else under the zone                      | NXDOMAIN with the SOA                          |

Names that exist but not with the asked type get NOERROR, no answer, and the SOA (NODATA).
`in-addr.arpa` names of ClusterIPs and headless endpoints get PTRs; other reverse names and
every name outside the zone are forwarded upstream (`Resolution.forward`). Answers carry the
question's spelling (comparisons are case-insensitive) and a TTL of 5 s by default.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from dnslib import AAAA, CNAME, NS, PTR, QTYPE, RCODE, RR, SOA, SRV, TXT, A, DNSRecord

from .records import ClusterRecords, EndpointRecord, is_headless

SCHEMA_VERSION = "1.1.0"


@dataclass(frozen=True)
class DNSOptions:
    zone: str = "cluster.local"
    ttl: int = 5
    pods: str = "verified"        # "verified", "insecure" or "disabled"


@dataclass
class Resolution:
    reply: DNSRecord | None = None
    forward: bool = False          # not ours: ask the upstream resolvers
    chase: str = ""                # an ExternalName target to resolve and append to `reply`


def resolve(request: DNSRecord, records: ClusterRecords, opts: DNSOptions = DNSOptions()) -> Resolution:
    q = request.q
    name = str(q.qname).rstrip(".").lower()
    zone = opts.zone.lower().strip(".")
    if name == zone or name.endswith("." + zone):
        rel = name[: -len(zone)].rstrip(".")
        return _Zone(request, records, opts).answer(rel.split(".") if rel else [])
    if name.endswith(".in-addr.arpa") or name.endswith(".ip6.arpa"):
        ip = _reverse_ip(name)
        names = records.ptr(ip) if ip else []
        if not names:
            return Resolution(forward=True)
        reply = _reply(request)
        if q.qtype in (QTYPE.PTR, QTYPE.ANY):
            for n in names:
                reply.add_answer(RR(q.qname, QTYPE.PTR, rdata=PTR(f"{n}.{zone}."), ttl=opts.ttl))
        else:
            reply.add_auth(_soa(zone, records, opts))
        return Resolution(reply)
    return Resolution(forward=True)


def _reverse_ip(name: str) -> str | None:
    try:
        if name.endswith(".in-addr.arpa"):
            parts = name[: -len(".in-addr.arpa")].split(".")
            if len(parts) != 4:
                return None
            return str(ipaddress.IPv4Address(".".join(reversed(parts))))
        nibbles = name[: -len(".ip6.arpa")].split(".")
        if len(nibbles) != 32:
            return None
        h = "".join(reversed(nibbles))
        return str(ipaddress.IPv6Address(":".join(h[i:i + 4] for i in range(0, 32, 4))))
    except ValueError:
        return None


def _reply(request: DNSRecord) -> DNSRecord:
    reply = request.reply(ra=1, aa=1)
    return reply


def _soa(zone: str, records: ClusterRecords, opts: DNSOptions) -> RR:
    return RR(zone + ".", QTYPE.SOA, ttl=opts.ttl,
              rdata=SOA(f"ns.dns.{zone}.", f"hostmaster.{zone}.",
                        (records.serial % 4294967296, 7200, 1800, 86400, opts.ttl)))


class _Zone:
    def __init__(self, request: DNSRecord, records: ClusterRecords, opts: DNSOptions) -> None:
        self.request = request
        self.records = records
        self.opts = opts
        self.zone = opts.zone.lower().strip(".")
        self.q = request.q
        self.qtype = request.q.qtype
        self.reply = _reply(request)

    # -- outcomes -----------------------------------------------------------------------------

    def nxdomain(self) -> Resolution:
        self.reply.header.rcode = RCODE.NXDOMAIN
        self.reply.add_auth(_soa(self.zone, self.records, self.opts))
        return Resolution(self.reply)

    def nodata(self) -> Resolution:
        self.reply.add_auth(_soa(self.zone, self.records, self.opts))
        return Resolution(self.reply)

    def done(self) -> Resolution:
        return Resolution(self.reply) if self.reply.rr else self.nodata()

    def wants(self, *types: int) -> bool:
        return self.qtype in types or self.qtype == QTYPE.ANY

    def add_ip(self, name, ip: str) -> None:
        addr = ipaddress.ip_address(ip)
        if addr.version == 4 and self.wants(QTYPE.A):
            self.reply.add_answer(RR(name, QTYPE.A, rdata=A(ip), ttl=self.opts.ttl))
        elif addr.version == 6 and self.wants(QTYPE.AAAA):
            self.reply.add_answer(RR(name, QTYPE.AAAA, rdata=AAAA(ip), ttl=self.opts.ttl))

    def add_additional_ip(self, name: str, ip: str) -> None:
        addr = ipaddress.ip_address(ip)
        rtype, rdata = (QTYPE.A, A(ip)) if addr.version == 4 else (QTYPE.AAAA, AAAA(ip))
        self.reply.add_ar(RR(name, rtype, rdata=rdata, ttl=self.opts.ttl))

    # -- dispatch -----------------------------------------------------------------------------

    def answer(self, labels: list[str]) -> Resolution:
        if not labels:
            if self.wants(QTYPE.SOA):
                self.reply.add_answer(_soa(self.zone, self.records, self.opts))
            if self.wants(QTYPE.NS):
                self.reply.add_answer(RR(self.q.qname, QTYPE.NS, rdata=NS(f"ns.dns.{self.zone}."), ttl=self.opts.ttl))
            return self.done()
        if labels == ["dns-version"]:
            if self.wants(QTYPE.TXT):
                self.reply.add_answer(RR(self.q.qname, QTYPE.TXT, rdata=TXT(SCHEMA_VERSION), ttl=self.opts.ttl))
            return self.done()
        kind, rest = labels[-1], labels[:-1]
        if kind == "svc":
            return self.services(rest)
        if kind == "pod":
            return self.pods(rest)
        return self.nxdomain()

    def pods(self, rest: list[str]) -> Resolution:
        if not rest:
            return self.nodata()
        if len(rest) == 1:
            return self.nodata() if self.records.has_namespace(rest[0]) else self.nxdomain()
        if len(rest) != 2 or self.opts.pods == "disabled":
            return self.nxdomain()
        host, ns = rest
        ip = _undash(host)
        if ip is None:
            return self.nxdomain()
        if self.opts.pods == "verified" and not self.records.has_pod_ip(ns, ip):
            return self.nxdomain()
        self.add_ip(self.q.qname, ip)
        return self.done()

    def services(self, rest: list[str]) -> Resolution:
        if not rest:
            return self.nodata()
        ns = rest[-1]
        if len(rest) == 1:
            return self.nodata() if self.records.has_namespace(ns) else self.nxdomain()
        svc_name = rest[-2]
        svc = self.records.service(ns, svc_name)
        if svc is None:
            return self.nxdomain()
        prefix = rest[:-2]
        if not prefix:
            return self.service(svc, ns, svc_name)
        if len(prefix) == 2 and prefix[0].startswith("_") and prefix[1].startswith("_"):
            return self.srv(svc, ns, svc_name, prefix[0][1:], prefix[1][1:])
        if len(prefix) == 1:
            return self.endpoint(ns, svc_name, prefix[0])
        return self.nxdomain()

    # -- services -----------------------------------------------------------------------------

    def fqdn(self, *parts: str) -> str:
        return ".".join(parts) + f".svc.{self.zone}."

    def service(self, svc, ns: str, name: str) -> Resolution:
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            target = (spec.get("externalName") or "").rstrip(".")
            if not target:
                return self.nxdomain()
            self.reply.add_answer(RR(self.q.qname, QTYPE.CNAME, rdata=CNAME(target + "."), ttl=self.opts.ttl))
            chase = target if self.qtype in (QTYPE.A, QTYPE.AAAA) else ""
            return Resolution(self.reply, chase=chase)
        if is_headless(svc):
            eps = self.records.endpoints(ns, name)
            if not eps:
                return self.nxdomain()
            for e in eps:
                self.add_ip(self.q.qname, e.ip)
            if self.wants(QTYPE.SRV):
                targets = [(e, p[2]) for e in eps for p in e.ports]
                self._srv_endpoints(targets, ns, name)
            return self.done()
        for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
            if ip and ip != "None":
                self.add_ip(self.q.qname, ip)
        if self.wants(QTYPE.SRV):
            ports = [p for p in spec.get("ports") or [] if isinstance(p.get("port"), int)]
            self._srv_service(svc, [p["port"] for p in ports], ns, name)
        return self.done()

    def endpoint(self, ns: str, name: str, host: str) -> Resolution:
        eps = [e for e in self.records.endpoints(ns, name) if e.hostname == host]
        if not eps:
            return self.nxdomain()
        for e in eps:
            self.add_ip(self.q.qname, e.ip)
        return self.done()

    def srv(self, svc, ns: str, name: str, port_name: str, proto: str) -> Resolution:
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return self.nxdomain()
        ports = [p for p in spec.get("ports") or []
                 if (p.get("name") or "").lower() == port_name and (p.get("protocol") or "TCP").lower() == proto]
        if not ports or not port_name:
            return self.nxdomain()
        if is_headless(svc):
            eps = self.records.endpoints(ns, name)
            targets = [(e, p[2]) for e in eps for p in e.ports if p[0].lower() == port_name and p[1] == proto]
            if not targets:
                return self.nxdomain()
            if self.wants(QTYPE.SRV):
                self._srv_endpoints(targets, ns, name)
            for e, _ in targets:
                self.add_ip(self.q.qname, e.ip)
            return self.done()
        if self.wants(QTYPE.SRV):
            self._srv_service(svc, [p["port"] for p in ports if isinstance(p.get("port"), int)], ns, name)
        for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
            if ip and ip != "None":
                self.add_ip(self.q.qname, ip)
        return self.done()

    def _srv_service(self, svc, ports: list[int], ns: str, name: str) -> None:
        if not ports:
            return
        target = self.fqdn(name, ns)
        weight = max(1, 100 // len(ports))
        for port in ports:
            self.reply.add_answer(RR(self.q.qname, QTYPE.SRV, rdata=SRV(0, weight, port, target), ttl=self.opts.ttl))
        spec = svc.get("spec") or {}
        for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
            if ip and ip != "None":
                self.add_additional_ip(target, ip)

    def _srv_endpoints(self, targets: list[tuple[EndpointRecord, int]], ns: str, name: str) -> None:
        if not targets:
            return
        weight = max(1, 100 // len(targets))
        added = set()
        for e, port in targets:
            target = self.fqdn(e.hostname, name, ns)
            self.reply.add_answer(RR(self.q.qname, QTYPE.SRV, rdata=SRV(0, weight, port, target), ttl=self.opts.ttl))
            if (target, e.ip) not in added:
                added.add((target, e.ip))
                self.add_additional_ip(target, e.ip)


def _undash(host: str) -> str | None:
    try:
        if host.count("-") == 3:
            return str(ipaddress.IPv4Address(host.replace("-", ".")))
        return str(ipaddress.IPv6Address(host.replace("-", ":")))
    except ValueError:
        return None
