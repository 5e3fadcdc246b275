"""The /openapi/v2 document: its Swagger 2.0 content, its gnostic protobuf encoding (decoded back),
and the rules kubectl's parser (kube-openapi `proto.NewOpenAPIData`) and validator apply to it."""

from __future__ import annotations

import glob
import os
import re
import shutil
from typing import Any

import pytest
import yaml

import kubelite.api.types  # noqa: F401  (registers the real messages)
from kubelite.api import openapi, openapi_v2
from kubelite.api.resources import SCHEME

DOC = openapi_v2.document()
WIRE = openapi_v2.encode(DOC)
DECODED = openapi_v2.decode(WIRE)
DEFS = DECODED["definitions"]
C = "io.k8s.api.core.v1."


def walk_schemas(s: dict[str, Any], path: str):
    """Every schema node under `s`, with a readable path."""
    yield path, s
    for name, p in s.get("properties", {}).items():
        yield from walk_schemas(p, f"{path}.{name}")
    if isinstance(s.get("items"), dict):
        yield from walk_schemas(s["items"], f"{path}[]")
    if isinstance(s.get("additionalProperties"), dict):
        yield from walk_schemas(s["additionalProperties"], f"{path}{{}}")


def all_schemas(doc: dict[str, Any]):
    for name, s in doc["definitions"].items():
        yield from walk_schemas(s, name)
    for p, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            for param in op.get("parameters", []):
                if "schema" in param:
                    yield from walk_schemas(param["schema"], f"{p} {method} body")
            for code, r in op["responses"].items():
                if "schema" in r:
                    yield from walk_schemas(r["schema"], f"{p} {method} {code}")


def patch_supports_field_validation(doc: dict[str, Any], gvk: dict[str, str]) -> bool:
    """kubectl's v2 check (cli-runtime query_param_verifier.go): the first path whose PATCH
    operation carries the GVK decides; the parameter must be an inline query parameter."""
    for item in doc["paths"].values():
        op = item.get("patch")
        if op is None or op.get("x-kubernetes-group-version-kind") != gvk:
            continue
        return any(p.get("name") == "fieldValidation" and p.get("in") == "query" for p in op.get("parameters", []))
    raise AssertionError(f"no PATCH operation for {gvk}")


# -- the protobuf encoding -------------------------------------------------------------------------


def test_round_trip_is_lossless():
    assert DECODED == DOC


def test_known_bytes():
    # Document.swagger = 1 (string), Document.info = 2 {Info.title = 1, Info.version = 2}.
    assert openapi_v2.encode({"swagger": "2.0"}) == b"\x0a\x032.0"
    assert openapi_v2.encode({"info": {"title": "K", "version": "v"}}) == b"\x12\x06\x0a\x01K\x12\x01v"
    # Document.definitions = 9 -> Definitions.additional_properties = 1 -> NamedSchema {1 name, 2 value}
    # -> Schema.type = 22 -> TypeItem.value = 1.
    wire = openapi_v2.encode({"definitions": {"a": {"type": "string"}}})
    assert wire == b"\x4a\x12\x0a\x10\x0a\x01a\x12\x0b\xb2\x01\x08\x0a\x06string"
    # Schema.vendor_extension = 31 -> NamedAny {1 name, 2 Any {2 yaml}}.
    wire = openapi_v2.encode({"definitions": {"a": {"x-k": True}}})
    assert b"\xfa\x01" in wire and b"\x12\x06\x12\x04true" in wire


def test_unknown_keys_are_refused_not_dropped():
    with pytest.raises(ValueError, match="no field for"):
        openapi_v2.encode({"swagger": "2.0", "components": {}})
    with pytest.raises(ValueError, match="no field for"):
        openapi_v2.encode({"definitions": {"a": {"oneOf": []}}})


def test_empty_properties_stay_present():
    # kube-openapi treats a schema with (even empty) properties as a struct and any other object as
    # a map, so presence matters.
    back = openapi_v2.decode(openapi_v2.encode({"definitions": {"a": {"type": "object", "properties": {}}}}))
    assert back["definitions"]["a"] == {"type": "object", "properties": {}}


def test_vendor_extensions_are_yaml_that_yaml_parsers_read_back():
    gvks = [{"group": "", "kind": "ConfigMap", "version": "v1"}]
    wire = openapi_v2.encode({"definitions": {"x": {"type": "object", "properties": {},
                                                    "x-kubernetes-group-version-kind": gvks}}})
    text = re.search(rb"\x12(.)\x12(.)(\[.*\])", wire, re.S).group(3).decode()
    assert yaml.safe_load(text) == gvks


