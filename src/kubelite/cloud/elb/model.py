"""What the load balancer controller wants for one Service or one group of Ingresses (pure values):
the `kubelite.lb` configuration to run, and the same thing as ELBv2 shows it (load balancer,
listeners, rules, target groups), plus the problems to report as events.

`Desired.records(...)` renders the ELBv2 view (the shapes DescribeLoadBalancers,
DescribeListeners, DescribeRules and DescribeTargetGroups answer with) once the load balancer's
address and ARNs are known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubelite.lb import (FixedResponse, Forward, HealthCheck, LoadBalancerConfig, PathMatch, PathMatchType,
                         Redirect, Target)

from . import names


@dataclass(frozen=True)
class Problem:
    """Reported as an event on `obj_key` (`<namespace>/<name>` of the Service or Ingress)."""

    obj_key: str
    reason: str
    message: str
    type: str = "Warning"


@dataclass
class TargetGroupView:
    lb_name: str                     # the group's name inside the LoadBalancerConfig
    name: str                        # its ELBv2 name (k8s-…)
    protocol: str                    # TCP | HTTP
    port: int                        # the port targets listen on (pod port, or the node port)
    target_type: str                 # ip | instance
    health: HealthCheck
    health_protocol: str             # TCP | HTTP
    matcher: str = ""
    deregistration_delay: float = 300.0
    # target as the data plane knows it -> (Id, Port) as ELBv2 shows it (instance targets: i-…)
    target_ids: dict[Target, tuple[str, int]] = field(default_factory=dict)


@dataclass
class ListenerView:
    port: int
    protocol: str                    # TCP | TLS | HTTP | HTTPS
    certificate_arns: list[str] = field(default_factory=list)


@dataclass
class Desired:
    kind: str                        # names.NETWORK | names.APPLICATION
    name: str                        # the load balancer's name
    scheme: str                      # internal | internet-facing
    owner: str                       # "service/<ns>/<name>" | "ingress/<group>"
    config: LoadBalancerConfig       # address "" (filled by the fleet)
    listeners: list[ListenerView]
    target_groups: list[TargetGroupView]
    problems: list[Problem] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)   # "<ns>/<name>" of the Services/Ingresses behind it
    tags: dict[str, str] = field(default_factory=dict)

    def target_group(self, lb_name: str) -> TargetGroupView | None:
        return next((t for t in self.target_groups if t.lb_name == lb_name), None)

    # -- the ELBv2 view ---------------------------------------------------------------------------
    def records(self, *, account: str, region: str, vpc_id: str, zones: list[tuple[str, str]], address: str,
                created: str) -> dict[str, Any]:
        """`{"loadBalancer", "listeners", "rules", "targetGroups"}` in ELBv2's member names."""
        lb_arn = names.lb_arn(account, region, self.kind, self.name)
        tg_arns = {t.lb_name: names.target_group_arn(account, region, t.name) for t in self.target_groups}
        lb = {"LoadBalancerArn": lb_arn,
              "DNSName": names.dns_name(self.kind, self.scheme, self.name, region, account),
              "CanonicalHostedZoneId": names.HOSTED_ZONES[self.kind], "CreatedTime": created,
              "LoadBalancerName": self.name, "Scheme": self.scheme, "VpcId": vpc_id,
              "State": {"Code": "active"}, "Type": self.kind,
              "AvailabilityZones": [{"ZoneName": z, "SubnetId": s,
                                     **({"LoadBalancerAddresses": [{"IpAddress": address}]}
                                        if self.kind == names.NETWORK else {})} for z, s in zones],
              "IpAddressType": "ipv4"}
        if self.kind == names.APPLICATION:
            lb["SecurityGroups"] = []
        listeners, rules = [], []
        for lv in self.listeners:
            arn = names.listener_arn(lb_arn, lv.port)
            lst = next((x for x in self.config.listeners if x.port == lv.port), None)
            if lst is None:
                continue
            default = _actions(lst.default_action, tg_arns)
            listener = {"ListenerArn": arn, "LoadBalancerArn": lb_arn, "Port": lv.port, "Protocol": lv.protocol,
                        "DefaultActions": default}
            if lv.certificate_arns:
                listener["Certificates"] = [{"CertificateArn": c} for c in lv.certificate_arns[:1]]
                listener["SslPolicy"] = "ELBSecurityPolicy-2016-08"
            listeners.append(listener)
            for r in lst.rules:
                conds = []
                if r.hosts:
                    conds.append({"Field": "host-header", "Values": list(r.hosts),
                                  "HostHeaderConfig": {"Values": list(r.hosts)}})
                if r.paths:
                    pats = [p for m in r.paths for p in _path_patterns(m)]
                    conds.append({"Field": "path-pattern", "Values": pats, "PathPatternConfig": {"Values": pats}})
                rules.append({"RuleArn": names.rule_arn(arn, str(r.priority)), "Priority": str(r.priority),
                              "Conditions": conds, "Actions": _actions(r.action, tg_arns), "IsDefault": False,
                              "ListenerArn": arn})
            rules.append({"RuleArn": names.rule_arn(arn, "default"), "Priority": "default", "Conditions": [],
                          "Actions": default, "IsDefault": True, "ListenerArn": arn})
        groups = []
        for t in self.target_groups:
            hc = t.health
            g = {"TargetGroupArn": tg_arns[t.lb_name], "TargetGroupName": t.name, "Protocol": t.protocol,
                 "Port": t.port, "VpcId": vpc_id, "HealthCheckProtocol": t.health_protocol,
                 "HealthCheckPort": str(hc.port) if hc.port else "traffic-port", "HealthCheckEnabled": True,
                 "HealthCheckIntervalSeconds": int(hc.interval), "HealthCheckTimeoutSeconds": int(hc.timeout),
                 "HealthyThresholdCount": hc.healthy_threshold, "UnhealthyThresholdCount": hc.unhealthy_threshold,
                 "LoadBalancerArns": [lb_arn], "TargetType": t.target_type, "IpAddressType": "ipv4",
                 "LbName": t.lb_name}
            if t.health_protocol == "HTTP":
                g["HealthCheckPath"] = hc.path
                g["Matcher"] = {"HttpCode": t.matcher or hc.success_codes}
                g["ProtocolVersion"] = "HTTP1"
            groups.append(g)
        return {"loadBalancer": lb, "listeners": listeners, "rules": rules, "targetGroups": groups}


