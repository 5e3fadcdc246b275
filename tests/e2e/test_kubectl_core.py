"""The API server core driven by the real kubectl: reads, writes, watch, describe, wait, discovery."""

import json
import subprocess
import threading
import time

import pytest
import yaml

from kubelite.testing import wait_until


def manifest(kind, name, ns, **body):
    api = {"Deployment": "apps/v1", "ReplicaSet": "apps/v1"}.get(kind, "v1")
    d = {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}}
    d.update(body)
    return d


def pod(name, ns, labels=None, image="busybox"):
    return manifest("Pod", name, ns, metadata={"name": name, "namespace": ns, "labels": labels or {}},
                    spec={"containers": [{"name": "c", "image": image, "command": ["sleep", "3600"]}]})


def apply_doc(kubectl, doc, verb="create"):
    return kubectl(verb, "-f", "-", input=json.dumps(doc))


def test_version_is_1_32_and_anonymous(server, kubectl):
    out = json.loads(kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["major"] == "1" and out["serverVersion"]["minor"] == "32"
    status, _, body = server.request("GET", "/version", cert=False)
    assert status == 200 and json.loads(body)["gitVersion"].startswith("v1.32")
    for path in ("/healthz", "/livez", "/readyz"):
        status, _, body = server.request("GET", path, cert=False)
        assert status == 200 and body == b"ok"


def test_anonymous_and_bad_credentials_are_unauthorized(server):
    for path in ("/api", "/api/v1/namespaces", "/apis/apps/v1/deployments"):
        status, _, body = server.request("GET", path, cert=False)
        assert status == 401, path
        st = json.loads(body)
        assert st["kind"] == "Status" and st["reason"] == "Unauthorized" and st["code"] == 401
    status, _, _ = server.request("GET", "/api/v1/namespaces", token="not-a-token")
    assert status == 401
    status, _, body = server.request("GET", "/api/v1/namespaces", token=server.admin_token)
    assert status == 200 and json.loads(body)["kind"] == "NamespaceList"


def test_bootstrap_namespaces_and_kubernetes_service(kubectl):
    out = kubectl("get", "namespaces").stdout
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert ns in out
    assert "Active" in out
    svc = json.loads(kubectl("get", "service", "kubernetes", "-n", "default", "-o", "json").stdout)
    assert svc["spec"]["ports"][0]["port"] == 443
    assert svc["metadata"]["labels"]["component"] == "apiserver"


def test_get_output_formats(kubectl, ns):
    apply_doc(kubectl, pod("p1", ns, {"app": "web", "tier": "fe"}))
    apply_doc(kubectl, pod("p2", ns, {"app": "db"}))
    table = kubectl("get", "pods", "-n", ns).stdout
    assert table.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert "p1" in table and "Pending" in table and "0/1" in table
    wide = kubectl("get", "pods", "-n", ns, "-o", "wide").stdout
    assert "NOMINATED NODE" in wide.splitlines()[0]
    y = yaml.safe_load(kubectl("get", "pod", "p1", "-n", ns, "-o", "yaml").stdout)
    assert y["metadata"]["name"] == "p1" and y["metadata"]["uid"] and y["metadata"]["resourceVersion"]
    assert y["metadata"]["creationTimestamp"].endswith("Z")
    j = json.loads(kubectl("get", "pods", "-n", ns, "-o", "json").stdout)
    assert sorted(i["metadata"]["name"] for i in j["items"]) == ["p1", "p2"]
    assert kubectl("get", "pod", "p1", "-n", ns, "-o", "jsonpath={.metadata.labels.app}").stdout == "web"
    assert kubectl("get", "pods", "-n", ns, "-o", "name").stdout.split() == ["pod/p1", "pod/p2"]
    assert kubectl("get", "pods", "-n", ns, "-l", "app=web", "-o", "name").stdout.split() == ["pod/p1"]
    assert kubectl("get", "pods", "-n", ns, "-l", "app in (db,cache)", "-o", "name").stdout.split() == ["pod/p2"]
    assert kubectl("get", "pods", "-n", ns, "-l", "!tier", "-o", "name").stdout.split() == ["pod/p2"]
    assert kubectl("get", "pods", "-n", ns, "--field-selector", "metadata.name=p2", "-o",
                   "name").stdout.split() == ["pod/p2"]
    labels = kubectl("get", "pods", "-n", ns, "--show-labels").stdout
    assert "app=web,tier=fe" in labels
    every = kubectl("get", "pods", "-A").stdout
    assert every.splitlines()[0].split()[0] == "NAMESPACE" and ns in every
    r = kubectl("get", "pods", "-n", ns, "--field-selector", "spec.bogus=1", check=False)
    assert r.returncode != 0 and "field label not supported" in r.stderr


def test_chunked_list_follows_continue(kubectl, ns):
    for i in range(7):
        kubectl("create", "configmap", f"cm{i}", "-n", ns, "--from-literal", f"k={i}")
    out = kubectl("get", "configmaps", "-n", ns, "--chunk-size=2", "-o", "name").stdout.split()
    assert [o for o in out if o.startswith("configmap/cm")] == [f"configmap/cm{i}" for i in range(7)]


def test_replace_label_annotate(kubectl, ns):
    apply_doc(kubectl, pod("p1", ns, {"app": "web"}))
    kubectl("label", "pod", "p1", "-n", ns, "tier=fe")
    r = kubectl("label", "pod", "p1", "-n", ns, "tier=be", check=False)
    assert r.returncode != 0 and "--overwrite is false" in r.stderr
    kubectl("label", "pod", "p1", "-n", ns, "tier=be", "--overwrite")
    kubectl("annotate", "pod", "p1", "-n", ns, "note=hello")
    got = json.loads(kubectl("get", "pod", "p1", "-n", ns, "-o", "json").stdout)
    assert got["metadata"]["labels"] == {"app": "web", "tier": "be"}
    assert got["metadata"]["annotations"]["note"] == "hello"
    kubectl("label", "pod", "p1", "-n", ns, "tier-")
    got = json.loads(kubectl("get", "pod", "p1", "-n", ns, "-o", "json").stdout)
    assert "tier" not in got["metadata"]["labels"]
    cm = manifest("ConfigMap", "cfg", ns, data={"a": "1"})
    apply_doc(kubectl, cm)
    cm["data"] = {"a": "2", "b": "3"}
    apply_doc(kubectl, cm, "replace")
    got = json.loads(kubectl("get", "configmap", "cfg", "-n", ns, "-o", "json").stdout)
    assert got["data"] == {"a": "2", "b": "3"}
    stale = dict(got, data={"a": "stale"})
    stale["metadata"] = dict(got["metadata"], resourceVersion="1")
    r = kubectl("replace", "-f", "-", input=json.dumps(stale), check=False)
    assert r.returncode != 0 and "the object has been modified" in r.stderr


def test_delete_variants_wait_until_gone(kubectl, ns):
    for i in range(3):
        apply_doc(kubectl, pod(f"d{i}", ns, {"grp": "a" if i < 2 else "b"}))
    kubectl("delete", "pod", "d0", "-n", ns)
    kubectl("delete", "pods", "-n", ns, "-l", "grp=a")
    assert kubectl("get", "pods", "-n", ns, "-o", "name").stdout.split() == ["pod/d2"]
    kubectl("delete", "pods", "--all", "-n", ns)
    assert kubectl("get", "pods", "-n", ns, "-o", "name").stdout.strip() == ""
    doc = manifest("ConfigMap", "byfile", ns, data={"x": "y"})
    apply_doc(kubectl, doc)
    kubectl("delete", "-f", "-", input=json.dumps(doc))
    r = kubectl("get", "configmap", "byfile", "-n", ns, check=False)
    assert r.returncode == 1 and 'configmaps "byfile" not found' in r.stderr
    assert kubectl("delete", "configmap", "byfile", "-n", ns, "--ignore-not-found").returncode == 0


def test_get_watch_sees_later_changes(server, ns):
    env = server.env()
    proc = subprocess.Popen(["kubectl", "get", "configmaps", "-n", ns, "-w", "--output-watch-events"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    t = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    t.start()
    try:
        time.sleep(1.0)
        server.kubectl("create", "configmap", "watched", "-n", ns, "--from-literal", "a=1")
        server.kubectl("label", "configmap", "watched", "-n", ns, "x=y")
        server.kubectl("delete", "configmap", "watched", "-n", ns)
        wait_until(lambda: any("DELETED" in ln and "watched" in ln for ln in lines), timeout=20)
        events = [ln.split()[0] for ln in lines if "watched" in ln]
        assert events[:3] == ["ADDED", "MODIFIED", "DELETED"], lines
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("kind,doc", [
    ("pod", lambda ns: pod("dp", ns)),
    ("configmap", lambda ns: manifest("ConfigMap", "dp", ns, data={"k": "v"})),
    ("service", lambda ns: manifest("Service", "dp", ns, spec={"selector": {"app": "x"},
                                                                  "ports": [{"port": 80}]})),
    ("namespace", None),
])
def test_describe(kubectl, ns, kind, doc):
    if doc is not None:
        apply_doc(kubectl, doc(ns))
        out = kubectl("describe", kind, "dp", "-n", ns).stdout
        assert "Name:" in out and "dp" in out
    else:
        out = kubectl("describe", "namespace", ns).stdout
        assert f"Name:         {ns}" in out and "Active" in out


def test_api_resources_and_versions(kubectl):
    res = kubectl("api-resources").stdout
    for line in ("deployments", "deploy", "apps/v1", "pods", "po", "services", "svc"):
        assert line in res
    vers = kubectl("api-versions").stdout.split()
    for gv in ("v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "discovery.k8s.io/v1"):
        assert gv in vers


def test_auth_whoami_and_can_i(kubectl):
    out = kubectl("auth", "whoami", "-o", "json").stdout
    info = json.loads(out)["status"]["userInfo"]
    assert info["username"] == "system:admin" and "system:masters" in info["groups"]
    assert kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"


def test_wait_for_condition_and_delete(server, kubectl, ns):
    apply_doc(kubectl, pod("w1", ns))
    r = kubectl("wait", "--for=condition=Ready", "pod/w1", "-n", ns, "--timeout=1s", check=False)
    assert r.returncode == 1 and "timed out" in r.stderr
    patch = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    threading.Timer(1.0, lambda: server.kubectl("patch", "pod", "w1", "-n", ns, "--subresource=status",
                                                "--type=merge", "-p", json.dumps(patch))).start()
    out = kubectl("wait", "--for=condition=Ready", "pod/w1", "-n", ns, "--timeout=20s").stdout
    assert "condition met" in out
    threading.Timer(1.0, lambda: server.kubectl("delete", "pod", "w1", "-n", ns, "--wait=false")).start()
    out = kubectl("wait", "--for=delete", "pod/w1", "-n", ns, "--timeout=20s").stdout
    assert out.strip() == "pod/w1 condition met"
    assert kubectl("get", "pod", "w1", "-n", ns, check=False).returncode == 1
