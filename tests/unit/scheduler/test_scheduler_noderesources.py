"""NodeResourcesFit (filter reasons, LeastAllocated) and NodeResourcesBalancedAllocation."""

import pytest

from kubelite.scheduler.framework import Code, CycleState, PodInfo, node_info
from kubelite.scheduler.plugins import NodeResourcesBalancedAllocation, NodeResourcesFit
from kubelite.scheduler.plugins.node_resources_fit import MOST_ALLOCATED
from kubelite.scheduler.testing import make_node, make_pod


def fit(pod, node, *existing):
    ni = node_info(node, *existing)
    return NodeResourcesFit().filter(CycleState(), PodInfo(pod), ni)


@pytest.mark.parametrize("pod,node,existing,want", [
    (make_pod("p", cpu="1", memory="1Gi"), make_node("n", cpu="2", memory="2Gi"), [], None),
    (make_pod("p", cpu="3"), make_node("n", cpu="2"), [], ("Insufficient cpu",)),
    (make_pod("p", memory="3Gi"), make_node("n", memory="2Gi"), [], ("Insufficient memory",)),
    (make_pod("p", cpu="3", memory="3Gi"), make_node("n", cpu="2", memory="2Gi"), [],
     ("Insufficient cpu", "Insufficient memory")),
    (make_pod("p", cpu="1"), make_node("n", cpu="2"), [make_pod("e", cpu="1500m", node_name="n")],
     ("Insufficient cpu",)),
    (make_pod("p"), make_node("n", pods=1), [make_pod("e", node_name="n")], ("Too many pods",)),
    (make_pod("p", cpu="3"), make_node("n", cpu="2", pods=1), [make_pod("e", node_name="n")],
     ("Too many pods", "Insufficient cpu")),
    (make_pod("p"), make_node("n", cpu="1"), [make_pod("e", cpu="2", node_name="n")], None),
    (make_pod("p", containers=[{"name": "c", "image": "x", "resources": {"requests": {"nvidia.com/gpu": "1"}}}]),
     make_node("n"), [], ("Insufficient nvidia.com/gpu",)),
    (make_pod("p", containers=[{"name": "c", "image": "x", "resources": {"requests": {"nvidia.com/gpu": "1"}}}]),
     make_node("n", extended={"nvidia.com/gpu": "2"}), [], None),
], ids=["fits", "cpu", "memory", "cpu-and-memory", "cpu-used-by-others", "too-many-pods", "pods-and-cpu",
        "request-less-pod-fits-overcommitted-node", "extended-missing", "extended-present"])
def test_fit_filter(pod, node, existing, want):
    st = fit(pod, node, *existing)
    if want is None:
        assert st is None
    else:
        assert st.code == Code.UNSCHEDULABLE and st.reasons == want and st.plugin == "NodeResourcesFit"


@pytest.mark.parametrize("existing_cpu,existing_mem,want", [
    # cpu 4000m, memory 8Gi; the pod asks 1 cpu and 2Gi.
    ("0", "0", 75),                 # (3000/4000*100=75 + 6/8*100=75) / 2
    ("2", "4Gi", 25),               # (1000/4000=25 + 2/8=25) / 2
    ("1", "0", 62),                 # (50 + 75) / 2 = 62 (integer division)
    ("4", "8Gi", 0),                # over capacity scores 0
], ids=["empty", "half-used", "mixed", "full"])
def test_least_allocated_score(existing_cpu, existing_mem, want):
    ni = node_info(make_node("n", cpu="4", memory="8Gi"),
                   make_pod("e", cpu=existing_cpu, memory=existing_mem, node_name="n"))
    assert NodeResourcesFit().score(CycleState(), PodInfo(make_pod("p", cpu="1", memory="2Gi")), ni) == want


def test_least_allocated_counts_request_less_pods_at_defaults():
    ni = node_info(make_node("n", cpu="1", memory="1Gi"))
    # 100m of 1000m and 200Mi of 1Gi: (90 + 80) / 2 = 85 (80.46 -> 80).
    assert NodeResourcesFit().score(CycleState(), PodInfo(make_pod("p")), ni) == 85


def test_most_allocated_score():
    ni = node_info(make_node("n", cpu="4", memory="8Gi"), make_pod("e", cpu="1", memory="2Gi", node_name="n"))
    pod = PodInfo(make_pod("p", cpu="1", memory="2Gi"))
    assert NodeResourcesFit(strategy=MOST_ALLOCATED).score(CycleState(), pod, ni) == 50


@pytest.mark.parametrize("cpu,mem,want", [
    ("2", "4Gi", 100),       # 0.5 and 0.5
    ("4", "0", 50),          # 1 and 0: std 0.5
    ("3", "2Gi", 75),        # 0.75 and 0.25
], ids=["balanced", "cpu-only", "skewed"])
def test_balanced_allocation(cpu, mem, want):
    ni = node_info(make_node("n", cpu="4", memory="8Gi"))
    pod = PodInfo(make_pod("p", cpu=cpu, memory=mem))
    plugin = NodeResourcesBalancedAllocation()
    state = CycleState()
    assert plugin.pre_score(state, pod, [ni]) is None
    assert plugin.score(state, pod, ni) == want


def test_balanced_allocation_skips_pods_without_requests():
    assert NodeResourcesBalancedAllocation().pre_score(CycleState(), PodInfo(make_pod("p")), []).code == Code.SKIP


def test_batch_scores_match_per_node_scores_and_follow_node_changes():
    nodes = [node_info(make_node(f"n{i}", cpu=str(2 + i), memory=f"{4 + i}Gi"),
                       *[make_pod(f"e{i}-{j}", cpu="300m", memory="512Mi", node_name=f"n{i}") for j in range(i)])
             for i in range(5)]
    pod = PodInfo(make_pod("p", cpu="500m", memory="1Gi"))
    for plugin in (NodeResourcesFit(), NodeResourcesBalancedAllocation()):
        state = CycleState()
        assert plugin.score_nodes(state, pod, nodes) == [plugin._score(pod, ni) for ni in nodes]
        before = plugin.score_nodes(state, pod, nodes)
        nodes[0].add_pod(PodInfo(make_pod("new", cpu="1", memory="3Gi", node_name="n0")))
        after = plugin.score_nodes(state, pod, nodes)
        assert after[1:] == before[1:] and after[0] == plugin._score(pod, nodes[0]) != before[0]
        assert [plugin.score(state, pod, ni) for ni in nodes] == after
        nodes[0].remove_pod(next(uid for uid, p in nodes[0].pods.items() if p.name == "new"))
