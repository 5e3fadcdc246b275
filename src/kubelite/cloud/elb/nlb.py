"""Services of `type: LoadBalancer` → a network load balancer (pure).

Which Services (as on EKS): every `type: LoadBalancer` Service without a `loadBalancerClass`, or
with `service.k8s.aws/nlb`. The AWS Load Balancer Controller's Services (that class, or the
annotation `service.beta.kubernetes.io/aws-load-balancer-type: external`) default to an
`internal` scheme and `instance` targets; the others (the in-tree controller's `nlb` / `nlb-ip`,
or none) to `internet-facing` (`…-internal: "true"` makes them internal).

Annotations (prefix `service.beta.kubernetes.io/`): `aws-load-balancer-scheme`,
`aws-load-balancer-nlb-target-type` (`ip` | `instance`), `aws-load-balancer-healthcheck-{protocol,
port, path, interval, timeout, healthy-threshold, unhealthy-threshold, success-codes}`,
`aws-load-balancer-target-group-attributes` (`deregistration_delay.timeout_seconds=N`),
`aws-load-balancer-ssl-cert` (ACM ARNs) with `aws-load-balancer-ssl-ports` (TLS listeners),
`aws-load-balancer-name`.

One TCP (or TLS) listener per Service port, each forwarding to its target group: the ready
endpoints of that port (`ip`: pod address and target port) or every schedulable EC2 node (`instance`:
node address and node port; Fargate nodes never). Endpoints that stop being ready (a pod going
away) leave the target group at once and drain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from kubelite.controllers.ingress.translate import targets_for
from kubelite.lb import (Certificate, Forward, HealthCheck, Listener, ListenerProtocol, LoadBalancerConfig, Target,
                         TargetGroup)

from . import names
from .model import Desired, ListenerView, Problem, TargetGroupView

P = "service.beta.kubernetes.io/"
LB_TYPE = P + "aws-load-balancer-type"
SCHEME = P + "aws-load-balancer-scheme"
INTERNAL = P + "aws-load-balancer-internal"
TARGET_TYPE = P + "aws-load-balancer-nlb-target-type"
TG_ATTRIBUTES = P + "aws-load-balancer-target-group-attributes"
SSL_CERT = P + "aws-load-balancer-ssl-cert"
SSL_PORTS = P + "aws-load-balancer-ssl-ports"
LB_NAME = P + "aws-load-balancer-name"
LBC_CLASS = "service.k8s.aws/nlb"
FARGATE_LABEL = "eks.amazonaws.com/compute-type"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"

# LBC's event reasons
FAILED_BUILD_MODEL = "FailedBuildModel"
SUCCESSFULLY_RECONCILED = "SuccessfullyReconciled"


class BuildError(ValueError):
    """The Service's settings are invalid; reported as `FailedBuildModel`, nothing is made."""


@dataclass(frozen=True)
class NodeTarget:
    instance_id: str
    address: str


def handles(svc: dict) -> bool:
    spec = svc.get("spec") or {}
    if spec.get("type") != "LoadBalancer":
        return False
    cls = spec.get("loadBalancerClass")
    return cls in (None, "", LBC_CLASS)


def _ann(svc: dict) -> dict[str, str]:
    return (svc.get("metadata") or {}).get("annotations") or {}


def is_lbc(svc: dict) -> bool:
    return (svc.get("spec") or {}).get("loadBalancerClass") == LBC_CLASS or _ann(svc).get(LB_TYPE) == "external"


def scheme_of(svc: dict) -> str:
    a = _ann(svc)
    if SCHEME in a:
        if a[SCHEME] not in (names.INTERNAL, names.INTERNET_FACING):
            raise BuildError(f"invalid load balancer scheme {a[SCHEME]!r}: expected internal or internet-facing")
        return a[SCHEME]
    if is_lbc(svc):
        return names.INTERNAL
    return names.INTERNAL if a.get(INTERNAL, "").lower() in ("true", "0.0.0.0/0") else names.INTERNET_FACING


