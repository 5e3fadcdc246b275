"""Who may do what: RBAC roles and bindings, escalation prevention, the Node authorizer,
Pod Security admission, service account tokens in pods, and the audit log."""

import json

import pytest


@pytest.fixture
def alice(server):
    return server.user_kubeconfig("alice", ["devs"])


def bind(kubectl, ns, role, user, kind="clusterrole", name=None):
    kubectl("create", "rolebinding", name or f"{user}-{role}", f"--{kind}={role}", f"--user={user}", "-n", ns)


def test_view_can_list_but_not_delete(server, kubectl, ns, alice):
    kubectl("create", "configmap", "c1", "-n", ns, "--from-literal=a=b")
    r = server.kubectl_as(alice, "get", "configmaps", "-n", ns, check=False)
    assert r.returncode == 1 and "Forbidden" in r.stderr
    bind(kubectl, ns, "view", "alice")
    out = server.kubectl_as(alice, "get", "configmaps", "-n", ns).stdout
    assert "c1" in out
    r = server.kubectl_as(alice, "delete", "configmap", "c1", "-n", ns, check=False)
    assert r.returncode == 1
    assert (f'configmaps "c1" is forbidden: User "alice" cannot delete resource "configmaps" in API group "" in '
            f'the namespace "{ns}"') in r.stderr
    r = server.kubectl_as(alice, "get", "secrets", "-n", ns, check=False)
    assert r.returncode == 1  # view excludes secrets


def test_edit_cannot_read_rbac_and_bindings_are_namespaced(server, kubectl, ns, alice):
    bind(kubectl, ns, "edit", "alice")
    assert server.kubectl_as(alice, "create", "configmap", "x", "-n", ns).returncode == 0
    r = server.kubectl_as(alice, "get", "rolebindings", "-n", ns, check=False)
    assert r.returncode == 1 and "forbidden" in r.stderr
    other = ns + "-other"
    kubectl("create", "namespace", other)
    try:
        r = server.kubectl_as(alice, "get", "configmaps", "-n", other, check=False)
        assert r.returncode == 1 and "forbidden" in r.stderr
    finally:
        kubectl("delete", "namespace", other, "--wait=false")


def test_cannot_grant_what_you_do_not_have(server, kubectl, ns, alice):
    bind(kubectl, ns, "admin", "alice")  # admin may manage RoleBindings in the namespace
    r = server.kubectl_as(alice, "create", "rolebinding", "sneaky", "--clusterrole=cluster-admin",
                          "--user=alice", "-n", ns, check=False)
    assert r.returncode == 1 and "attempting to grant RBAC permissions not currently held" in r.stderr
    ok = server.kubectl_as(alice, "create", "rolebinding", "fine", "--clusterrole=view", "--user=bob", "-n", ns)
    assert ok.returncode == 0
    r = server.kubectl_as(alice, "create", "role", "big", "--verb=*", "--resource=nodes", "-n", ns, check=False)
    assert r.returncode == 1 and "not currently held" in r.stderr


def test_impersonation_requires_permission(server, kubectl, ns, alice):
    r = server.kubectl_as(alice, "get", "pods", "-n", ns, "--as=bob", "-v=6", check=False)
    assert r.returncode == 1 and "Forbidden" in r.stderr and "403" in r.stderr
    out = kubectl("auth", "can-i", "get", "pods", "-n", ns, "--as=bob", check=False).stdout.strip()
    assert out == "no"


