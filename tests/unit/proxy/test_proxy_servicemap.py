"""Services and EndpointSlices -> service ports and categorized endpoints (pure)."""

import pytest

from kubelite.proxy.servicemap import categorize_endpoints, endpoints_by_port, service_ports

from proxytest import endpoint_slice, ep, service


@pytest.mark.parametrize("svc", [
    service("headless", ip="None"),
    service("ext", ip="", stype="ExternalName", externalName="example.test"),
    {**service("other"), "metadata": {"namespace": "default", "name": "other",
                                      "labels": {"service.kubernetes.io/service-proxy-name": "x"}}},
], ids=["headless", "external-name", "other-proxy"])
def test_skipped_services(svc):
    assert service_ports(svc) == []


def test_service_ports_fields():
    svc = service("web", stype="LoadBalancer", ports=({"name": "http", "port": 80, "nodePort": 30080},
                                                      {"name": "dns", "port": 53, "protocol": "UDP"}),
                  externalIPs=["198.18.200.2", "198.18.200.1"], externalTrafficPolicy="Local",
                  sessionAffinity="ClientIP", loadBalancerSourceRanges=["198.18.0.0/20 "],
                  status={"loadBalancer": {"ingress": [{"ip": "198.18.192.5"},
                                                       {"ip": "198.18.192.6", "ipMode": "Proxy"},
                                                       {"hostname": "lb.example"}]}})
    http, dns = service_ports(svc)
    assert http.key == "default/web/tcp/http" and http.display == "default/web:http"
    assert http.node_port == 30080 and dns.node_port == 0 and dns.protocol == "udp"
    assert http.external_ips == ("198.18.200.1", "198.18.200.2")
    assert http.load_balancer_ips == ("198.18.192.5",)
    assert http.load_balancer_source_ranges == ("198.18.0.0/20",)
    assert http.affinity_timeout == 10800
    assert http.external_policy_local and dns.external_policy_local   # both externally reachable


def test_external_policy_needs_external_access():
    (p,) = service_ports(service("web", externalTrafficPolicy="Local"))
    assert not p.external_policy_local and not p.externally_accessible


def test_endpoints_match_port_name_and_protocol_and_merge_slices():
    svc = service("web", ports=({"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}))
    ports = service_ports(svc)
    slices = [
        endpoint_slice("web", [ep("198.19.1.10"), ep("198.19.1.9", ready=False)], name="a",
                       ports=({"name": "http", "port": 8080}, {"name": "dns", "port": 5353, "protocol": "UDP"})),
        endpoint_slice("web", [ep("198.19.1.9")], name="b", ports=({"name": "http", "port": 8080},)),
        endpoint_slice("web", [ep("198.19.1.8")], name="c", ports=({"name": "http", "port": 8080, "protocol": "UDP"},)),
    ]
    got = endpoints_by_port(ports, slices, "node-1")
    assert [(e.ip, e.port, e.ready) for e in got["default/web/tcp/http"]] == \
        [("198.19.1.9", 8080, True), ("198.19.1.10", 8080, True)]
    assert [e.address for e in got["default/web/udp/dns"]] == ["198.19.1.9:5353", "198.19.1.10:5353"]


def _cat(svc, eps, node="node-1"):
    (p,) = service_ports(svc)
    return categorize_endpoints(p, endpoints_by_port([p], [endpoint_slice("web", eps)], node)[p.key])


def test_ready_endpoints_only():
    c = _cat(service("web"), [ep("198.19.1.2"), ep("198.19.1.3", ready=False, serving=True, terminating=True)])
    assert [e.ip for e in c.cluster] == ["198.19.1.2"] and c.has_any


def test_terminating_serving_endpoints_when_none_is_ready():
    c = _cat(service("web"), [ep("198.19.1.2", ready=False, serving=True, terminating=True),
                              ep("198.19.1.3", ready=False, serving=False, terminating=True)])
    assert [e.ip for e in c.cluster] == ["198.19.1.2"] and c.has_any


def test_no_usable_endpoints():
    c = _cat(service("web"), [ep("198.19.1.2", ready=False)])
    assert not c.cluster and not c.has_any


def test_internal_traffic_policy_local():
    c = _cat(service("web", internalTrafficPolicy="Local"), [ep("198.19.1.2", node="node-2"), ep("198.19.1.3")])
    assert [e.ip for e in c.local] == ["198.19.1.3"] and not c.cluster and c.has_any
    c = _cat(service("web", internalTrafficPolicy="Local"), [ep("198.19.1.2", node="node-2")])
    assert not c.local and c.has_any


def test_external_local_uses_both_sets():
    svc = service("web", stype="NodePort", ports=({"name": "http", "port": 80, "nodePort": 30080},),
                  externalTrafficPolicy="Local")
    c = _cat(svc, [ep("198.19.1.2", node="node-2"), ep("198.19.1.3")])
    assert [e.ip for e in c.cluster] == ["198.19.1.2", "198.19.1.3"]
    assert [e.ip for e in c.local] == ["198.19.1.3"]
    assert [e.ip for e in c.all_reachable] == ["198.19.1.2", "198.19.1.3"]
