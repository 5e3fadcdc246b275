"""InterPodAffinity: required affinity and anti-affinity (hostname and zone), existing pods'
anti-affinity, namespaces, and preferred terms."""

import pytest

from kubelite.scheduler.testing import Harness, StaticListers, make_node, make_pod

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"


def term(key, labels, **extra):
    return {"topologyKey": key, "labelSelector": {"matchLabels": labels}, **extra}


def aff(required=(), anti=(), preferred=(), anti_preferred=()):
    out = {}
    if required or preferred:
        out["podAffinity"] = {}
        if required:
            out["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = list(required)
        if preferred:
            out["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = list(preferred)
    if anti or anti_preferred:
        out["podAntiAffinity"] = {}
        if anti:
            out["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = list(anti)
        if anti_preferred:
            out["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = list(anti_preferred)
    return out


def nodes():
    return [make_node("a1", zone="a"), make_node("a2", zone="a"), make_node("b1", zone="b")]


@pytest.mark.parametrize("key,expected", [
    (HOST, {"a1"}),
    (ZONE, {"a2"}),          # a1 and a2 fit; a2 is emptier
], ids=["hostname", "zone"])
def test_required_affinity(key, expected):
    h = Harness(nodes(), [make_pod("db", labels={"app": "db"}, node_name="a1")])
    got = set()
    for seed in range(12):
        h.rng.seed(seed)
        got.add(h.schedule(make_pod("web", affinity=aff(required=[term(key, {"app": "db"})]))).node_name)
    assert got == expected


def test_required_affinity_unsatisfied_message():
    h = Harness(nodes(), [make_pod("db", labels={"app": "db"}, node_name="a1")])
    d = h.schedule(make_pod("web", affinity=aff(required=[term(HOST, {"app": "cache"})]),
                            labels={"app": "web"}))
    assert d.message == ("0/3 nodes are available: 3 node(s) didn't match pod affinity rules. preemption: "
                         "0/3 nodes are available: 3 Preemption is not helpful for scheduling.")


def test_first_pod_of_a_self_affine_group_may_go_anywhere():
    h = Harness(nodes())
    pod = make_pod("web-0", labels={"app": "web"}, affinity=aff(required=[term(ZONE, {"app": "web"})]))
    assert h.schedule(pod).scheduled


@pytest.mark.parametrize("key,allowed", [
    (HOST, {"a2", "b1"}),
    (ZONE, {"b1"}),
], ids=["hostname", "zone"])
def test_required_anti_affinity(key, allowed):
    h = Harness(nodes(), [make_pod("w0", labels={"app": "web"}, node_name="a1")])
    got = set()
    for seed in range(12):
        h.rng.seed(seed)
        got.add(h.schedule(make_pod("w1", labels={"app": "web"},
                                    affinity=aff(anti=[term(key, {"app": "web"})]))).node_name)
    assert got == allowed


def test_anti_affinity_spreads_replicas_one_per_node():
    h = Harness(nodes())
    anti = aff(anti=[term(HOST, {"app": "web"})])
    placed = [h.bind(make_pod(f"w{i}", labels={"app": "web"}, affinity=anti)) for i in range(3)]
    assert sorted(placed) == ["a1", "a2", "b1"]
    d = h.schedule(make_pod("w3", labels={"app": "web"}, affinity=anti))
    assert d.message == ("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: "
                         "0/3 nodes are available: 3 No preemption victims found for incoming pod.")


def test_existing_pods_anti_affinity_is_respected():
    loner = make_pod("loner", labels={"app": "loner"}, node_name="a1",
                     affinity=aff(anti=[term(ZONE, {"app": "web"})]))
    h = Harness(nodes(), [loner])
    d = h.schedule(make_pod("web", labels={"app": "web"}))
    assert d.node_name == "b1"
    h2 = Harness([make_node("a1", zone="a")], [loner])
    assert "1 node(s) didn't satisfy existing pods anti-affinity rules" in h2.schedule(
        make_pod("web", labels={"app": "web"})).message


def test_terms_match_only_their_namespaces():
    h = Harness([make_node("a1")], [make_pod("w0", namespace="other", labels={"app": "web"}, node_name="a1")])
    anti = aff(anti=[term(HOST, {"app": "web"})])
    assert h.schedule(make_pod("w1", labels={"app": "web"}, affinity=anti)).scheduled
    anti_all = aff(anti=[term(HOST, {"app": "web"}, namespaces=["other"])])
    assert not h.schedule(make_pod("w1", labels={"app": "web"}, affinity=anti_all)).scheduled


def test_namespace_selector():
    listers = StaticListers(namespaces=[{"metadata": {"name": "other", "labels": {"team": "x"}}},
                                        {"metadata": {"name": "default", "labels": {}}}])
    h = Harness([make_node("a1")], [make_pod("w0", namespace="other", labels={"app": "web"}, node_name="a1")],
                listers=listers)
    sel = aff(anti=[term(HOST, {"app": "web"}, namespaceSelector={"matchLabels": {"team": "x"}})])
    assert not h.schedule(make_pod("w1", labels={"app": "web"}, affinity=sel)).scheduled
    everywhere = aff(anti=[term(HOST, {"app": "web"}, namespaceSelector={})])
    assert not h.schedule(make_pod("w1", labels={"app": "web"}, affinity=everywhere)).scheduled


def test_preferred_affinity_and_anti_affinity_scores():
    h = Harness(nodes(), [make_pod("db", labels={"app": "db"}, node_name="a1"),
                          make_pod("noisy", labels={"app": "noisy"}, node_name="a2")])
    pref = aff(preferred=[{"weight": 50, "podAffinityTerm": term(ZONE, {"app": "db"})}],
               anti_preferred=[{"weight": 100, "podAffinityTerm": term(HOST, {"app": "noisy"})}])
    for seed in range(8):
        h.rng.seed(seed)
        assert h.schedule(make_pod("web", affinity=pref)).node_name == "a1"


def test_existing_pods_preferred_terms_attract():
    magnet = make_pod("magnet", labels={"app": "m"}, node_name="b1",
                      affinity=aff(preferred=[{"weight": 100, "podAffinityTerm": term(HOST, {"app": "web"})}]))
    h = Harness(nodes(), [magnet])
    for seed in range(8):
        h.rng.seed(seed)
        assert h.schedule(make_pod("web", labels={"app": "web"})).node_name == "b1"
