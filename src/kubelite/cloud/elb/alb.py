"""Ingresses of class `alb` → application load balancers (pure).

An Ingress is the ALB controller's when `spec.ingressClassName` names an IngressClass whose
controller is `ingress.k8s.aws/alb` (or is `alb` itself), or its legacy annotation
`kubernetes.io/ingress.class` is `alb`. Ingresses with the same `alb.ingress.kubernetes.io/group.name`
share one load balancer; any other Ingress is a group of its own.

Routing is Kubernetes' (host, then longest path, Exact before Prefix, older Ingress first: the
rules of `kubelite.controllers.ingress.translate`), so a group behaves as one Ingress would.
Annotations (prefix `alb.ingress.kubernetes.io/`): `scheme` (internal | internet-facing),
`listen-ports` (`[{"HTTP": 80}, {"HTTPS": 443}]`; default HTTP 80, or HTTPS 443 with a
certificate), `certificate-arn` (ACM, comma-separated), `ssl-redirect` (the HTTPS port every HTTP
listener redirects to, 301), `target-type` (instance | ip; on the Ingress or the Service),
`healthcheck-{path, protocol, port, interval-seconds, timeout-seconds, success-codes}`,
`healthy-threshold-count`, `unhealthy-threshold-count`, `target-group-attributes`,
`load-balancer-name`. HTTPS certificates also come from `spec.tls` Secrets (served by SNI).

A backend Service that is missing answers 503 and is reported on the Ingress; so is an invalid
certificate Secret (its hosts are served without it), and an HTTPS listener with no certificate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from kubelite.controllers.ingress import translate
from kubelite.lb import (Certificate, HealthCheck, Listener, ListenerProtocol, LoadBalancerConfig, Redirect, Target,
                         TargetGroup)

from . import names
from .model import Desired, ListenerView, Problem, TargetGroupView
from .nlb import BuildError, NodeTarget, attributes, node_targets

P = "alb.ingress.kubernetes.io/"
CLASS_NAME = "alb"
CONTROLLER = "ingress.k8s.aws/alb"
LEGACY_CLASS = "kubernetes.io/ingress.class"
GROUP = P + "group.name"
DEFAULT_PORTS = {"HTTP": 80, "HTTPS": 443}


@dataclass
class Group:
    """One load balancer's Ingresses (oldest first)."""

    key: str                          # "group/<name>" | "ingress/<ns>/<name>"
    ingresses: list[dict] = field(default_factory=list)


def is_alb(ing: dict, classes: dict[str, dict]) -> bool:
    spec = ing.get("spec") or {}
    cls = spec.get("ingressClassName")
    if cls:
        c = classes.get(cls)
        if c is not None:
            return (c.get("spec") or {}).get("controller") == CONTROLLER
        return cls == CLASS_NAME
    return ((ing.get("metadata") or {}).get("annotations") or {}).get(LEGACY_CLASS) == CLASS_NAME


def group_key(ing: dict) -> str:
    md = ing["metadata"]
    g = (md.get("annotations") or {}).get(GROUP)
    return f"group/{g}" if g else f"ingress/{md.get('namespace', 'default')}/{md['name']}"


def _ann(obj: dict | None) -> dict[str, str]:
    return ((obj or {}).get("metadata") or {}).get("annotations") or {}


def listen_ports(text: str) -> list[tuple[str, int]]:
    try:
        doc = json.loads(text)
        out = []
        for item in doc:
            for proto, port in item.items():
                proto = proto.upper()
                if proto not in ("HTTP", "HTTPS") or not isinstance(port, int) or not 1 <= port <= 65535:
                    raise ValueError(f"{proto}: {port}")
                out.append((proto, port))
        return out
    except (ValueError, TypeError, AttributeError) as e:
        raise BuildError(f"failed to parse listen-ports {text!r}: expected "
                         f"'[{{\"HTTP\": 80}}, {{\"HTTPS\": 443}}]' ({e})") from None


