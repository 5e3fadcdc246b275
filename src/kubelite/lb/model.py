"""A load balancer's configuration, shaped like ELBv2's model (pure values, no I/O).

    LoadBalancerConfig(name, address)
      listeners: Listener(name, protocol TCP|TLS|HTTP|HTTPS, port, certificates, default_action, rules)
        rules: Rule(priority, hosts, paths, action)      first match in priority order wins
          actions: Forward(target groups, weighted) | FixedResponse | Redirect
      target_groups: TargetGroup(name, protocol, targets, health_check, algorithm, deregistration_delay)

The whole configuration is one immutable value: a caller (the cloud layer, the Ingress
controller) computes the desired one and hands it to `LoadBalancer.apply`, which diffs it
against what runs (listeners bound or closed, targets registered or drained). `validate`
returns every problem at once; `check` raises `ConfigError` with all of them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Union


class ConfigError(ValueError):
    """An invalid load balancer configuration; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ListenerProtocol(StrEnum):
    TCP = "TCP"      # L4 passthrough
    TLS = "TLS"      # L4 with TLS terminated at the load balancer
    HTTP = "HTTP"
    HTTPS = "HTTPS"

    @property
    def is_l7(self) -> bool:
        return self in (ListenerProtocol.HTTP, ListenerProtocol.HTTPS)

    @property
    def terminates_tls(self) -> bool:
        return self in (ListenerProtocol.TLS, ListenerProtocol.HTTPS)


