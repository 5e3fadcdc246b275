"""A target group at run time: registered targets, their health, what they are serving, and
which one gets the next request (pure: callers pass `now`; nothing here awaits).

- `TargetGroupState.update(config, now)` registers new targets and starts draining removed
  ones (re-registering a draining target takes it back).
- `pick()` chooses among routable targets by the group's algorithm (round robin, or least
  outstanding requests with round robin among ties); with no healthy target it fails open to
  every target that is not draining; None means 503.
- `acquire`/`release` count a target's outstanding requests (L7) or connections (L4). A draining
  target leaves as soon as it has nothing outstanding, or when its deregistration delay is over
  (`expire(now)`), when the I/O layer cuts what is left.
- `due_probes(now)`/`observe(...)` schedule health checks and feed the state machine in
  `health`.
- `SmoothWeighted` splits requests between weighted target groups (nginx's smooth weighted
  round robin: deterministic, evenly interleaved).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .health import ProbeResult, TargetHealth, TargetHealthState, deregistering, observe, registered
from .model import Algorithm, Target, TargetGroup, WeightedTargetGroup


@dataclass(eq=False)
class TargetEntry:
    target: Target
    health: TargetHealth
    outstanding: int = 0        # in-flight requests (L7) or open connections (L4)
    served: int = 0             # requests or connections sent to it in total
    drain_deadline: float | None = None
    next_probe: float = 0.0
    probing: bool = False

    @property
    def draining(self) -> bool:
        return self.health.draining


@dataclass(frozen=True)
class TargetHealthDescription:
    """One row of DescribeTargetHealth."""

    target: Target
    health_check_port: int
    state: str
    reason: str
    description: str
    outstanding: int
    served: int


@dataclass
class Changes:
    registered: list[Target] = field(default_factory=list)
    draining: list[Target] = field(default_factory=list)
    removed: list[Target] = field(default_factory=list)   # drained at once: nothing outstanding


class TargetGroupState:
    def __init__(self, config: TargetGroup, now: float = 0.0) -> None:
        self.config = config
        self.entries: dict[Target, TargetEntry] = {}
        self._rr = 0
        self._routable: list[TargetEntry] | None = None
        self.update(config, now)

    @property
    def name(self) -> str:
        return self.config.name

    # ----- registration --------------------------------------------------------------------

    def update(self, config: TargetGroup, now: float) -> Changes:
        hc_changed = config.health_check != self.config.health_check
        self.config = config
        out = Changes()
        wanted = set(config.targets)
        for t in config.targets:
            e = self.entries.get(t)
            if e is None:
                self.entries[t] = TargetEntry(t, registered(config.health_check), next_probe=now)
                out.registered.append(t)
            elif e.draining:
                e.health, e.drain_deadline, e.next_probe = registered(config.health_check), None, now
                out.registered.append(t)
            elif hc_changed and not config.health_check.enabled:
                e.health = registered(config.health_check)
        for t, e in list(self.entries.items()):
            if t in wanted or e.draining:
                continue
            e.health = deregistering()
            e.drain_deadline = now + config.deregistration_delay
            if e.outstanding == 0:
                del self.entries[t]
                out.removed.append(t)
            else:
                out.draining.append(t)
        self._routable = None
        return out

    def deregister_all(self, now: float) -> Changes:
        return self.update(dataclasses.replace(self.config, targets=()), now)

    # ----- choosing ------------------------------------------------------------------------

    def _candidates(self) -> list[TargetEntry]:
        if self._routable is None:
            healthy = [e for e in self.entries.values() if e.health.routable]
            self._routable = healthy or [e for e in self.entries.values() if not e.draining]
        return self._routable

    def pick(self, exclude: frozenset[Target] | set[Target] = frozenset()) -> TargetEntry | None:
        cands = self._candidates()
        if exclude:
            cands = [e for e in cands if e.target not in exclude]
        n = len(cands)
        if n == 0:
            return None
        start = self._rr % n
        self._rr += 1
        if self.config.algorithm is Algorithm.LEAST_OUTSTANDING_REQUESTS and n > 1:
            best = cands[start]
            for i in range(1, n):
                e = cands[(start + i) % n]
                if e.outstanding < best.outstanding:
                    best = e
            return best
        return cands[start]

    def has_targets(self) -> bool:
        return bool(self._candidates())

    def acquire(self, entry: TargetEntry) -> None:
        entry.outstanding += 1
        entry.served += 1

    def release(self, entry: TargetEntry) -> bool:
        """One request or connection is done; True when that completed the target's draining."""
        entry.outstanding -= 1
        if entry.draining and entry.outstanding <= 0 and self.entries.get(entry.target) is entry:
            del self.entries[entry.target]
            return True
        return False

    def expire(self, now: float) -> list[Target]:
        """Draining targets whose delay is over: they leave now, with whatever they still serve."""
        gone = [t for t, e in self.entries.items()
                if e.draining and e.drain_deadline is not None and e.drain_deadline <= now]
        for t in gone:
            del self.entries[t]
        return gone

    # ----- health checks -------------------------------------------------------------------

    def health_check_port(self, t: Target) -> int:
        return self.config.health_check.port or t.port

    def due_probes(self, now: float) -> list[TargetEntry]:
        hc = self.config.health_check
        if not hc.enabled:
            return []
        due = []
        for e in self.entries.values():
            if not e.draining and not e.probing and e.next_probe <= now:
                e.probing = True
                e.next_probe = now + hc.interval
                due.append(e)
        return due

    def observe(self, target: Target, result: ProbeResult) -> bool:
        """Feed one probe's result; True when the target's state changed."""
        e = self.entries.get(target)
        if e is None:
            return False
        e.probing = False
        before = e.health.state
        e.health = observe(e.health, result, self.config.health_check)
        if e.health.state is not before:
            self._routable = None
            return True
        return False

    def next_deadline(self) -> float | None:
        """When something is next due here (a probe or the end of a drain)."""
        times = [e.drain_deadline for e in self.entries.values() if e.draining and e.drain_deadline is not None]
        if self.config.health_check.enabled:
            times += [e.next_probe for e in self.entries.values() if not e.draining and not e.probing]
        return min(times) if times else None

    # ----- reading -------------------------------------------------------------------------

    def describe(self) -> list[TargetHealthDescription]:
        return [TargetHealthDescription(e.target, self.health_check_port(e.target), e.health.state.value,
                                        e.health.reason, e.health.description, e.outstanding, e.served)
                for e in sorted(self.entries.values(), key=lambda e: (e.target.ip, e.target.port))]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in TargetHealthState}
        for e in self.entries.values():
            out[e.health.state.value] += 1
        return out


class SmoothWeighted:
    """Smooth weighted round robin over target groups (weight 0: never chosen)."""

    def __init__(self, groups: tuple[WeightedTargetGroup, ...]) -> None:
        self.groups = [g for g in groups if g.weight > 0]
        self.current = [0] * len(self.groups)
        self.total = sum(g.weight for g in self.groups)

    def next(self) -> str:
        if len(self.groups) == 1:
            return self.groups[0].name
        best = 0
        for i, g in enumerate(self.groups):
            self.current[i] += g.weight
            if self.current[i] > self.current[best]:
                best = i
        self.current[best] -= self.total
        return self.groups[best].name