def target_type_of(svc: dict) -> str:
    a = _ann(svc)
    t = a.get(TARGET_TYPE)
    if t is None:
        return "ip" if a.get(LB_TYPE) == "nlb-ip" else "instance"
    if t not in ("ip", "instance"):
        raise BuildError(f"invalid target type {t!r}: expected ip or instance")
    return t


def _int(a: dict[str, str], key: str, default: int, lo: int, hi: int) -> int:
    if key not in a:
        return default
    try:
        v = int(a[key])
    except ValueError:
        raise BuildError(f"failed to parse {key}: {a[key]!r} is not an integer") from None
    if not lo <= v <= hi:
        raise BuildError(f"{key} must be between {lo} and {hi}, got {v}")
    return v


def attributes(text: str) -> dict[str, str]:
    out = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        k, sep, v = part.partition("=")
        if not sep:
            raise BuildError(f"failed to parse attributes {text!r}: {part!r} is not key=value")
        out[k.strip()] = v.strip()
    return out


def health_check(a: dict[str, str], prefix: str, *, default_protocol: str, interval: int, timeout: int,
                 healthy: int, unhealthy: int, path: str = "/", codes: str = "200-399") -> tuple[HealthCheck, str]:
    proto = a.get(prefix + "healthcheck-protocol", default_protocol).upper()
    if proto not in ("TCP", "HTTP", "HTTPS"):
        raise BuildError(f"invalid health check protocol {proto!r}")
    port_text = a.get(prefix + "healthcheck-port", "traffic-port")
    port = None
    if port_text != "traffic-port":
        try:
            port = int(port_text)
        except ValueError:
            raise BuildError(f"invalid health check port {port_text!r}") from None
    hc = HealthCheck(enabled=True, protocol="TCP" if proto == "TCP" else "HTTP",
                     path=a.get(prefix + "healthcheck-path", path), port=port,
                     interval=_int(a, prefix + "healthcheck-interval", interval, 5, 300),
                     timeout=_int(a, prefix + "healthcheck-timeout", timeout, 2, 120),
                     healthy_threshold=_int(a, prefix + "healthcheck-healthy-threshold", healthy, 2, 10),
                     unhealthy_threshold=_int(a, prefix + "healthcheck-unhealthy-threshold", unhealthy, 2, 10),
                     success_codes=a.get(prefix + "healthcheck-success-codes", codes))
    return hc, "TCP" if proto == "TCP" else "HTTP"


def node_targets(nodes: list[dict]) -> list[NodeTarget]:
    """Ready, schedulable EC2 nodes (never Fargate ones) as instance targets."""
    out = []
    for n in nodes:
        md = n.get("metadata") or {}
        labels = md.get("labels") or {}
        if labels.get(FARGATE_LABEL) == "fargate" or EXCLUDE_LABEL in labels:
            continue
        if (n.get("spec") or {}).get("unschedulable") or md.get("deletionTimestamp"):
            continue
        st = n.get("status") or {}
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or []):
            continue
        ip = next((a["address"] for a in st.get("addresses") or [] if a.get("type") == "InternalIP"), "")
        provider = (n.get("spec") or {}).get("providerID") or ""
        iid = provider.rsplit("/", 1)[-1] if provider.startswith("aws://") else md.get("name", "")
        if ip:
            out.append(NodeTarget(iid, ip))
    return sorted(out, key=lambda t: t.address)


