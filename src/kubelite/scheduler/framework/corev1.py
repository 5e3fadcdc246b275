"""Scheduling helpers for core/v1 types (Kubernetes' `component-helpers/scheduling/corev1`):
taints and tolerations (the matching itself is `kubelite.api.helpers`', shared with the
controllers), node selectors and node affinity. Pure and precompiled: build a matcher once per
pod, run it against many nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"

TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_TOPOLOGY_ZONE = "topology.kubernetes.io/zone"
LABEL_TOPOLOGY_REGION = "topology.kubernetes.io/region"


# ----- taints and tolerations

def taint_string(taint: Mapping) -> str:
    return f"{{{taint.get('key', '')}: {taint.get('value') or ''}}}"


# ----- node selectors

@dataclass(frozen=True, slots=True)
class _Req:
    key: str
    op: str
    values: frozenset[str]
    number: int | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.op
        if op == "In":
            v = labels.get(self.key)
            return v is not None and v in self.values
        if op == "NotIn":
            v = labels.get(self.key)
            return v is None or v not in self.values
        if op == "Exists":
            return self.key in labels
        if op == "DoesNotExist":
            return self.key not in labels
        v = labels.get(self.key)
        if v is None or self.number is None:
            return False
        try:
            have = int(v)
        except ValueError:
            return False
        return have > self.number if op == "Gt" else have < self.number


class InvalidSelector(ValueError):
    pass


def _parse_req(expr: Mapping, fields: bool) -> _Req:
    op = expr.get("operator", "")
    key = expr.get("key", "")
    values = tuple(expr.get("values") or ())
    if fields:
        if key != "metadata.name" or op not in ("In", "NotIn") or len(values) != 1:
            raise InvalidSelector(f"unsupported node field selector {key} {op} {list(values)}")
        return _Req(key, op, frozenset(values))
    if op in ("In", "NotIn"):
        if not values:
            raise InvalidSelector(f"{op} requires values")
        return _Req(key, op, frozenset(values))
    if op in ("Exists", "DoesNotExist"):
        return _Req(key, op, frozenset())
    if op in ("Gt", "Lt"):
        try:
            n = int(values[0]) if len(values) == 1 else None
        except ValueError:
            n = None
        if n is None:
            raise InvalidSelector(f"{op} requires a single integer value")
        return _Req(key, op, frozenset(values), n)
    raise InvalidSelector(f"{op!r} is not a valid node selector operator")


class NodeSelectorTerm:
    """One term: all its label expressions and field expressions must match; an empty term
    (or one that does not parse) matches no node."""

    __slots__ = ("labels", "fields", "valid")

    def __init__(self, term: Mapping | None) -> None:
        term = term or {}
        self.valid = True
        try:
            self.labels = tuple(_parse_req(e, False) for e in term.get("matchExpressions") or [])
            self.fields = tuple(_parse_req(e, True) for e in term.get("matchFields") or [])
        except InvalidSelector:
            self.labels, self.fields, self.valid = (), (), False
        if not self.labels and not self.fields:
            self.valid = False

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        if not self.valid:
            return False
        for r in self.labels:
            if not r.matches(labels):
                return False
        if self.fields:
            fields = {"metadata.name": name}
            for r in self.fields:
                if not r.matches(fields):
                    return False
        return True


class NodeSelector:
    """`NodeSelectorTerms` ORed together; no terms matches nothing."""

    __slots__ = ("terms",)

    def __init__(self, selector: Mapping | None) -> None:
        self.terms = tuple(NodeSelectorTerm(t) for t in (selector or {}).get("nodeSelectorTerms") or [])

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        for t in self.terms:
            if t.matches(labels, name):
                return True
        return False


class RequiredNodeAffinity:
    """`spec.nodeSelector` AND `requiredDuringSchedulingIgnoredDuringExecution` of a pod."""

    __slots__ = ("node_selector", "required")

    def __init__(self, pod: Mapping) -> None:
        spec = pod.get("spec") or {}
        self.node_selector: tuple[tuple[str, str], ...] = tuple((spec.get("nodeSelector") or {}).items())
        na = (spec.get("affinity") or {}).get("nodeAffinity") or {}
        req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
        self.required = NodeSelector(req) if req is not None else None

    def is_empty(self) -> bool:
        return not self.node_selector and self.required is None

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        for k, v in self.node_selector:
            if labels.get(k) != v:
                return False
        return self.required is None or self.required.matches(labels, name)


class PreferredSchedulingTerms:
    """`preferredDuringSchedulingIgnoredDuringExecution`: the sum of the weights of the terms a
    node matches."""

    __slots__ = ("terms",)

    def __init__(self, pod: Mapping) -> None:
        na = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
        terms = []
        for t in na.get("preferredDuringSchedulingIgnoredDuringExecution") or []:
            w = int(t.get("weight") or 0)
            if w:
                terms.append((w, NodeSelectorTerm(t.get("preference"))))
        self.terms = tuple(terms)

    def score(self, labels: Mapping[str, str], name: str) -> int:
        total = 0
        for w, term in self.terms:
            if term.matches(labels, name):
                total += w
        return total
