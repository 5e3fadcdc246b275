"""Table tests for the node-local plugins: NodeUnschedulable, NodeName, NodePorts,
TaintToleration, NodeAffinity, ImageLocality."""

import pytest

from kubelite.scheduler.framework import Code, CycleState, NodeInfo, PodInfo, node_info
from kubelite.scheduler.plugins import (
    NodeAffinity,
    NodeName,
    NodePorts,
    NodeUnschedulable,
    TaintToleration,
)
from kubelite.scheduler.testing import Harness, make_node, make_pod

NO_SCHEDULE = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
NO_EXECUTE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
PREFER = {"key": "spot", "value": "true", "effect": "PreferNoSchedule"}


def run_filter(plugin, pod, node):
    state = CycleState()
    pi = PodInfo(pod)
    ni = node if isinstance(node, NodeInfo) else NodeInfo(node)
    if hasattr(plugin, "pre_filter"):
        _, st = plugin.pre_filter(state, pi, [ni])
        if st is not None and st.code == Code.SKIP:
            return None
    return plugin.filter(state, pi, ni)


def reasons(st):
    return None if st is None else (str(st.code), st.reasons)


@pytest.mark.parametrize("unschedulable,tolerations,want", [
    (False, None, None),
    (True, None, ("UnschedulableAndUnresolvable", ("node(s) were unschedulable",))),
    (True, [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}], None),
    (True, [{"operator": "Exists"}], None),
], ids=["schedulable", "cordoned", "tolerates-unschedulable", "tolerates-everything"])
def test_node_unschedulable(unschedulable, tolerations, want):
    st = run_filter(NodeUnschedulable(), make_pod("p", tolerations=tolerations),
                    make_node("n", unschedulable=unschedulable))
    assert reasons(st) == want


@pytest.mark.parametrize("node_name,want", [
    ("", None),
    ("n", None),
    ("other", ("UnschedulableAndUnresolvable", ("node(s) didn't match the requested node name",))),
], ids=["no-node-name", "same", "other"])
def test_node_name(node_name, want):
    pod = make_pod("p")
    if node_name:
        pod["spec"]["nodeName"] = node_name
    assert reasons(run_filter(NodeName(), pod, make_node("n"))) == want


@pytest.mark.parametrize("existing,wanted,want_conflict", [
    ([], [80], False),
    ([80], [80], True),
    ([80], [81], False),
    ([80, 443], [443], True),
], ids=["free", "same-port", "other-port", "second-port"])
def test_node_ports(existing, wanted, want_conflict):
    ni = node_info(make_node("n"), make_pod("e", node_name="n", host_ports=existing))
    st = run_filter(NodePorts(), make_pod("p", host_ports=wanted), ni)
    if want_conflict:
        assert reasons(st) == ("Unschedulable", ("node(s) didn't have free ports for the requested pod ports",))
    else:
        assert st is None


@pytest.mark.parametrize("taints,tolerations,want", [
    ([], None, None),
    ([NO_SCHEDULE], None, "node(s) had untolerated taint {dedicated: gpu}"),
    ([NO_SCHEDULE], [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}], None),
    ([NO_SCHEDULE], [{"key": "dedicated", "operator": "Equal", "value": "cpu"}], "node(s) had untolerated taint {dedicated: gpu}"),
    ([NO_SCHEDULE], [{"key": "dedicated", "operator": "Exists"}], None),
    ([NO_SCHEDULE], [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}],
     "node(s) had untolerated taint {dedicated: gpu}"),
    ([NO_EXECUTE], None, "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"),
    ([PREFER], None, None),
    ([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}], None,
     "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
], ids=["no-taints", "untolerated", "tolerated-equal", "wrong-value", "tolerated-exists", "wrong-effect",
        "no-execute", "prefer-no-schedule-does-not-filter", "control-plane"])
def test_taint_toleration_filter(taints, tolerations, want):
    st = run_filter(TaintToleration(), make_pod("p", tolerations=tolerations), make_node("n", taints=taints))
    if want is None:
        assert st is None
    else:
        assert reasons(st) == ("UnschedulableAndUnresolvable", (want,))


def score_all(plugin, pod, nodes):
    state = CycleState()
    pi = PodInfo(pod)
    nis = [NodeInfo(n) for n in nodes]
    st = plugin.pre_score(state, pi, nis) if hasattr(plugin, "pre_score") else None
    if st is not None and st.code == Code.SKIP:
        return None
    scores = [plugin.score(state, pi, ni) for ni in nis]
    if hasattr(plugin, "normalize_score"):
        plugin.normalize_score(state, pi, nis, scores)
    return scores


@pytest.mark.parametrize("tolerations,want", [
    (None, [100, 50, 0]),
    ([{"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"}], [100, 100, 0]),
], ids=["fewer-taints-better", "tolerated-taints-do-not-count"])
def test_taint_toleration_score(tolerations, want):
    other = {"key": "old", "effect": "PreferNoSchedule"}
    nodes = [make_node("a"), make_node("b", taints=[PREFER]), make_node("c", taints=[PREFER, other])]
    if tolerations:
        nodes[2]["spec"]["taints"] = [other, {"key": "x", "effect": "PreferNoSchedule"}]
    assert score_all(TaintToleration(), make_pod("p", tolerations=tolerations), nodes) == want


