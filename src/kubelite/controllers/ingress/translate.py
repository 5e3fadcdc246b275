"""Ingresses -> one load balancer configuration (pure: the caller passes lookups over its caches).

All Ingresses of the class share one load balancer (as ingress-nginx shares one proxy): an HTTP
and an HTTPS listener whose rules are every Ingress path, in Kubernetes' precedence:

1. hosts: an exact host before a wildcard (`*.example.com`, one label) before no host;
2. within a host, the longest path first, `Exact` before `Prefix` for the same path, and an
   Ingress's `defaultBackend` after all of that host's paths;
3. the same host, path and type in two Ingresses: the older Ingress wins.

`ImplementationSpecific` paths are Prefix matches, or ALB-style patterns when they hold `*`/`?`.
A request that no rule takes goes to the oldest Ingress `defaultBackend` without host, else 404.

Backends: a Service port (by number or name) becomes a target group whose targets are the ready
endpoints of the Service's EndpointSlices for that port (serving terminating endpoints only when
no endpoint is ready, as kube-proxy does); an endpoint that leaves is drained by the load
balancer. A missing Service or port answers 503 and is reported as a problem of the Ingress.

TLS: each `spec.tls` Secret (`tls.crt`, `tls.key`) is checked; a valid one is served by SNI for
its hosts (or the certificate's names) and those hosts redirect HTTP to HTTPS (308, unless the
`kubelite.io/ssl-redirect: "false"` annotation); an invalid or missing one is a problem and its
hosts are served over plain HTTP only (HTTPS still answers, with the default certificate).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Callable

from kubelite.lb import (Certificate, CertificateError, FixedResponse, Forward, HealthCheck, Listener,
                         ListenerProtocol, LoadBalancerConfig, PathMatch, PathMatchType, Redirect, Rule, Target,
                         TargetGroup, parse_certificate)
from kubelite.lb.model import Action, Timeouts

from . import reasons

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
SSL_REDIRECT_ANNOTATION = "kubelite.io/ssl-redirect"
HEALTHCHECK_PATH_ANNOTATION = "kubelite.io/healthcheck-path"
DEREGISTRATION_DELAY = 30.0

NOT_FOUND = FixedResponse(404, "404 Not Found\n")
UNAVAILABLE = FixedResponse(503, "503 Service Unavailable\n")


@dataclass(frozen=True)
class Problem:
    reason: str
    message: str
    type: str = "Warning"


@dataclass(frozen=True)
class ClusterView:
    """Read-only lookups over the caller's caches."""

    service: Callable[[str, str], dict | None]            # (namespace, name)
    endpoint_slices: Callable[[str, str], list[dict]]     # (namespace, service name)
    secret: Callable[[str, str], dict | None]             # (namespace, name)


@dataclass(frozen=True)
class Options:
    name: str = "kubelite-ingress"
    address: str = "127.0.0.1"
    http_port: int = 80
    https_port: int = 443
    redirect_port: int = 443              # the HTTPS port clients see (in Location headers)
    default_certificate: Certificate | None = None
    timeouts: Timeouts = Timeouts()


@dataclass
class Plan:
    config: LoadBalancerConfig
    problems: dict[str, list[Problem]] = field(default_factory=dict)     # ingress key -> problems
    services: set[tuple[str, str]] = field(default_factory=set)          # referenced (namespace, name)
    secrets: set[tuple[str, str]] = field(default_factory=set)


def ingress_key(ing: dict) -> str:
    md = ing["metadata"]
    return f"{md.get('namespace', '')}/{md['name']}"


def _age_key(ing: dict) -> tuple[str, str, str]:
    md = ing["metadata"]
    return (md.get("creationTimestamp") or "", md.get("namespace", ""), md["name"])


def path_match(path_type: str, path: str) -> PathMatch:
    path = path or "/"
    if path_type == "Exact":
        return PathMatch(PathMatchType.EXACT, path)
    if path_type == "ImplementationSpecific" and ("*" in path or "?" in path):
        return PathMatch(PathMatchType.PATTERN, path)
    return PathMatch(PathMatchType.PREFIX, path)


def _host_rank(host: str) -> int:
    return 2 if not host else 1 if host.startswith("*.") else 0


_TYPE_RANK = {PathMatchType.EXACT: 0, PathMatchType.PREFIX: 1, PathMatchType.PATTERN: 2}


def _path_length(m: PathMatch) -> int:
    return len(m.value.rstrip("/")) if m.type is PathMatchType.PREFIX else len(m.value)


