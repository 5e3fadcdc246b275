"""PodTopologySpread: spread matching pods evenly across topology domains.

A constraint counts, per domain (the value of `topologyKey` on a node), the pods in the pod's
namespace that match its selector (terminating pods excluded), over the nodes that have every
constraint's key and pass the inclusion policies (`nodeAffinityPolicy` Honor by default: the
node must match the pod's node selector and required affinity; `nodeTaintsPolicy` Ignore).

- `DoNotSchedule` constraints filter: placing the pod in a domain may not make that domain's
  count exceed the smallest count by more than `maxSkew` (with fewer than `minDomains` domains
  the smallest count is 0). A node without the key is rejected as unresolvable.
- `ScheduleAnyway` constraints score: fewer matching pods in the node's domain is better,
  weighted by log(number of domains + 2).
- A pod without constraints gets the system defaults (hostname maxSkew 3, zone maxSkew 5, both
  ScheduleAnyway), selecting the pods of the Services, ReplicationController, ReplicaSet or
  StatefulSet the pod belongs to; a pod that belongs to none is not spread.
- `matchLabelKeys` add `key in (pod's value)` to the selector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ...api.helpers import find_untolerated_taint
from ...machinery import labels as labelsel
from ..framework import (
    MAX_NODE_SCORE,
    SKIP,
    ActionType,
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
from ..framework.corev1 import LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE, RequiredNodeAffinity
from .names import POD_TOPOLOGY_SPREAD

ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"

DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
HONOR = "Honor"
IGNORE = "Ignore"

_NOT_MATCH = unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH, plugin=POD_TOPOLOGY_SPREAD)
_LABEL_NOT_MATCH = unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH, plugin=POD_TOPOLOGY_SPREAD)
_PRE_FILTER_KEY = "PreFilter" + POD_TOPOLOGY_SPREAD
_PRE_SCORE_KEY = "PreScore" + POD_TOPOLOGY_SPREAD


@dataclass(frozen=True)
class SpreadConstraint:
    max_skew: int
    topology_key: str
    when_unsatisfiable: str
    selector: labelsel.Selector
    min_domains: int = 1
    node_affinity_policy: str = HONOR
    node_taints_policy: str = IGNORE

    def includes_node(self, pod: PodInfo, node_info: NodeInfo, required: RequiredNodeAffinity) -> bool:
        if self.node_affinity_policy == HONOR and not required.matches(node_info.labels, node_info.name):
            return False
        if self.node_taints_policy == HONOR and find_untolerated_taint(node_info.filter_taints, pod.tolerations):
            return False
        return True


SYSTEM_DEFAULT_CONSTRAINTS = (
    (LABEL_HOSTNAME, 3),
    (LABEL_TOPOLOGY_ZONE, 5),
)


def parse_constraints(pod: PodInfo, action: str) -> list[SpreadConstraint]:
    """The pod's own constraints with this `whenUnsatisfiable`."""
    out = []
    for c in (pod.pod.get("spec") or {}).get("topologySpreadConstraints") or []:
        if c.get("whenUnsatisfiable", DO_NOT_SCHEDULE) != action:
            continue
        ls = c.get("labelSelector")
        try:
            sel = labelsel.selector_from_label_selector(ls)
        except labelsel.SelectorError:
            sel, ls = labelsel.Selector.nothing(), None
        keys = [k for k in c.get("matchLabelKeys") or () if k in pod.labels]
        if keys and ls is not None:
            sel = labelsel.Selector(sel.requirements + tuple(labelsel.Requirement(k, "in", (pod.labels[k],))
                                                             for k in keys))
        out.append(SpreadConstraint(int(c.get("maxSkew") or 1), c.get("topologyKey", ""), action, sel,
                                    int(c.get("minDomains") or 1), c.get("nodeAffinityPolicy") or HONOR,
                                    c.get("nodeTaintsPolicy") or IGNORE))
    return out


