"""Printers for core/v1 kinds (Pod and Event have their own test modules)."""

from __future__ import annotations

import pytest
from printer_fixtures import NOW, ago, metadata

from kubelite.apiserver.printers import row_cells


def service(type_, *, cluster_ips=("10.96.0.10",), ports=({"port": 80, "protocol": "TCP"},), external_ips=None,
            ingress=None, selector=None, external_name=None) -> dict:
    spec = {"type": type_, "ports": list(ports)}
    if cluster_ips:
        spec["clusterIPs"] = list(cluster_ips)
    if external_ips:
        spec["externalIPs"] = external_ips
    if selector:
        spec["selector"] = selector
    if external_name:
        spec["externalName"] = external_name
    status = {"loadBalancer": {"ingress": ingress}} if ingress else {"loadBalancer": {}}
    return {"metadata": metadata("web", 3600), "spec": spec, "status": status}


SERVICES = [
    ("cluster-ip", service("ClusterIP", ports=[{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                           selector={"tier": "fe", "app": "web"}),
     ["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP", "60m", "app=web,tier=fe"]),
    ("cluster-ip-external-ips", service("ClusterIP", external_ips=["198.18.0.5", "198.18.0.6"]),
     ["web", "ClusterIP", "10.96.0.10", "198.18.0.5,198.18.0.6", "80/TCP", "60m", "<none>"]),
    ("headless", service("ClusterIP", cluster_ips=["None"], ports=[]),
     ["web", "ClusterIP", "None", "<none>", "<none>", "60m", "<none>"]),
    ("node-port", service("NodePort", ports=[{"port": 80, "nodePort": 30080, "protocol": "TCP"}]),
     ["web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP", "60m", "<none>"]),
    ("lb-pending", service("LoadBalancer", ports=[{"port": 443, "nodePort": 31443, "protocol": "TCP"}]),
     ["web", "LoadBalancer", "10.96.0.10", "<pending>", "443:31443/TCP", "60m", "<none>"]),
    ("lb-ingress-sorted-unique", service("LoadBalancer", ingress=[{"ip": "198.18.1.9"}, {"ip": "198.18.1.2"},
                                                                  {"ip": "198.18.1.9"}]),
     ["web", "LoadBalancer", "10.96.0.10", "198.18.1.2,198.18.1.9", "80/TCP", "60m", "<none>"]),
    ("lb-hostname-not-clipped", service("LoadBalancer", ingress=[{"hostname": "a1b2c3.elb.us-east-1.amazonaws.com"}]),
     ["web", "LoadBalancer", "10.96.0.10", "a1b2c3.elb.us-east-1.amazonaws.com", "80/TCP", "60m", "<none>"]),
    ("lb-with-external-ips", service("LoadBalancer", ingress=[{"ip": "198.18.1.2"}], external_ips=["198.18.0.5"]),
     ["web", "LoadBalancer", "10.96.0.10", "198.18.1.2,198.18.0.5", "80/TCP", "60m", "<none>"]),
    ("external-name", service("ExternalName", cluster_ips=(), ports=[], external_name="db.example.com"),
     ["web", "ExternalName", "<none>", "db.example.com", "<none>", "60m", "<none>"]),
]


@pytest.mark.parametrize("obj,expected", [c[1:] for c in SERVICES], ids=[c[0] for c in SERVICES])
def test_service(obj, expected):
    assert row_cells("", "Service", obj, NOW) == expected


def node(*, ready="True", unschedulable=False, labels=None, addresses=None, info=None) -> dict:
    status = {"addresses": addresses or [], "nodeInfo": info or {"kubeletVersion": "v1.32.0"}}
    if ready is not None:
        status["conditions"] = [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": ready}]
    return {"metadata": metadata("node-1", 86400 * 3, labels=labels or {}),
            "spec": {"unschedulable": True} if unschedulable else {}, "status": status}


FULL_INFO = {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
             "kernelVersion": "6.1.0-18-amd64", "containerRuntimeVersion": "runc://1.1.12"}
NODES = [
    ("ready-control-plane", node(labels={"node-role.kubernetes.io/control-plane": "", "kubernetes.io/os": "linux"},
                                 addresses=[{"type": "Hostname", "address": "node-1"},
                                            {"type": "InternalIP", "address": "198.18.0.2"}],
                                 info=FULL_INFO),
     ["node-1", "Ready", "control-plane", "3d", "v1.32.0", "198.18.0.2", "<none>",
      "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "runc://1.1.12"]),
    ("cordoned", node(unschedulable=True),
     ["node-1", "Ready,SchedulingDisabled", "<none>", "3d", "v1.32.0", "<none>", "<none>", "<unknown>",
      "<unknown>", "<unknown>"]),
    ("not-ready-roles", node(ready="Unknown", labels={"kubernetes.io/role": "worker",
                                                      "node-role.kubernetes.io/infra": "",
                                                      "node-role.kubernetes.io/": "x"},
                             addresses=[{"type": "ExternalIP", "address": "198.19.0.1"}]),
     ["node-1", "NotReady", "infra,worker", "3d", "v1.32.0", "<none>", "198.19.0.1", "<unknown>", "<unknown>",
      "<unknown>"]),
    ("no-ready-condition", node(ready=None, unschedulable=True),
     ["node-1", "Unknown,SchedulingDisabled", "<none>", "3d", "v1.32.0", "<none>", "<none>", "<unknown>",
      "<unknown>", "<unknown>"]),
]


@pytest.mark.parametrize("obj,expected", [c[1:] for c in NODES], ids=[c[0] for c in NODES])
def test_node(obj, expected):
    assert row_cells("", "Node", obj, NOW) == expected


def endpoints(*subsets) -> dict:
    return {"metadata": metadata("web", 120), "subsets": list(subsets)}


def addrs(*ips):
    return [{"ip": ip} for ip in ips]


ENDPOINTS = [
    ("none", endpoints(), "<none>"),
    ("one", endpoints({"addresses": addrs("10.244.0.5"), "ports": [{"port": 8080}]}), "10.244.0.5:8080"),
    ("more", endpoints({"addresses": addrs("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"),
                        "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}),
     "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 5 more..."),
    ("two-subsets", endpoints({"addresses": addrs("10.0.0.1"), "ports": [{"port": 80}]},
                              {"addresses": addrs("10.0.0.2", "10.0.0.3"), "ports": [{"port": 81}]}),
     "10.0.0.1:80,10.0.0.2:81,10.0.0.3:81"),
    ("headless-no-ports", endpoints({"addresses": addrs("10.0.0.1", "10.0.0.2")}), "10.0.0.1,10.0.0.2"),
    ("ipv6", endpoints({"addresses": addrs("fd00::5"), "ports": [{"port": 80}]}), "[fd00::5]:80"),
    ("only-not-ready", endpoints({"notReadyAddresses": addrs("10.0.0.1"), "ports": [{"port": 80}]}), ""),
]


@pytest.mark.parametrize("obj,expected", [c[1:] for c in ENDPOINTS], ids=[c[0] for c in ENDPOINTS])
def test_endpoints(obj, expected):
    assert row_cells("", "Endpoints", obj, NOW) == ["web", expected, "2m"]


def test_namespace():
    ns = {"metadata": metadata("team-a", 4 * 3600 + 1800), "status": {"phase": "Terminating"}}
    assert row_cells("", "Namespace", ns, NOW) == ["team-a", "Terminating", "4h30m"]


def test_configmap_counts_data_and_binary_data():
    cm = {"metadata": metadata("cfg", 45), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert row_cells("", "ConfigMap", cm, NOW) == ["cfg", 3, "45s"]
    assert row_cells("", "ConfigMap", {"metadata": metadata("empty", 45)}, NOW) == ["empty", 0, "45s"]


def test_secret():
    s = {"metadata": metadata("tls", 86400 * 400), "type": "kubernetes.io/tls",
         "data": {"tls.crt": "", "tls.key": ""}}
    assert row_cells("", "Secret", s, NOW) == ["tls", "kubernetes.io/tls", 2, "400d"]


def test_serviceaccount():
    sa = {"metadata": metadata("default", 90), "secrets": [{"name": "default-token"}]}
    assert row_cells("", "ServiceAccount", sa, NOW) == ["default", 1, "90s"]
    assert row_cells("", "ServiceAccount", {"metadata": metadata("b", 90)}, NOW) == ["b", 0, "90s"]


def test_podtemplate():
    pt = {"metadata": metadata("tpl"), "template": {
        "metadata": {"labels": {"app": "web", "tier": "fe"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}, {"name": "log", "image": "busybox"}]}}}
    assert row_cells("", "PodTemplate", pt, NOW) == ["tpl", "web,log", "nginx:1.25,busybox", "app=web,tier=fe"]


def test_resourcequota():
    rq = {"metadata": metadata("quota", 600), "status": {
        "hard": {"pods": "10", "requests.cpu": "1", "limits.memory": "2Gi", "requests.memory": "1Gi"},
        "used": {"pods": "2", "requests.cpu": "500m", "limits.memory": "1024Mi"}}}
    assert row_cells("", "ResourceQuota", rq, NOW) == [
        "quota", "pods: 2/10, requests.cpu: 500m/1, requests.memory: 0/1Gi", "limits.memory: 1Gi/2Gi", "10m"]


def test_resourcequota_without_status():
    assert row_cells("", "ResourceQuota", {"metadata": metadata("q", 600)}, NOW) == ["q", "", "", "10m"]


def test_missing_creation_timestamp_is_unknown():
    assert row_cells("", "Namespace", {"metadata": {"name": "n"}}, NOW) == ["n", "", "<unknown>"]


def test_future_timestamp():
    assert row_cells("", "Namespace", {"metadata": {"name": "n", "creationTimestamp": ago(-30)}}, NOW)[2] == \
        "<invalid>"
