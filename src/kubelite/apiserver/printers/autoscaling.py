"""Printers for autoscaling: HorizontalPodAutoscaler (v1 and v2) and Scale."""

from __future__ import annotations

from datetime import datetime

from .columns import AGE, NAME, Column, Printer
from .format import NONE, UNSET, canonical_quantity, created, meta

HPA_COLUMNS = (
    NAME,
    Column("Reference", "string", "The scaled object, as kind/name."),
    Column("Targets", "string", "Current and target values of the metrics."),
    Column("MinPods", "string", "The lowest replica count the autoscaler sets."),
    Column("MaxPods", "string", "The highest replica count the autoscaler sets."),
    Column("Replicas", "string", "The replica count last seen by the autoscaler."),
    AGE,
)
METRICS_SHOWN = 2
UNKNOWN = "<unknown>"


def v1_metrics(hpa: dict) -> tuple[list, list]:
    """autoscaling/v1 keeps one CPU utilization target; express it as a v2 Resource metric."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    specs, statuses = [], []
    if spec.get("targetCPUUtilizationPercentage") is not None:
        specs.append({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization",
                                      "averageUtilization": spec["targetCPUUtilizationPercentage"]}}})
    if status.get("currentCPUUtilizationPercentage") is not None:
        statuses.append({"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": status["currentCPUUtilizationPercentage"]}}})
    return specs, statuses


def _q(v: object) -> str:
    return "<nil>" if v is None else canonical_quantity(v)


def _current(statuses: list, i: int, source: str) -> dict | None:
    if i < len(statuses) and statuses[i].get(source) is not None:
        return statuses[i][source].get("current") or {}
    return None


def _value_metric(spec: dict, statuses: list, i: int, source: str) -> str:
    """External and Object metrics: an average value `(avg)` or a plain value."""
    target = (spec.get(source) or {}).get("target") or {}
    current = _current(statuses, i, source)
    if target.get("averageValue") is not None:
        now = UNKNOWN if current is None or current.get("averageValue") is None else _q(current["averageValue"])
        return f"{now}/{_q(target['averageValue'])} (avg)"
    now = UNKNOWN if current is None else _q(current.get("value"))
    return f"{now}/{_q(target.get('value'))}"


def _resource_metric(spec: dict, statuses: list, i: int, source: str) -> str:
    """Resource and ContainerResource metrics: `cpu: 40%/80%` or `memory: 10Mi/100Mi`."""
    resource = spec.get(source) or {}
    target = resource.get("target") or {}
    current = _current(statuses, i, source)
    name = resource.get("name", "")
    if target.get("averageValue") is not None:
        now = UNKNOWN if current is None else _q(current.get("averageValue"))
        return f"{name}: {now}/{_q(target['averageValue'])}"
    now = UNKNOWN
    if current is not None and current.get("averageUtilization") is not None:
        now = f"{current['averageUtilization']}%"
    goal = "<auto>" if target.get("averageUtilization") is None else f"{target['averageUtilization']}%"
    return f"{name}: {now}/{goal}"


def format_metrics(specs: list, statuses: list) -> str:
    if not specs:
        return NONE
    shown = []
    for i, spec in enumerate(specs):
        type_ = spec.get("type")
        if type_ in ("External", "Object"):
            shown.append(_value_metric(spec, statuses, i, type_.lower()))
        elif type_ == "Pods":
            current = _current(statuses, i, "pods")
            now = UNKNOWN if current is None else _q(current.get("averageValue"))
            target = ((spec.get("pods") or {}).get("target") or {}).get("averageValue")
            shown.append(f"{now}/{_q(target)}")
        elif type_ == "Resource":
            shown.append(_resource_metric(spec, statuses, i, "resource"))
        elif type_ == "ContainerResource":
            shown.append(_resource_metric(spec, statuses, i, "containerResource"))
        else:
            shown.append("<unknown type>")
    ret = ", ".join(shown[:METRICS_SHOWN])
    if len(shown) > METRICS_SHOWN:
        return f"{ret} + {len(shown) - METRICS_SHOWN} more..."
    return ret


def hpa_cells(hpa: dict, now: datetime) -> list:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    if hpa.get("apiVersion") == "autoscaling/v1":
        specs, statuses = v1_metrics(hpa)
    else:
        specs, statuses = spec.get("metrics") or [], status.get("currentMetrics") or []
    ref = spec.get("scaleTargetRef") or {}
    min_replicas = spec.get("minReplicas")
    return [meta(hpa).get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            format_metrics(specs, statuses), UNSET if min_replicas is None else str(min_replicas),
            spec.get("maxReplicas") or 0, status.get("currentReplicas") or 0, created(hpa, now)]


SCALE_COLUMNS = (
    Column("Name", "string", "Name of the scaled object."),
    Column("Desired", "integer", "Replicas wanted."),
    Column("Available", "integer", "Replicas observed."),
    AGE,
)


def scale_cells(scale: dict, now: datetime) -> list:
    return [meta(scale).get("name", ""), (scale.get("spec") or {}).get("replicas") or 0,
            (scale.get("status") or {}).get("replicas") or 0, created(scale, now)]


PRINTERS = {
    ("autoscaling", "HorizontalPodAutoscaler"): Printer(HPA_COLUMNS, hpa_cells),
    ("autoscaling", "Scale"): Printer(SCALE_COLUMNS, scale_cells),
}
