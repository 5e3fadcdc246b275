"""The /openapi/v3 documents: structure, schemas, and what the real kubectl makes of them."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

import kubelite.api.types  # noqa: F401  (registers the real messages)
from kubelite.api import openapi
from kubelite.api.resources import SCHEME

FIXTURES = Path(__file__).parents[2] / "fixtures" / "protobuf"
GVS = openapi.group_versions()
DOCS: dict[tuple[str, str], dict[str, Any]] = {gv: openapi.group_version_document(*gv) or {} for gv in GVS}
APPS = DOCS[("apps", "v1")]
CORE = DOCS[("", "v1")]
SCHEMAS = {**CORE["components"]["schemas"], **APPS["components"]["schemas"]}
C = "io.k8s.api.core.v1."


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        out = [value["$ref"]] if "$ref" in value else []
        for v in value.values():
            out += refs(v)
        return out
    if isinstance(value, list):
        return [r for v in value for r in refs(v)]
    return []


def operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                yield path, method, op


# -- the index ------------------------------------------------------------------------------------


def test_index_lists_every_group_version_with_its_hash():
    idx = openapi.index()
    assert set(idx["paths"]) == {openapi.group_version_key(g, v) for g, v in GVS}
    assert "api/v1" in idx["paths"] and "apis/apps/v1" in idx["paths"]
    for (g, v), doc in DOCS.items():
        url = idx["paths"][openapi.group_version_key(g, v)]["serverRelativeURL"]
        assert url == f"/openapi/v3/{openapi.group_version_key(g, v)}?hash={openapi.document_hash(doc)}"
        assert re.fullmatch(r"/openapi/v3/apis?/[a-z0-9./]+\?hash=[0-9A-F]{128}", url)


def test_index_uses_the_callers_hashes():
    idx = openapi.index(lambda key: key.replace("/", "-"))
    assert idx["paths"]["apis/apps/v1"] == {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=apis-apps-v1"}
    assert idx["paths"]["api/v1"] == {"serverRelativeURL": "/openapi/v3/api/v1?hash=api-v1"}


def test_hash_is_stable_and_follows_the_content():
    again = openapi.group_version_document("apps", "v1")
    assert openapi.document_hash(again) == openapi.document_hash(APPS)
    again["components"]["schemas"][C + "Container"]["description"] = "changed"
    assert openapi.document_hash(again) != openapi.document_hash(APPS)


def test_group_version_keys():
    assert openapi.parse_group_version_key("api/v1") == ("", "v1")
    assert openapi.parse_group_version_key("/apis/apps/v1") == ("apps", "v1")
    assert openapi.parse_group_version_key("apis/apps") is None
    assert openapi.group_version_document("nope", "v1") is None


# -- every document -------------------------------------------------------------------------------


@pytest.mark.parametrize("gv", GVS, ids=lambda gv: "/".join(x for x in gv if x))
def test_document_is_self_contained(gv):
    doc = DOCS[gv]
    assert doc["openapi"] == "3.0.0" and doc["info"]["title"] == "Kubernetes"
    schemas = doc["components"]["schemas"]
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.split("/")[-1] in schemas, ref
    undefined = [n for n, s in schemas.items() if "no schema is defined" in s.get("description", "")]
    assert undefined == []
    for meta in ("ObjectMeta", "ListMeta", "Status", "DeleteOptions", "WatchEvent", "Patch"):
        assert openapi.META + meta in schemas
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("gv", GVS, ids=lambda gv: "/".join(x for x in gv if x))
def test_every_kind_is_findable_for_validation_and_explain(gv):
    doc = DOCS[gv]
    schemas = doc["components"]["schemas"]
    patch_gvks = [op["x-kubernetes-group-version-kind"] for _, m, op in operations(doc) if m == "patch"]
    for r in SCHEME.in_group_version(*gv):
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        assert gvk in schemas[r.message]["x-kubernetes-group-version-kind"]
        assert {**gvk, "kind": r.list_kind} in schemas[r.message + "List"]["x-kubernetes-group-version-kind"]
        if "patch" in r.verbs:
            assert gvk in patch_gvks


@pytest.mark.parametrize("gv", GVS, ids=lambda gv: "/".join(x for x in gv if x))
def test_patch_operations_declare_field_validation(gv):
    for path, method, op in operations(DOCS[gv]):
        if path.endswith("/"):       # the group-version's own discovery document
            continue
        assert op["x-kubernetes-action"] in ("get", "list", "post", "put", "patch", "delete", "deletecollection",
                                             "watch", "watchlist", "connect")
        if op["x-kubernetes-action"] == "patch":
            names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
            assert {"dryRun", "fieldManager", "fieldValidation", "force"} <= names
            assert set(op["requestBody"]["content"]) == {
                "application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"}


def test_strategic_merge_patch_can_be_advertised(monkeypatch):
    monkeypatch.setattr(openapi, "ADVERTISE_STRATEGIC_MERGE_PATCH", True)
    doc = openapi.group_version_document("apps", "v1")
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]


# -- apps/v1 in detail ----------------------------------------------------------------------------


def test_deployment_paths_and_actions():
    p = APPS["paths"]
    gvk = {"group": "apps", "version": "v1", "kind": "Deployment"}
    collection = p["/apis/apps/v1/namespaces/{namespace}/deployments"]
    item = p["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert {m: op["x-kubernetes-action"] for m, op in collection.items() if m != "parameters"} == {
        "get": "list", "post": "post", "delete": "deletecollection"}
    assert {m: op["x-kubernetes-action"] for m, op in item.items() if m != "parameters"} == {
        "get": "get", "put": "put", "patch": "patch", "delete": "delete"}
    assert item["patch"]["operationId"] == "patchAppsV1NamespacedDeployment"
    assert collection["get"]["operationId"] == "listAppsV1NamespacedDeployment"
    assert all(op["x-kubernetes-group-version-kind"] == gvk for m, op in item.items() if m != "parameters")
    assert [x["name"] for x in item["parameters"]] == ["name", "namespace", "pretty"]
    assert {x["name"] for x in collection["post"]["parameters"]} == {"dryRun", "fieldManager", "fieldValidation"}
    assert p["/apis/apps/v1/deployments"]["get"]["operationId"] == "listAppsV1DeploymentForAllNamespaces"
    assert p["/apis/apps/v1/watch/namespaces/{namespace}/deployments"]["get"]["x-kubernetes-action"] == "watchlist"
    assert p["/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}"]["get"]["x-kubernetes-action"] == "watch"
    assert p["/apis/apps/v1/"]["get"]["operationId"] == "getAppsV1APIResources"


def test_subresources():
    p = APPS["paths"]
    scale = p["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    status = p["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"]
    assert scale["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling", "version": "v1", "kind": "Scale"}
    assert scale["get"]["operationId"] == "readAppsV1NamespacedDeploymentScale"
    assert status["put"]["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert status["patch"]["operationId"] == "patchAppsV1NamespacedDeploymentStatus"
    assert "io.k8s.api.autoscaling.v1.Scale" in APPS["components"]["schemas"]
    cp = CORE["paths"]
    assert cp["/api/v1/namespaces/{namespace}/pods/{name}/exec"]["post"]["x-kubernetes-action"] == "connect"
    assert cp["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]["x-kubernetes-group-version-kind"] == {
        "group": "policy", "version": "v1", "kind": "Eviction"}
    assert cp["/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"]["post"]["operationId"] == \
        "createCoreV1NamespacedServiceAccountToken"
    assert "/api/v1/namespaces/{namespace}/pods/{name}/log" in cp
    assert "/api/v1/namespaces/{name}/finalize" in cp
    # Cluster-scoped resources have no namespace parameter; create-only ones have no item path.
    ns = cp["/api/v1/namespaces/{name}"]
    assert [x["name"] for x in ns["parameters"]] == ["name", "pretty"]
    authz = DOCS[("authorization.k8s.io", "v1")]["paths"]
    assert set(authz["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]) == {"parameters", "post"}
    assert "/apis/authorization.k8s.io/v1/namespaces/{namespace}/localsubjectaccessreviews" in authz


# -- schemas --------------------------------------------------------------------------------------


def test_kind_schema():
    d = SCHEMAS["io.k8s.api.apps.v1.Deployment"]
    assert d["type"] == "object"
    assert d["x-kubernetes-group-version-kind"] == [{"group": "apps", "version": "v1", "kind": "Deployment"}]
    assert d["properties"]["metadata"] == {"allOf": [ref(openapi.OBJECT_META)]}
    assert d["properties"]["apiVersion"]["type"] == "string"
    lst = SCHEMAS["io.k8s.api.apps.v1.DeploymentList"]
    assert lst["required"] == ["items"]
    assert lst["properties"]["items"]["items"] == {"allOf": [ref("io.k8s.api.apps.v1.Deployment")]}


def test_field_schemas():
    container = SCHEMAS[C + "Container"]
    assert container["required"] == ["name"]
    props = container["properties"]
    assert props["image"] == {"type": "string"}
    assert props["imagePullPolicy"]["enum"] == ["Always", "IfNotPresent", "Never"]
    ports = props["ports"]
    assert ports["type"] == "array"
    assert ports["x-kubernetes-patch-merge-key"] == "containerPort"
    assert ports["x-kubernetes-patch-strategy"] == "merge"
    assert ports["x-kubernetes-list-type"] == "map"
    assert ports["x-kubernetes-list-map-keys"] == ["containerPort", "protocol"]
    assert SCHEMAS[C + "ContainerPort"]["properties"]["containerPort"] == {"type": "integer", "format": "int32"}
    assert props["resources"] == {"allOf": [ref(C + "ResourceRequirements")]}
    limits = SCHEMAS[C + "ResourceRequirements"]["properties"]["limits"]
    assert limits == {"type": "object", "additionalProperties": {"allOf": [ref(openapi.QUANTITY)]}}
    labels = SCHEMAS[openapi.OBJECT_META]["properties"]["labels"]
    assert labels == {"type": "object", "additionalProperties": {"type": "string"}}
    assert SCHEMAS[openapi.META + "LabelSelector"]["x-kubernetes-map-type"] == "atomic"
    secret = CORE["components"]["schemas"][C + "Secret"]["properties"]["data"]
    assert secret["additionalProperties"] == {"type": "string", "format": "byte"}
    # Embedded Go structs are inlined, as in Kubernetes' OpenAPI.
    assert "emptyDir" in SCHEMAS[C + "Volume"]["properties"]
    assert "httpGet" in SCHEMAS[C + "Probe"]["properties"]


def test_well_known_types():
    assert SCHEMAS[openapi.INT_OR_STRING]["x-kubernetes-int-or-string"] is True
    assert SCHEMAS[openapi.INT_OR_STRING]["format"] == "int-or-string"
    assert SCHEMAS[openapi.QUANTITY]["oneOf"] == [{"type": "string"}, {"type": "number"}]
    assert SCHEMAS[openapi.TIME] == {**SCHEMAS[openapi.TIME], "type": "string", "format": "date-time"}
    raw = APPS["components"]["schemas"][openapi.RAW_EXTENSION]
    assert raw["x-kubernetes-preserve-unknown-fields"] is True
    assert SCHEMAS[openapi.FIELDS_V1]["type"] == "object"
    gvks = SCHEMAS[openapi.DELETE_OPTIONS]["x-kubernetes-group-version-kind"]
    assert {"group": "apps", "version": "v1", "kind": "DeleteOptions"} in gvks
    assert {"group": "", "version": "v1", "kind": "DeleteOptions"} in gvks


# -- the real kubectl -----------------------------------------------------------------------------


def load_capture():
    spec = importlib.util.spec_from_file_location("kubelite_capture", FIXTURES / "capture.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


async def run_kubectl(commands: list[list[str]], files: dict[str, str] | None = None):
    from aiohttp import web

    capture = load_capture()
    rec = capture.Recorder(openapi=True)
    runner = web.AppRunner(rec.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="kubelite-openapi-") as tmp:
            env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "KUBECACHEDIR": f"{tmp}/cache", "KUBECONFIG": f"{tmp}/config"}
            for name, text in (files or {}).items():
                Path(tmp, name).write_text(text)
            for args in commands:
                args = [a.replace("{tmp}", tmp) for a in args]
                results.append(await capture._kubectl(port, args, env))
    finally:
        await runner.cleanup()
    return results, rec.requests


needs_kubectl = pytest.mark.skipif(not os.access("/usr/bin/kubectl", os.X_OK), reason="needs /usr/bin/kubectl")


@needs_kubectl
def test_kubectl_explain():
    results, _ = asyncio.run(run_kubectl([
        ["explain", "pod.spec.containers"],
        ["explain", "deployment.spec.strategy.rollingUpdate"],
        ["explain", "hpa.spec", "--api-version=autoscaling/v2"],
        ["explain", "clusterrolebinding", "--recursive"],
    ]))
    for rc, out, err in results:
        assert rc == 0, err
    containers, rolling, hpa, crb = (out for _, out, _ in results)
    assert "FIELD: containers <[]Container>" in containers
    assert "  image\t<string>" in containers
    assert "  name\t<string> -required-" in containers
    assert "  ports\t<[]ContainerPort>" in containers
    assert "  maxSurge\t<IntOrString>" in rolling
    assert "  maxReplicas\t<integer> -required-" in hpa
    assert "GROUP:      rbac.authorization.k8s.io" in crb and "    apiGroup\t<string> -required-" in crb


DEPLOYMENT_YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: site
spec:
  selector:
    matchLabels: {app: site}
  template:
    metadata:
      labels: {app: site}
    spec:
      containers:
      - name: c
        image: nginx
"""


@needs_kubectl
def test_kubectl_validates_on_the_server_without_openapi_v2():
    results, requests = asyncio.run(run_kubectl([
        ["create", "-f", "{tmp}/d.yaml"],
        ["apply", "-f", "{tmp}/d.yaml", "--validate=strict"],
        ["create", "-f", "{tmp}/d.yaml", "--validate=warn"],
    ], {"d.yaml": DEPLOYMENT_YAML}))
    for rc, out, err in results:
        assert rc == 0, err
    posts = [r for r in requests if r["method"] == "POST"]
    assert [p["query"] for p in posts] == [
        "fieldManager=kubectl-create&fieldValidation=Strict",
        "fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
        "fieldManager=kubectl-create&fieldValidation=Warn"]
    assert not [r for r in requests if r["path"].startswith("/openapi/v2")]
    assert any(r["path"] == "/openapi/v3/apis/apps/v1" and r["query"].startswith("hash=") for r in requests)
