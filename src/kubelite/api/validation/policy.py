"""policy/v1: PodDisruptionBudget (`pkg/apis/policy/validation/validation.go`)."""

from __future__ import annotations

from kubelite.machinery.errors import FieldError, invalid, not_supported

from . import gotext
from .apps import not_more_than_100_percent, positive_int_or_percent
from .meta import label_selector, nonnegative, obj_of

UNHEALTHY_POD_EVICTION_POLICIES = ("AlwaysAllow", "IfHealthyBudget")


def validate_pod_disruption_budget(pdb: dict) -> list[FieldError]:
    spec = obj_of(pdb.get("spec"))
    errs: list[FieldError] = []
    mn, mx = spec.get("minAvailable"), spec.get("maxUnavailable")
    if mn is not None and mx is not None:
        errs.append(invalid("spec", gotext.GoValue("policy.PodDisruptionBudgetSpec{...}"),
                            "minAvailable and maxUnavailable cannot be both set"))
    for f, v in (("minAvailable", mn), ("maxUnavailable", mx)):
        if v is not None:
            errs += positive_int_or_percent(v, f"spec.{f}")
            errs += not_more_than_100_percent(v, f"spec.{f}")
    errs += label_selector(spec.get("selector"), "spec.selector")
    pol = spec.get("unhealthyPodEvictionPolicy")
    if pol is not None and pol not in UNHEALTHY_POD_EVICTION_POLICIES:
        errs.append(not_supported("spec.unhealthyPodEvictionPolicy", pol, UNHEALTHY_POD_EVICTION_POLICIES))
    return errs


def validate_pod_disruption_budget_status(new: dict, old: dict) -> list[FieldError]:
    st = obj_of(new.get("status"))
    errs: list[FieldError] = []
    for f in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
        errs += nonnegative(st.get(f), f"status.{f}")
    return errs
