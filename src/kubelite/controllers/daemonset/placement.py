"""Where a DaemonSet's pods belong (pure): node selector, required node affinity, taints and
tolerations, with the tolerations every daemon pod gets; and the node-name affinity that pins a
daemon pod to its node so that the scheduler binds it there.

`node_should_run_daemon_pod(node, ds)` returns `(should_run, should_continue_running)`: a node
with a NoSchedule taint the pod does not tolerate gets no new pod, but a pod already there keeps
running unless a NoExecute taint is not tolerated either.
"""

from __future__ import annotations

import copy

from kubelite.api.helpers import find_untolerated_taint

NODE_NAME_FIELD = "metadata.name"

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
TAINT_MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
TAINT_PID_PRESSURE = "node.kubernetes.io/pid-pressure"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"


def default_tolerations(host_network: bool) -> list[dict]:
    """The tolerations the DaemonSet controller adds to every daemon pod."""
    tols = [
        {"key": TAINT_NOT_READY, "operator": "Exists", "effect": "NoExecute"},
        {"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute"},
        {"key": TAINT_DISK_PRESSURE, "operator": "Exists", "effect": "NoSchedule"},
        {"key": TAINT_MEMORY_PRESSURE, "operator": "Exists", "effect": "NoSchedule"},
        {"key": TAINT_PID_PRESSURE, "operator": "Exists", "effect": "NoSchedule"},
        {"key": TAINT_UNSCHEDULABLE, "operator": "Exists", "effect": "NoSchedule"},
    ]
    if host_network:
        tols.append({"key": TAINT_NETWORK_UNAVAILABLE, "operator": "Exists", "effect": "NoSchedule"})
    return tols


def add_default_tolerations(spec: dict) -> None:
    """Add (or replace, by key and effect) the daemon tolerations in a pod spec."""
    tols = list(spec.get("tolerations") or [])
    for want in default_tolerations(bool(spec.get("hostNetwork"))):
        tols = [t for t in tols if not (t.get("key") == want["key"] and t.get("effect") == want["effect"])]
        tols.append(want)
    spec["tolerations"] = tols


# ----- node affinity


def _requirement_matches(req: dict, values_of: dict[str, str]) -> bool:
    key, op, vals = req.get("key", ""), req.get("operator"), req.get("values") or []
    present = key in values_of
    v = values_of.get(key)
    if op == "In":
        return present and v in vals
    if op == "NotIn":
        return not present or v not in vals
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        if not present or len(vals) != 1:
            return False
        try:
            have, want = int(v or ""), int(vals[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def term_matches(term: dict, node: dict) -> bool:
    """A NodeSelectorTerm: every expression on labels and every field requirement match; an
    empty term matches nothing."""
    exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not exprs and not fields:
        return False
    node_labels = (node.get("metadata") or {}).get("labels") or {}
    node_fields = {NODE_NAME_FIELD: (node.get("metadata") or {}).get("name", "")}
    return all(_requirement_matches(r, node_labels) for r in exprs) and \
        all(r.get("key") == NODE_NAME_FIELD and _requirement_matches(r, node_fields) for r in fields)


def required_node_affinity_matches(pod_spec: dict, node: dict) -> bool:
    node_labels = (node.get("metadata") or {}).get("labels") or {}
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if node_labels.get(k) != v:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    return any(term_matches(t, node) for t in required.get("nodeSelectorTerms") or [])


def pin_to_node(spec: dict, node_name: str) -> None:
    """Replace the required node affinity with `metadata.name In [node]` (the scheduler binds it)."""
    term = {"matchFields": [{"key": NODE_NAME_FIELD, "operator": "In", "values": [node_name]}]}
    affinity = spec.setdefault("affinity", {}) or {}
    spec["affinity"] = affinity
    node_affinity = affinity.setdefault("nodeAffinity", {}) or {}
    affinity["nodeAffinity"] = node_affinity
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}


def target_node_name(pod: dict) -> str | None:
    """`spec.nodeName`, or the single node a pod's `metadata.name` node affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution")) or {}
    terms = required.get("nodeSelectorTerms") or []
    if len(terms) != 1:
        return None
    for req in terms[0].get("matchFields") or []:
        if req.get("key") == NODE_NAME_FIELD and req.get("operator") == "In" and len(req.get("values") or []) == 1:
            return req["values"][0]
    return None


# ----- the decision


def daemon_pod_spec(ds: dict) -> dict:
    spec = copy.deepcopy(((ds.get("spec") or {}).get("template") or {}).get("spec") or {})
    add_default_tolerations(spec)
    return spec


def node_should_run_daemon_pod(node: dict, ds: dict) -> tuple[bool, bool]:
    spec = daemon_pod_spec(ds)
    name = (node.get("metadata") or {}).get("name")
    if spec.get("nodeName") and spec["nodeName"] != name:
        return False, False
    if not required_node_affinity_matches(spec, node):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = spec.get("tolerations") or []
    if find_untolerated_taint(taints, tolerations, ("NoSchedule", "NoExecute")) is not None:
        return False, find_untolerated_taint(taints, tolerations, ("NoExecute",)) is None
    return True, True
