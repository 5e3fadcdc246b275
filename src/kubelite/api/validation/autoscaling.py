"""autoscaling v1 and v2: HorizontalPodAutoscaler (`pkg/apis/autoscaling/validation/validation.go`)."""

from __future__ import annotations

from typing import Any

from kubelite.machinery import quantity
from kubelite.machinery.errors import FieldError, forbidden, invalid, not_supported, required

from . import names
from .container import container_resource_name
from .meta import index, int_of, label_selector, list_of, nonnegative, obj_of, text

METRIC_SOURCE_TYPES = ("Object", "Pods", "Resource", "External", "ContainerResource")
_SOURCE_FIELD = {"Object": "object", "Pods": "pods", "Resource": "resource", "External": "external",
                 "ContainerResource": "containerResource"}
SELECT_POLICIES = ("Disabled", "Max", "Min")
MAX_STABILIZATION_WINDOW = 3600
MAX_PERIOD_SECONDS = 1800


def _scale_target_ref(ref: Any, path: str) -> list[FieldError]:
    ref = obj_of(ref)
    errs: list[FieldError] = []
    for f in ("kind", "name"):
        v = ref.get(f) or ""
        if not v:
            errs.append(required(f"{path}.{f}"))
        else:
            errs += [invalid(f"{path}.{f}", v, m) for m in names.is_valid_path_segment_name(v)]
    return errs