def build(svc: dict, slices: list[dict], nodes: list[dict], *, cluster: str,
          certificate: Callable[[str], Certificate | None]) -> Desired:
    md = svc["metadata"]
    ns, name = md.get("namespace", "default"), md["name"]
    key = f"{ns}/{name}"
    a = _ann(svc)
    scheme = scheme_of(svc)
    target_type = target_type_of(svc)
    lb_name = a.get(LB_NAME) or names.resource_name(ns, name, cluster, md.get("uid", ""), scheme)
    if len(lb_name) > 32:
        raise BuildError(f"load balancer name {lb_name!r} is longer than 32 characters")
    attrs = attributes(a.get(TG_ATTRIBUTES, ""))
    try:
        delay = float(attrs.get("deregistration_delay.timeout_seconds", "300"))
    except ValueError:
        raise BuildError("deregistration_delay.timeout_seconds must be a number") from None
    hc, hc_proto = health_check(a, P + "aws-load-balancer-", default_protocol="TCP", interval=10, timeout=10,
                                healthy=3, unhealthy=3)
    cert_arns = [c.strip() for c in a.get(SSL_CERT, "").split(",") if c.strip()]
    ssl_ports = {p.strip() for p in a.get(SSL_PORTS, "*").split(",") if p.strip()}
    certs = []
    for arn in cert_arns:
        c = certificate(arn)
        if c is None:
            raise BuildError(f"certificate {arn} not found")
        certs.append(c)
    problems: list[Problem] = []
    listeners: list[Listener] = []
    views: list[ListenerView] = []
    groups: list[TargetGroupView] = []
    tgs: list[TargetGroup] = []
    nodes_t = node_targets(nodes) if target_type == "instance" else []
    for sp in (svc.get("spec") or {}).get("ports") or []:
        proto = sp.get("protocol") or "TCP"
        if proto != "TCP":
            problems.append(Problem(key, FAILED_BUILD_MODEL, f"port {sp.get('port')}/{proto}: only TCP listeners "
                                                              f"are supported; skipped"))
            continue
        port = int(sp["port"])
        tls = bool(certs) and ("*" in ssl_ports or str(port) in ssl_ports or (sp.get("name") or "") in ssl_ports)
        tg_lb_name = f"{ns}/{name}:{port}"
        tg_name = names.resource_name(ns, name, cluster, md.get("uid", ""), str(port), target_type)
        ids: dict[Target, tuple[str, int]] = {}
        if target_type == "ip":
            targets = targets_for(slices, sp.get("name") or "")
            for t in targets:
                ids[t] = (t.ip, t.port)
            tg_port = targets[0].port if targets else _target_port(sp)
        else:
            node_port = sp.get("nodePort")
            if not node_port:
                raise BuildError(f"port {port} has no node port, which instance targets need "
                                 f"(allocateLoadBalancerNodePorts is false?)")
            targets = tuple(Target(n.address, int(node_port)) for n in nodes_t)
            for n in nodes_t:
                ids[Target(n.address, int(node_port))] = (n.instance_id, int(node_port))
            tg_port = int(node_port)
        tgs.append(TargetGroup(tg_lb_name, "TCP", targets, hc, deregistration_delay=delay))
        groups.append(TargetGroupView(tg_lb_name, tg_name, "TCP", tg_port, target_type, hc, hc_proto,
                                      deregistration_delay=delay, target_ids=ids))
        lp = ListenerProtocol.TLS if tls else ListenerProtocol.TCP
        listeners.append(Listener(lp, port, Forward.to(tg_lb_name), certificates=tuple(certs) if tls else (),
                                  name=f"{lp.value}:{port}"))
        views.append(ListenerView(port, lp.value, cert_arns if tls else []))
    config = LoadBalancerConfig(lb_name, "", tuple(listeners), tuple(tgs))
    return Desired(names.NETWORK, lb_name, scheme, f"service/{key}", config, views, groups, problems, [key],
                   {"elbv2.k8s.aws/cluster": cluster, "service.k8s.aws/stack": key,
                    "service.k8s.aws/resource": "LoadBalancer"})


def _target_port(sp: dict) -> int:
    tp = sp.get("targetPort")
    return tp if isinstance(tp, int) else int(sp.get("port") or 0)
