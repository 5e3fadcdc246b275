"""autoscaling v1 and v2 defaults (HorizontalPodAutoscaler)."""

from __future__ import annotations

from .core import field_dict

DEFAULT_CPU_UTILIZATION = 80


def _scale_up_rules() -> dict:
    return {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
            "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                         {"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _scale_down_rules() -> dict:
    return {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _fill(rules: object, defaults: dict) -> dict:
    """Copy every field the user left unset from the defaults (Kubernetes' copyHPAScalingRules)."""
    out = dict(defaults)
    if isinstance(rules, dict):
        for k, v in rules.items():
            if v is not None:
                out[k] = v
    return out


def hpa_v2(obj: dict) -> None:
    spec = field_dict(obj, "spec")
    if spec is None:
        return
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _fill(behavior.get("scaleUp"), _scale_up_rules())
        behavior["scaleDown"] = _fill(behavior.get("scaleDown"), _scale_down_rules())


def hpa_v1(obj: dict) -> None:
    spec = field_dict(obj, "spec")
    if spec is None:
        return
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
