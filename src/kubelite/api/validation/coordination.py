"""coordination.k8s.io/v1: Lease (`pkg/apis/coordination/validation/validation.go`)."""

from __future__ import annotations

from kubelite.machinery.errors import FieldError, forbidden, invalid, not_supported

from .meta import int_of, obj_of

STRATEGIES = ("OldestEmulationVersion",)


def validate_lease(lease: dict) -> list[FieldError]:
    spec = obj_of(lease.get("spec"))
    errs: list[FieldError] = []
    d = spec.get("leaseDurationSeconds")
    if d is not None and int_of(d) is not None and d <= 0:
        errs.append(invalid("spec.leaseDurationSeconds", d, "must be greater than 0"))
    t = spec.get("leaseTransitions")
    if t is not None and int_of(t) is not None and t < 0:
        errs.append(invalid("spec.leaseTransitions", t, "must be greater than or equal to 0"))
    s = spec.get("strategy")
    if s is not None and s not in STRATEGIES:
        errs.append(not_supported("spec.strategy", s, STRATEGIES))
    if spec.get("preferredHolder") and not s:
        errs.append(forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined"))
    return errs
