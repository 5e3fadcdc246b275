import os

import pytest

from kubelite.cluster import layout
from kubelite.cluster.layout import Layout, LayoutError, pick_slot
from kubelite.cluster.state import ClusterState, index_path, lookup, process_start_time, register, registered, \
    unregister


def test_default_slot_is_the_address_plan():
    lay = Layout("dev")
    assert [lay.node_ip(x) for x in (1, 2, 3)] == ["198.18.0.11", "198.18.0.12", "198.18.0.13"]
    assert lay.cluster_cidr == "198.19.0.0/20"
    assert lay.netns(2) == "kl-dev-node2" and lay.node_name(2) == "dev-node2"
    assert lay.netns_path(2) == "/var/run/netns/kl-dev-node2"
    assert lay.pod_netns_prefix(2).startswith(lay.prefix) and lay.cgroup_root(2).startswith(lay.prefix)
    assert lay.host_ip == "198.18.0.1" and lay.node_prefixlen == 20


def test_slots_do_not_overlap():
    seen_ips, seen_blocks = set(), set()
    for k in range(layout.MAX_SLOTS):
        lay = Layout("c", k)
        ips = lay.node_ips()
        assert not ips & seen_ips and lay.host_ip not in ips
        seen_ips |= ips
        assert lay.cluster_cidr not in seen_blocks
        seen_blocks.add(lay.cluster_cidr)
    assert Layout("c", 14).node_ip(15) == "198.18.0.249"
    assert Layout("c", 1).cluster_cidr == "198.19.16.0/20"


def test_veth_names_fit_and_differ():
    a, b = Layout("a-very-long-name-0001"), Layout("a-very-long-name-0002")
    assert len(a.veth(15)) <= 15 and a.veth(1) != b.veth(1)


@pytest.mark.parametrize("name", ["", "-a", "a-", "A", "a_b", "x" * 21])
def test_bad_names(name):
    with pytest.raises(LayoutError):
        layout.check_name(name)


def test_node_count_limit():
    with pytest.raises(LayoutError):
        Layout("c").node_ip(16)


def test_pick_slot_avoids_used_addresses_routes_and_taken_slots():
    assert pick_slot(set(), [], set(), "c") == 0
    assert pick_slot({"198.18.0.12"}, [], set(), "c") == 1                   # a node address in use
    assert pick_slot(set(), ["198.19.0.0/24"], set(), "c") == 1              # the host agent's pod CIDR
    assert pick_slot(set(), ["0.0.0.0/0", "192.0.2.0/24"], set(), "c") == 0  # unrelated routes
    assert pick_slot(set(), [], {0, 1}, "c") == 2
    with pytest.raises(LayoutError):
        pick_slot(set(), [], set(range(15)), "c")


def test_state_round_trip_and_index(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBELITE_CLUSTERS_HOME", str(tmp_path / "home"))
    st = ClusterState(name="c", data_dir=str(tmp_path / "c"), nodes=2, controller_options={"x": 1})
    me = st.set_process("supervisor", os.getpid())
    st.save()
    back = ClusterState.load(st.path)
    assert back == st and back.process("supervisor").alive() and me.alive()
    assert st.path.stat().st_mode & 0o777 == 0o600
    register("c", tmp_path / "c")
    assert lookup("c") == tmp_path / "c" and registered() == ["c"]
    assert index_path("c").exists()
    unregister("c")
    assert lookup("c") is None and registered() == []


def test_process_identity_is_pid_and_start_time():
    assert process_start_time(os.getpid())
    assert process_start_time(2 ** 22 + 12345) is None
    from kubelite.cluster.state import Process

    assert not Process(os.getpid(), process_start_time(os.getpid()) + 1, "x").alive()  # a recycled PID
