"""The target health state machine, with ELBv2's states and reason codes (pure).

    registered ──(checks disabled)──────────────────────────────> healthy
    registered ──> initial ──(healthy_threshold passes in a row)──> healthy
                   initial ──(unhealthy_threshold failures)───────> unhealthy
                   healthy ──(unhealthy_threshold failures)───────> unhealthy
                 unhealthy ──(healthy_threshold passes)───────────> healthy
    any ──(deregistered)──> draining ──(no requests left, or the delay is over)──> gone

Only `healthy` targets get new requests; when a group has none, requests go to every target
that is not draining (ELB's fail-open); draining targets only finish what they have.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from .model import HealthCheck


class TargetHealthState(StrEnum):
    INITIAL = "initial"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    UNUSED = "unused"
    DRAINING = "draining"
    UNAVAILABLE = "unavailable"


# ELBv2's TargetHealthReasonEnum values
REGISTRATION_IN_PROGRESS = "Elb.RegistrationInProgress"
INITIAL_HEALTH_CHECKING = "Elb.InitialHealthChecking"
RESPONSE_CODE_MISMATCH = "Target.ResponseCodeMismatch"
TIMEOUT = "Target.Timeout"
FAILED_HEALTH_CHECKS = "Target.FailedHealthChecks"
DEREGISTRATION_IN_PROGRESS = "Target.DeregistrationInProgress"
HEALTH_CHECK_DISABLED = "Target.HealthCheckDisabled"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    reason: str = ""        # for a failure: RESPONSE_CODE_MISMATCH, TIMEOUT or FAILED_HEALTH_CHECKS
    description: str = ""

    @classmethod
    def passed(cls) -> ProbeResult:
        return cls(True)

    @classmethod
    def timed_out(cls) -> ProbeResult:
        return cls(False, TIMEOUT, "Request timed out")

    @classmethod
    def code_mismatch(cls, code: int) -> ProbeResult:
        return cls(False, RESPONSE_CODE_MISMATCH, f"Health checks failed with these codes: [{code}]")

    @classmethod
    def failed(cls, detail: str = "") -> ProbeResult:
        return cls(False, FAILED_HEALTH_CHECKS, "Health checks failed" + (f": {detail}" if detail else ""))


@dataclass(frozen=True)
class TargetHealth:
    state: TargetHealthState
    reason: str = ""
    description: str = ""
    passes: int = 0     # consecutive
    failures: int = 0   # consecutive

    @property
    def routable(self) -> bool:
        return self.state is TargetHealthState.HEALTHY

    @property
    def draining(self) -> bool:
        return self.state is TargetHealthState.DRAINING


def registered(hc: HealthCheck) -> TargetHealth:
    """The health of a target that was just registered."""
    if not hc.enabled:
        return TargetHealth(TargetHealthState.HEALTHY, "", "Health checks are disabled")
    return TargetHealth(TargetHealthState.INITIAL, REGISTRATION_IN_PROGRESS,
                        "Target registration is in progress")


def observe(h: TargetHealth, result: ProbeResult, hc: HealthCheck) -> TargetHealth:
    """The health after one probe."""
    if h.draining or not hc.enabled:
        return h
    if result.ok:
        passes = h.passes + 1
        if h.state is not TargetHealthState.HEALTHY and passes >= hc.healthy_threshold:
            return TargetHealth(TargetHealthState.HEALTHY, "", "", passes, 0)
        if h.state is TargetHealthState.INITIAL:
            return TargetHealth(h.state, INITIAL_HEALTH_CHECKING, "Initial health checks in progress", passes, 0)
        return dataclasses.replace(h, passes=passes, failures=0)
    failures = h.failures + 1
    if failures >= hc.unhealthy_threshold or h.state is TargetHealthState.UNHEALTHY:
        return TargetHealth(TargetHealthState.UNHEALTHY, result.reason, result.description, 0, failures)
    if h.state is TargetHealthState.INITIAL:
        return TargetHealth(h.state, INITIAL_HEALTH_CHECKING, "Initial health checks in progress", 0, failures)
    return dataclasses.replace(h, passes=0, failures=failures)


def deregistering() -> TargetHealth:
    return TargetHealth(TargetHealthState.DRAINING, DEREGISTRATION_IN_PROGRESS,
                        "Target deregistration is in progress")