def _kubectl_binaries() -> list[str]:
    found = shutil.which("kubectl")
    if not found:
        return []
    real = os.path.realpath(found)
    return sorted({real, *glob.glob(os.path.join(os.path.dirname(real), "kubectl*"))})


def _read_varint(b: bytes, p: int) -> tuple[int, int]:
    r = s = 0
    while True:
        c = b[p]
        p += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, p


def _fields(b: bytes, p: int = 0, end: int | None = None):
    end = len(b) if end is None else end
    while p < end:
        key, p = _read_varint(b, p)
        n, wt = key >> 3, key & 7
        if wt == 0:
            v, p = _read_varint(b, p)
        elif wt == 2:
            length, p = _read_varint(b, p)
            v, p = b[p:p + length], p + length
        else:
            return
        yield n, v


def gnostic_descriptor() -> dict[str, dict[int, tuple[str, int, int, str, bool]]]:
    """gnostic's openapiv2/OpenAPIv2.proto as compiled into kubectl (its FileDescriptorProto):
    {message: {number: (name, label, type, type_name, in_oneof)}}."""
    for path in _kubectl_binaries():
        with open(path, "rb") as f:
            data = f.read()
        start = data.find(b"\x0a\x19openapiv2/OpenAPIv2.proto\x12\x0aopenapi.v2")
        if start < 0:
            continue
        messages: dict[str, dict[int, tuple[str, int, int, str, bool]]] = {}
        for n, v in _fields(data, start, start + 200_000):
            if n == 12:  # syntax: the last field
                break
            if n != 4:   # message_type
                continue
            name, fields = "", {}
            for mn, mv in _fields(v):
                if mn == 1:
                    name = mv.decode()
                elif mn == 2:
                    d = dict(_fields(mv))
                    fields[d[3]] = (d[1].decode(), d.get(4, 1), d.get(5, 0), d.get(6, b"").decode(), 9 in d)
            messages[name] = fields
        return messages
    pytest.skip("no kubectl binary with gnostic's descriptor on this machine")


def _snake(key: str) -> str:
    return "_ref" if key == "$ref" else re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)


_PROTO_TYPES = {openapi_v2.STRING: 9, openapi_v2.BOOL: 8, openapi_v2.INT64: 3, openapi_v2.DOUBLE: 1}


def test_field_numbers_are_gnostics():
    """Every field number, name, type and repetition in the tables is the one kubectl compiles in."""
    desc = gnostic_descriptor()

    def check(message: str, number: int, type_: str, repeated: bool | None, key: str | None) -> None:
        name, label, proto_type, type_name, _ = desc[message][number]
        if key == openapi_v2.EXTENSIONS:
            assert name == "vendor_extension", (message, number)
        elif key == openapi_v2.ENTRIES:
            assert name in ("additional_properties", "path", "response_code"), (message, number)
        elif key is not None:
            assert name == _snake(key), (message, number, name, key)
        if type_ in _PROTO_TYPES:
            assert proto_type == _PROTO_TYPES[type_], (message, number)
        else:
            assert type_name == f".openapi.v2.{type_}", (message, number, type_name)
        if repeated is not None:
            assert (label == 3) == repeated, (message, number)

    for message, rows in openapi_v2.FIELDS.items():
        for number, key, type_, repeated in rows:
            check(message, number, type_, repeated, key)
    for message, choices in openapi_v2.ONEOFS.items():
        for number, type_ in choices.items():
            check(message, number, type_, False, None)
            assert desc[message][number][4], f"{message}.{number} is not in a oneof"
    for message, (number, type_) in openapi_v2.LISTS.items():
        check(message, number, type_, True, None)


# -- what kubectl's parser accepts -----------------------------------------------------------------


def test_every_schema_parses_as_kube_openapi_would():
    names = set(DEFS)
    for path, s in all_schemas(DECODED):
        if "$ref" in s:
            assert s["$ref"].startswith("#/definitions/"), path
            assert s["$ref"][len("#/definitions/"):] in names, f"{path}: dangling {s['$ref']}"
            assert "type" not in s and not s.get("properties"), f"{path}: a $ref with a type or properties"
            continue
        t = s.get("type")
        assert t is None or isinstance(t, str), path
        if t == "array":
            assert isinstance(s.get("items"), dict), f"{path}: an array needs exactly one items schema"
        elif t not in (None, "object"):
            assert t in ("string", "integer", "number", "boolean"), f"{path}: unknown primitive {t}"
        assert "oneOf" not in s and "allOf" not in s, path


