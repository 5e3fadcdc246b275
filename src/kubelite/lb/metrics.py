"""Per load balancer counters (named after ELB's CloudWatch metrics) and the read-only state
snapshot a caller reads (`LoadBalancer.snapshot()`), as plain values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .targets import TargetHealthDescription


@dataclass
class Counters:
    """Monotonic counters, except `active_connections` and `active_requests` (gauges)."""

    request_count: int = 0                 # HTTP requests received
    http_2xx: int = 0                      # responses sent to clients, by class
    http_3xx: int = 0
    http_4xx: int = 0
    http_5xx: int = 0
    elb_4xx: int = 0                       # ... of which the load balancer made itself
    elb_5xx: int = 0
    elb_502: int = 0
    elb_503: int = 0
    elb_504: int = 0
    target_responses: int = 0              # responses that came from a target
    target_connection_errors: int = 0      # connecting to a target failed
    retries: int = 0                       # requests sent again (another target, or a fresh connection)
    redirects: int = 0
    fixed_responses: int = 0
    new_connections: int = 0               # client connections accepted (all listeners)
    active_connections: int = 0
    active_requests: int = 0
    processed_bytes: int = 0               # body bytes both ways (approximate for L7 heads)
    upgrades: int = 0                      # WebSocket / Upgrade tunnels

    def response(self, status: int, *, by_lb: bool) -> None:
        klass = status // 100
        if klass == 2:
            self.http_2xx += 1
        elif klass == 3:
            self.http_3xx += 1
        elif klass == 4:
            self.http_4xx += 1
            if by_lb:
                self.elb_4xx += 1
        elif klass == 5:
            self.http_5xx += 1
            if by_lb:
                self.elb_5xx += 1
                if status == 502:
                    self.elb_502 += 1
                elif status == 503:
                    self.elb_503 += 1
                elif status == 504:
                    self.elb_504 += 1
        if not by_lb:
            self.target_responses += 1

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class ListenerStatus:
    key: str
    protocol: str
    address: str
    port: int               # the bound port (differs from the configured one when that was 0)
    connections: int


@dataclass(frozen=True)
class TargetGroupStatus:
    name: str
    targets: tuple[TargetHealthDescription, ...]
    counts: dict[str, int]  # state -> number of targets


@dataclass(frozen=True)
class LoadBalancerState:
    name: str
    state: str              # provisioning | active | failed (ELBv2's LoadBalancerStateEnum)
    reason: str
    listeners: tuple[ListenerStatus, ...]
    target_groups: tuple[TargetGroupStatus, ...]
    counters: dict[str, int]

    def target_group(self, name: str) -> TargetGroupStatus | None:
        return next((g for g in self.target_groups if g.name == name), None)

    def listener(self, key: str) -> ListenerStatus | None:
        return next((li for li in self.listeners if li.key == key), None)
