"""PodTopologySpread: DoNotSchedule filtering, ScheduleAnyway scoring, system defaults."""

import pytest

from kubelite.scheduler.framework import CycleState, PodInfo
from kubelite.scheduler.testing import Harness, StaticListers, make_node, make_pod

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
NOT_MATCH = "node(s) didn't match pod topology spread constraints"


def constraint(key, skew=1, when="DoNotSchedule", **extra):
    return {"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": {"app": "web"}}, **extra}


def web(name, node="", **kw):
    return make_pod(name, labels={"app": "web"}, node_name=node, **kw)


def nodes3():
    return [make_node("a1", zone="a"), make_node("a2", zone="a"), make_node("b1", zone="b")]


def test_do_not_schedule_rejects_the_crowded_zone():
    h = Harness(nodes3(), [web("e1", "a1")])
    d = h.schedule(web("p", spread=[constraint(ZONE)]))
    assert d.node_name == "b1"
    h2 = Harness(nodes3(), [web("e1", "a1"), web("e2", "b1"), web("e3", "a2")])
    d2 = h2.schedule(web("p", spread=[constraint(ZONE)]))
    assert d2.node_name == "b1"


def test_skew_violation_message():
    h = Harness([make_node("a1", zone="a"), make_node("b1", zone="b", cpu="0")],
                [web("e1", "a1")])
    d = h.schedule(web("p", cpu="100m", spread=[constraint(ZONE)]))
    assert not d.scheduled
    assert d.message.startswith(f"0/2 nodes are available: 1 Insufficient cpu, 1 {NOT_MATCH}.")


def test_missing_topology_key_is_unresolvable():
    h = Harness([make_node("n1")])
    d = h.schedule(web("p", spread=[constraint(ZONE)]))
    assert d.message.startswith(f"0/1 nodes are available: 1 {NOT_MATCH} (missing required label).")
    assert "Preemption is not helpful for scheduling" in d.message


def test_min_domains_counts_missing_domains_as_zero():
    pods = [web("e1", "a1"), web("e2", "b1")]
    spread = [constraint(ZONE, minDomains=3)]
    d = Harness(nodes3(), pods).schedule(web("p", spread=spread))
    assert not d.scheduled
    assert Harness(nodes3(), pods).schedule(web("p", spread=[constraint(ZONE)])).scheduled


def test_node_affinity_policy_honor_ignores_excluded_nodes():
    # Zone b's node does not match the selector, so only zone a counts: skew stays 0 + 1.
    nodes = [make_node("a1", zone="a", labels={"pool": "x"}), make_node("b1", zone="b")]
    h = Harness(nodes, [web("e1", "a1")])
    d = h.schedule(web("p", node_selector={"pool": "x"}, spread=[constraint(ZONE)]))
    assert d.node_name == "a1"
    d2 = h.schedule(web("p", node_selector={"pool": "x"}, spread=[constraint(ZONE, nodeAffinityPolicy="Ignore")]))
    assert not d2.scheduled


def test_match_label_keys_narrow_the_selector():
    h = Harness(nodes3(), [make_pod("old", labels={"app": "web", "rev": "1"}, node_name="b1")])
    pod = make_pod("p", labels={"app": "web", "rev": "2"}, spread=[constraint(ZONE, matchLabelKeys=["rev"])])
    # Only rev=2 pods count, so the rev=1 pod in zone b does not push this pod away from b.
    assert h.schedule(pod).scheduled


def scores(h, pod):
    fwk = h.framework
    fwk.set_snapshot(h.cache.snapshot())
    plugin = fwk.plugin("PodTopologySpread")
    nodes = h.cache.snapshot().node_infos
    state = CycleState()
    pi = PodInfo(pod)
    st = plugin.pre_score(state, pi, nodes)
    if st is not None:
        return st
    raw = [plugin.score(state, pi, ni) for ni in nodes]
    plugin.normalize_score(state, pi, nodes, raw)
    return {ni.name: s for ni, s in zip(nodes, raw)}


def test_schedule_anyway_prefers_emptier_domains():
    h = Harness(nodes3(), [web("e1", "a1"), web("e2", "a1"), web("e3", "a2")])
    got = scores(h, web("p", spread=[constraint(HOST, when="ScheduleAnyway")]))
    assert got["b1"] > got["a2"] > got["a1"]


def test_system_default_constraints_spread_replicaset_pods():
    rs = {"metadata": {"name": "web-abc", "namespace": "default"},
          "spec": {"selector": {"matchLabels": {"app": "web"}}}}
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "rs-1"}
    h = Harness(nodes3(), [web("e1", "a1", owner=owner), web("e2", "a1", owner=owner)],
                listers=StaticListers(replicasets=[rs]))
    got = scores(h, web("p", owner=owner))
    assert got["a1"] < got["a2"] and got["a1"] < got["b1"]
    # A pod nothing owns and no Service selects is not spread by default.
    assert scores(h, make_pod("lonely")).code.name == "SKIP"


@pytest.mark.parametrize("n", [6, 9])
def test_spreading_with_hard_constraint_places_evenly(n):
    h = Harness([make_node(f"n{i}") for i in range(3)])
    for i in range(n):
        assert h.bind(web(f"p{i}", spread=[constraint(HOST)]))
    assert [len(h.pods_on(f"n{i}")) for i in range(3)] == [n // 3] * 3
