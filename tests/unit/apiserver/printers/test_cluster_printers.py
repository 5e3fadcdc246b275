"""Printers for networking, discovery, policy, rbac, scheduling, coordination, certificates; Status; default."""

from __future__ import annotations

import pytest
from printer_fixtures import NOW, metadata

from kubelite.apiserver.printers import column_definitions, has_printer, row_cells

NET = "networking.k8s.io"


def ingress(*, class_name="nginx", hosts=("web.example.com",), tls=False, lb=None) -> dict:
    spec = {"rules": [{"host": h} if h else {"http": {}} for h in hosts]}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    if tls:
        spec["tls"] = [{"hosts": ["web.example.com"], "secretName": "tls"}]
    return {"metadata": metadata("web", 600), "spec": spec, "status": {"loadBalancer": {"ingress": lb or []}}}


INGRESSES = [
    ("simple", ingress(lb=[{"ip": "198.18.2.1"}]), ["nginx", "web.example.com", "198.18.2.1", "80"]),
    ("tls-no-address", ingress(tls=True), ["nginx", "web.example.com", "", "80, 443"]),
    ("no-class-no-host", ingress(class_name=None, hosts=[None]), ["<none>", "*", "", "80"]),
    ("no-rules", ingress(hosts=[]), ["nginx", "*", "", "80"]),
    ("more-hosts", ingress(hosts=["a", "b", None, "c", "d", None]), ["nginx", "a,b,c + 3 more...", "", "80"]),
    ("three-hosts-exactly", ingress(hosts=["a", "b", "c"]), ["nginx", "a,b,c", "", "80"]),
    ("long-hostname-kept", ingress(lb=[{"hostname": "k8s-default-web-0123456789.elb.amazonaws.com"},
                                       {"ip": "198.18.2.1"}]),
     ["nginx", "web.example.com", "198.18.2.1,k8s-default-web-0123456789.elb.amazonaws.com", "80"]),
]


@pytest.mark.parametrize("obj,expected", [c[1:] for c in INGRESSES], ids=[c[0] for c in INGRESSES])
def test_ingress(obj, expected):
    assert row_cells(NET, "Ingress", obj, NOW) == ["web", *expected, "10m"]


@pytest.mark.parametrize("params,expected", [
    (None, "<none>"),
    ({"kind": "IngressParameters", "apiGroup": "k8s.example.com", "name": "external-lb"},
     "IngressParameters.k8s.example.com/external-lb"),
    ({"kind": "ConfigMap", "name": "cfg"}, "ConfigMap/cfg"),
])
def test_ingressclass(params, expected):
    spec = {"controller": "k8s.io/ingress-nginx"}
    if params:
        spec["parameters"] = params
    ic = {"metadata": metadata("nginx", 600), "spec": spec}
    assert row_cells(NET, "IngressClass", ic, NOW) == ["nginx", "k8s.io/ingress-nginx", expected, "10m"]


@pytest.mark.parametrize("selector,expected", [
    ({}, "<none>"),
    ({"matchLabels": {"app": "db"}}, "app=db"),
    ({"matchExpressions": [{"key": "role", "operator": "NotIn", "values": ["web", "api"]}]}, "role notin (api,web)"),
])
def test_networkpolicy(selector, expected):
    np = {"metadata": metadata("deny", 60), "spec": {"podSelector": selector}}
    assert row_cells(NET, "NetworkPolicy", np, NOW) == ["deny", expected, "60s"]


@pytest.mark.parametrize("ports,endpoints,expected", [
    ([{"name": "http", "port": 80, "protocol": "TCP"}], [{"addresses": ["10.244.0.5"]}], ["80", "10.244.0.5"]),
    ([{"port": 80}, {"name": "metrics"}, {}, {"port": 9000}],
     [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}, {"addresses": ["10.0.0.4"]}],
     ["80,metrics,* + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."]),
    ([], [], ["<unset>", "<unset>"]),
])
def test_endpointslice(ports, endpoints, expected):
    es = {"metadata": metadata("web-abc12", 60), "addressType": "IPv4", "ports": ports, "endpoints": endpoints}
    assert row_cells("discovery.k8s.io", "EndpointSlice", es, NOW) == ["web-abc12", "IPv4", *expected, "60s"]


@pytest.mark.parametrize("spec,status,expected", [
    ({"minAvailable": 2}, {"disruptionsAllowed": 1}, ["2", "N/A", 1]),
    ({"maxUnavailable": "50%"}, {}, ["N/A", "50%", 0]),
])
def test_poddisruptionbudget(spec, status, expected):
    pdb = {"metadata": metadata("web", 60), "spec": spec, "status": status}
    assert row_cells("policy", "PodDisruptionBudget", pdb, NOW) == ["web", *expected, "60s"]


