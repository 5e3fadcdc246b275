"""DefaultPreemption (PostFilter): when no node fits, find a node where evicting pods of lower
priority makes the pod fit, and nominate it.

1. Eligibility: not with `preemptionPolicy: Never`; not while a lower-priority pod on the node
   already nominated for this pod is still terminating.
2. Only nodes rejected as `Unschedulable` are tried; the others are "Preemption is not helpful
   for scheduling".
3. Dry run per node (at least 100 nodes or 10 %, from a random offset): remove every pod of
   lower priority; if the pod then fits, add them back one at a time, most important first
   (those whose eviction would violate a PodDisruptionBudget before the others), keeping back
   every pod that still lets it fit. What cannot be kept back are the victims.
4. Choose among the candidates the node with the fewest PDB violations, then the lowest
   highest victim priority, the lowest sum of priorities, the fewest victims, the latest start
   of the most important victims, then the first.

Pure: the result names the node and the victims; the scheduler deletes them (with a
`Preempted` event each), clears lower-priority nominations there and sets the pod's
`status.nominatedNodeName`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ...machinery import labels as labelsel
from ..framework import (
    ActionType,
    ClusterEvent,
    Code,
    CycleState,
    EventResource,
    NodeInfo,
    PodInfo,
    PostFilterResult,
    Status,
    unresolvable,
    unschedulable,
)
from ..framework.status import reasons_histogram
from .names import DEFAULT_PREEMPTION

MIN_CANDIDATE_NODES_PERCENTAGE = 10
MIN_CANDIDATE_NODES_ABSOLUTE = 100
MAX_INT32 = 2**31 - 1

PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never"
NOT_ELIGIBLE_TERMINATING = "not eligible due to a terminating pod on the nominated node"

_NOT_HELPFUL = unresolvable(PREEMPTION_NOT_HELPFUL, plugin=DEFAULT_PREEMPTION)
_NO_VICTIMS = unresolvable(NO_VICTIMS, plugin=DEFAULT_PREEMPTION)


@dataclass
class Candidate:
    node_name: str
    victims: list[PodInfo]
    num_pdb_violations: int


def more_important(a: PodInfo, b: PodInfo) -> bool:
    """Higher priority first; at equal priority, the pod that started earlier."""
    if a.priority != b.priority:
        return a.priority > b.priority
    return (a.start_time or "~") < (b.start_time or "~")


def importance_key(p: PodInfo) -> tuple[int, str]:
    return (-p.priority, p.start_time or "~")


def split_by_pdb_violation(pods: Sequence[PodInfo], pdbs: Sequence[Mapping]) -> tuple[list[PodInfo], list[PodInfo]]:
    """(pods whose eviction would exceed a PDB's disruptionsAllowed, the others), in order."""
    allowed = [int((p.get("status") or {}).get("disruptionsAllowed") or 0) for p in pdbs]
    selectors = []
    for pdb in pdbs:
        try:
            sel = labelsel.selector_from_label_selector((pdb.get("spec") or {}).get("selector"))
        except labelsel.SelectorError:
            sel = None
        selectors.append(sel)
    violating, non_violating = [], []
    for pi in pods:
        violated = False
        if pi.labels:
            for i, pdb in enumerate(pdbs):
                sel = selectors[i]
                if (pdb.get("metadata") or {}).get("namespace") != pi.namespace or sel is None:
                    continue
                if sel.empty() or not sel.matches(pi.labels):
                    continue
                if pi.name in ((pdb.get("status") or {}).get("disruptedPods") or {}):
                    continue
                allowed[i] -= 1
                if allowed[i] < 0:
                    violated = True
        (violating if violated else non_violating).append(pi)
    return violating, non_violating


def pick_one_node(candidates: Sequence[Candidate]) -> Candidate | None:
    if not candidates:
        return None

    def highest_first_start(c: Candidate) -> str:
        top = c.victims[0].priority
        return min((v.start_time or "~") for v in c.victims if v.priority == top)

    def key(c: Candidate) -> tuple:
        return (c.num_pdb_violations,
                c.victims[0].priority,
                sum(v.priority + MAX_INT32 + 1 for v in c.victims),
                len(c.victims))

    best = min(key(c) for c in candidates)
    tied = [c for c in candidates if key(c) == best]
    if len(tied) == 1:
        return tied[0]
    latest = max(highest_first_start(c) for c in tied)
    return next(c for c in tied if highest_first_start(c) == latest)


class DefaultPreemption:
    name = DEFAULT_PREEMPTION

    def __init__(self, handle: Any, *, rng: random.Random | None = None,
                 min_candidate_nodes_percentage: int = MIN_CANDIDATE_NODES_PERCENTAGE,
                 min_candidate_nodes_absolute: int = MIN_CANDIDATE_NODES_ABSOLUTE) -> None:
        self.handle = handle
        self.rng = rng or random.Random()
        self.min_pct = min_candidate_nodes_percentage
        self.min_abs = min_candidate_nodes_absolute

    # ----- the extension point

    def post_filter(self, state: CycleState, pod: PodInfo,
                    node_to_status: Mapping[str, Status]) -> tuple[PostFilterResult | None, Status]:
        result, status = self.preempt(state, pod, node_to_status)
        if status.code != Code.SUCCESS and status.reasons:
            status = Status(status.code, (f"preemption: {status.message()}",), DEFAULT_PREEMPTION)
        return result, status

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(EventResource.ASSIGNED_POD, ActionType.DELETE)]

    # ----- the evaluator

    def preempt(self, state: CycleState, pod: PodInfo,
                node_to_status: Mapping[str, Status]) -> tuple[PostFilterResult | None, Status]:
        ok, msg = self.eligible(pod, node_to_status)
        if not ok:
            return None, unschedulable(msg, plugin=DEFAULT_PREEMPTION)
        candidates, statuses = self.find_candidates(state, pod, node_to_status)
        if not candidates:
            return None, unschedulable(fit_error_message(len(statuses), statuses), plugin=DEFAULT_PREEMPTION)
        best = pick_one_node(candidates)
        if best is None:
            return None, unschedulable(fit_error_message(len(statuses), statuses), plugin=DEFAULT_PREEMPTION)
        nominated = [p for p in self.handle.nominator.nominated_pods_for_node(best.node_name)
                     if p.priority < pod.priority and p.uid != pod.uid]
        return PostFilterResult(best.node_name, best.victims, nominated), Status(Code.SUCCESS)

    def eligible(self, pod: PodInfo, node_to_status: Mapping[str, Status]) -> tuple[bool, str]:
        spec = pod.pod.get("spec") or {}
        if spec.get("preemptionPolicy") == "Never":
            return False, NOT_ELIGIBLE_NEVER
        nominated = (pod.pod.get("status") or {}).get("nominatedNodeName") or ""
        if nominated:
            st = node_to_status.get(nominated)
            if st is not None and st.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return True, ""
            ni = self.handle.snapshot().get(nominated)
            if ni is not None:
                for p in ni.pods.values():
                    if p.priority < pod.priority and p.deleting:
                        return False, NOT_ELIGIBLE_TERMINATING
        return True, ""

    def find_candidates(self, state: CycleState, pod: PodInfo,
                        node_to_status: Mapping[str, Status]) -> tuple[list[Candidate], dict[str, Status]]:
        snapshot = self.handle.snapshot()
        statuses: dict[str, Status] = {}
        potential: list[NodeInfo] = []
        for ni in snapshot.node_infos:
            st = node_to_status.get(ni.name)
            if st is not None and st.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                statuses[ni.name] = _NOT_HELPFUL
            else:
                potential.append(ni)
        if not potential:
            return [], statuses
        pdbs = self.handle.listers.list("poddisruptionbudgets", None)
        n = len(potential)
        want = max(n * self.min_pct // 100, self.min_abs)
        want = min(want, n)
        offset = self.rng.randrange(n)
        non_violating: list[Candidate] = []
        violating: list[Candidate] = []
        for i in range(n):
            ni = potential[(offset + i) % n].clone()
            victims, violations, st = self.select_victims_on_node(state.clone(), pod, ni, pdbs)
            if st is None and victims:
                c = Candidate(ni.name, victims, violations)
                (non_violating if violations == 0 else violating).append(c)
                if non_violating and len(non_violating) + len(violating) >= want:
                    break
                continue
            statuses[ni.name] = st if st is not None else _NO_VICTIMS
        return non_violating + violating, statuses

    def select_victims_on_node(self, state: CycleState, pod: PodInfo, node_info: NodeInfo,
                               pdbs: Sequence[Mapping]) -> tuple[list[PodInfo], int, Status | None]:
        """Victims on this node (a clone, changed here), how many violate PDBs, and why not."""
        fwk = self.handle

        def remove(p: PodInfo) -> None:
            node_info.remove_pod(p.uid)
            fwk.run_pre_filter_extension_remove_pod(state, pod, p, node_info)

        def add(p: PodInfo) -> None:
            node_info.add_pod(p)
            fwk.run_pre_filter_extension_add_pod(state, pod, p, node_info)

        potential = [p for p in node_info.pods.values() if p.priority < pod.priority]
        for p in potential:
            remove(p)
        if not potential:
            return [], 0, _NO_VICTIMS
        st = fwk.run_filter_plugins_with_nominated_pods(state, pod, node_info)
        if st is not None and st.code != Code.SUCCESS:
            return [], 0, st
        potential.sort(key=importance_key)
        violating, non_violating = split_by_pdb_violation(potential, pdbs)
        victims: list[PodInfo] = []
        num_violating = 0
        for group, counts in ((violating, True), (non_violating, False)):
            for p in group:
                add(p)
                st = fwk.run_filter_plugins_with_nominated_pods(state, pod, node_info)
                if st is not None and st.code != Code.SUCCESS:
                    remove(p)
                    victims.append(p)
                    if counts:
                        num_violating += 1
        return victims, num_violating, None


def fit_error_message(num_nodes: int, statuses: Mapping[str, Status]) -> str:
    """"0/N nodes are available: <count> <reason>, ..." (no final period: the caller adds it)."""
    msg = f"0/{num_nodes} nodes are available:"
    hist = reasons_histogram(statuses)
    if hist:
        msg += f" {hist}"
    return msg
