"""Cache: assumed pods, confirmation by the informer, incremental snapshot, images."""

from kubelite.scheduler.cache import Cache
from kubelite.scheduler.framework import PodInfo
from kubelite.scheduler.testing import make_node, make_pod


def test_assume_confirm_and_forget():
    cache = Cache()
    cache.add_node(make_node("n", cpu="2"))
    p = PodInfo(make_pod("p", cpu="1"))
    cache.assume(p, "n")
    ni = cache.node_info("n")
    assert cache.is_assumed(p.uid) and ni.requested.milli_cpu == 1000
    bound = make_pod("p", cpu="1", uid=p.uid, node_name="n")
    cache.add_pod(PodInfo(bound))              # the informer confirms it
    assert not cache.is_assumed(p.uid) and ni.requested.milli_cpu == 1000 and len(ni.pods) == 1
    q = PodInfo(make_pod("q", cpu="500m"))
    cache.assume(q, "n")
    cache.forget(q.uid)                        # its binding failed
    assert ni.requested.milli_cpu == 1000 and cache.get_pod(q.uid) is None


def test_assumed_pods_expire_only_with_a_ttl():
    now = [0.0]
    cache = Cache(assumed_ttl=30, clock=lambda: now[0])
    cache.add_node(make_node("n"))
    p = PodInfo(make_pod("p"))
    cache.assume(p, "n")
    cache.finish_binding(p.uid)
    now[0] = 31
    assert [x.name for x in cache.cleanup_expired_assumed_pods()] == ["p"]
    assert cache.get_pod(p.uid) is None


def test_snapshot_is_reused_until_membership_changes():
    cache = Cache()
    cache.add_node(make_node("a", zone="z1"))
    s1 = cache.snapshot()
    cache.add_pod(PodInfo(make_pod("p", node_name="a")))
    assert cache.snapshot() is s1                          # pods change NodeInfos in place
    cache.add_node(make_node("b", zone="z2"))
    s2 = cache.snapshot()
    assert s2 is not s1 and [ni.name for ni in s2.node_infos] == ["a", "b"]
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "x"}}}]}}
    cache.add_pod(PodInfo(make_pod("q", node_name="b", affinity=anti)))
    s3 = cache.snapshot()
    assert s3 is not s2 and [ni.name for ni in s3.have_pods_with_required_anti_affinity] == ["b"]


def test_nodes_interleave_zones():
    cache = Cache()
    for name, zone in (("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("c1", "c")):
        cache.add_node(make_node(name, zone=zone))
    assert [ni.name for ni in cache.snapshot().node_infos] == ["a1", "b1", "c1", "a2", "a3"]


def test_pod_before_its_node_and_node_removal():
    cache = Cache()
    p = PodInfo(make_pod("p", cpu="1", node_name="late"))
    cache.add_pod(p)
    assert cache.snapshot().num_nodes() == 0
    cache.add_node(make_node("late"))
    assert cache.snapshot().get("late").requested.milli_cpu == 1000
    cache.remove_node("late")
    assert cache.snapshot().num_nodes() == 0
    cache.remove_pod(p.uid)
    assert cache.node_info("late") is None


def test_images_are_counted_across_nodes():
    img = {"names": ["app:1"], "sizeBytes": 100}
    cache = Cache()
    cache.add_node(make_node("a", images=[img]))
    cache.add_node(make_node("b", images=[img]))
    assert cache.node_info("a").image_states["app:1"].num_nodes == 2
    cache.update_node(make_node("b"))
    assert cache.node_info("a").image_states["app:1"].num_nodes == 1
    assert cache.snapshot().summary.images == 1


def test_summary_counts_taints_and_cordons():
    cache = Cache()
    cache.add_node(make_node("a", taints=[{"key": "k", "effect": "NoSchedule"}]))
    cache.add_node(make_node("b", unschedulable=True))
    s = cache.snapshot().summary
    assert (s.filter_taints, s.unschedulable) == (1, 1)
    cache.update_node(make_node("a"))
    cache.remove_node("b")
    assert (s.filter_taints, s.unschedulable) == (0, 0)