@pytest.mark.parametrize("kind", ["RoleBinding", "ClusterRoleBinding"])
def test_bindings(kind):
    rb = {"metadata": metadata("admins", 600), "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                          "kind": "ClusterRole", "name": "admin"},
          "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "ops"},
                       {"kind": "User", "name": "bob"},
                       {"kind": "ServiceAccount", "name": "ci", "namespace": "build"}]}
    assert row_cells("rbac.authorization.k8s.io", kind, rb, NOW) == [
        "admins", "ClusterRole/admin", "10m", "alice, bob", "ops", "build/ci"]
    assert [c["priority"] for c in column_definitions("rbac.authorization.k8s.io", kind)] == [0, 0, 0, 1, 1, 1]


def test_binding_without_subjects():
    rb = {"metadata": metadata("empty", 600), "roleRef": {"kind": "Role", "name": "r"}}
    assert row_cells("rbac.authorization.k8s.io", "RoleBinding", rb, NOW) == ["empty", "Role/r", "10m", "", "", ""]


@pytest.mark.parametrize("kind", ["Role", "ClusterRole"])
def test_roles_use_the_default_table(kind):
    assert not has_printer("rbac.authorization.k8s.io", kind)
    role = {"metadata": {"name": "view", "creationTimestamp": "2025-05-30T08:15:00Z"}}
    assert row_cells("rbac.authorization.k8s.io", kind, role, NOW) == ["view", "2025-05-30T08:15:00Z"]


def test_priorityclass():
    pc = {"metadata": metadata("system-node-critical", 86400 * 30), "value": 2000001000, "globalDefault": False,
          "preemptionPolicy": "PreemptLowerPriority"}
    assert row_cells("scheduling.k8s.io", "PriorityClass", pc, NOW) == [
        "system-node-critical", 2000001000, False, "30d", "PreemptLowerPriority"]
    assert [c["priority"] for c in column_definitions("scheduling.k8s.io", "PriorityClass")] == [0, 0, 0, 0, 0]


def test_lease():
    lease = {"metadata": metadata("node-1", 600), "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}
    assert row_cells("coordination.k8s.io", "Lease", lease, NOW) == ["node-1", "node-1", "10m"]
    assert row_cells("coordination.k8s.io", "Lease", {"metadata": metadata("l", 5), "spec": {}}, NOW) == \
        ["l", "", "5s"]


@pytest.mark.parametrize("conditions,certificate,expected", [
    ([], None, "Pending"),
    ([{"type": "Approved", "status": "True"}], "LS0t", "Approved,Issued"),
    ([{"type": "Approved", "status": "True"}, {"type": "Failed", "status": "True"}], None, "Approved,Failed"),
    ([{"type": "Denied", "status": "True"}, {"type": "Approved", "status": "True"}], None, "Denied"),
])
def test_certificatesigningrequest(conditions, certificate, expected):
    status = {"conditions": conditions}
    if certificate:
        status["certificate"] = certificate
    csr = {"metadata": metadata("csr-abc", 120), "spec": {
        "signerName": "kubernetes.io/kube-apiserver-client", "username": "system:admin", "expirationSeconds": 86400},
        "status": status}
    assert row_cells("certificates.k8s.io", "CertificateSigningRequest", csr, NOW) == [
        "csr-abc", "2m", "kubernetes.io/kube-apiserver-client", "system:admin", "24h", expected]


def test_certificatesigningrequest_without_optional_fields():
    csr = {"metadata": metadata("c", 120), "spec": {"username": "u"}}
    assert row_cells("certificates.k8s.io", "CertificateSigningRequest", csr, NOW) == [
        "c", "2m", "<none>", "u", "<none>", "Pending"]


def test_status_printer():
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired",
              "message": "too old resource version: 1 (5)", "code": 410}
    assert [c["name"] for c in column_definitions("", "Status")] == ["Status", "Reason", "Message"]
    assert row_cells("", "Status", status, NOW) == ["Failure", "Expired", "too old resource version: 1 (5)"]


def test_default_table():
    cols = column_definitions("", "LimitRange")
    assert [(c["name"], c["type"], c["format"], c["priority"]) for c in cols] == [
        ("Name", "string", "name", 0), ("Created At", "date", "", 0)]
    lr = {"metadata": {"name": "limits", "creationTimestamp": "2025-05-30T08:15:00+02:00"}}
    assert row_cells("", "LimitRange", lr, NOW) == ["limits", "2025-05-30T06:15:00Z"]
    assert row_cells("example.com", "Widget", {"metadata": {"name": "w"}}, NOW) == ["w", "0001-01-01T00:00:00Z"]