def build(group: Group, view: translate.ClusterView, nodes: list[dict], *, cluster: str,
          certificate: Callable[[str], Certificate | None]) -> Desired:
    ings = sorted(group.ingresses, key=lambda i: (i["metadata"].get("creationTimestamp") or "",
                                                    i["metadata"].get("namespace", ""), i["metadata"]["name"]))
    keys = [translate.ingress_key(i) for i in ings]
    problems: list[Problem] = []
    first = ings[0]
    fa = _ann(first)
    # -- group-wide settings (the first Ingress that says something wins; a disagreement is reported)
    schemes = {_ann(i).get(P + "scheme", names.INTERNAL) for i in ings}
    scheme = fa.get(P + "scheme", names.INTERNAL)
    if scheme not in (names.INTERNAL, names.INTERNET_FACING):
        raise BuildError(f"invalid scheme {scheme!r}: expected internal or internet-facing")
    if len(schemes) > 1:
        problems += [Problem(k, "FailedBuildModel", f"conflicting scheme in group {group.key}: {sorted(schemes)}; "
                                                    f"using {scheme}") for k in keys]
    cert_arns: list[str] = []
    for i in ings:
        for arn in (c.strip() for c in _ann(i).get(P + "certificate-arn", "").split(",") if c.strip()):
            if arn not in cert_arns:
                cert_arns.append(arn)
    acm_certs: list[Certificate] = []
    for arn in cert_arns:
        c = certificate(arn)
        if c is None:
            problems += [Problem(k, "FailedBuildModel", f"certificate {arn} not found") for k in keys
                         if arn in _ann(next(i for i in ings if translate.ingress_key(i) == k)).get(
                             P + "certificate-arn", "")]
            continue
        acm_certs.append(c)
    ports: list[tuple[str, int]] = []
    for i in ings:
        text = _ann(i).get(P + "listen-ports")
        for p in (listen_ports(text) if text else []):
            if p not in ports:
                ports.append(p)
    has_tls = bool(acm_certs) or any((i.get("spec") or {}).get("tls") for i in ings)
    if not ports:
        ports = [("HTTPS", 443)] if has_tls else [("HTTP", 80)]
    redirect = next((_ann(i)[P + "ssl-redirect"] for i in ings if _ann(i).get(P + "ssl-redirect")), None)
    lb_name = fa.get(P + "load-balancer-name") or (
        names.resource_name(group.key.split("/", 1)[1], "", cluster) if group.key.startswith("group/")
        else names.resource_name(first["metadata"].get("namespace", "default"), first["metadata"]["name"], cluster,
                                 first["metadata"].get("uid", ""), scheme))

    # -- routing, target groups and Secret certificates: Kubernetes' Ingress rules
    quiet = [_without_own_redirect(i) for i in ings]
    plan = translate.build(quiet, view, translate.Options(name=lb_name, address="", http_port=80, https_port=443))
    for k, ps in plan.problems.items():
        problems += [Problem(k, p.reason, p.message, p.type) for p in ps]
    http = next(lst for lst in plan.config.listeners if lst.name == "http")
    https = next((lst for lst in plan.config.listeners if lst.name == "https"), None)
    secret_certs = list(https.certificates) if https else []
    certs = tuple(acm_certs + secret_certs)

    listeners: list[Listener] = []
    views: list[ListenerView] = []
    for proto, port in ports:
        if proto == "HTTPS":
            if not certs:
                problems += [Problem(k, "FailedBuildModel", f"HTTPS listener on port {port} has no certificate "
                                                            f"(certificate-arn or spec.tls); not created")
                             for k in keys]
                continue
            listeners.append(Listener(ListenerProtocol.HTTPS, port, http.default_action, http.rules, certs,
                                      name=f"HTTPS:{port}"))
            views.append(ListenerView(port, "HTTPS", cert_arns))
        elif redirect:
            listeners.append(Listener(ListenerProtocol.HTTP, port,
                                      Redirect(protocol="HTTPS", port=str(redirect), status=301),
                                      name=f"HTTP:{port}"))
            views.append(ListenerView(port, "HTTP"))
        else:
            listeners.append(Listener(ListenerProtocol.HTTP, port, http.default_action, http.rules,
                                      name=f"HTTP:{port}"))
            views.append(ListenerView(port, "HTTP"))

    # -- target groups: target type and health check per backend (from its first Ingress)
    owners = _backend_owners(ings)
    groups: list[TargetGroupView] = []
    tgs: list[TargetGroup] = []
    nodes_t = node_targets(nodes)
    for tg in plan.config.target_groups:
        ns, _, rest = tg.name.partition("/")
        svc_name, _, port_text = rest.rpartition(":")
        ing = owners.get((ns, svc_name), first)
        svc = view.service(ns, svc_name) or {}
        a = {**_ann(ing), **{k: v for k, v in _ann(svc).items() if k.startswith(P)}}
        target_type = a.get(P + "target-type", "instance")
        if target_type not in ("ip", "instance"):
            raise BuildError(f"invalid target-type {target_type!r}: expected ip or instance")
        hc = HealthCheck(enabled=True, protocol="HTTP" if a.get(P + "healthcheck-protocol", "HTTP").upper() != "TCP"
                         else "TCP", path=a.get(P + "healthcheck-path", "/"),
                         port=_port(a.get(P + "healthcheck-port", "traffic-port")),
                         interval=_num(a, P + "healthcheck-interval-seconds", 15),
                         timeout=_num(a, P + "healthcheck-timeout-seconds", 5),
                         healthy_threshold=int(_num(a, P + "healthy-threshold-count", 2)),
                         unhealthy_threshold=int(_num(a, P + "unhealthy-threshold-count", 2)),
                         success_codes=a.get(P + "success-codes", "200"))
        attrs = attributes(a.get(P + "target-group-attributes", ""))
        delay = float(attrs.get("deregistration_delay.timeout_seconds", "300"))
        ids: dict[Target, tuple[str, int]] = {}
        if target_type == "ip":
            targets = tg.targets
            ids = {t: (t.ip, t.port) for t in targets}
            tg_port = targets[0].port if targets else int(port_text or 0)
        else:
            node_port = _node_port(svc, int(port_text or 0))
            if node_port is None:
                problems.append(Problem(translate.ingress_key(ing), "FailedBuildModel",
                                        f'service "{ns}/{svc_name}" must be of type NodePort or LoadBalancer for '
                                        f"target-type instance (or use alb.ingress.kubernetes.io/target-type: ip); "
                                        f"answering 503"))
                targets = ()
            else:
                targets = tuple(Target(n.address, node_port) for n in nodes_t)
                ids = {Target(n.address, node_port): (n.instance_id, node_port) for n in nodes_t}
            tg_port = node_port or 0
        tgs.append(TargetGroup(tg.name, "HTTP", targets, hc, deregistration_delay=delay))
        groups.append(TargetGroupView(tg.name, names.resource_name(ns, svc_name, cluster, lb_name, port_text,
                                                                   target_type),
                                      "HTTP", tg_port, target_type, hc, hc.protocol, hc.success_codes, delay, ids))
    config = LoadBalancerConfig(lb_name, "", tuple(listeners), tuple(tgs))
    tags = {"elbv2.k8s.aws/cluster": cluster, "ingress.k8s.aws/stack": group.key.split("/", 1)[1],
            "ingress.k8s.aws/resource": "LoadBalancer"}
    return Desired(names.APPLICATION, lb_name, scheme, f"ingress/{group.key}", config, views, groups, problems,
                   keys, tags)


