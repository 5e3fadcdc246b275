"""Strategies for the remaining groups (events.k8s.io, autoscaling, ...)."""

from __future__ import annotations

from kubelite.api.scheme import Resource
from kubelite.registry.generic.strategy import Strategy


class EventsV1Strategy(Strategy):
    def __init__(self, resource: Resource, env):
        super().__init__(resource)

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        f = super().selectable_fields(obj)
        r = obj.get("regarding") or {}
        f.update({"regarding.kind": r.get("kind", ""), "regarding.name": r.get("name", ""),
                  "regarding.namespace": r.get("namespace", ""), "regarding.uid": r.get("uid", ""),
                  "reason": obj.get("reason", ""), "type": obj.get("type", ""),
                  "reportingController": obj.get("reportingController", "")})
        return f


class HorizontalPodAutoscalerStrategy(Strategy):
    """A new HPA's status carries its two replica counts at zero, as Kubernetes serialises an
    empty status (both are required fields of the published schema)."""

    def __init__(self, resource: Resource, env):
        super().__init__(resource)

    def initial_status(self, obj: dict) -> dict | None:
        return {"currentReplicas": 0, "desiredReplicas": 0}


STRATEGIES = {
    ("events.k8s.io", "Event"): EventsV1Strategy,
    ("autoscaling", "HorizontalPodAutoscaler"): HorizontalPodAutoscalerStrategy,
}
