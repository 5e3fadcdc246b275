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


STRATEGIES = {
    ("apps", "ReplicaSet"): ReplicaSetStrategy,
    ("batch", "Job"): JobStrategy,
}
