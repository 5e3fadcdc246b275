"""apps/v1 defaults (Kubernetes' `pkg/apis/apps/v1/defaults.go`)."""

from __future__ import annotations

from . import core
from .core import dict_items, field_dict


def _template(spec: dict) -> None:
    tpl = field_dict(spec, "template")
    if tpl is not None:
        core.pod_template(tpl)


def deployment(obj: dict) -> None:
    spec = field_dict(obj, "spec")
    if spec is None:
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = spec.get("strategy")
    if not isinstance(strategy, dict):
        strategy = spec["strategy"] = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if not isinstance(ru, dict):
            ru = strategy["rollingUpdate"] = {}
        if ru.get("maxUnavailable") is None:
            ru["maxUnavailable"] = "25%"
        if ru.get("maxSurge") is None:
            ru["maxSurge"] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    _template(spec)


def replica_set(obj: dict) -> None:
    spec = field_dict(obj, "spec")
    if spec is None:
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _template(spec)


def stateful_set(obj: dict) -> None:
    spec = field_dict(obj, "spec")
    if spec is None:
        return
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    us = spec.get("updateStrategy")
    if not isinstance(us, dict):
        us = spec["updateStrategy"] = {}
    if not us.get("type"):
        us["type"] = "RollingUpdate"
        if us.get("rollingUpdate") is None:
            us["rollingUpdate"] = {}
    if us["type"] == "RollingUpdate" and isinstance(us.get("rollingUpdate"), dict):
        if us["rollingUpdate"].get("partition") is None:
            us["rollingUpdate"]["partition"] = 0
    pol = spec.get("persistentVolumeClaimRetentionPolicy")
    if not isinstance(pol, dict):
        pol = spec["persistentVolumeClaimRetentionPolicy"] = {}
    for f in ("whenDeleted", "whenScaled"):
        if not pol.get(f):
            pol[f] = "Retain"
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    _template(spec)
    for claim in dict_items(spec, "volumeClaimTemplates"):
        core.persistent_volume_claim(claim)


def daemon_set(obj: dict) -> None:
    spec = field_dict(obj, "spec")
    if spec is None:
        return
    us = spec.get("updateStrategy")
    if not isinstance(us, dict):
        us = spec["updateStrategy"] = {}
    if not us.get("type"):
        us["type"] = "RollingUpdate"
    if us["type"] == "RollingUpdate":
        ru = us.get("rollingUpdate")
        if not isinstance(ru, dict):
            ru = us["rollingUpdate"] = {}
        if ru.get("maxUnavailable") is None:
            ru["maxUnavailable"] = 1
        if ru.get("maxSurge") is None:
            ru["maxSurge"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    _template(spec)
