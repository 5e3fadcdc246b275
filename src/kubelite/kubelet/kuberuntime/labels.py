"""Labels and annotations the kubelet puts on sandboxes and containers (Kubernetes' names)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
CONTAINER_TYPE = "io.kubelite.container.type"  # "init" | "container" (kubelite's own)

CONTAINER_HASH = "io.kubernetes.container.hash"
CONTAINER_RESTART_COUNT = "io.kubernetes.container.restartCount"
CONTAINER_TERMINATION_MESSAGE_PATH = "io.kubernetes.container.terminationMessagePath"
CONTAINER_TERMINATION_MESSAGE_POLICY = "io.kubernetes.container.terminationMessagePolicy"
CONTAINER_PRE_STOP_HANDLER = "io.kubernetes.container.preStopHandler"
CONTAINER_PORTS = "io.kubernetes.container.ports"
POD_DELETION_GRACE_PERIOD = "io.kubernetes.pod.deletionGracePeriod"
POD_TERMINATION_GRACE_PERIOD = "io.kubernetes.pod.terminationGracePeriod"
IMAGE_REF = "io.kubelite.image.ref"  # the image as the pod spec names it


def container_hash(container: dict) -> str:
    """A stable hash of the container's spec: a change means "restart with the new spec"."""
    doc = {k: v for k, v in container.items() if k != "resources"}
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:8]


def pod_labels(pod: dict) -> dict[str, str]:
    md = pod.get("metadata") or {}
    out = {str(k): str(v) for k, v in (md.get("labels") or {}).items()}
    out.update({POD_NAME: md.get("name", ""), POD_NAMESPACE: md.get("namespace", "") or "default",
                POD_UID: md.get("uid", "")})
    return out


def sandbox_annotations(pod: dict) -> dict[str, str]:
    md = pod.get("metadata") or {}
    return {str(k): str(v) for k, v in (md.get("annotations") or {}).items()}


def container_labels(pod: dict, container: dict, kind: str) -> dict[str, str]:
    md = pod.get("metadata") or {}
    return {POD_NAME: md.get("name", ""), POD_NAMESPACE: md.get("namespace", "") or "default",
            POD_UID: md.get("uid", ""), CONTAINER_NAME: container.get("name", ""), CONTAINER_TYPE: kind}


def container_annotations(pod: dict, container: dict, restart_count: int) -> dict[str, str]:
    md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    out = {
        CONTAINER_HASH: container_hash(container),
        CONTAINER_RESTART_COUNT: str(restart_count),
        CONTAINER_TERMINATION_MESSAGE_PATH: container.get("terminationMessagePath", "/dev/termination-log"),
        CONTAINER_TERMINATION_MESSAGE_POLICY: container.get("terminationMessagePolicy", "File"),
        IMAGE_REF: container.get("image", ""),
    }
    if md.get("deletionGracePeriodSeconds") is not None:
        out[POD_DELETION_GRACE_PERIOD] = str(md["deletionGracePeriodSeconds"])
    if spec.get("terminationGracePeriodSeconds") is not None:
        out[POD_TERMINATION_GRACE_PERIOD] = str(spec["terminationGracePeriodSeconds"])
    pre_stop = (container.get("lifecycle") or {}).get("preStop")
    if pre_stop:
        out[CONTAINER_PRE_STOP_HANDLER] = json.dumps(pre_stop, sort_keys=True)
    if container.get("ports"):
        out[CONTAINER_PORTS] = json.dumps(container["ports"], sort_keys=True)
    return out


@dataclass
class AnnotatedInfo:
    hash: str = ""
    restart_count: int = 0
    termination_message_path: str = ""
    termination_message_policy: str = "File"
    pre_stop: dict[str, Any] | None = None
    ports: list[dict[str, Any]] | None = None
    termination_grace_period: int | None = None
    deletion_grace_period: int | None = None


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def _json(v: str | None) -> Any:
    try:
        return json.loads(v) if v else None
    except ValueError:
        return None


def annotated_info(annotations: dict[str, str]) -> AnnotatedInfo:
    a = annotations or {}
    return AnnotatedInfo(
        hash=a.get(CONTAINER_HASH, ""),
        restart_count=_int(a.get(CONTAINER_RESTART_COUNT)) or 0,
        termination_message_path=a.get(CONTAINER_TERMINATION_MESSAGE_PATH, ""),
        termination_message_policy=a.get(CONTAINER_TERMINATION_MESSAGE_POLICY, "File"),
        pre_stop=_json(a.get(CONTAINER_PRE_STOP_HANDLER)),
        ports=_json(a.get(CONTAINER_PORTS)),
        termination_grace_period=_int(a.get(POD_TERMINATION_GRACE_PERIOD)),
        deletion_grace_period=_int(a.get(POD_DELETION_GRACE_PERIOD)),
    )