def _without_own_redirect(ing: dict) -> dict:
    """The Ingress as `translate` should see it: redirects are the `ssl-redirect` annotation's."""
    md = dict(ing["metadata"])
    md["annotations"] = {**(md.get("annotations") or {}), translate.SSL_REDIRECT_ANNOTATION: "false"}
    return {**ing, "metadata": md}


def _backend_owners(ings: list[dict]) -> dict[tuple[str, str], dict]:
    out: dict[tuple[str, str], dict] = {}
    for ing in ings:
        ns = ing["metadata"].get("namespace", "default")
        spec = ing.get("spec") or {}
        backends = [spec.get("defaultBackend")] + [p.get("backend") for r in spec.get("rules") or []
                                                   for p in (r.get("http") or {}).get("paths") or []]
        for b in backends:
            name = ((b or {}).get("service") or {}).get("name")
            if name:
                out.setdefault((ns, name), ing)
    return out


def _node_port(svc: dict, port: int) -> int | None:
    spec = svc.get("spec") or {}
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        return None
    for p in spec.get("ports") or []:
        if p.get("port") == port and p.get("nodePort"):
            return int(p["nodePort"])
    return None


def _port(text: str) -> int | None:
    if text == "traffic-port":
        return None
    try:
        return int(text)
    except ValueError:
        raise BuildError(f"invalid healthcheck-port {text!r}") from None


def _num(a: dict[str, str], key: str, default: float) -> float:
    try:
        return float(a.get(key, default))
    except ValueError:
        raise BuildError(f"failed to parse {key}: {a[key]!r} is not a number") from None


__all__ = ["Group", "build", "is_alb", "group_key", "NodeTarget", "CLASS_NAME", "CONTROLLER"]
