"""`kind: List` files (what `kubectl get -o yaml` prints for several objects) through `kubectl apply`,
`create -f` and `replace -f` with the default `--validate=strict`: kubectl validates each item itself
against `/openapi/v2` (protobuf), which kubelite serves next to `/openapi/v3`."""

import copy
import json
import re

import pytest
import yaml

from kubelite.api import openapi_v2

V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def requests(stderr):
    """The `METHOD path status` lines of a `kubectl -v=6` run, without query strings."""
    return [f"{m} {p} {s}" for m, p, s in re.findall(r"round_trippers\.go:\d+\] (\w+) https://[^/]+(/[^? ]*)\S* (\d+)",
                                                     stderr)]


def fresh(tmp_path, name):
    """A fresh kubectl cache, so every run shows its OpenAPI requests."""
    d = tmp_path / name
    d.mkdir()
    return {"KUBECACHEDIR": str(d)}


def export(kubectl, ns, *names):
    out = yaml.safe_load(kubectl("get", *names, "-n", ns, "-o", "yaml").stdout)
    assert out["kind"] == "List" and out["apiVersion"] == "v1"
    return out


def for_create(lst):
    """As for any create: the API server refuses objects that carry a resourceVersion."""
    lst = copy.deepcopy(lst)
    for item in lst["items"]:
        for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
            item["metadata"].pop(k, None)
    return lst


def data(kubectl, ns, name):
    return json.loads(kubectl("get", "configmap", name, "-n", ns, "-o", "json").stdout).get("data")


def test_exported_list_through_apply_replace_create(kubectl, ns, tmp_path):
    kubectl("create", "configmap", "a", "-n", ns, "--from-literal=x=1")
    kubectl("create", "configmap", "b", "-n", ns, "--from-literal=z=2")

    lst = export(kubectl, ns, "configmap/a", "configmap/b")
    r = kubectl("apply", "-f", "-", "-v=6", input=yaml.safe_dump(lst), env=fresh(tmp_path, "apply"))
    assert "configmap/a configured" in r.stdout and "configmap/b configured" in r.stdout
    assert "GET /openapi/v2 200" in requests(r.stderr)

    lst = export(kubectl, ns, "configmap/a", "configmap/b")
    lst["items"][0]["data"] = {"x": "10"}
    lst["items"][1]["data"] = {"z": "20"}
    r = kubectl("replace", "-f", "-", input=yaml.safe_dump(lst), env=fresh(tmp_path, "replace"))
    assert "configmap/a replaced" in r.stdout and "configmap/b replaced" in r.stdout
    assert data(kubectl, ns, "a") == {"x": "10"} and data(kubectl, ns, "b") == {"z": "20"}

    kubectl("delete", "configmap", "a", "b", "-n", ns)
    r = kubectl("create", "-f", "-", input=yaml.safe_dump(for_create(lst)), env=fresh(tmp_path, "create"))
    assert "configmap/a created" in r.stdout and "configmap/b created" in r.stdout

    kubectl("delete", "configmap", "a", "b", "-n", ns)
    r = kubectl("apply", "-f", "-", input=yaml.safe_dump(for_create(lst)), env=fresh(tmp_path, "apply-create"))
    assert "configmap/a created" in r.stdout and "configmap/b created" in r.stdout
    assert data(kubectl, ns, "b") == {"z": "20"}


def test_unknown_fields_and_wrong_types_in_items_are_reported(kubectl, ns, tmp_path):
    kubectl("create", "configmap", "c", "-n", ns, "--from-literal=x=1")
    kubectl("create", "deployment", "d", "-n", ns, "--image=busybox")
    lst = export(kubectl, ns, "configmap/c", "deployment/d")
    lst["items"][0]["bogus"] = 1
    lst["items"][1]["spec"]["template"]["spec"]["containers"][0]["bogus"] = 1
    lst["items"][1]["spec"]["replicas"] = "two"
    for verb in ("apply", "create", "replace"):
        r = kubectl(verb, "-f", "-", input=yaml.safe_dump(lst), check=False, env=fresh(tmp_path, verb))
        assert r.returncode != 0, r.stdout
        assert "error validating data" in r.stderr
        assert 'unknown field "bogus" in io.k8s.api.core.v1.ConfigMap' in r.stderr
        assert 'unknown field "bogus" in io.k8s.api.core.v1.Container' in r.stderr
        assert 'got "string", expected "integer"' in r.stderr
        assert "turn validation off with --validate=false" in r.stderr
    assert data(kubectl, ns, "c") == {"x": "1"}


