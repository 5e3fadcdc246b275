"""ELBv2 (query protocol, API 2015-12-01): the read side of the load balancers the controller made —
DescribeLoadBalancers, DescribeListeners, DescribeRules, DescribeTargetGroups,
DescribeTargetHealth (live, from the running load balancer), DescribeTags,
DescribeLoadBalancerAttributes and DescribeTargetGroupAttributes, with ELBv2's error codes
(`LoadBalancerNotFound`, `TargetGroupNotFound`, `ListenerNotFound`, `RuleNotFound`) and
Marker/PageSize paging."""

from __future__ import annotations

import base64
from typing import Any, Callable

from kubelite.cloud.api import errors
from kubelite.cloud.api.errors import QUERY, ServiceError
from kubelite.cloud.api.gateway import Call
from kubelite.cloud.api.protocols import FormParams, Response, render_query

from .fleet import Fleet

NAMESPACE = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
VERSION = "2015-12-01"
_RULE_MEMBERS = ("RuleArn", "Priority", "Conditions", "Actions", "IsDefault")
_TG_HIDDEN = ("LbName",)


def _nf(code: str, message: str) -> ServiceError:
    return ServiceError(code, message, 400)


def _page(items: list[dict], params: FormParams) -> tuple[list[dict], str | None]:
    size = params.int("PageSize") or 400
    if not 1 <= size <= 400:
        raise errors.validation_error(f"1 validation error detected: Value '{size}' at 'pageSize' failed to satisfy "
                                      f"constraint: Member must have value between 1 and 400")
    start = 0
    marker = params.get("Marker")
    if marker:
        try:
            start = int(base64.b64decode(marker).decode())
        except (ValueError, UnicodeDecodeError):
            raise errors.validation_error("Invalid marker") from None
    chunk = items[start:start + size]
    nxt = base64.b64encode(str(start + size).encode()).decode() if start + size < len(items) else None
    return chunk, nxt