class Algorithm(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_OUTSTANDING_REQUESTS = "least_outstanding_requests"


class PathMatchType(StrEnum):
    EXACT = "Exact"        # the whole path, case-sensitive
    PREFIX = "Prefix"      # Kubernetes' Prefix: element by element on "/", trailing slash ignored
    PATTERN = "Pattern"    # ALB path-pattern: "*" any run of characters, "?" one character


@dataclass(frozen=True)
class Target:
    ip: str
    port: int

    @property
    def id(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class HealthCheck:
    """How targets are probed. Disabled: every registered target counts as healthy."""

    enabled: bool = False
    protocol: str = "HTTP"          # HTTP | TCP
    path: str = "/"
    port: int | None = None         # None: the target's own port ("traffic-port")
    interval: float = 10.0
    timeout: float = 5.0
    healthy_threshold: int = 3
    unhealthy_threshold: int = 2
    success_codes: str = "200-399"  # "200", "200,302", "200-299"

    def code_matches(self, code: int) -> bool:
        for part in self.success_codes.split(","):
            lo, _, hi = part.strip().partition("-")
            if lo.isdigit() and (int(lo) <= code <= int(hi) if hi.isdigit() else code == int(lo)):
                return True
        return False


@dataclass(frozen=True)
class TargetGroup:
    name: str
    protocol: str = "HTTP"          # HTTP | TCP
    targets: tuple[Target, ...] = ()
    health_check: HealthCheck = HealthCheck()
    algorithm: Algorithm = Algorithm.ROUND_ROBIN
    deregistration_delay: float = 300.0


@dataclass(frozen=True)
class WeightedTargetGroup:
    name: str
    weight: int = 1


@dataclass(frozen=True)
class Forward:
    target_groups: tuple[WeightedTargetGroup, ...]

    @classmethod
    def to(cls, *names: str) -> Forward:
        return cls(tuple(WeightedTargetGroup(n) for n in names))


@dataclass(frozen=True)
class FixedResponse:
    status: int
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Redirect:
    """ELBv2's redirect: each part may use #{protocol}, #{host}, #{port}, #{path}, #{query}."""

    protocol: str = "#{protocol}"
    host: str = "#{host}"
    port: str = "#{port}"
    path: str = "/#{path}"
    query: str = "#{query}"
    status: int = 301


Action = Union[Forward, FixedResponse, Redirect]


@dataclass(frozen=True)
class PathMatch:
    type: PathMatchType
    value: str


@dataclass(frozen=True)
class Rule:
    """Matches when the host is one of `hosts` (any when empty) and the path matches one of
    `paths` (any when empty)."""

    priority: int
    action: Action
    hosts: tuple[str, ...] = ()
    paths: tuple[PathMatch, ...] = ()


@dataclass(frozen=True)
class Certificate:
    """A PEM certificate (chain after the leaf) and its key. Served for SNI names matching
    `hosts`, or the certificate's own names (subjectAltName, else CN) when `hosts` is empty."""

    name: str
    cert_pem: str
    key_pem: str
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Listener:
    protocol: ListenerProtocol
    port: int                                   # 0: any free port (tests)
    default_action: Action = FixedResponse(404, "404 Not Found\n")
    rules: tuple[Rule, ...] = ()
    certificates: tuple[Certificate, ...] = ()  # the first one is the default
    name: str = ""

    @property
    def key(self) -> str:
        return self.name or f"{self.protocol.value}:{self.port}"


@dataclass(frozen=True)
class Timeouts:
    client_header: float = 60.0    # a request head must arrive within this
    idle: float = 60.0             # keep-alive / TCP idle; also the target response timeout (ALB)
    connect: float = 5.0           # to a target
    target_response: float = 60.0  # first byte of the target's response, and between body reads
    pool_idle: float = 30.0        # an unused pooled connection to a target is closed after this


@dataclass(frozen=True)
class LoadBalancerConfig:
    name: str
    address: str = "127.0.0.1"
    listeners: tuple[Listener, ...] = ()
    target_groups: tuple[TargetGroup, ...] = ()
    timeouts: Timeouts = Timeouts()
    max_idle_per_target: int = 64

    def target_group(self, name: str) -> TargetGroup | None:
        for tg in self.target_groups:
            if tg.name == name:
                return tg
        return None

    def with_targets(self, tg_name: str, targets: tuple[Target, ...]) -> LoadBalancerConfig:
        """The same configuration with `tg_name`'s targets replaced (RegisterTargets and
        DeregisterTargets are this plus a diff)."""
        groups = tuple(dataclasses.replace(tg, targets=targets) if tg.name == tg_name else tg
                       for tg in self.target_groups)
        return dataclasses.replace(self, target_groups=groups)


# ----- validation ---------------------------------------------------------------------------

def _action_problems(where: str, action: Action, groups: dict[str, TargetGroup], l7: bool) -> list[str]:
    out: list[str] = []
    if isinstance(action, Forward):
        if not action.target_groups:
            out.append(f"{where}: forward needs at least one target group")
        for w in action.target_groups:
            if w.name not in groups:
                out.append(f"{where}: target group {w.name!r} not found")
            if w.weight < 0 or w.weight > 999:
                out.append(f"{where}: weight {w.weight} must be between 0 and 999")
        if action.target_groups and all(w.weight == 0 for w in action.target_groups):
            out.append(f"{where}: at least one target group needs a weight above 0")
    elif not l7:
        out.append(f"{where}: {type(action).__name__} needs an HTTP or HTTPS listener")
    elif isinstance(action, FixedResponse):
        if not 200 <= action.status <= 599:
            out.append(f"{where}: fixed-response status {action.status} must be between 200 and 599")
    elif isinstance(action, Redirect):
        if action.status not in (301, 302, 303, 307, 308):
            out.append(f"{where}: redirect status {action.status} must be 301, 302, 303, 307 or 308")
    return out


def validate(config: LoadBalancerConfig) -> list[str]:
    """Every problem with `config` (empty when it is valid)."""
    out: list[str] = []
    groups: dict[str, TargetGroup] = {}
    for tg in config.target_groups:
        if tg.name in groups:
            out.append(f"target group {tg.name!r} is defined twice")
        groups[tg.name] = tg
        if tg.protocol not in ("HTTP", "TCP"):
            out.append(f"target group {tg.name!r}: protocol {tg.protocol!r} must be HTTP or TCP")
        hc = tg.health_check
        if hc.enabled:
            if hc.protocol not in ("HTTP", "TCP"):
                out.append(f"target group {tg.name!r}: health check protocol must be HTTP or TCP")
            if hc.interval <= 0 or hc.timeout <= 0 or hc.timeout > hc.interval:
                out.append(f"target group {tg.name!r}: health check timeout must be positive and at most the "
                           f"interval")
            if hc.healthy_threshold < 1 or hc.unhealthy_threshold < 1:
                out.append(f"target group {tg.name!r}: health check thresholds must be at least 1")
        if tg.deregistration_delay < 0:
            out.append(f"target group {tg.name!r}: deregistration delay must not be negative")
        for t in tg.targets:
            if not 1 <= t.port <= 65535:
                out.append(f"target group {tg.name!r}: target {t.id} has an invalid port")
    keys: set[str] = set()
    ports: set[int] = set()
    for lst in config.listeners:
        where = f"listener {lst.key}"
        if lst.key in keys:
            out.append(f"{where} is defined twice")
        keys.add(lst.key)
        if lst.port:
            if lst.port in ports:
                out.append(f"{where}: port {lst.port} is already used by another listener")
            ports.add(lst.port)
        if not 0 <= lst.port <= 65535:
            out.append(f"{where}: port {lst.port} is out of range")
        if lst.protocol.terminates_tls and not lst.certificates:
            out.append(f"{where}: a {lst.protocol.value} listener needs a certificate")
        out += _action_problems(f"{where} default action", lst.default_action, groups, lst.protocol.is_l7)
        if lst.rules and not lst.protocol.is_l7:
            out.append(f"{where}: rules need an HTTP or HTTPS listener")
        priorities: set[int] = set()
        for rule in lst.rules:
            rwhere = f"{where} rule {rule.priority}"
            if rule.priority in priorities:
                out.append(f"{rwhere}: priority is used twice")
            priorities.add(rule.priority)
            out += _action_problems(rwhere, rule.action, groups, lst.protocol.is_l7)
            for p in rule.paths:
                if not p.value.startswith("/") and p.type is not PathMatchType.PATTERN:
                    out.append(f"{rwhere}: path {p.value!r} must start with '/'")
    return out


def check(config: LoadBalancerConfig) -> LoadBalancerConfig:
    problems = validate(config)
    if problems:
        raise ConfigError(problems)
    return config