WORKLOADS = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ss}
spec:
  serviceName: web
  selector: {matchLabels: {app: ss}}
  template:
    metadata: {labels: {app: ss}}
    spec:
      containers:
      - name: c
        image: busybox
        resources: {limits: {cpu: 100m, memory: 64Mi}}
        readinessProbe: {httpGet: {port: 8080, path: /}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec:
  selector: {matchLabels: {app: ds}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 25%}}
  template:
    metadata: {labels: {app: ds}}
    spec:
      tolerations: [{operator: Exists}]
      containers:
      - name: c
        image: busybox
        env: [{name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]
      volumes: [{name: h, hostPath: {path: /tmp}}, {name: cm, configMap: {name: x, items: [{key: a, path: b}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: 80, protocol: TCP}]}]
---
apiVersion: v1
kind: LimitRange
metadata: {name: lr}
spec:
  limits: [{type: Container, default: {cpu: 500m}, defaultRequest: {cpu: 100m}}]
"""


def test_exported_objects_of_many_kinds_pass_client_side_validation(kubectl, ns):
    """No false alarms: what the server returns validates against what it publishes."""
    n = ["-n", ns]
    kubectl("create", "deployment", "web", "--image=nginx", "--port=80", *n)
    kubectl("expose", "deployment", "web", "--port=80", *n)
    kubectl("create", "serviceaccount", "bot", *n)
    kubectl("create", "role", "r", "--verb=get", "--resource=pods", *n)
    kubectl("create", "rolebinding", "rb", "--role=r", f"--serviceaccount={ns}:bot", *n)
    kubectl("create", "secret", "generic", "s", "--from-literal=a=b", *n)
    kubectl("create", "job", "j", "--image=busybox", *n, "--", "true")
    kubectl("create", "cronjob", "cj", "--image=busybox", "--schedule=*/5 * * * *", *n, "--", "true")
    kubectl("create", "ingress", "ing", "--rule=foo.example/bar=web:80", *n)
    kubectl("create", "poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=1", *n)
    kubectl("create", "quota", "q", "--hard=pods=10", *n)
    kubectl("run", "p", "--image=busybox", "--restart=Never", "--env=A=1", "--port=8080", *n, "--", "sleep", "1")
    kubectl("apply", "-f", "-", *n, input=WORKLOADS)
    kinds = "deploy,rs,svc,sa,role,rolebinding,secret,job,cronjob,ingress,pdb,quota,sts,ds,netpol,limits,pod,cm,ep"
    exported = kubectl("get", kinds, "-o", "yaml", *n).stdout
    assert len(yaml.safe_load(exported)["items"]) >= 20
    r = kubectl("apply", "--dry-run=server", "-f", "-", input=exported, check=False)
    assert r.returncode == 0, r.stderr


def test_exported_hpa_passes_client_side_validation(kubectl, ns):
    kubectl("create", "deployment", "web", "--image=nginx", "-n", ns)
    kubectl("autoscale", "deployment", "web", "--min=1", "--max=3", "--cpu-percent=80", "-n", ns)
    exported = kubectl("get", "hpa", "-o", "yaml", "-n", ns).stdout
    r = kubectl("apply", "--dry-run=server", "-f", "-", input=exported, check=False)
    assert r.returncode == 0, r.stderr


def test_single_objects_and_explain_keep_using_v3(kubectl, ns, tmp_path):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "namespace": ns}, "data": {"k": "v"}}
    for i, verb in enumerate(("create", "replace", "apply")):
        cm["data"]["k"] = str(i)
        r = kubectl(verb, "-f", "-", "-v=6", input=json.dumps(cm), env=fresh(tmp_path, verb))
        seen = requests(r.stderr)
        assert "GET /openapi/v3 200" in seen and "GET /openapi/v3/api/v1 200" in seen, seen
        # apply on the patch path also reads v2 (strategic merge patch metadata), as before.
        assert ("GET /openapi/v2 200" in seen) == (verb == "apply"), seen
    r = kubectl("explain", "configmap.data", "-v=6", env=fresh(tmp_path, "explain"))
    assert "FIELD: data <map[string]string>" in r.stdout
    assert not any("/openapi/v2" in line for line in requests(r.stderr))
    two = {**cm, "metadata": {"name": "two", "namespace": ns}, "bogus": 1}
    r = kubectl("create", "-f", "-", "--validate=false", "-v=6", input=json.dumps(two), env=fresh(tmp_path, "off"))
    assert "configmap/two created" in r.stdout
    assert not any("/openapi" in line for line in requests(r.stderr))


def test_openapi_v2_endpoint(server):
    status, headers, body = server.request("GET", "/openapi/v2", headers={"Accept": V2_PROTOBUF})
    assert status == 200
    assert headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    doc = openapi_v2.decode(body)
    assert doc["swagger"] == "2.0" and "io.k8s.api.core.v1.ConfigMap" in doc["definitions"]
    etag = headers["ETag"]
    status, headers, body = server.request("GET", "/openapi/v2", headers={"Accept": V2_PROTOBUF,
                                                                          "If-None-Match": etag})
    assert status == 304 and body == b"" and headers["ETag"] == etag

    status, headers, body = server.request("GET", "/openapi/v2", headers={"Accept": "application/json"})
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == doc and headers["ETag"] != etag
    status, headers, _ = server.request("GET", "/openapi/v2", headers={"Accept": "text/html"})
    assert status == 406