def _replicas(spec: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    mn, mx = spec.get("minReplicas"), spec.get("maxReplicas")
    if mn is not None and int_of(mn) is not None and mn < 1:
        errs.append(invalid("spec.minReplicas", mn, "must be greater than or equal to 1"))
    if int_of(mx) is None or mx < 1:
        errs.append(invalid("spec.maxReplicas", mx if mx is not None else 0, "must be greater than 0"))
    if mn is not None and int_of(mx) is not None and int_of(mn) is not None and mx < mn:
        errs.append(invalid("spec.maxReplicas", mx, "must be greater than or equal to `minReplicas`"))
    return errs


def _sign(q: Any) -> int:
    try:
        v = quantity.parse(q)
    except (quantity.QuantityError, ValueError, TypeError, ZeroDivisionError):
        return 0
    return (v > 0) - (v < 0)


def _metric_target(t: Any, path: str) -> list[FieldError]:
    t = obj_of(t)
    errs: list[FieldError] = []
    typ = text(t.get("type"))
    if not typ:
        errs.append(required(f"{path}.type", "must specify a metric target type"))
    if typ not in ("Utilization", "Value", "AverageValue"):
        errs.append(invalid(f"{path}.type", typ, "must be either Utilization, Value, or AverageValue"))
    for f in ("value", "averageValue"):
        if t.get(f) is not None and _sign(t[f]) != 1:
            errs.append(invalid(f"{path}.{f}", t[f], "must be positive"))
    au = t.get("averageUtilization")
    if au is not None and (int_of(au) is None or au < 1):
        errs.append(invalid(f"{path}.averageUtilization", au, "must be greater than 0"))
    return errs


def _metric_identifier(m: Any, path: str) -> list[FieldError]:
    m = obj_of(m)
    errs: list[FieldError] = []
    if not m.get("name"):
        errs.append(required(f"{path}.name", "must specify a metric name"))
    else:
        errs += [invalid(f"{path}.name", m["name"], msg) for msg in names.is_valid_path_segment_name(m["name"])]
    if m.get("selector") is not None:
        errs += label_selector(m["selector"], f"{path}.selector")
    return errs


def _source(kind: str, src: dict, path: str) -> list[FieldError]:
    if kind in ("resource", "containerResource"):
        errs: list[FieldError] = []
        name = text(src.get("name"))
        if not name:
            errs.append(required(f"{path}.name", "must specify a resource name"))
        else:
            errs += container_resource_name(name, f"{path}.name")
        if kind == "containerResource" and not src.get("container"):
            errs.append(required(f"{path}.container", "must specify a container"))
        target = obj_of(src.get("target"))
        errs += _metric_target(target, f"{path}.target")
        if target.get("averageUtilization") is None and target.get("averageValue") is None:
            errs.append(required(f"{path}.target.averageUtilization",
                                 "must set either a target raw value or a target utilization"))
        if target.get("averageUtilization") is not None and target.get("averageValue") is not None:
            errs.append(forbidden(f"{path}.target.averageValue",
                                  "may not set both a target raw value and a target utilization"))
        return errs
    errs = _metric_identifier(src.get("metric"), f"{path}.metric")
    if kind == "object":
        ref = obj_of(src.get("describedObject"))
        errs += _scale_target_ref(ref, f"{path}.describedObject")
    errs += _metric_target(src.get("target"), f"{path}.target")
    return errs


def _metrics(metrics: list, min_replicas: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    has_object_or_external = False
    for i, m in enumerate(metrics):
        m, p = obj_of(m), index("spec.metrics", i)
        typ = text(m.get("type"))
        if not typ:
            errs.append(required(f"{p}.type", "must specify a metric source type"))
        if typ not in METRIC_SOURCE_TYPES:
            errs.append(not_supported(f"{p}.type", typ, METRIC_SOURCE_TYPES))
        present = [f for f in _SOURCE_FIELD.values() if m.get(f) is not None]
        if present:
            errs += _source(present[0], obj_of(m[present[0]]), f"{p}.{present[0]}")
        expected = _SOURCE_FIELD.get(typ)
        if expected and m.get(expected) is None:
            errs.append(required(f"{p}.{expected}", "must populate information for the given metric source"))
        if len(present) != 1:
            errs += [forbidden(f"{p}.{f}", "must populate the given metric source only")
                     for f in present if f != expected]
        has_object_or_external |= typ in ("Object", "External")
    if min_replicas == 0 and not has_object_or_external:
        errs.append(forbidden("spec.metrics", "must specify at least one Object or External metric to support "
                                              "scaling to zero replicas"))
    return errs


def _scaling_rules(rules: Any, path: str) -> list[FieldError]:
    if rules is None:
        return []
    rules = obj_of(rules)
    errs: list[FieldError] = []
    sw = rules.get("stabilizationWindowSeconds")
    if sw is not None:
        if sw < 0:
            errs.append(invalid(f"{path}.stabilizationWindowSeconds", sw, "must be greater than or equal to zero"))
        if sw > MAX_STABILIZATION_WINDOW:
            errs.append(invalid(f"{path}.stabilizationWindowSeconds", sw,
                                f"must be less than or equal to {MAX_STABILIZATION_WINDOW}"))
    sp = rules.get("selectPolicy")
    if sp is not None and sp not in SELECT_POLICIES:
        errs.append(not_supported(f"{path}.selectPolicy", sp, SELECT_POLICIES))
    policies = list_of(rules.get("policies"))
    if not policies:
        errs.append(required(f"{path}.policies", "must specify at least one Policy"))
    for i, pol in enumerate(policies):
        pol, pp = obj_of(pol), index(f"{path}.policies", i)
        t = text(pol.get("type"))
        if t not in ("Percent", "Pods"):
            errs.append(not_supported(f"{pp}.type", t, ("Percent", "Pods")))
        v = pol.get("value")
        if int_of(v) is None or v <= 0:
            errs.append(invalid(f"{pp}.value", v, "must be greater than zero"))
        ps = pol.get("periodSeconds")
        if int_of(ps) is None or ps <= 0:
            errs.append(invalid(f"{pp}.periodSeconds", ps, "must be greater than zero"))
        elif ps > MAX_PERIOD_SECONDS:
            errs.append(invalid(f"{pp}.periodSeconds", ps, f"must be less than or equal to {MAX_PERIOD_SECONDS}"))
    return errs


def validate_hpa_v2(hpa: dict) -> list[FieldError]:
    spec = obj_of(hpa.get("spec"))
    errs = _replicas(spec)
    ref_errs = _scale_target_ref(spec.get("scaleTargetRef"), "spec.scaleTargetRef")
    if ref_errs:
        return errs + ref_errs
    metric_errs = _metrics(list_of(spec.get("metrics")), spec.get("minReplicas"))
    if metric_errs:
        return errs + metric_errs
    behavior = spec.get("behavior")
    if behavior is not None:
        behavior = obj_of(behavior)
        errs += _scaling_rules(behavior.get("scaleUp"), "spec.behavior.scaleUp")
        errs += _scaling_rules(behavior.get("scaleDown"), "spec.behavior.scaleDown")
    return errs


def validate_hpa_v1(hpa: dict) -> list[FieldError]:
    spec = obj_of(hpa.get("spec"))
    errs = _replicas(spec)
    errs += _scale_target_ref(spec.get("scaleTargetRef"), "spec.scaleTargetRef")
    t = spec.get("targetCPUUtilizationPercentage")
    if t is not None and (int_of(t) is None or t < 1):
        errs.append(invalid("spec.targetCPUUtilizationPercentage", t, "must be greater than 0"))
    return errs


def validate_hpa_status(new: dict, old: dict) -> list[FieldError]:
    st = obj_of(new.get("status"))
    return (nonnegative(st.get("currentReplicas"), "status.currentReplicas")
            + nonnegative(st.get("desiredReplicas"), "status.desiredReplicas"))
