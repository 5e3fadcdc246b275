"""Which stale UDP conntrack entries a sync deletes (pure), and the CLI arguments."""

from kubelite.proxy.conntrack import FlowFilter, stale_flows
from kubelite.proxy.render import ServiceState


def udp(eps, ips=("198.18.128.10",), node_port=0):
    return ServiceState("udp", ips, 53, node_port, frozenset(eps))


def test_removed_endpoint_of_udp_service():
    prev = {"k": udp({"198.19.1.2", "198.19.1.3"}, ips=("198.18.128.10", "198.18.200.1"), node_port=30053)}
    new = {"k": udp({"198.19.1.3"}, ips=("198.18.128.10", "198.18.200.1"), node_port=30053)}
    assert stale_flows(prev, new) == [FlowFilter("udp", "198.18.128.10", 53, "198.19.1.2"),
                                      FlowFilter("udp", "198.18.200.1", 53, "198.19.1.2"),
                                      FlowFilter("udp", "", 30053, "198.19.1.2")]


def test_deleted_service_clears_all_its_endpoints():
    assert len(stale_flows({"k": udp({"198.19.1.2", "198.19.1.3"})}, {})) == 2


def test_service_getting_its_first_endpoints_clears_entries_to_it():
    assert stale_flows({"k": udp(set())}, {"k": udp({"198.19.1.2"}, node_port=30053)}) == [
        FlowFilter("udp", "198.18.128.10", 53), FlowFilter("udp", "", 30053)]
    assert stale_flows({}, {"k": udp({"198.19.1.2"})}) == [FlowFilter("udp", "198.18.128.10", 53)]


def test_tcp_and_unchanged_need_nothing():
    tcp = ServiceState("tcp", ("198.18.128.10",), 80, 0, frozenset({"198.19.1.2"}))
    assert stale_flows({"k": tcp}, {}) == []
    assert stale_flows({"k": udp({"198.19.1.2"})}, {"k": udp({"198.19.1.2"})}) == []


def test_argv():
    assert FlowFilter("udp", "198.18.128.10", 53, "198.19.1.2").argv() == [
        "-D", "-p", "udp", "--orig-dst", "198.18.128.10", "--orig-port-dst", "53", "--reply-src", "198.19.1.2"]
    assert FlowFilter("udp", "", 30053).argv() == ["-D", "-p", "udp", "--orig-port-dst", "30053"]
