"""Choosing a node for one pod: pure functions of the framework's plugins and a snapshot
(Kubernetes' `schedule_one.go`, without the I/O).

    decision = schedule_one(fwk, pod, rng=rng, start_index=i)
    decision.node_name          # chosen node, or "" with decision.reason and decision.message
    decision.post_filter        # on failure: preemption's nominated node and victims, if any

1. PreFilter (a rejection here rejects every node with the same status).
2. A pod nominated to a node by an earlier preemption tries that node first.
3. Filter nodes from `start_index` round the list until enough feasible nodes are found:
   all nodes below 100, else Kubernetes' adaptive percentage (50 % minus 1 % per 125 nodes, at
   least 5 %, at least 100 nodes) unless the profile sets `percentage_of_nodes_to_score`.
4. One feasible node is chosen at once; more are scored (PreScore, Score, NormalizeScore,
   weights), and the best wins, ties broken with the injected `random.Random`.

`FitError` carries the per-node statuses; its message is the FailedScheduling message.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import chain
from typing import Sequence

from .framework import Code, CycleState, Framework, NodeInfo, PodInfo, PostFilterResult, Status, unresolvable
from .framework.status import reasons_histogram
from .reasons import REASON_SCHEDULER_ERROR, REASON_UNSCHEDULABLE

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
NO_NODE_AVAILABLE_MSG = "0/{} nodes are available"


class NoNodesAvailable(Exception):
    def __init__(self) -> None:
        super().__init__("no nodes available to schedule pods")


class SchedulingError(Exception):
    """A plugin failed (Status code Error): retry the pod with backoff."""

    def __init__(self, status: Status) -> None:
        super().__init__(status.message())
        self.status = status


@dataclass
class Diagnosis:
    node_to_status: dict[str, Status] = field(default_factory=dict)
    unschedulable_plugins: set[str] = field(default_factory=set)
    pre_filter_msg: str = ""
    post_filter_msg: str = ""


class FitError(Exception):
    """No node fits the pod."""

    def __init__(self, pod: PodInfo, num_all_nodes: int, diagnosis: Diagnosis) -> None:
        super().__init__()
        self.pod = pod
        self.num_all_nodes = num_all_nodes
        self.diagnosis = diagnosis

    def message(self) -> str:
        d = self.diagnosis
        msg = NO_NODE_AVAILABLE_MSG.format(self.num_all_nodes) + ":"
        if d.pre_filter_msg:
            msg += f" {d.pre_filter_msg}."
        else:
            hist = reasons_histogram(d.node_to_status)
            if hist:
                msg += f" {hist}."
        if d.post_filter_msg:
            msg += f" {d.post_filter_msg}."
        return msg

    def __str__(self) -> str:
        return self.message()


@dataclass
class ScheduleResult:
    suggested_host: str
    evaluated_nodes: int
    feasible_nodes: int
    processed_nodes: int = 0


@dataclass
class Decision:
    """The outcome of one scheduling cycle, for the scheduler to act on."""

    pod: PodInfo
    node_name: str = ""
    reason: str = ""                       # PodScheduled=False reason when no node was chosen
    message: str = ""                      # the FailedScheduling message
    post_filter: PostFilterResult | None = None
    unschedulable_plugins: set[str] = field(default_factory=set)
    processed_nodes: int = 0
    fit_error: FitError | None = None
    state: CycleState | None = None

    @property
    def scheduled(self) -> bool:
        return bool(self.node_name)

    @property
    def is_error(self) -> bool:
        return self.reason == REASON_SCHEDULER_ERROR


def schedule_one(fwk: Framework, pod: PodInfo, *, rng: random.Random, start_index: int = 0) -> Decision:
    """Choose a node for the pod, or say why none fits (running PostFilter, i.e. preemption)."""
    state = CycleState()
    num_nodes = fwk.snapshot().num_nodes()
    try:
        result = schedule_pod(fwk, state, pod, rng=rng, start_index=start_index)
    except NoNodesAvailable as e:
        return Decision(pod, reason=REASON_UNSCHEDULABLE, message=str(e), state=state)
    except SchedulingError as e:
        return Decision(pod, reason=REASON_SCHEDULER_ERROR, message=e.status.message(), state=state)
    except FitError as fe:
        post = None
        if fwk.post_filter_plugins:
            post, st = fwk.run_post_filter(state, pod, fe.diagnosis.node_to_status)
            if st.code == Code.ERROR:
                return Decision(pod, reason=REASON_SCHEDULER_ERROR, message=st.message(), state=state)
            if not st.is_success():
                fe.diagnosis.post_filter_msg = st.message()
            if post is not None and not post.nominated_node_name:
                post = None
        return Decision(pod, reason=REASON_UNSCHEDULABLE, message=fe.message(), post_filter=post,
                        unschedulable_plugins=set(fe.diagnosis.unschedulable_plugins), processed_nodes=num_nodes,
                        fit_error=fe, state=state)
    return Decision(pod, node_name=result.suggested_host, processed_nodes=result.processed_nodes, state=state)


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage <= 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    if percentage >= 100:
        return num_all_nodes
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def schedule_pod(fwk: Framework, state: CycleState, pod: PodInfo, *, rng: random.Random,
                 start_index: int = 0) -> ScheduleResult:
    snapshot = fwk.snapshot()
    if snapshot.num_nodes() == 0:
        raise NoNodesAvailable()
    feasible, diagnosis, processed = find_nodes_that_fit(fwk, state, pod, start_index)
    if not feasible:
        raise FitError(pod, snapshot.num_nodes(), diagnosis)
    evaluated = len(feasible) + len(diagnosis.node_to_status)
    if len(feasible) == 1:
        return ScheduleResult(feasible[0].name, evaluated, 1, processed)
    totals = prioritize_nodes(fwk, state, pod, feasible)
    host = select_host(feasible, totals, rng)
    return ScheduleResult(host.name, evaluated, len(feasible), processed)


def find_nodes_that_fit(fwk: Framework, state: CycleState, pod: PodInfo,
                        start_index: int = 0) -> tuple[list[NodeInfo], Diagnosis, int]:
    """(feasible nodes, diagnosis, nodes processed)."""
    diagnosis = Diagnosis()
    snapshot = fwk.snapshot()
    all_nodes = snapshot.node_infos
    pre_result, st = fwk.run_pre_filter(state, pod)
    if st is not None and st.code != Code.SUCCESS:
        if st.code == Code.ERROR:
            raise SchedulingError(st)
        for ni in all_nodes:
            diagnosis.node_to_status[ni.name] = st
        diagnosis.pre_filter_msg = st.message()
        if st.plugin:
            diagnosis.unschedulable_plugins.add(st.plugin)
        return [], diagnosis, 0
    nominated = (pod.pod.get("status") or {}).get("nominatedNodeName") or ""
    if nominated:
        ni = snapshot.get(nominated)
        if ni is not None and (pre_result is None or pre_result.node_names is None
                               or nominated in pre_result.node_names):
            nst = fwk.run_filter_plugins_with_nominated_pods(state, pod, ni)
            if nst is None or nst.code == Code.SUCCESS:
                return [ni], diagnosis, 0
            if nst.code == Code.ERROR:
                raise SchedulingError(nst)
    nodes: Sequence[NodeInfo] = all_nodes
    if pre_result is not None and pre_result.node_names is not None:
        nodes = [ni for ni in all_nodes if ni.name in pre_result.node_names]
        absent = unresolvable(f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(pre_result.plugins))}]")
        for ni in all_nodes:
            if ni.name not in pre_result.node_names:
                diagnosis.node_to_status[ni.name] = absent
    feasible, processed = find_nodes_that_pass_filters(fwk, state, pod, nodes, start_index, diagnosis)
    return feasible, diagnosis, processed


def find_nodes_that_pass_filters(fwk: Framework, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo],
                                 start_index: int, diagnosis: Diagnosis) -> tuple[list[NodeInfo], int]:
    n = len(nodes)
    if n == 0:
        return [], 0
    want = num_feasible_nodes_to_find(fwk.percentage_of_nodes_to_score, n)
    start = start_index % n
    ordered = chain(nodes[start:], nodes[:start]) if start else nodes
    filters = fwk.active_filters(state)
    nominated = set(fwk.nominator.nominated_node_names()) if hasattr(fwk.nominator, "nominated_node_names") else set()
    statuses = diagnosis.node_to_status
    failed_plugins = diagnosis.unschedulable_plugins
    feasible: list[NodeInfo] = []
    processed = 0
    success = Code.SUCCESS
    for ni in ordered:
        processed += 1
        st: Status | None = None
        if nominated and ni.name in nominated:
            st = fwk.run_filter_plugins_with_nominated_pods(state, pod, ni)
            if st is not None and st.code == success:
                st = None
        else:
            for name, fn in filters:
                st = fn(state, pod, ni)
                if st is not None:
                    if st.code == success:
                        st = None
                        continue
                    if not st.plugin:
                        st = st.with_plugin(name)
                    break
        if st is None:
            feasible.append(ni)
            if len(feasible) >= want:
                break
            continue
        if st.code == Code.ERROR:
            raise SchedulingError(st)
        statuses[ni.name] = st
        failed_plugins.add(st.plugin)
    return feasible, processed


def prioritize_nodes(fwk: Framework, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
    st = fwk.run_pre_score(state, pod, nodes)
    if st is not None and st.code != Code.SUCCESS:
        raise SchedulingError(st)
    totals, _ = fwk.run_score_plugins(state, pod, nodes)
    return totals


def select_host(nodes: Sequence[NodeInfo], totals: Sequence[int], rng: random.Random) -> NodeInfo:
    """The highest total; among equal totals, one chosen uniformly at random."""
    best = max(totals)
    ties = [i for i, s in enumerate(totals) if s == best]
    return nodes[ties[0] if len(ties) == 1 else ties[rng.randrange(len(ties))]]
