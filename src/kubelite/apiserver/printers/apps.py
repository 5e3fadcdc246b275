"""Printers for apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision."""

from __future__ import annotations

from datetime import datetime

from kubelite.machinery import labels

from .columns import AGE, CONTAINERS, IMAGES, NAME, SELECTOR, Column, Printer
from .format import (NONE, container_cells, created, format_label_selector, format_labels, meta, selector_string,
                     template_containers)


def _replicas(obj: dict) -> int:
    """spec.replicas; the API server defaults it to 1."""
    replicas = (obj.get("spec") or {}).get("replicas")
    return 1 if replicas is None else replicas


def _status(obj: dict, field: str) -> int:
    return (obj.get("status") or {}).get(field) or 0


DEPLOYMENT_COLUMNS = (
    NAME,
    Column("Ready", "string", "Ready pods out of desired replicas."),
    Column("Up-to-date", "string", "Pods running the latest pod template."),
    Column("Available", "string", "Pods available for at least minReadySeconds."),
    AGE, CONTAINERS, IMAGES, SELECTOR,
)


def deployment_cells(d: dict, now: datetime) -> list:
    try:
        selector = selector_string((d.get("spec") or {}).get("selector"))
    except labels.SelectorError:
        selector = "<invalid>"
    names, images = container_cells(template_containers(d))
    return [meta(d).get("name", ""), f"{_status(d, 'readyReplicas')}/{_replicas(d)}",
            _status(d, "updatedReplicas"), _status(d, "availableReplicas"), created(d, now),
            names, images, selector]


REPLICASET_COLUMNS = (
    NAME,
    Column("Desired", "integer", "Replicas the set should run."),
    Column("Current", "integer", "Replicas the set runs now."),
    Column("Ready", "integer", "Replicas that are ready."),
    AGE, CONTAINERS, IMAGES, SELECTOR,
)


def replicaset_cells(rs: dict, now: datetime) -> list:
    names, images = container_cells(template_containers(rs))
    return [meta(rs).get("name", ""), _replicas(rs), _status(rs, "replicas"), _status(rs, "readyReplicas"),
            created(rs, now), names, images, format_label_selector((rs.get("spec") or {}).get("selector"))]


STATEFULSET_COLUMNS = (
    NAME,
    Column("Ready", "string", "Ready pods out of desired replicas."),
    AGE, CONTAINERS, IMAGES,
)


def statefulset_cells(sts: dict, now: datetime) -> list:
    names, images = container_cells(template_containers(sts))
    return [meta(sts).get("name", ""), f"{_status(sts, 'readyReplicas')}/{_replicas(sts)}", created(sts, now),
            names, images]


DAEMONSET_COLUMNS = (
    NAME,
    Column("Desired", "integer", "Nodes that should run the daemon pod."),
    Column("Current", "integer", "Nodes that run at least one daemon pod."),
    Column("Ready", "integer", "Nodes whose daemon pod is ready."),
    Column("Up-to-date", "integer", "Nodes that run the latest pod template."),
    Column("Available", "integer", "Nodes whose daemon pod is available."),
    Column("Node Selector", "string", "The node selector of the pod template."),
    AGE, CONTAINERS, IMAGES, SELECTOR,
)


def daemonset_cells(ds: dict, now: datetime) -> list:
    spec = ds.get("spec") or {}
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    names, images = container_cells(pod_spec.get("containers"))
    return [meta(ds).get("name", ""), _status(ds, "desiredNumberScheduled"), _status(ds, "currentNumberScheduled"),
            _status(ds, "numberReady"), _status(ds, "updatedNumberScheduled"), _status(ds, "numberAvailable"),
            format_labels(pod_spec.get("nodeSelector")), created(ds, now),
            names, images, format_label_selector(spec.get("selector"))]


CONTROLLERREVISION_COLUMNS = (
    NAME,
    Column("Controller", "string", "The object that owns the revision, as kind.group/name."),
    Column("Revision", "string", "The revision number."),
    AGE,
)


def controller_name(obj: dict) -> str:
    """The controlling owner as `kind.group/name` in lower case, or `<none>`."""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            api_version = ref.get("apiVersion", "")
            group = api_version.split("/")[0] if "/" in api_version else ""
            kind = ref.get("kind", "")
            if not group and not kind:
                return ref.get("name", "")
            qualified = f"{kind}.{group}" if group else kind
            return f"{qualified.lower()}/{ref.get('name', '')}"
    return NONE


def controllerrevision_cells(cr: dict, now: datetime) -> list:
    return [meta(cr).get("name", ""), controller_name(cr), cr.get("revision") or 0, created(cr, now)]


PRINTERS = {
    ("apps", "Deployment"): Printer(DEPLOYMENT_COLUMNS, deployment_cells),
    ("apps", "ReplicaSet"): Printer(REPLICASET_COLUMNS, replicaset_cells),
    ("apps", "StatefulSet"): Printer(STATEFULSET_COLUMNS, statefulset_cells),
    ("apps", "DaemonSet"): Printer(DAEMONSET_COLUMNS, daemonset_cells),
    ("apps", "ControllerRevision"): Printer(CONTROLLERREVISION_COLUMNS, controllerrevision_cells),
}
