"""Names, DNS names and ARNs of the load balancers the controller makes, as the AWS Load Balancer
Controller and ELBv2 form them (pure, deterministic: the same object always gets the same names).

- load balancer / target group names: `k8s-<ns, 8>-<name, 8>-<10 hex>` (at most 32 characters);
- DNS names: NLB `<name>-<16 hex>.elb.<region>.amazonaws.com`, ALB
  `<name>-<10 digits>.<region>.elb.amazonaws.com`, internal ones prefixed `internal-`;
- ARNs: `arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/(net|app)/<name>/<16 hex>`,
  `…:targetgroup/<name>/<16 hex>`, `…:listener/(net|app)/<lb name>/<lb id>/<16 hex>`,
  `…:listener-rule/app/<lb name>/<lb id>/<listener id>/<16 hex>`.
"""

from __future__ import annotations

import hashlib
import re

NETWORK, APPLICATION = "network", "application"
INTERNAL, INTERNET_FACING = "internal", "internet-facing"
# The hosted zones ELB publishes its names in (us-east-1's; the region is not checked here).
HOSTED_ZONES = {NETWORK: "Z26RNL4JYFTOTI", APPLICATION: "Z35SXDOTRQ7X7K"}

_CLEAN = re.compile(r"[^A-Za-z0-9]")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def short(text: str, n: int = 8) -> str:
    return _CLEAN.sub("", text)[:n]


def resource_name(a: str, b: str, *salt: str) -> str:
    """`k8s-<a>-<b>-<10 hex>` (LBC's `k8s-%.8s-%.8s-%.10s`); without b: `k8s-<a>-<10 hex>`."""
    h = _digest(a, b, *salt)[:10]
    return f"k8s-{short(a)}-{short(b)}-{h}" if b else f"k8s-{short(a)}-{h}"


def lb_id(account: str, region: str, name: str) -> str:
    return _digest("lb", account, region, name)[:16]


def lb_arn(account: str, region: str, kind: str, name: str) -> str:
    t = "net" if kind == NETWORK else "app"
    return f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{t}/{name}/{lb_id(account, region, name)}"


def dns_name(kind: str, scheme: str, name: str, region: str, account: str) -> str:
    prefix = "internal-" if scheme == INTERNAL else ""
    if kind == NETWORK:
        return f"{prefix}{name}-{lb_id(account, region, name)}.elb.{region}.amazonaws.com"
    digits = str(int(_digest("dns", account, region, name)[:12], 16))[:10]
    return f"{prefix}{name}-{digits}.{region}.elb.amazonaws.com"


def target_group_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{name}/{_digest('tg', account, region, name)[:16]}"


def listener_arn(lb: str, port: int) -> str:
    """From the load balancer's ARN: `…:listener/<net|app>/<name>/<lb id>/<16 hex>`."""
    head, _, rest = lb.partition(":loadbalancer/")
    return f"{head}:listener/{rest}/{_digest('listener', lb, str(port))[:16]}"


def rule_arn(listener: str, priority: str) -> str:
    head, _, rest = listener.partition(":listener/")
    return f"{head}:listener-rule/{rest}/{_digest('rule', listener, priority)[:16]}"


def arn_region_account(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return (parts[3], parts[4]) if len(parts) > 5 else ("", "")