def _path_patterns(m: PathMatch) -> list[str]:
    """ALB path patterns for a Kubernetes path (the LBC's translation: Prefix `/a` is `/a` and `/a/*`)."""
    if m.type is PathMatchType.EXACT or m.type is PathMatchType.PATTERN:
        return [m.value]
    v = m.value.rstrip("/")
    return ["/*"] if not v else [v, f"{v}/*"]


def _actions(action: Any, tg_arns: dict[str, str]) -> list[dict]:
    if isinstance(action, Forward):
        groups = [{"TargetGroupArn": tg_arns.get(g.name, ""), "Weight": g.weight} for g in action.target_groups]
        out: dict[str, Any] = {"Type": "forward", "Order": 1, "ForwardConfig": {"TargetGroups": groups}}
        if len(groups) == 1:
            out["TargetGroupArn"] = groups[0]["TargetGroupArn"]
        return [out]
    if isinstance(action, Redirect):
        return [{"Type": "redirect", "Order": 1, "RedirectConfig": {
            "Protocol": action.protocol, "Port": action.port, "Host": action.host, "Path": action.path,
            "Query": action.query, "StatusCode": f"HTTP_{action.status}"}}]
    if isinstance(action, FixedResponse):
        return [{"Type": "fixed-response", "Order": 1, "FixedResponseConfig": {
            "StatusCode": str(action.status), "ContentType": action.content_type.split(";")[0],
            "MessageBody": action.body}}]
    return []
