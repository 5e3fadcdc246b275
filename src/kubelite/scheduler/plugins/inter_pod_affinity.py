"""InterPodAffinity: place pods relative to other pods, per topology domain (any node label:
`kubernetes.io/hostname`, `topology.kubernetes.io/zone`, ...).

Filter, with counts per (topology key, value) made once per cycle in PreFilter:
- required affinity: every term must have a matching pod in the node's domain ("node(s) didn't
  match pod affinity rules", unresolvable), except for the first pod of a group that matches
  its own terms when no pod anywhere matches them;
- required anti-affinity: no term may have a matching pod in the node's domain ("node(s) didn't
  match pod anti-affinity rules");
- existing pods' required anti-affinity: the pod may not land in a domain whose pods' terms
  reject it ("node(s) didn't satisfy existing pods anti-affinity rules").

Score: preferred terms both ways (and existing pods' required affinity, weight 1) add or
subtract their weight in the domains of the pods they match; scaled to 0..100 between the
lowest and highest node.

A term's namespaces are its `namespaces` plus those its `namespaceSelector` selects; with
neither, the pod's own namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..framework import (
    MAX_NODE_SCORE,
    SKIP,
    ActionType,
    AffinityTerm,
    ClusterEvent,
    CycleState,
    EventResource,
    NodeInfo,
    PodInfo,
    PreFilterResult,
    Status,
    unresolvable,
    unschedulable,
)
from .names import INTER_POD_AFFINITY

ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules"
ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules"
ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules"

_AFFINITY = unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH, plugin=INTER_POD_AFFINITY)
_ANTI_AFFINITY = unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH, plugin=INTER_POD_AFFINITY)
_EXISTING_ANTI_AFFINITY = unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH, plugin=INTER_POD_AFFINITY)
_PRE_FILTER_KEY = "PreFilter" + INTER_POD_AFFINITY
_PRE_SCORE_KEY = "PreScore" + INTER_POD_AFFINITY

Counts = dict[tuple[str, str], int]


def _bump(counts: Counts, labels: Mapping[str, str], key: str, delta: int) -> None:
    v = labels.get(key)
    if v is None:
        return
    pair = (key, v)
    n = counts.get(pair, 0) + delta
    if n:
        counts[pair] = n
    else:
        counts.pop(pair, None)


class _NamespaceLabels:
    """Namespace labels looked up once per cycle."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self._cache: dict[str, Mapping[str, str] | None] = {}

    def __call__(self, ns: str) -> Mapping[str, str] | None:
        if ns not in self._cache:
            self._cache[ns] = self.handle.namespace_labels(ns) if self.handle is not None else None
        return self._cache[ns]


def matches_all(terms: Sequence[AffinityTerm], pod: PodInfo, ns_labels: Mapping[str, str] | None) -> bool:
    for t in terms:
        if not t.matches(pod, ns_labels):
            return False
    return True


@dataclass
class PreFilterState:
    pod: PodInfo
    existing_anti_affinity_counts: Counts
    affinity_counts: Counts
    anti_affinity_counts: Counts
    ns_labels: _NamespaceLabels

    def clone(self) -> PreFilterState:
        return PreFilterState(self.pod, dict(self.existing_anti_affinity_counts), dict(self.affinity_counts),
                              dict(self.anti_affinity_counts), self.ns_labels)

    def update_with_pod(self, other: PodInfo, node_info: NodeInfo, delta: int) -> None:
        labels = node_info.labels
        own_ns = self.ns_labels(self.pod.namespace)
        for t in other.required_anti_affinity_terms:
            if t.matches(self.pod, own_ns):
                _bump(self.existing_anti_affinity_counts, labels, t.topology_key, delta)
        other_ns = self.ns_labels(other.namespace)
        terms = self.pod.required_affinity_terms
        if terms and matches_all(terms, other, other_ns):
            for t in terms:
                _bump(self.affinity_counts, labels, t.topology_key, delta)
        for t in self.pod.required_anti_affinity_terms:
            if t.matches(other, other_ns):
                _bump(self.anti_affinity_counts, labels, t.topology_key, delta)