# ----- backends ------------------------------------------------------------------------------

def targets_for(slices: list[dict], port_name: str) -> tuple[Target, ...]:
    """Ready endpoints of the slices' port named `port_name`; serving terminating ones only when
    none is ready. Sorted, unique."""
    ready: set[Target] = set()
    terminating: set[Target] = set()
    for s in slices:
        if s.get("addressType", "IPv4") != "IPv4":
            continue
        port = next((p.get("port") for p in s.get("ports") or []
                     if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == "TCP"), None)
        if not isinstance(port, int):
            continue
        for e in s.get("endpoints") or []:
            cond = e.get("conditions") or {}
            is_ready = cond.get("ready") is not False
            serving = cond.get("serving") if cond.get("serving") is not None else is_ready
            addrs = e.get("addresses") or []
            if not addrs:
                continue
            t = Target(addrs[0], port)
            if is_ready and not cond.get("terminating"):
                ready.add(t)
            elif serving and cond.get("terminating"):
                terminating.add(t)
    chosen = ready or terminating
    return tuple(sorted(chosen, key=lambda t: (t.ip, t.port)))


class _Builder:
    def __init__(self, view: ClusterView, opts: Options) -> None:
        self.view = view
        self.opts = opts
        self.groups: dict[str, TargetGroup] = {}
        self.problems: dict[str, list[Problem]] = {}
        self.services: set[tuple[str, str]] = set()
        self.secrets: set[tuple[str, str]] = set()

    def problem(self, key: str, reason: str, message: str) -> None:
        lst = self.problems.setdefault(key, [])
        p = Problem(reason, message)
        if p not in lst:
            lst.append(p)

    def backend_action(self, ing: dict, backend: dict) -> Action:
        key = ingress_key(ing)
        ns = ing["metadata"].get("namespace", "")
        if backend.get("resource"):
            r = backend["resource"]
            self.problem(key, reasons.UNSUPPORTED_BACKEND,
                         f"resource backend {r.get('kind')}/{r.get('name')} is not supported; answering 503")
            return UNAVAILABLE
        ref = backend.get("service") or {}
        name = ref.get("name", "")
        self.services.add((ns, name))
        svc = self.view.service(ns, name)
        if svc is None:
            self.problem(key, reasons.SERVICE_NOT_FOUND, f'service "{ns}/{name}" not found; answering 503')
            return UNAVAILABLE
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            self.problem(key, reasons.UNSUPPORTED_BACKEND,
                         f'service "{ns}/{name}" is of type ExternalName, which is not supported; answering 503')
            return UNAVAILABLE
        want = ref.get("port") or {}
        sp = None
        for p in spec.get("ports") or []:
            if (p.get("protocol") or "TCP") != "TCP":
                continue
            if ("number" in want and p.get("port") == want["number"]) or \
                    ("name" in want and want["name"] and p.get("name") == want["name"]):
                sp = p
                break
        if sp is None:
            what = want.get("number") if "number" in want else want.get("name")
            self.problem(key, reasons.SERVICE_PORT_NOT_FOUND,
                         f'service "{ns}/{name}" has no port {what}; answering 503')
            return UNAVAILABLE
        tg_name = f"{ns}/{name}:{sp['port']}"
        if tg_name not in self.groups:
            targets = targets_for(self.view.endpoint_slices(ns, name), sp.get("name") or "")
            path = (ing["metadata"].get("annotations") or {}).get(HEALTHCHECK_PATH_ANNOTATION)
            hc = HealthCheck(enabled=True, path=path, interval=5.0, timeout=2.0, healthy_threshold=2,
                             unhealthy_threshold=2) if path else HealthCheck()
            self.groups[tg_name] = TargetGroup(tg_name, "HTTP", targets, hc,
                                               deregistration_delay=DEREGISTRATION_DELAY)
        return Forward.to(tg_name)

    def certificate(self, ing: dict, tls: dict) -> tuple[Certificate | None, tuple[str, ...]]:
        """(the certificate, the hosts it secures) or (None, ()) after recording a problem; a tls
        entry without secretName secures its hosts with the default certificate."""
        key = ingress_key(ing)
        ns = ing["metadata"].get("namespace", "")
        hosts = tuple(h.lower() for h in tls.get("hosts") or [])
        name = tls.get("secretName") or ""
        if not name:
            return None, hosts
        self.secrets.add((ns, name))
        secret = self.view.secret(ns, name)
        if secret is None:
            self.problem(key, reasons.SECRET_NOT_FOUND,
                         f'secret "{ns}/{name}" not found; {_hosts_text(hosts)} served without TLS')
            return None, ()
        data = secret.get("data") or {}
        try:
            crt = base64.b64decode(data.get("tls.crt") or "", validate=True).decode()
            k = base64.b64decode(data.get("tls.key") or "", validate=True).decode()
            if not crt or not k:
                raise CertificateError("the secret needs both tls.crt and tls.key")
            info = parse_certificate(crt, k)
        except (ValueError, UnicodeDecodeError) as e:
            self.problem(key, reasons.INVALID_CERTIFICATE,
                         f'secret "{ns}/{name}" does not hold a valid certificate: {e}; '
                         f"{_hosts_text(hosts)} served without TLS")
            return None, ()
        if info.expired():
            self.problem(key, reasons.INVALID_CERTIFICATE,
                         f'the certificate in secret "{ns}/{name}" is not valid now (valid '
                         f"{info.not_before:%Y-%m-%d} to {info.not_after:%Y-%m-%d}); served anyway")
        return Certificate(f"{ns}/{name}", crt, k, hosts), hosts or info.names