def affinity(required=None, preferred=None):
    na = {}
    if required is not None:
        na["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": required}
    if preferred is not None:
        na["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
    return {"nodeAffinity": na}


def expr(key, op, *values):
    return {"key": key, "operator": op, **({"values": list(values)} if values else {})}


@pytest.mark.parametrize("selector,aff,labels,fits", [
    ({"disk": "ssd"}, None, {"disk": "ssd"}, True),
    ({"disk": "ssd"}, None, {"disk": "hdd"}, False),
    (None, affinity([{"matchExpressions": [expr("zone", "In", "a", "b")]}]), {"zone": "b"}, True),
    (None, affinity([{"matchExpressions": [expr("zone", "In", "a")]}]), {"zone": "b"}, False),
    (None, affinity([{"matchExpressions": [expr("zone", "NotIn", "a")]}]), {}, True),
    (None, affinity([{"matchExpressions": [expr("gpu", "Exists")]}]), {"gpu": "1"}, True),
    (None, affinity([{"matchExpressions": [expr("gpu", "DoesNotExist")]}]), {"gpu": "1"}, False),
    (None, affinity([{"matchExpressions": [expr("cores", "Gt", "8")]}]), {"cores": "16"}, True),
    (None, affinity([{"matchExpressions": [expr("cores", "Lt", "8")]}]), {"cores": "16"}, False),
    (None, affinity([{"matchExpressions": [expr("zone", "In", "x")]}, {"matchExpressions": [expr("disk", "Exists")]}]),
     {"disk": "ssd"}, True),
    (None, affinity([{}]), {"zone": "a"}, False),
    (None, affinity([{"matchFields": [expr("metadata.name", "In", "n")]}]), {}, True),
    (None, affinity([{"matchFields": [expr("metadata.name", "In", "m")]}]), {}, False),
    ({"disk": "ssd"}, affinity([{"matchExpressions": [expr("zone", "In", "a")]}]), {"zone": "a"}, False),
], ids=["selector-match", "selector-mismatch", "in", "not-in-values", "notin-absent", "exists",
        "does-not-exist", "gt", "lt", "terms-are-ored", "empty-term-matches-nothing", "match-fields",
        "match-fields-other", "selector-and-affinity-both-apply"])
def test_node_affinity_filter(selector, aff, labels, fits):
    st = run_filter(NodeAffinity(), make_pod("p", node_selector=selector, affinity=aff),
                    make_node("n", labels=labels))
    if fits:
        assert st is None
    else:
        assert reasons(st) == ("UnschedulableAndUnresolvable", ("node(s) didn't match Pod's node affinity/selector",))


def test_node_affinity_match_fields_narrows_prefilter():
    pod = PodInfo(make_pod("p", affinity=affinity([{"matchFields": [expr("metadata.name", "In", "n2")]}])))
    result, st = NodeAffinity().pre_filter(CycleState(), pod, [])
    assert st is None and result.node_names == {"n2"}


def test_node_affinity_preferred_score():
    pref = [{"weight": 80, "preference": {"matchExpressions": [expr("zone", "In", "a")]}},
            {"weight": 20, "preference": {"matchExpressions": [expr("disk", "In", "ssd")]}}]
    nodes = [make_node("a", labels={"zone": "a", "disk": "ssd"}), make_node("b", labels={"zone": "a"}),
             make_node("c", labels={"disk": "ssd"}), make_node("d")]
    assert score_all(NodeAffinity(), make_pod("p", affinity=affinity(preferred=pref)), nodes) == [100, 80, 20, 0]
    assert score_all(NodeAffinity(), make_pod("p"), nodes) is None


def test_image_locality_prefers_nodes_with_big_images():
    big = {"names": ["registry.example/app:1.0"], "sizeBytes": 500 * 1024 * 1024}
    small = {"names": ["pause:latest"], "sizeBytes": 1024 * 1024}
    nodes = [make_node("a", images=[big]), make_node("b", images=[small]), make_node("c")]
    pod = make_pod("p", containers=[{"name": "c", "image": "registry.example/app:1.0"},
                                    {"name": "d", "image": "pause"}])
    h = Harness(nodes)
    h.framework.set_snapshot(h.cache.snapshot())
    plugin, state, pi = h.framework.plugin("ImageLocality"), CycleState(), PodInfo(pod)
    assert plugin.pre_score(state, pi, h.cache.snapshot().node_infos) is None
    scores = [plugin.score(state, pi, h.cache.node_info(n)) for n in ("a", "b", "c")]
    # 500 MiB present on 1 of 3 nodes: 500/3 MiB scaled between 23 MiB and 2 x 1000 MiB -> 7.
    assert scores == [7, 0, 0]