class InterPodAffinity:
    name = INTER_POD_AFFINITY

    def __init__(self, handle: Any = None, *, hard_pod_affinity_weight: int = 1,
                 ignore_preferred_terms_of_existing_pods: bool = False) -> None:
        self.handle = handle
        self.hard_pod_affinity_weight = hard_pod_affinity_weight
        self.ignore_preferred_terms_of_existing_pods = ignore_preferred_terms_of_existing_pods

    def _with_anti_affinity(self, nodes: Sequence[NodeInfo]) -> Sequence[NodeInfo]:
        if self.handle is not None:
            return self.handle.snapshot().have_pods_with_required_anti_affinity
        return [ni for ni in nodes if ni.pods_with_required_anti_affinity]

    # ----- Filter

    def pre_filter(self, state: CycleState, pod: PodInfo,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        ns_labels = _NamespaceLabels(self.handle)
        s = PreFilterState(pod, {}, {}, {}, ns_labels)
        own_ns = ns_labels(pod.namespace)
        for ni in self._with_anti_affinity(nodes):
            for existing in ni.pods_with_required_anti_affinity.values():
                for t in existing.required_anti_affinity_terms:
                    if t.matches(pod, own_ns):
                        _bump(s.existing_anti_affinity_counts, ni.labels, t.topology_key, 1)
        if not s.existing_anti_affinity_counts and not pod.required_affinity_terms \
                and not pod.required_anti_affinity_terms:
            return None, SKIP
        if pod.required_affinity_terms or pod.required_anti_affinity_terms:
            aff, anti = pod.required_affinity_terms, pod.required_anti_affinity_terms
            for ni in nodes:
                if not ni.pods:
                    continue
                labels = ni.labels
                for existing in ni.pods.values():
                    other_ns = ns_labels(existing.namespace)
                    if aff and matches_all(aff, existing, other_ns):
                        for t in aff:
                            _bump(s.affinity_counts, labels, t.topology_key, 1)
                    for t in anti:
                        if t.matches(existing, other_ns):
                            _bump(s.anti_affinity_counts, labels, t.topology_key, 1)
        state.write(_PRE_FILTER_KEY, s)
        return None, None

    def add_pod(self, state: CycleState, pod: PodInfo, pod_to_add: PodInfo, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PRE_FILTER_KEY)
        if s is not None:
            s.update_with_pod(pod_to_add, node_info, 1)
        return None

    def remove_pod(self, state: CycleState, pod: PodInfo, pod_to_remove: PodInfo,
                   node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PRE_FILTER_KEY)
        if s is not None:
            s.update_with_pod(pod_to_remove, node_info, -1)
        return None

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PRE_FILTER_KEY)
        if s is None:
            return None
        labels = node_info.labels
        if not self._satisfies_affinity(s, labels):
            return _AFFINITY
        if s.anti_affinity_counts:
            for t in pod.required_anti_affinity_terms:
                v = labels.get(t.topology_key)
                if v is not None and s.anti_affinity_counts.get((t.topology_key, v), 0) > 0:
                    return _ANTI_AFFINITY
        if s.existing_anti_affinity_counts:
            for k, v in labels.items():
                if s.existing_anti_affinity_counts.get((k, v), 0) > 0:
                    return _EXISTING_ANTI_AFFINITY
        return None

    @staticmethod
    def _satisfies_affinity(s: PreFilterState, labels: Mapping[str, str]) -> bool:
        terms = s.pod.required_affinity_terms
        if not terms:
            return True
        pods_exist = True
        for t in terms:
            v = labels.get(t.topology_key)
            if v is None:
                return False          # every topology key must exist on the node
            if s.affinity_counts.get((t.topology_key, v), 0) <= 0:
                pods_exist = False
        if pods_exist:
            return True
        # The first pod of a group with affinity to itself: nobody matches yet, it matches itself.
        return not s.affinity_counts and matches_all(terms, s.pod, s.ns_labels(s.pod.namespace))

    # ----- Score

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status | None:
        if not nodes:
            return SKIP
        has_constraints = bool(pod.preferred_affinity_terms or pod.preferred_anti_affinity_terms)
        if self.ignore_preferred_terms_of_existing_pods and not has_constraints:
            return SKIP
        if has_constraints:
            all_nodes = self.handle.snapshot().node_infos if self.handle is not None else nodes
        else:
            all_nodes = (self.handle.snapshot().have_pods_with_affinity if self.handle is not None
                         else [ni for ni in nodes if ni.pods_with_affinity])
        ns_labels = _NamespaceLabels(self.handle)
        own_ns = ns_labels(pod.namespace)
        scores: dict[str, dict[str, int]] = {}

        def add(term: AffinityTerm, weight: int, target: PodInfo, target_ns: Mapping | None,
                labels: Mapping[str, str]) -> None:
            if term.matches(target, target_ns):
                v = labels.get(term.topology_key)
                if v is not None:
                    per_key = scores.setdefault(term.topology_key, {})
                    per_key[v] = per_key.get(v, 0) + weight

        hard_weight = self.hard_pod_affinity_weight
        for ni in all_nodes:
            labels = ni.labels
            if not labels:
                continue
            existing_pods = ni.pods if has_constraints else ni.pods_with_affinity
            for existing in existing_pods.values():
                if has_constraints:
                    ens = ns_labels(existing.namespace)
                    for wt in pod.preferred_affinity_terms:
                        add(wt.term, wt.weight, existing, ens, labels)
                    for wt in pod.preferred_anti_affinity_terms:
                        add(wt.term, -wt.weight, existing, ens, labels)
                if hard_weight > 0:
                    for t in existing.required_affinity_terms:
                        add(t, hard_weight, pod, own_ns, labels)
                for wt in existing.preferred_affinity_terms:
                    add(wt.term, wt.weight, pod, own_ns, labels)
                for wt in existing.preferred_anti_affinity_terms:
                    add(wt.term, -wt.weight, pod, own_ns, labels)
        if not scores:
            return SKIP
        state.write(_PRE_SCORE_KEY, scores)
        return None

    def score(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> int:
        scores: dict[str, dict[str, int]] = state.get(_PRE_SCORE_KEY) or {}
        total = 0
        labels = node_info.labels
        for key, values in scores.items():
            v = labels.get(key)
            if v is not None:
                total += values.get(v, 0)
        return total

    def normalize_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo], scores: list[int]) -> None:
        if not scores:
            return
        lo, hi = min(scores), max(scores)
        diff = hi - lo
        for i, s in enumerate(scores):
            scores[i] = int(MAX_NODE_SCORE * ((s - lo) / diff)) if diff > 0 else 0

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(EventResource.ASSIGNED_POD, ActionType.ALL),
                ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_LABEL)]