class ELBv2Service:
    name = "elasticloadbalancing"
    protocol = QUERY

    def __init__(self, fleet: Fleet, iam: Any):
        self.fleet = fleet
        self.iam = iam
        self.ops: dict[str, Callable] = {n[3:]: getattr(self, n) for n in dir(self) if n.startswith("op_")}

    async def handle(self, call: Call) -> Response:
        form = call.form
        if form.get("Version") != VERSION:
            raise errors.invalid_action(call.action, form.get("Version") or "")
        op = self.ops.get(call.action)
        if op is None:
            raise errors.invalid_action(call.action, VERSION)
        if not self.iam.is_allowed(call.principal, f"elasticloadbalancing:{call.action}", "*", call.region):
            raise errors.query_access_denied(f"User: {call.principal.arn} is not authorized to perform: "
                                             f"elasticloadbalancing:{call.action}")
        return render_query(call.action, NAMESPACE, op(call, form), call.request_id)

    def _records(self, call: Call) -> list[dict]:
        return sorted(self.fleet.records(call.principal.account, call.region),
                      key=lambda r: r["loadBalancer"]["LoadBalancerName"])

    def _lb(self, call: Call, arn: str) -> dict:
        for r in self._records(call):
            if r["loadBalancer"]["LoadBalancerArn"] == arn:
                return r
        raise _nf("LoadBalancerNotFound", f"Load balancers '[{arn}]' not found")

    # -- load balancers ----------------------------------------------------------------------------
    def op_DescribeLoadBalancers(self, call: Call, p: FormParams) -> dict:
        recs = self._records(call)
        arns, names = p.list("LoadBalancerArns"), p.list("Names")
        if arns and names:
            raise errors.validation_error("Load balancer names and load balancer ARNs cannot be specified at the "
                                          "same time")
        if arns:
            recs = _pick(recs, lambda r: r["loadBalancer"]["LoadBalancerArn"], arns, *_LB_MISSING)
        if names:
            recs = _pick(recs, lambda r: r["loadBalancer"]["LoadBalancerName"], names, *_LB_MISSING)
        page, nxt = _page([r["loadBalancer"] for r in recs], p)
        return {"LoadBalancers": page, "NextMarker": nxt}

    def op_DescribeLoadBalancerAttributes(self, call: Call, p: FormParams) -> dict:
        r = self._lb(call, p.require("LoadBalancerArn"))
        attrs = {"deletion_protection.enabled": "false", "load_balancing.cross_zone.enabled":
                 "true" if r["loadBalancer"]["Type"] == "application" else "false",
                 "access_logs.s3.enabled": "false"}
        if r["loadBalancer"]["Type"] == "application":
            attrs.update({"idle_timeout.timeout_seconds": "60", "routing.http2.enabled": "true"})
        return {"Attributes": [{"Key": k, "Value": v} for k, v in attrs.items()]}

    def op_DescribeTags(self, call: Call, p: FormParams) -> dict:
        arns = p.list("ResourceArns")
        if not arns:
            raise errors.missing_parameter("ResourceArns")
        out = []
        for arn in arns:
            owner = next((r for r in self._records(call) if arn == r["loadBalancer"]["LoadBalancerArn"]
                          or arn in {t["TargetGroupArn"] for t in r["targetGroups"]}
                          or arn in {lst["ListenerArn"] for lst in r["listeners"]}), None)
            if owner is None:
                code = "TargetGroupNotFound" if ":targetgroup/" in arn else "LoadBalancerNotFound"
                raise _nf(code, f"'{arn}' not found")
            tags = owner["internal"].get("tags") or {}
            out.append({"ResourceArn": arn, "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})
        return {"TagDescriptions": out}

    # -- listeners and rules -----------------------------------------------------------------------
    def op_DescribeListeners(self, call: Call, p: FormParams) -> dict:
        lb_arn, arns = p.get("LoadBalancerArn"), p.list("ListenerArns")
        if not lb_arn and not arns:
            raise errors.validation_error("You must specify either listener ARNs or a load balancer ARN")
        if lb_arn:
            listeners = self._lb(call, lb_arn)["listeners"]
        else:
            every = {lst["ListenerArn"]: lst for r in self._records(call) for lst in r["listeners"]}
            missing = [a for a in arns if a not in every]
            if missing:
                raise _nf("ListenerNotFound", f"One or more listeners not found: {missing}")
            listeners = [every[a] for a in arns]
        page, nxt = _page(sorted(listeners, key=lambda x: x["Port"]), p)
        return {"Listeners": page, "NextMarker": nxt}

    def op_DescribeRules(self, call: Call, p: FormParams) -> dict:
        listener, arns = p.get("ListenerArn"), p.list("RuleArns")
        if not listener and not arns:
            raise errors.validation_error("You must specify either listener rule ARNs or a listener ARN")
        rules = [r for rec in self._records(call) for r in rec["rules"]]
        if listener:
            if not any(lst["ListenerArn"] == listener for rec in self._records(call) for lst in rec["listeners"]):
                raise _nf("ListenerNotFound", f"Listener '{listener}' not found")
            rules = [r for r in rules if r["ListenerArn"] == listener]
        if arns:
            rules = _pick(rules, lambda r: r["RuleArn"], arns, "RuleNotFound", "One or more rules not found: {}")
        page, nxt = _page([{k: r[k] for k in _RULE_MEMBERS} for r in rules], p)
        return {"Rules": page, "NextMarker": nxt}

    # -- target groups -----------------------------------------------------------------------------
    def _target_groups(self, call: Call) -> list[tuple[str, dict]]:
        out = []
        for rec in self._records(call):
            key = f"{rec['internal']['account']}/{rec['internal']['region']}/{rec['loadBalancer']['LoadBalancerName']}"
            out += [(key, t) for t in rec["targetGroups"]]
        return out

    def op_DescribeTargetGroups(self, call: Call, p: FormParams) -> dict:
        groups = [t for _, t in self._target_groups(call)]
        lb_arn, arns, names = p.get("LoadBalancerArn"), p.list("TargetGroupArns"), p.list("Names")
        if lb_arn:
            self._lb(call, lb_arn)
            groups = [t for t in groups if lb_arn in t["LoadBalancerArns"]]
        if arns:
            groups = _pick(groups, lambda t: t["TargetGroupArn"], arns, *_TG_MISSING)
        if names:
            groups = _pick(groups, lambda t: t["TargetGroupName"], names, *_TG_MISSING)
        page, nxt = _page([{k: v for k, v in t.items() if k not in _TG_HIDDEN} for t in groups], p)
        return {"TargetGroups": page, "NextMarker": nxt}

    def _tg(self, call: Call, arn: str) -> tuple[str, dict]:
        for key, t in self._target_groups(call):
            if t["TargetGroupArn"] == arn:
                return key, t
        raise _nf("TargetGroupNotFound", f"Target groups '[{arn}]' not found")

    def op_DescribeTargetGroupAttributes(self, call: Call, p: FormParams) -> dict:
        key, t = self._tg(call, p.require("TargetGroupArn"))
        run = self.fleet.running.get(key)
        view = run.desired.target_group(t["LbName"]) if run else None
        delay = int(view.deregistration_delay) if view else 300
        return {"Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": str(delay)},
                               {"Key": "stickiness.enabled", "Value": "false"},
                               {"Key": "load_balancing.algorithm.type", "Value": "round_robin"}]}

    def op_DescribeTargetHealth(self, call: Call, p: FormParams) -> dict:
        key, t = self._tg(call, p.require("TargetGroupArn"))
        rows = self.fleet.target_health(key, t["LbName"])
        wanted = [(s.get("Id") or "", int(s.get("Port") or 0)) for s in p.structs("Targets")]
        out = []
        for (tid, port), row in rows:
            if wanted and not any(w[0] == tid and (not w[1] or w[1] == port) for w in wanted):
                continue
            health: dict[str, Any] = {"State": row.state}
            if row.reason:
                health["Reason"] = row.reason
            if row.description:
                health["Description"] = row.description
            out.append({"Target": {"Id": tid, "Port": port}, "HealthCheckPort": str(row.health_check_port),
                        "TargetHealth": health})
        seen = {(o["Target"]["Id"], o["Target"]["Port"]) for o in out}
        for tid, port in wanted:
            if not any(s[0] == tid for s in seen):
                out.append({"Target": {"Id": tid, **({"Port": port} if port else {})},
                            "TargetHealth": {"State": "unused", "Reason": "Target.NotRegistered",
                                             "Description": "Target is not registered to the target group"}})
        return {"TargetHealthDescriptions": out}


_LB_MISSING = ("LoadBalancerNotFound", "Load balancers '{}' not found")
_TG_MISSING = ("TargetGroupNotFound", "One or more target groups not found: {}")


def _pick(items: list[dict], key: Callable[[dict], str], wanted: list[str], code: str, message: str) -> list[dict]:
    """The items named in `wanted` (ARNs or names), in that order; all must exist (`code` if not)."""
    have = {key(i): i for i in items}
    missing = [w for w in wanted if w not in have]
    if missing:
        raise _nf(code, message.format(missing))
    return [have[w] for w in wanted]
