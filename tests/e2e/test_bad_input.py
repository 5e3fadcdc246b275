"""Bad input always gets a clear Status error; the server keeps serving and loses nothing."""

import json

import pytest


def post(server, path, body, ct="application/json", **kw):
    status, headers, raw = server.request("POST", path, body, headers={"Content-Type": ct}, **kw)
    return status, (json.loads(raw) if raw.startswith(b"{") else raw)


def assert_status(st, code, reason):
    assert isinstance(st, dict) and st.get("kind") == "Status", st
    assert st["code"] == code and st["reason"] == reason, st


def cm(name, ns="default", **extra):
    d = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"a": "1"}}
    d.update(extra)
    return d


@pytest.fixture
def base(ns):
    return f"/api/v1/namespaces/{ns}/configmaps"


def test_malformed_json_and_yaml(server, base):
    st, body = post(server, base, b'{"apiVersion": "v1", "kind": ')
    assert_status(body, 400, "BadRequest")
    st, body = post(server, base, b"kind: [unclosed", ct="application/yaml")
    assert_status(body, 400, "BadRequest")
    st, body = post(server, base, b"[1,2,3]")
    assert_status(body, 400, "BadRequest")


def test_wrong_api_version_kind_and_unknown_kind(server, ns, base):
    st, body = post(server, base, json.dumps(dict(cm("x", ns), apiVersion="apps/v1")))
    assert_status(body, 400, "BadRequest")
    assert "does not match the expected API version" in body["message"]
    st, body = post(server, base, json.dumps(dict(cm("x", ns), kind="Secret")))
    assert_status(body, 400, "BadRequest")
    status, _, raw = server.request("GET", f"/api/v1/namespaces/{ns}/widgets")
    assert status == 404 and json.loads(raw)["reason"] == "NotFound"
    status, _, raw = server.request("GET", "/apis/nope.example.com/v1/things")
    assert status == 404


def test_invalid_names_and_missing_fields(server, ns, base):
    st, body = post(server, base, json.dumps(cm("Bad_Name", ns)))
    assert_status(body, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    st, body = post(server, base, json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}))
    assert_status(body, 422, "Invalid")
    assert "name or generateName is required" in body["message"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nocontainers"}, "spec": {"containers": []}}
    st, body = post(server, f"/api/v1/namespaces/{ns}/pods", json.dumps(pod))
    assert_status(body, 422, "Invalid")
    assert any(c["field"] == "spec.containers" for c in body["details"]["causes"])


def test_wrong_field_types(server, ns):
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "t"},
           "spec": {"replicas": "two", "selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}},
                                 "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    st, body = post(server, f"/apis/apps/v1/namespaces/{ns}/deployments", json.dumps(dep))
    assert_status(body, 400, "BadRequest")
    assert "spec.replicas" in body["message"]


def test_namespace_mismatch(server, ns, base):
    st, body = post(server, base, json.dumps(cm("m", "other")))
    assert_status(body, 400, "BadRequest")
    assert "does not match the namespace" in body["message"]


def test_conflicts(server, ns, base):
    st, created = post(server, base, json.dumps(cm("c1", ns)))
    assert st == 201
    st, body = post(server, base, json.dumps(cm("c1", ns)))
    assert_status(body, 409, "AlreadyExists")
    assert body["message"] == 'configmaps "c1" already exists'
    stale = dict(created, data={"a": "2"})
    stale["metadata"] = dict(created["metadata"], resourceVersion=str(int(created["metadata"]["resourceVersion"]) - 1))
    status, _, raw = server.request("PUT", f"{base}/c1", stale)
    assert_status(json.loads(raw), 409, "Conflict")
    assert "the object has been modified" in json.loads(raw)["message"]


def test_create_with_resource_version(server, ns, base):
    """Storage refuses a create that carries a resourceVersion (500, reason unknown), as
    Kubernetes' does; a dry run does not reach storage and passes."""
    obj = cm("rv", ns)
    obj["metadata"]["resourceVersion"] = "42"
    st, body = post(server, base, json.dumps(obj))
    assert body["kind"] == "Status" and body["code"] == 500 and "reason" not in body, body
    assert body["message"] == "resourceVersion should not be set on objects to be created"
    st, _ = post(server, base + "?dryRun=All", json.dumps(obj))
    assert st == 201
    status, _, _ = server.request("GET", f"{base}/rv")
    assert status == 404


def test_missing_and_terminating_namespace(server, kubectl):
    st, body = post(server, "/api/v1/namespaces/does-not-exist/configmaps", json.dumps(cm("x", "does-not-exist")))
    assert_status(body, 404, "NotFound")
    assert body["message"] == 'namespaces "does-not-exist" not found'
    kubectl("create", "namespace", "term-ns")
    kubectl("create", "configmap", "holder", "-n", "term-ns", "--from-literal", "a=b")
    # Hold the namespace in Terminating with a finalizer on the namespace object itself.
    kubectl("patch", "namespace", "term-ns", "--type=merge", "-p", '{"metadata":{"finalizers":["test/hold"]}}')
    kubectl("delete", "namespace", "term-ns", "--wait=false")
    st, body = post(server, "/api/v1/namespaces/term-ns/configmaps", json.dumps(cm("y", "term-ns")))
    assert_status(body, 403, "Forbidden")
    assert "because it is being terminated" in body["message"]
    kubectl("patch", "namespace", "term-ns", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')


def test_oversized_body(server, base):
    big = json.dumps(cm("big", data={"a": "x" * (4 * 1024 * 1024)}))
    st, body = post(server, base, big)
    assert st == 413
    assert_status(body, 413, "RequestEntityTooLarge")


def test_unknown_fields_under_strict_validation(server, ns, base):
    doc = dict(cm("strict", ns), bogus=1)
    st, body = post(server, base + "?fieldValidation=Strict", json.dumps(doc))
    assert_status(body, 400, "BadRequest")
    assert 'unknown field "bogus"' in body["message"]
    status, headers, raw = server.request("POST", base + "?fieldValidation=Warn", dict(cm("warned", ns), bogus=1))
    assert status == 201
    assert 'unknown field \\"bogus\\"' in headers.get("Warning", "") or 'unknown field "bogus"' in headers.get("Warning", "")


def test_server_still_serves_after_bad_input(server, kubectl):
    assert kubectl("get", "namespaces").returncode == 0