def test_node_credentials_reach_only_their_pods_secrets(server, kubectl, ns):
    kubectl("create", "secret", "generic", "mine", "-n", ns, "--from-literal=a=1")
    kubectl("create", "secret", "generic", "theirs", "-n", ns, "--from-literal=a=2")
    for pod, node, secret in (("p-mine", "node-a", "mine"), ("p-theirs", "node-b", "theirs")):
        doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": ns},
               "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox",
                                                          "env": [{"name": "S", "valueFrom": {"secretKeyRef": {
                                                              "name": secret, "key": "a"}}}]}]}}
        kubectl("create", "-f", "-", input=json.dumps(doc))
    node_a = server.user_kubeconfig("system:node:node-a", ["system:nodes"])
    assert server.kubectl_as(node_a, "get", "secret", "mine", "-n", ns).returncode == 0
    r = server.kubectl_as(node_a, "get", "secret", "theirs", "-n", ns, check=False)
    assert r.returncode == 1 and "forbidden" in r.stderr
    r = server.kubectl_as(node_a, "get", "secrets", "-n", ns, check=False)
    assert r.returncode == 1
    r = server.kubectl_as(node_a, "label", "node", "node-b", "x=y", check=False)
    assert r.returncode == 1


def test_restricted_namespace_refuses_privileged_pod(server, kubectl, ns):
    kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "priv", "namespace": ns},
           "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]}}
    r = kubectl("create", "-f", "-", input=json.dumps(doc), check=False)
    assert r.returncode == 1
    assert 'violates PodSecurity "restricted:latest"' in r.stderr
    assert 'privileged (container "c" must not set securityContext.privileged=true)' in r.stderr
    assert "allowPrivilegeEscalation != false" in r.stderr and "runAsNonRoot != true" in r.stderr
    good = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ok", "namespace": ns},
            "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 1000,
                                         "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [{"name": "c", "image": "busybox", "securityContext": {
                         "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}
    assert kubectl("create", "-f", "-", input=json.dumps(good)).returncode == 0


def test_service_account_token_limited_to_its_role_and_revoked_with_pod(server, kubectl, ns):
    from kubernetes import client

    kubectl("create", "serviceaccount", "reader", "-n", ns)
    kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", ns)
    kubectl("create", "rolebinding", "reader-binding", "--role=pod-reader", f"--serviceaccount={ns}:reader", "-n", ns)
    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "holder", "namespace": ns},
           "spec": {"serviceAccountName": "reader", "containers": [{"name": "c", "image": "busybox"}]}}
    kubectl("create", "-f", "-", input=json.dumps(doc))
    uid = json.loads(kubectl("get", "pod", "holder", "-n", ns, "-o", "json").stdout)["metadata"]["uid"]
    token = kubectl("create", "token", "reader", "-n", ns, "--bound-object-kind=Pod", "--bound-object-name=holder",
                    f"--bound-object-uid={uid}").stdout.strip()
    cfg = client.Configuration()
    cfg.host = server.url
    cfg.ssl_ca_cert = str(server.data_dir / "tls" / "ca.crt")
    cfg.api_key = {"authorization": f"Bearer {token}"}
    api = client.CoreV1Api(client.ApiClient(cfg))
    names = [p.metadata.name for p in api.list_namespaced_pod(ns).items]
    assert "holder" in names
    with pytest.raises(client.exceptions.ApiException) as e:
        api.list_namespaced_secret(ns)
    assert e.value.status == 403
    with pytest.raises(client.exceptions.ApiException) as e:
        api.delete_namespaced_pod("holder", ns)
    assert e.value.status == 403
    kubectl("delete", "pod", "holder", "-n", ns, "--grace-period=0", "--force")
    with pytest.raises(client.exceptions.ApiException) as e:
        api.list_namespaced_pod(ns)
    assert e.value.status == 401


def test_audit_log_records_refusals(server, ns, alice):
    server.kubectl_as(alice, "delete", "configmap", "nothing-here", "-n", ns, check=False)
    server.request("GET", f"/api/v1/namespaces/{ns}/pods", cert=False)
    from kubelite.testing import wait_until

    def events():
        path = server.data_dir / "audit.log"
        return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []

    def found():
        evs = events()
        forbidden = [e for e in evs if e["user"]["username"] == "alice" and e["responseStatus"]["code"] == 403
                     and e.get("objectRef", {}).get("namespace") == ns]
        unauth = [e for e in evs if e["responseStatus"]["code"] == 401 and ns in e["requestURI"]]
        return forbidden and unauth
    wait_until(found, timeout=10)
