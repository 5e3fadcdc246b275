"""Resource requests (init containers, sidecars, overhead) and NodeInfo accounting."""

import pytest

from kubelite.scheduler.framework import NodeInfo, PodInfo, pod_non_zero_requests, pod_requests
from kubelite.scheduler.framework.types import HostPort
from kubelite.scheduler.testing import make_node, make_pod

MI = 1024 * 1024


def c(name, cpu=None, memory=None, restart=None, limits=None):
    res = {}
    if cpu or memory:
        res["requests"] = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    if limits:
        res["limits"] = limits
    out = {"name": name, "image": "pause", "resources": res}
    if restart:
        out["restartPolicy"] = restart
    return out


@pytest.mark.parametrize("containers,init,overhead,want_cpu,want_mem", [
    ([c("a", "100m", "64Mi"), c("b", "200m")], [], None, 300, 64 * MI),
    ([c("a", "100m")], [c("i", "500m")], None, 500, 0),
    ([c("a", "100m")], [c("i", "50m")], None, 100, 0),
    # A sidecar runs with the app containers and with every later init container.
    ([c("a", "100m")], [c("side", "100m", restart="Always"), c("i", "150m")], None, 250, 0),
    ([c("a", "1")], [c("side", "100m", restart="Always"), c("i", "150m")], None, 1100, 0),
    ([c("a", "100m")], [], {"cpu": "250m", "memory": "120Mi"}, 350, 120 * MI),
    ([c("a", limits={"cpu": "2", "memory": "1Gi"})], [], None, 2000, 1024 * MI),
], ids=["sum", "init-larger", "init-smaller", "sidecar-plus-init", "app-larger-than-init", "overhead",
        "limits-as-requests"])
def test_pod_requests(containers, init, overhead, want_cpu, want_mem):
    pod = make_pod("p", containers=containers, init_containers=init, overhead=overhead)
    r = pod_requests(pod)
    assert (r.milli_cpu, r.memory) == (want_cpu, want_mem)


@pytest.mark.parametrize("containers,want", [
    ([c("a")], (100, 200 * MI)),
    ([c("a", "0", "0")], (0, 0)),
    ([c("a", "250m"), c("b")], (350, 400 * MI)),
], ids=["defaults", "explicit-zero", "mixed"])
def test_non_zero_requests(containers, want):
    assert pod_non_zero_requests(make_pod("p", containers=containers)) == want


def test_node_info_accounts_pods_and_ports():
    ni = NodeInfo(make_node("n", cpu="2", memory="4Gi", pods=10))
    a = PodInfo(make_pod("a", cpu="500m", memory="1Gi", node_name="n", host_ports=[8080]))
    b = PodInfo(make_pod("b", node_name="n"))
    ni.add_pod(a)
    ni.add_pod(b)
    assert (ni.requested.milli_cpu, ni.requested.memory) == (500, 1024 * MI)
    assert (ni.non_zero_cpu, ni.non_zero_mem) == (600, 1024 * MI + 200 * MI)
    assert ni.port_conflict(HostPort("0.0.0.0", "TCP", 8080))
    assert ni.port_conflict(HostPort("10.0.0.1", "TCP", 8080))
    assert not ni.port_conflict(HostPort("0.0.0.0", "UDP", 8080))
    clone = ni.clone()
    ni.remove_pod(a.uid)
    assert ni.requested.milli_cpu == 0 and not ni.used_ports
    assert clone.requested.milli_cpu == 500 and clone.port_conflict(HostPort("0.0.0.0", "TCP", 8080))


def test_specific_host_ip_conflicts_only_with_same_ip_or_wildcard():
    ni = NodeInfo(make_node("n"))
    pod = make_pod("a", node_name="n")
    pod["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 80, "hostIP": "10.0.0.1"}]
    ni.add_pod(PodInfo(pod))
    assert ni.port_conflict(HostPort("10.0.0.1", "TCP", 80))
    assert ni.port_conflict(HostPort("0.0.0.0", "TCP", 80))
    assert not ni.port_conflict(HostPort("10.0.0.2", "TCP", 80))