def default_selector(pod: PodInfo, listers: Any) -> labelsel.Selector:
    """The pods the system default constraints spread: those selected by the Services, and the
    ReplicationController, ReplicaSet or StatefulSet controlling this pod."""
    ns = pod.namespace
    merged: dict[str, str] = {}
    for svc in listers.list("services", ns):
        sel = (svc.get("spec") or {}).get("selector")
        if sel and all(pod.labels.get(k) == v for k, v in sel.items()):
            merged.update(sel)
    reqs = [labelsel.Requirement(k, "=", (v,)) for k, v in sorted(merged.items())]
    owner = next((o for o in (pod.pod.get("metadata") or {}).get("ownerReferences") or [] if o.get("controller")),
                 None)
    if owner is not None:
        kind, api = owner.get("kind"), owner.get("apiVersion", "")
        if kind == "ReplicationController" and api == "v1":
            rc = listers.get("replicationcontrollers", owner.get("name", ""), ns)
            if rc is not None:
                merged.update((rc.get("spec") or {}).get("selector") or {})
                reqs = [labelsel.Requirement(k, "=", (v,)) for k, v in sorted(merged.items())]
        elif kind in ("ReplicaSet", "StatefulSet") and api == "apps/v1":
            obj = listers.get("replicasets" if kind == "ReplicaSet" else "statefulsets", owner.get("name", ""), ns)
            ls = (obj.get("spec") or {}).get("selector") if obj is not None else None
            if ls is not None:
                try:
                    reqs = reqs + list(labelsel.selector_from_label_selector(ls).requirements)
                except labelsel.SelectorError:
                    pass
    return labelsel.Selector(reqs)


def count_matching(node_info: NodeInfo, selector: labelsel.Selector, namespace: str) -> int:
    n = 0
    for p in node_info.pods.values():
        if p.deleting or p.namespace != namespace:
            continue
        if selector.matches(p.labels):
            n += 1
    return n


def _has_all_keys(labels: Mapping[str, str], constraints: Sequence[SpreadConstraint]) -> bool:
    for c in constraints:
        if c.topology_key not in labels:
            return False
    return True


@dataclass
class PreFilterState:
    constraints: list[SpreadConstraint]
    counts: list[dict[str, int]]                 # per constraint: domain value -> matching pods
    required: RequiredNodeAffinity
    self_match: list[int] = field(default_factory=list)

    def min_match(self, i: int) -> int:
        c = self.constraints[i]
        counts = self.counts[i]
        if len(counts) < c.min_domains or not counts:
            return 0
        return min(counts.values())

    def clone(self) -> PreFilterState:
        return PreFilterState(self.constraints, [dict(c) for c in self.counts], self.required, self.self_match)

    def update(self, pod: PodInfo, other: PodInfo, node_info: NodeInfo, delta: int) -> None:
        if other.namespace != pod.namespace or not _has_all_keys(node_info.labels, self.constraints):
            return
        for i, c in enumerate(self.constraints):
            if not c.includes_node(pod, node_info, self.required) or not c.selector.matches(other.labels):
                continue
            v = node_info.labels[c.topology_key]
            self.counts[i][v] = self.counts[i].get(v, 0) + delta


@dataclass
class PreScoreState:
    constraints: list[SpreadConstraint]
    ignored_nodes: set[str]
    pair_counts: dict[tuple[str, str], int]
    weights: list[float]


