"""DefaultPreemption: which node and which victims, PDBs, eligibility, and nominated pods."""

import pytest

from kubelite.scheduler.testing import Harness, StaticListers, make_node, make_pod


def running(name, node, priority, cpu="1", start="2025-01-01T00:00:00Z", **kw):
    return make_pod(name, node_name=node, priority=priority, cpu=cpu, start_time=start, **kw)


def victims(d):
    return sorted(v.name for v in d.post_filter.victims) if d.post_filter else None


def test_preempts_on_the_node_with_the_lowest_priority_victims():
    h = Harness([make_node("a", cpu="2"), make_node("b", cpu="2")],
                [running("low", "a", 10, cpu="2"), running("mid", "b", 100, cpu="2")])
    d = h.schedule(make_pod("high", cpu="1", priority=1000))
    assert not d.scheduled
    assert d.post_filter.nominated_node_name == "a" and victims(d) == ["low"]
    # Preemption found a node, so the message has no preemption part.
    assert d.message == "0/2 nodes are available: 2 Insufficient cpu."


def test_evicts_as_few_and_as_unimportant_pods_as_possible():
    pods = [running("p1", "n", 1), running("p2", "n", 2), running("p3", "n", 3)]
    h = Harness([make_node("n", cpu="4")], pods)
    d = h.schedule(make_pod("big", cpu="2", priority=100))
    assert victims(d) == ["p1"]
    d = h.schedule(make_pod("bigger", cpu="3", priority=100))
    assert victims(d) == ["p1", "p2"]


def test_pods_of_equal_or_higher_priority_are_never_victims():
    h = Harness([make_node("n", cpu="2")], [running("same", "n", 100, cpu="1"), running("higher", "n", 200)])
    d = h.schedule(make_pod("p", cpu="1", priority=100))
    assert d.post_filter is None
    assert d.message == ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
                         "1 No preemption victims found for incoming pod.")


def test_respects_pod_disruption_budgets_when_another_node_will_do():
    pdb = {"metadata": {"name": "db", "namespace": "default"},
           "spec": {"selector": {"matchLabels": {"app": "db"}}}, "status": {"disruptionsAllowed": 0}}
    pods = [running("db-0", "a", 0, cpu="2", labels={"app": "db"}),
            running("batch-0", "b", 0, cpu="2", labels={"app": "batch"})]
    for seed in range(6):
        h = Harness([make_node("a", cpu="2"), make_node("b", cpu="2")], pods, seed=seed,
                    listers=StaticListers(poddisruptionbudgets=[pdb]))
        d = h.schedule(make_pod("urgent", cpu="1", priority=1000))
        assert d.post_filter.nominated_node_name == "b" and victims(d) == ["batch-0"]


def test_violating_a_pdb_is_allowed_when_nothing_else_helps():
    pdb = {"metadata": {"name": "db", "namespace": "default"},
           "spec": {"selector": {"matchLabels": {"app": "db"}}}, "status": {"disruptionsAllowed": 0}}
    h = Harness([make_node("a", cpu="2")], [running("db-0", "a", 0, cpu="2", labels={"app": "db"})],
                listers=StaticListers(poddisruptionbudgets=[pdb]))
    d = h.schedule(make_pod("urgent", cpu="1", priority=1000))
    assert victims(d) == ["db-0"]


def test_prefers_fewer_victims_then_later_started_ones():
    h = Harness([make_node("a", cpu="2"), make_node("b", cpu="2")],
                [running("a1", "a", 5), running("a2", "a", 5), running("b1", "b", 5, cpu="2")])
    d = h.schedule(make_pod("p", cpu="2", priority=10))
    assert d.post_filter.nominated_node_name == "b"
    h = Harness([make_node("a", cpu="1"), make_node("b", cpu="1")],
                [running("old", "a", 5, start="2025-01-01T00:00:00Z"),
                 running("new", "b", 5, start="2025-06-01T00:00:00Z")])
    assert h.schedule(make_pod("p", cpu="1", priority=10)).post_filter.nominated_node_name == "b"


@pytest.mark.parametrize("pod,message", [
    (make_pod("p", cpu="1", priority=1000, preemption_policy="Never"),
     "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."),
    (make_pod("p", cpu="1", priority=1000, node_selector={"disk": "ssd"}),
     "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: "
     "0/1 nodes are available: 1 Preemption is not helpful for scheduling."),
], ids=["policy-never", "not-helpful"])
def test_not_preempting(pod, message):
    h = Harness([make_node("n", cpu="1")], [running("low", "n", 0)])
    d = h.schedule(pod)
    assert d.post_filter is None and d.message == message


def test_nominated_pods_hold_their_room():
    h = Harness([make_node("n", cpu="2")], [
        make_pod("nominated", cpu="2", priority=1000, nominated_node="n")])
    d = h.schedule(make_pod("sneaky", cpu="1", priority=10))
    assert not d.scheduled and "1 Insufficient cpu" in d.message
    # A pod of higher priority than the nominated one may take the room.
    assert h.schedule(make_pod("vip", cpu="1", priority=2000)).node_name == "n"


def test_lower_priority_nominations_on_the_chosen_node_are_reported():
    h = Harness([make_node("n", cpu="2")], [running("low", "n", 0, cpu="2"),
                                            make_pod("waiting", cpu="1", priority=5, nominated_node="n")])
    d = h.schedule(make_pod("high", cpu="2", priority=100))
    assert [p.name for p in d.post_filter.lower_priority_nominated] == ["waiting"]