def _hosts_text(hosts: tuple[str, ...]) -> str:
    return ("hosts " + ", ".join(hosts)) if hosts else "its hosts"


# ----- the whole configuration ---------------------------------------------------------------

@dataclass(frozen=True)
class _Entry:
    sort: tuple
    host: str
    match: PathMatch
    action: Action


def build(ingresses: list[dict], view: ClusterView, opts: Options) -> Plan:
    b = _Builder(view, opts)
    entries: list[_Entry] = []
    certificates: list[Certificate] = []
    redirect_hosts: list[str] = []
    default_action: Action | None = None
    seen: set[tuple[str, PathMatch]] = set()
    for order, ing in enumerate(sorted(ingresses, key=_age_key)):
        spec = ing.get("spec") or {}
        ann = ing["metadata"].get("annotations") or {}
        secured: set[str] = set()
        for tls in spec.get("tls") or []:
            cert, hosts = b.certificate(ing, tls)
            if cert is not None and cert not in certificates:
                certificates.append(cert)
            secured.update(hosts)
        if ann.get(SSL_REDIRECT_ANNOTATION, "true").lower() != "false":
            redirect_hosts += [h for h in sorted(secured) if h not in redirect_hosts]
        hosts_here: list[str] = []
        for r in spec.get("rules") or []:
            host = (r.get("host") or "").lower()
            if host not in hosts_here:
                hosts_here.append(host)
            for i, p in enumerate(((r.get("http") or {}).get("paths") or [])):
                m = path_match(p.get("pathType", "Prefix"), p.get("path") or "/")
                if (host, m) in seen:
                    continue  # an older Ingress has it
                seen.add((host, m))
                action = b.backend_action(ing, p.get("backend") or {})
                entries.append(_Entry((_host_rank(host), host, 0, -_path_length(m), _TYPE_RANK[m.type], order, i),
                                      host, m, action))
        if spec.get("defaultBackend"):
            action = b.backend_action(ing, spec["defaultBackend"])
            catch_all = PathMatch(PathMatchType.PREFIX, "/")
            for host in hosts_here:
                if host and (host, catch_all) not in seen:
                    entries.append(_Entry((_host_rank(host), host, 1, 0, 0, order, 0), host, catch_all, action))
            if default_action is None:
                default_action = action
    entries.sort(key=lambda e: e.sort)
    rules = [Rule(i + 1, e.action, (e.host,) if e.host else (), (e.match,)) for i, e in enumerate(entries)]
    http_rules = rules
    if redirect_hosts:
        redirect = Redirect(protocol="HTTPS", port=str(opts.redirect_port), status=308)
        http_rules = [Rule(1, redirect, tuple(redirect_hosts))] + [
            Rule(r.priority + 1, r.action, r.hosts, r.paths) for r in rules]
    default = default_action or NOT_FOUND
    https_certs = tuple(([opts.default_certificate] if opts.default_certificate else []) + certificates)
    listeners = [Listener(ListenerProtocol.HTTP, opts.http_port, default, tuple(http_rules), name="http")]
    if https_certs:
        listeners.append(Listener(ListenerProtocol.HTTPS, opts.https_port, default, tuple(rules),
                                  certificates=https_certs, name="https"))
    config = LoadBalancerConfig(opts.name, opts.address, tuple(listeners), tuple(b.groups.values()), opts.timeouts)
    return Plan(config, b.problems, b.services, b.secrets)
