"""StatefulSet pod identity (pure): names `<set>-<ordinal>`, the labels
`statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index`, hostname = pod name,
subdomain = `serviceName`, and one PersistentVolumeClaim volume per claim template
(`<template>-<pod>`); plus the predicates the update algorithm uses.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime

from ..util.history import REVISION_HASH_LABEL
from ..util.ownerrefs import new_controller_ref
from ..util.pod_control import pod_from_template
from ..util.pods import is_pod_available, is_pod_ready, is_terminating, phase

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"

_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


def parent_and_ordinal(pod: dict) -> tuple[str, int]:
    m = _ORDINAL.match((pod.get("metadata") or {}).get("name") or "")
    if not m:
        return "", -1
    return m.group(1), int(m.group(2))


def ordinal(pod: dict) -> int:
    return parent_and_ordinal(pod)[1]


def is_member_of(sts: dict, pod: dict) -> bool:
    return parent_and_ordinal(pod)[0] == sts["metadata"]["name"]


def pod_name(sts: dict, ordinal_: int) -> str:
    return f"{sts['metadata']['name']}-{ordinal_}"


def replicas(sts: dict) -> int:
    r = (sts.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def start_ordinal(sts: dict) -> int:
    return int(((sts.get("spec") or {}).get("ordinals") or {}).get("start") or 0)


def end_ordinal(sts: dict) -> int:
    return start_ordinal(sts) + replicas(sts) - 1


def in_ordinal_range(sts: dict, pod: dict) -> bool:
    return start_ordinal(sts) <= ordinal(pod) <= end_ordinal(sts)


def revision_of(pod: dict) -> str:
    return ((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH_LABEL, "")


# ----- making pods


def _claim_volumes(sts: dict, name: str) -> list[dict]:
    return [{"name": t["metadata"]["name"],
             "persistentVolumeClaim": {"claimName": f"{t['metadata']['name']}-{name}"}}
            for t in (sts.get("spec") or {}).get("volumeClaimTemplates") or []]


def update_identity(sts: dict, pod: dict, ordinal_: int) -> None:
    name = pod_name(sts, ordinal_)
    md = pod.setdefault("metadata", {})
    md["name"] = name
    md["namespace"] = sts["metadata"]["namespace"]
    md.setdefault("labels", {})
    md["labels"][POD_NAME_LABEL] = name
    md["labels"][POD_INDEX_LABEL] = str(ordinal_)
    spec = pod.setdefault("spec", {})
    spec["hostname"] = name
    service = (sts.get("spec") or {}).get("serviceName")
    if service:
        spec["subdomain"] = service


def new_pod(sts: dict, ordinal_: int, revision_name: str) -> dict:
    """The pod for `ordinal_` from `sts`'s template, labelled with `revision_name`."""
    template = (sts.get("spec") or {}).get("template") or {}
    pod = pod_from_template(template, sts, new_controller_ref(sts, "apps/v1", "StatefulSet"))
    del pod["metadata"]["generateName"]     # named by ordinal
    update_identity(sts, pod, ordinal_)
    claims = _claim_volumes(sts, pod["metadata"]["name"])
    if claims:
        names = {c["name"] for c in claims}
        pod["spec"]["volumes"] = claims + [v for v in pod["spec"].get("volumes") or [] if v.get("name") not in names]
    pod["metadata"]["labels"][REVISION_HASH_LABEL] = revision_name
    return pod


def identity_matches(sts: dict, pod: dict) -> bool:
    parent, ord_ = parent_and_ordinal(pod)
    md = pod.get("metadata") or {}
    lbls = md.get("labels") or {}
    spec = pod.get("spec") or {}
    service = (sts.get("spec") or {}).get("serviceName")
    return (ord_ >= 0 and parent == sts["metadata"]["name"] and md.get("name") == pod_name(sts, ord_)
            and md.get("namespace") == sts["metadata"]["namespace"] and lbls.get(POD_NAME_LABEL) == md.get("name")
            and lbls.get(POD_INDEX_LABEL) == str(ord_) and spec.get("hostname") == md.get("name")
            and (not service or spec.get("subdomain") == service))


def with_identity(sts: dict, pod: dict) -> dict:
    out = copy.deepcopy(pod)
    update_identity(sts, out, ordinal(pod))
    return out


# ----- states


def is_created(pod: dict) -> bool:
    return bool((pod.get("metadata") or {}).get("uid"))


def is_running_and_ready(pod: dict) -> bool:
    return phase(pod) == "Running" and is_pod_ready(pod)


def is_running_and_available(pod: dict, min_ready_seconds: int, now: datetime) -> bool:
    return phase(pod) == "Running" and is_pod_available(pod, min_ready_seconds, now)


def is_healthy(pod: dict) -> bool:
    return is_running_and_ready(pod) and not is_terminating(pod)