class PodTopologySpread:
    name = POD_TOPOLOGY_SPREAD

    def __init__(self, handle: Any = None, *, system_defaulted: bool = True) -> None:
        self.handle = handle
        self.system_defaulted = system_defaulted

    def _listers(self) -> Any:
        return getattr(self.handle, "listers", None)

    def _default_constraints(self, pod: PodInfo, action: str) -> list[SpreadConstraint]:
        if not self.system_defaulted or action != SCHEDULE_ANYWAY:
            return []
        listers = self._listers()
        if listers is None:
            return []
        sel = default_selector(pod, listers)
        if sel.empty():
            return []
        return [SpreadConstraint(skew, key, SCHEDULE_ANYWAY, sel) for key, skew in SYSTEM_DEFAULT_CONSTRAINTS]

    def _constraints(self, pod: PodInfo, action: str) -> list[SpreadConstraint]:
        if (pod.pod.get("spec") or {}).get("topologySpreadConstraints"):
            return parse_constraints(pod, action)
        return self._default_constraints(pod, action)

    # ----- Filter

    def pre_filter(self, state: CycleState, pod: PodInfo,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        constraints = self._constraints(pod, DO_NOT_SCHEDULE)
        if not constraints:
            return None, SKIP
        required = RequiredNodeAffinity(pod.pod)
        counts: list[dict[str, int]] = [{} for _ in constraints]
        for ni in nodes:
            if not _has_all_keys(ni.labels, constraints):
                continue
            for i, c in enumerate(constraints):
                if not c.includes_node(pod, ni, required):
                    continue
                v = ni.labels[c.topology_key]
                counts[i][v] = counts[i].get(v, 0) + count_matching(ni, c.selector, pod.namespace)
        self_match = [1 if c.selector.matches(pod.labels) else 0 for c in constraints]
        state.write(_PRE_FILTER_KEY, PreFilterState(constraints, counts, required, self_match))
        return None, None

    def add_pod(self, state: CycleState, pod: PodInfo, pod_to_add: PodInfo, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PRE_FILTER_KEY)
        if s is not None:
            s.update(pod, pod_to_add, node_info, 1)
        return None

    def remove_pod(self, state: CycleState, pod: PodInfo, pod_to_remove: PodInfo,
                   node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PRE_FILTER_KEY)
        if s is not None:
            s.update(pod, pod_to_remove, node_info, -1)
        return None

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PRE_FILTER_KEY)
        if s is None:
            return None
        for i, c in enumerate(s.constraints):
            v = node_info.labels.get(c.topology_key)
            if v is None:
                return _LABEL_NOT_MATCH
            skew = s.counts[i].get(v, 0) + s.self_match[i] - s.min_match(i)
            if skew > c.max_skew:
                return _NOT_MATCH
        return None

    # ----- Score

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status | None:
        all_nodes = self.handle.snapshot().node_infos if self.handle is not None else nodes
        if not nodes or not all_nodes:
            return None
        constraints = self._constraints(pod, SCHEDULE_ANYWAY)
        if not constraints:
            return SKIP
        require_all = bool((pod.pod.get("spec") or {}).get("topologySpreadConstraints")) or not self.system_defaulted
        ignored: set[str] = set()
        pair_counts: dict[tuple[str, str], int] = {}
        sizes = [0] * len(constraints)
        for ni in nodes:
            if require_all and not _has_all_keys(ni.labels, constraints):
                ignored.add(ni.name)
                continue
            for i, c in enumerate(constraints):
                if c.topology_key == LABEL_HOSTNAME:
                    continue
                pair = (c.topology_key, ni.labels.get(c.topology_key, ""))
                if pair not in pair_counts:
                    pair_counts[pair] = 0
                    sizes[i] += 1
        weights = []
        for i, c in enumerate(constraints):
            size = len(nodes) - len(ignored) if c.topology_key == LABEL_HOSTNAME else sizes[i]
            weights.append(math.log(size + 2))
        if pair_counts:
            required = RequiredNodeAffinity(pod.pod)
            for ni in all_nodes:
                if require_all and not _has_all_keys(ni.labels, constraints):
                    continue
                for c in constraints:
                    if c.topology_key == LABEL_HOSTNAME or not c.includes_node(pod, ni, required):
                        continue
                    pair = (c.topology_key, ni.labels.get(c.topology_key, ""))
                    if pair in pair_counts:
                        pair_counts[pair] += count_matching(ni, c.selector, pod.namespace)
        state.write(_PRE_SCORE_KEY, PreScoreState(constraints, ignored, pair_counts, weights))
        return None

    def score(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> int:
        s: PreScoreState | None = state.get(_PRE_SCORE_KEY)
        if s is None or node_info.name in s.ignored_nodes:
            return 0
        total = 0.0
        for i, c in enumerate(s.constraints):
            v = node_info.labels.get(c.topology_key)
            if v is None:
                continue
            if c.topology_key == LABEL_HOSTNAME:
                cnt = count_matching(node_info, c.selector, pod.namespace)
            else:
                cnt = s.pair_counts.get((c.topology_key, v), 0)
            total += cnt * s.weights[i] + (c.max_skew - 1)
        return int(math.floor(total + 0.5))

    def normalize_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo], scores: list[int]) -> None:
        s: PreScoreState | None = state.get(_PRE_SCORE_KEY)
        if s is None:
            return
        valid = [sc for ni, sc in zip(nodes, scores) if ni.name not in s.ignored_nodes]
        if not valid:
            scores[:] = [0] * len(scores)
            return
        lo, hi = min(valid), max(valid)
        for i, ni in enumerate(nodes):
            if ni.name in s.ignored_nodes:
                scores[i] = 0
            elif hi == 0:
                scores[i] = MAX_NODE_SCORE
            else:
                scores[i] = MAX_NODE_SCORE * (hi + lo - scores[i]) // hi

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(EventResource.ASSIGNED_POD, ActionType.ALL),
                ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.DELETE | ActionType.UPDATE_NODE_LABEL
                             | ActionType.UPDATE_NODE_TAINT)]