def test_well_known_types_are_published_as_in_kubernetes_v2():
    assert DEFS["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] == "string"
    assert DEFS["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    assert DEFS["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["x-kubernetes-int-or-string"] is True
    assert DEFS["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] == "string"
    assert DEFS["io.k8s.apimachinery.pkg.apis.meta.v1.Time"] == {
        "description": DEFS["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["description"],
        "type": "string", "format": "date-time"}
    raw = DEFS["io.k8s.apimachinery.pkg.runtime.RawExtension"]
    assert raw["type"] == "object" and raw["x-kubernetes-preserve-unknown-fields"] is True


# -- content ---------------------------------------------------------------------------------------


def test_header():
    assert DECODED["swagger"] == "2.0"
    assert DECODED["info"] == {"title": "Kubernetes", "version": openapi.KUBERNETES_VERSION}
    assert DECODED["security"] == [{"BearerToken": []}]
    assert DECODED["securityDefinitions"]["BearerToken"]["type"] == "apiKey"


@pytest.mark.parametrize("r", [r for r in SCHEME.resources if "patch" in r.verbs], ids=lambda r: r.message)
def test_every_kind_has_a_patch_operation_with_field_validation_and_a_definition(r):
    gvk = {"group": r.group, "version": r.version, "kind": r.kind}
    assert patch_supports_field_validation(DECODED, gvk)
    d = DEFS[r.message]
    assert gvk in d["x-kubernetes-group-version-kind"]
    assert {"apiVersion", "kind", "metadata"} <= set(d["properties"])
    assert d["properties"]["metadata"]["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def test_paths_are_the_v3_paths_in_v2_form():
    v3 = openapi.group_version_document("apps", "v1")
    for p in v3["paths"]:
        assert p in DECODED["paths"]
    item = DECODED["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert item["parameters"][0] == {"name": "name", "in": "path", "description": "name of the Deployment",
                                     "required": True, "type": "string", "uniqueItems": True}
    patch = item["patch"]
    assert patch["operationId"] == "patchAppsV1NamespacedDeployment"
    assert patch["x-kubernetes-action"] == "patch"
    assert "application/strategic-merge-patch+json" not in patch["consumes"]  # as in v3
    assert {"application/json-patch+json", "application/merge-patch+json",
            "application/apply-patch+yaml"} <= set(patch["consumes"])
    body = patch["parameters"][0]
    assert body == {"name": "body", "in": "body", "required": True,
                    "schema": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}
    put = item["put"]
    assert put["parameters"][0]["schema"] == {"$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"}
    assert put["responses"]["200"]["schema"] == {"$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"}
    assert "application/json" in item["get"]["produces"]


def test_definitions_carry_what_kubectl_reads():
    spec = DEFS[C + "PodSpec"]["properties"]
    containers = spec["containers"]
    assert containers["type"] == "array"
    assert containers["items"] == {"$ref": f"#/definitions/{C}Container"}
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    ports = DEFS[C + "Container"]["properties"]["ports"]
    assert ports["x-kubernetes-list-type"] == "map"
    assert ports["x-kubernetes-list-map-keys"] == ["containerPort", "protocol"]
    assert "name" in DEFS[C + "Container"]["required"]
    labels = DEFS["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]["labels"]
    assert labels == {**labels, "type": "object", "additionalProperties": {"type": "string"}}
    strategy = DEFS["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy"
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"
    replicas = DEFS["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["replicas"]
    assert (replicas["type"], replicas["format"]) == ("integer", "int32")
    port = DEFS[C + "ServicePort"]["properties"]["targetPort"]
    assert port["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"


def test_definitions_match_the_v3_component_schemas():
    """One source: every v3 component schema is a v2 definition with the same fields and flags."""
    for g, v in openapi.group_versions():
        for name, s in openapi.group_version_document(g, v)["components"]["schemas"].items():
            d = DEFS[name]
            assert set(d.get("properties", {})) == set(s.get("properties", {})), name
            assert d.get("required") == s.get("required"), name
            assert d.get("x-kubernetes-group-version-kind") == s.get("x-kubernetes-group-version-kind"), name
