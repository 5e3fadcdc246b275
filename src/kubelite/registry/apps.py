"""apps/v1 and batch/v1 strategies: workloads whose status carries replica counts."""

from __future__ import annotations

from kubelite.api import helpers
from kubelite.api.scheme import Resource
from kubelite.registry.generic.strategy import Strategy, deep_get


class ReplicaSetStrategy(Strategy):
    def __init__(self, resource: Resource, env):
        super().__init__(resource)

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        f = super().selectable_fields(obj)
        f["status.replicas"] = str(deep_get(obj, "status", "replicas", default=0))
        return f


class JobStrategy(Strategy):
    def __init__(self, resource: Resource, env):
        super().__init__(resource)

    def prepare_for_create(self, obj: dict) -> None:
        super().prepare_for_create(obj)
        helpers.generate_job_selector(obj)

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        f = super().selectable_fields(obj)
        f["status.successful"] = str(deep_get(obj, "status", "succeeded", default=0))
        return f

    def default_propagation(self) -> str:
        return "Orphan"


class DaemonSetStrategy(Strategy):
    """Kubernetes keeps the template generation in an annotation for rolling updates."""

    ANNOTATION = "deprecated.daemonset.template.generation"

    def __init__(self, resource: Resource, env):
        super().__init__(resource)

    def prepare_for_create(self, obj: dict) -> None:
        super().prepare_for_create(obj)
        obj["metadata"].setdefault("annotations", {})[self.ANNOTATION] = "1"

    def prepare_for_update(self, new: dict, old: dict) -> None:
        super().prepare_for_update(new, old)
        ann = new["metadata"].setdefault("annotations", {})
        old_gen = (old["metadata"].get("annotations") or {}).get(self.ANNOTATION)
        if (new.get("spec") or {}).get("template") != (old.get("spec") or {}).get("template"):
            ann[self.ANNOTATION] = str(new["metadata"].get("generation", 1))
        elif old_gen is not None:
            ann[self.ANNOTATION] = old_gen


STRATEGIES = {
    ("apps", "DaemonSet"): DaemonSetStrategy,
    ("apps", "ReplicaSet"): ReplicaSetStrategy,
    ("batch", "Job"): JobStrategy,
}
