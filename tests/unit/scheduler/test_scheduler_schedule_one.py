"""schedule_one: the FailedScheduling message, sampling nodes, tie-breaking."""

import collections

import pytest

from kubelite.scheduler.framework import Status, unresolvable, unschedulable
from kubelite.scheduler.framework.status import reasons_histogram
from kubelite.scheduler.schedule_one import num_feasible_nodes_to_find
from kubelite.scheduler.testing import Harness, make_node, make_pod

CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def test_message_with_mixed_reasons():
    nodes = [make_node("worker", cpu="1"), make_node("cp-1", taints=[CONTROL_PLANE]),
             make_node("cp-2", taints=[CONTROL_PLANE])]
    d = Harness(nodes).schedule(make_pod("p", cpu="2"))
    assert d.reason == "Unschedulable"
    assert d.message == (
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: "
        "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.")
    assert d.unschedulable_plugins == {"NodeResourcesFit", "TaintToleration"}


def test_message_with_only_unresolvable_reasons():
    nodes = [make_node("cp-1", taints=[CONTROL_PLANE]), make_node("cp-2", taints=[CONTROL_PLANE]),
             make_node("cp-3", taints=[CONTROL_PLANE])]
    d = Harness(nodes).schedule(make_pod("p"))
    assert d.message == ("0/3 nodes are available: 3 node(s) had untolerated taint "
                         "{node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: "
                         "3 Preemption is not helpful for scheduling.")


def test_one_node_several_reasons_counts_each():
    d = Harness([make_node("n", cpu="1", memory="1Gi", pods=0)]).schedule(make_pod("p", cpu="2", memory="2Gi"))
    assert d.message.startswith("0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, "
                                "1 Too many pods.")


def test_histogram_sorts_count_and_reason_as_strings():
    statuses = {f"n{i}": unschedulable("Insufficient cpu") for i in range(10)}
    statuses.update({f"m{i}": unresolvable("node(s) were unschedulable") for i in range(2)})
    assert reasons_histogram(statuses) == "10 Insufficient cpu, 2 node(s) were unschedulable"
    assert reasons_histogram([Status(unschedulable().code, ("a", "b"))]) == "1 a, 1 b"


def test_no_nodes():
    d = Harness([]).schedule(make_pod("p"))
    assert (d.reason, d.message) == ("Unschedulable", "no nodes available to schedule pods")


def test_prefilter_restriction_counts_the_other_nodes():
    aff = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}]}}}
    h = Harness([make_node("a"), make_node("b", cpu="0"), make_node("c")])
    d = h.schedule(make_pod("ds", cpu="100m", affinity=aff))
    assert d.message.startswith("0/3 nodes are available: 1 Insufficient cpu, "
                                "2 node(s) didn't satisfy plugin(s) [NodeAffinity].")
    assert Harness([make_node("a"), make_node("b")]).schedule(make_pod("ds", affinity=aff)).node_name == "b"


@pytest.mark.parametrize("percentage,nodes,want", [
    (0, 50, 50), (0, 100, 100), (0, 1000, 420), (0, 5000, 500), (0, 6000, 300),
    (0, 20000, 1000), (10, 500, 100), (50, 1000, 500), (100, 1000, 1000),
], ids=["few", "hundred", "thousand-adaptive-42pct", "5k-10pct", "6k-min-5pct", "20k-min-5pct",
        "explicit-floor-100", "explicit-50", "all"])
def test_num_feasible_nodes_to_find(percentage, nodes, want):
    assert num_feasible_nodes_to_find(percentage, nodes) == want


def test_sampling_evaluates_a_window_and_rotates_the_start():
    h = Harness([make_node(f"n{i:03}") for i in range(200)])
    d = h.schedule(make_pod("p"))
    assert d.processed_nodes == 100 and h.next_start_node_index == 100
    h.schedule(make_pod("q"))
    assert h.next_start_node_index == 0


def test_ties_are_broken_by_the_injected_random():
    nodes = [make_node(f"n{i}") for i in range(4)]
    picks = [Harness(nodes, seed=s).schedule(make_pod("p")).node_name for s in range(200)]
    assert [Harness(nodes, seed=s).schedule(make_pod("p")).node_name for s in range(200)] == picks
    counts = collections.Counter(picks)
    assert set(counts) == {"n0", "n1", "n2", "n3"} and min(counts.values()) > 25


def test_pods_spread_by_least_allocated():
    h = Harness([make_node(f"n{i}") for i in range(3)])
    for i in range(9):
        h.bind(make_pod(f"p{i}", cpu="100m"))
    assert [len(h.pods_on(f"n{i}")) for i in range(3)] == [3, 3, 3]
