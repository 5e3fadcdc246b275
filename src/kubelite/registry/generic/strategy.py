"""Per-resource behaviour plugged into the generic store (Kubernetes' REST strategies).

A `Strategy` says how objects of one resource are prepared for create and update, how they are
validated, which fields field selectors may use, and how deletion behaves. The generic `Store`
calls these in a fixed order (see `store.py`); resources with special needs subclass it in
`kubelite.registry.<group>.<resource>`.
"""

from __future__ import annotations

import copy
from typing import Any

from kubelite.api import defaults as _defaults
from kubelite.api import validation as _validation
from kubelite.api.scheme import Resource
from kubelite.machinery.errors import FieldError

# Kinds whose metadata.generation tracks spec changes.
GENERATION_KINDS = {
    ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
    ("batch", "Job"), ("batch", "CronJob"), ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"), ("policy", "PodDisruptionBudget"),
    ("autoscaling", "HorizontalPodAutoscaler"), ("scheduling.k8s.io", "PriorityClass"),
    ("", "ReplicationController"), ("", "PodTemplate"),
}

_SPEC_SKIP = ("metadata", "status", "apiVersion", "kind")


def spec_part(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in _SPEC_SKIP}


class Strategy:
    """Default behaviour: Kubernetes' generic strategy for a resource."""

    def __init__(self, resource: Resource):
        self.resource = resource
        self.has_status = resource.subresource("status") is not None
        self.tracks_generation = (resource.group, resource.kind) in GENERATION_KINDS
        self.allow_create_on_update = False
        self.allow_unconditional_update = True

    # -- names -----------------------------------------------------------------------------
    @property
    def namespaced(self) -> bool:
        return self.resource.namespaced

    # -- create ----------------------------------------------------------------------------
    def default(self, obj: dict) -> None:
        fn = getattr(_defaults, "apply_defaults", None)
        if fn is not None:
            r = self.resource
            fn(r.group, r.version, r.kind, obj)

    def prepare_for_create(self, obj: dict) -> None:
        if self.has_status:
            status = self.initial_status(obj)
            if status is None:
                obj.pop("status", None)
            else:
                obj["status"] = status
        if self.tracks_generation:
            obj["metadata"]["generation"] = 1

    def initial_status(self, obj: dict) -> dict | None:
        """The status a new object starts with (the client's status is discarded)."""
        return {}

    def validate(self, obj: dict) -> list[FieldError]:
        fn = getattr(_validation, "validate_create", None)
        if fn is None:
            return []
        r = self.resource
        return fn(r.group, r.version, r.kind, obj, namespaced=r.namespaced)

    def warnings_on_create(self, obj: dict) -> list[str]:
        return []

    # -- update ----------------------------------------------------------------------------
    def prepare_for_update(self, new: dict, old: dict) -> None:
        if self.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        if self.tracks_generation:
            gen = old.get("metadata", {}).get("generation", 1) or 1
            if spec_part(new) != spec_part(old):
                gen += 1
            new["metadata"]["generation"] = gen

    def validate_update(self, new: dict, old: dict) -> list[FieldError]:
        fn = getattr(_validation, "validate_update", None)
        if fn is None:
            return []
        r = self.resource
        return fn(r.group, r.version, r.kind, new, old, namespaced=r.namespaced)

    def warnings_on_update(self, new: dict, old: dict) -> list[str]:
        return []

    # -- reads -----------------------------------------------------------------------------
    def selectable_fields(self, obj: dict) -> dict[str, str]:
        md = obj.get("metadata") or {}
        f = {"metadata.name": md.get("name", "")}
        if self.resource.namespaced:
            f["metadata.namespace"] = md.get("namespace", "")
        return f

    # -- delete ----------------------------------------------------------------------------
    def graceful_delete_seconds(self, obj: dict, requested: int | None) -> int:
        """Seconds to wait before the object really goes; 0 deletes at once (or after finalizers)."""
        return 0

    def ready_to_delete(self, obj: dict) -> bool:
        """Whether an object marked for deletion, with no finalizers left, may be removed now."""
        return True

    def on_mark_deleted(self, obj: dict) -> None:
        """Called when an object gets its deletionTimestamp (e.g. a namespace becomes Terminating)."""
        return None

    def return_deleted_object(self) -> bool:
        """Whether DELETE answers with the deleted object (as Kubernetes does for some kinds)."""
        return False

    def default_propagation(self) -> str:
        return "Background"

    # -- after ------------------------------------------------------------------------------
    def canonicalize(self, obj: dict) -> None:
        return None


class StatusStrategy(Strategy):
    """Writes through `/status`: only `.status` (and nothing else) of the new object is kept."""

    def __init__(self, base: Strategy):
        super().__init__(base.resource)
        self.base = base

    # Kinds whose status writes may also change annotations (Kubernetes' apps status strategies
    # reset only spec and labels).
    KEEP_ANNOTATIONS = {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"),
                        ("apps", "DaemonSet")}

    def prepare_for_update(self, new: dict, old: dict) -> None:
        status = new.get("status")
        rv = new.get("metadata", {}).get("resourceVersion")
        managed = new.get("metadata", {}).get("managedFields")
        annotations = new.get("metadata", {}).get("annotations")
        new.clear()
        new.update(copy.deepcopy(old))
        if (self.resource.group, self.resource.kind) in self.KEEP_ANNOTATIONS:
            if annotations:
                new["metadata"]["annotations"] = annotations
            else:
                new["metadata"].pop("annotations", None)
        if status is None:
            new.pop("status", None)
        else:
            new["status"] = status
        if rv is not None:
            new["metadata"]["resourceVersion"] = rv
        if managed is not None:
            new["metadata"]["managedFields"] = managed

    def validate_update(self, new: dict, old: dict) -> list[FieldError]:
        fn = getattr(_validation, "validate_status_update", None)
        if fn is None:
            return []
        r = self.resource
        return fn(r.group, r.version, r.kind, new, old, namespaced=r.namespaced)

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        return self.base.selectable_fields(obj)

    def default(self, obj: dict) -> None:
        self.base.default(obj)


def deep_get(obj: Any, *path: str, default: Any = None) -> Any:
    cur = obj
    for p in path:
        if not isinstance(cur, dict):
            return default
        cur = cur.get(p)
        if cur is None:
            return default
    return cur
