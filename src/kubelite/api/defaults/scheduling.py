"""scheduling.k8s.io/v1 defaults."""

from __future__ import annotations


def priority_class(obj: dict) -> None:
    if obj.get("preemptionPolicy") is None:
        obj["preemptionPolicy"] = "PreemptLowerPriority"
