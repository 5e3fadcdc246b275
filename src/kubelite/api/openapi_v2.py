"""The OpenAPI v2 (Swagger 2.0) document served at `/openapi/v2`, as JSON and as gnostic protobuf.

kubectl 1.32 reads `/openapi/v2` in two places, always asking for the protobuf form
(`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, gnostic's `openapi.v2.Document`):

- Client-side validation. For `kind: List` (what `kubectl get -o yaml` prints for several objects)
  the fieldValidation check answers "unsupported" without looking at `/openapi/v3`, so kubectl
  validates every item itself against the v2 `definitions`: it finds the definition whose
  `x-kubernetes-group-version-kind` lists the item's kind and reports unknown fields, missing
  required fields and wrong JSON types. If the document cannot be fetched or parsed, `apply`,
  `create -f` and `replace -f` of a List fail. The same check falls back to the v2 `paths`
  (the PATCH operation carrying the kind's `x-kubernetes-group-version-kind` and a
  `fieldValidation` query parameter) when `/openapi/v3` does not know a kind.
- Client-side `kubectl apply` and `kubectl diff` on the patch path: with no strategic merge patch
  advertised in `/openapi/v3` (see `openapi.ADVERTISE_STRATEGIC_MERGE_PATCH`), kubectl computes the
  strategic merge patch from these definitions' `x-kubernetes-patch-merge-key` and
  `x-kubernetes-patch-strategy`, as it would against a real cluster's v2 document.

Both documents come from one source: `document()` converts the `/openapi/v3` group-version
documents (`kubelite.api.openapi`, built from `kubelite.api.schema`) into one Swagger 2.0 document:
`#/components/schemas/X` becomes `#/definitions/X`, `allOf: [{$ref}]` becomes a `$ref` with
siblings, request bodies become `in: body` parameters, parameter schemas become inline
`type`s, response content becomes `produces` and a response `schema`, and `oneOf` of primitives
(Quantity, IntOrString) becomes `type: string`, as Kubernetes publishes them in v2.

`encode(doc)` writes that JSON document as protobuf; `decode(data)` reads it back. kubectl's parser
(kube-openapi `proto.NewOpenAPIData`) refuses the whole document if any `$ref` names a missing
definition or a `$ref` carries a `type`, so `document()` never produces either. Vendor extensions
(`x-...`) travel as `NamedAny` whose `Any.yaml` holds the value; JSON text is YAML, so that is what
is written.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

from . import openapi

PROTOBUF_MEDIA_TYPES = ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")

_V3_REF = "#/components/schemas/"
_V2_REF = "#/definitions/"


# -- the Swagger 2.0 document ---------------------------------------------------------------------


def _schema(s: dict[str, Any]) -> dict[str, Any]:
    """A v3 schema object as a v2 one."""
    out: dict[str, Any] = {}
    for k, v in s.items():
        if k == "allOf" and len(v) == 1 and "$ref" in v[0]:
            out.update(_schema(v[0]))
        elif k == "$ref":
            out["$ref"] = _V2_REF + v[len(_V3_REF):] if v.startswith(_V3_REF) else v
        elif k == "oneOf":
            if "type" not in s and any(o.get("type") == "string" for o in v):
                out["type"] = "string"  # a string accepts any primitive in kubectl's validator
        elif k == "properties":
            out[k] = {name: _schema(p) for name, p in v.items()}
        elif k in ("items", "additionalProperties") and isinstance(v, dict):
            out[k] = _schema(v)
        else:
            out[k] = v
    return out


def _parameter(p: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in p.items() if k != "schema"}
    out.update(p.get("schema", {}))
    return out


def _operation(op: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "description" in op:
        out["description"] = op["description"]
    body = op.get("requestBody")
    if body is not None:
        out["consumes"] = list(body["content"])
    produces: list[str] = []
    for r in op["responses"].values():
        produces += [t for t in r.get("content", {}) if t not in produces]
    if produces:
        out["produces"] = produces
    out["schemes"] = ["https"]
    out["tags"] = op.get("tags", [])
    out["operationId"] = op["operationId"]
    params = []
    if body is not None:
        schema = next((c["schema"] for c in body["content"].values() if "schema" in c), {})
        param: dict[str, Any] = {"name": "body", "in": "body", "schema": _schema(schema)}
        if body.get("required"):
            param["required"] = True
        params.append(param)
    params += [_parameter(p) for p in op.get("parameters", [])]
    if params:
        out["parameters"] = params
    responses: dict[str, Any] = {}
    for code, r in op["responses"].items():
        resp: dict[str, Any] = {"description": r["description"]}
        schema = next((c["schema"] for c in r.get("content", {}).values() if "schema" in c), None)
        if schema is not None:
            resp["schema"] = _schema(schema)
        responses[code] = resp
    out["responses"] = responses
    out.update({k: v for k, v in op.items() if k.startswith("x-")})
    return out


def _path_item(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method in ("get", "put", "post", "delete", "options", "head", "patch"):
        if method in item:
            out[method] = _operation(item[method])
    if item.get("parameters"):
        out["parameters"] = [_parameter(p) for p in item["parameters"]]
    return out


def document() -> dict[str, Any]:
    """The `/openapi/v2` document: every served group-version's paths and all their definitions."""
    paths: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    for g, v in openapi.group_versions():
        doc = openapi.group_version_document(g, v)
        if doc is None:
            continue
        for p, item in doc["paths"].items():
            paths[p] = _path_item(item)
        for name, s in doc["components"]["schemas"].items():
            definitions.setdefault(name, _schema(s))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": openapi.KUBERNETES_VERSION},
        "paths": dict(sorted(paths.items())),
        "definitions": dict(sorted(definitions.items())),
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header",
                                                "description": "Bearer Token authentication"}},
        "security": [{"BearerToken": []}],
    }


# -- gnostic openapi.v2 protobuf ------------------------------------------------------------------
#
# Field numbers are those of gnostic's openapiv2/OpenAPIv2.proto (package openapi.v2), which
# kubectl compiles in. A message's table maps each protobuf field to where its value lives in the
# JSON form:
#   (number, json key, type, repeated)
# where type is STRING, BOOL, INT64, DOUBLE, ANY (an `Any` holding the value as YAML text) or a
# message name. Two special keys: EXTENSIONS collects the object's `x-...` keys as NamedAny, and
# ENTRIES turns every other key of a JSON object into a `Named<X>` {1 name, 2 value} entry.

STRING, BOOL, INT64, DOUBLE, ANY = "string", "bool", "int64", "double", "Any"
EXTENSIONS, ENTRIES = "x-*", "*"

_Row = tuple[int, str, str, bool]


def _primitive_parameter(allow_empty_value: bool) -> tuple[_Row, ...]:
    """Header, formData, query and path parameters share their fields; formData and query have
    `allowEmptyValue` at 5, which moves every later field up by one."""
    s = 1 if allow_empty_value else 0
    rows = [(1, "required", BOOL, False), (2, "in", STRING, False), (3, "description", STRING, False),
            (4, "name", STRING, False), (5 + s, "type", STRING, False), (6 + s, "format", STRING, False),
            (8 + s, "collectionFormat", STRING, False), (9 + s, "default", ANY, False),
            (16 + s, "pattern", STRING, False), (19 + s, "uniqueItems", BOOL, False), (20 + s, "enum", ANY, True),
            (22 + s, EXTENSIONS, "NamedAny", True)]
    if allow_empty_value:
        rows.append((5, "allowEmptyValue", BOOL, False))
    return tuple(rows)


FIELDS: dict[str, tuple[_Row, ...]] = {
    "Document": (
        (1, "swagger", STRING, False), (2, "info", "Info", False), (3, "host", STRING, False),
        (4, "basePath", STRING, False), (5, "schemes", STRING, True), (6, "consumes", STRING, True),
        (7, "produces", STRING, True), (8, "paths", "Paths", False), (9, "definitions", "Definitions", False),
        (10, "parameters", "ParameterDefinitions", False), (11, "responses", "ResponseDefinitions", False),
        (12, "security", "SecurityRequirement", True),
        (13, "securityDefinitions", "SecurityDefinitions", False), (14, "tags", "Tag", True),
        (16, EXTENSIONS, "NamedAny", True)),
    "Info": (
        (1, "title", STRING, False), (2, "version", STRING, False), (3, "description", STRING, False),
        (4, "termsOfService", STRING, False), (7, EXTENSIONS, "NamedAny", True)),
    "Tag": ((1, "name", STRING, False), (2, "description", STRING, False), (4, EXTENSIONS, "NamedAny", True)),
    "Paths": ((1, EXTENSIONS, "NamedAny", True), (2, ENTRIES, "NamedPathItem", True)),
    "PathItem": (
        (1, "$ref", STRING, False), (2, "get", "Operation", False), (3, "put", "Operation", False),
        (4, "post", "Operation", False), (5, "delete", "Operation", False), (6, "options", "Operation", False),
        (7, "head", "Operation", False), (8, "patch", "Operation", False),
        (9, "parameters", "ParametersItem", True), (10, EXTENSIONS, "NamedAny", True)),
    "Operation": (
        (1, "tags", STRING, True), (2, "summary", STRING, False), (3, "description", STRING, False),
        (5, "operationId", STRING, False), (6, "produces", STRING, True), (7, "consumes", STRING, True),
        (8, "parameters", "ParametersItem", True), (9, "responses", "Responses", False),
        (10, "schemes", STRING, True), (11, "deprecated", BOOL, False), (13, EXTENSIONS, "NamedAny", True)),
    "BodyParameter": (
        (1, "description", STRING, False), (2, "name", STRING, False), (3, "in", STRING, False),
        (4, "required", BOOL, False), (5, "schema", "Schema", False), (6, EXTENSIONS, "NamedAny", True)),
    "HeaderParameterSubSchema": _primitive_parameter(False),
    "FormDataParameterSubSchema": _primitive_parameter(True),
    "QueryParameterSubSchema": _primitive_parameter(True),
    "PathParameterSubSchema": _primitive_parameter(False),
    "JsonReference": ((1, "$ref", STRING, False), (2, "description", STRING, False)),
    "Responses": ((1, ENTRIES, "NamedResponseValue", True), (2, EXTENSIONS, "NamedAny", True)),
    "Response": (
        (1, "description", STRING, False), (2, "schema", "SchemaItem", False), (5, EXTENSIONS, "NamedAny", True)),
    "Schema": (
        (1, "$ref", STRING, False), (2, "format", STRING, False), (3, "title", STRING, False),
        (4, "description", STRING, False), (5, "default", ANY, False), (6, "multipleOf", DOUBLE, False),
        (7, "maximum", DOUBLE, False), (8, "exclusiveMaximum", BOOL, False), (9, "minimum", DOUBLE, False),
        (10, "exclusiveMinimum", BOOL, False), (11, "maxLength", INT64, False), (12, "minLength", INT64, False),
        (13, "pattern", STRING, False), (14, "maxItems", INT64, False), (15, "minItems", INT64, False),
        (16, "uniqueItems", BOOL, False), (17, "maxProperties", INT64, False),
        (18, "minProperties", INT64, False), (19, "required", STRING, True), (20, "enum", ANY, True),
        (21, "additionalProperties", "AdditionalPropertiesItem", False), (22, "type", "TypeItem", False),
        (23, "items", "ItemsItem", False), (24, "allOf", "Schema", True), (25, "properties", "Properties", False),
        (26, "discriminator", STRING, False), (27, "readOnly", BOOL, False), (30, "example", ANY, False),
        (31, EXTENSIONS, "NamedAny", True)),
    "Definitions": ((1, ENTRIES, "NamedSchema", True),),
    "Properties": ((1, ENTRIES, "NamedSchema", True),),
    "ParameterDefinitions": ((1, ENTRIES, "NamedParameter", True),),
    "ResponseDefinitions": ((1, ENTRIES, "NamedResponse", True),),
    "SecurityDefinitions": ((1, ENTRIES, "NamedSecurityDefinitionsItem", True),),
    "SecurityRequirement": ((1, ENTRIES, "NamedStringArray", True),),
    "ApiKeySecurity": (
        (1, "type", STRING, False), (2, "name", STRING, False), (3, "in", STRING, False),
        (4, "description", STRING, False), (5, EXTENSIONS, "NamedAny", True)),
    "BasicAuthenticationSecurity": (
        (1, "type", STRING, False), (2, "description", STRING, False), (3, EXTENSIONS, "NamedAny", True)),
    "NamedAny": ((1, "name", STRING, False), (2, "value", ANY, False)),
    "Any": ((2, "yaml", STRING, False),),
}
for _named, _value in (("NamedPathItem", "PathItem"), ("NamedSchema", "Schema"), ("NamedParameter", "Parameter"),
                       ("NamedResponse", "Response"), ("NamedResponseValue", "ResponseValue"),
                       ("NamedSecurityDefinitionsItem", "SecurityDefinitionsItem"),
                       ("NamedStringArray", "StringArray")):
    FIELDS[_named] = ((1, "name", STRING, False), (2, "value", _value, False))

# Messages whose JSON form is a bare list or a single value: (number, element type).
LISTS: dict[str, tuple[int, str]] = {
    "TypeItem": (1, STRING),       # "type": "object" (or a list of types)
    "ItemsItem": (1, "Schema"),    # "items": {...} (or a list of schemas)
    "StringArray": (1, STRING),    # a security requirement's scopes
}


# Messages that hold exactly one of several fields (protobuf oneofs): the choices, and which one a
# JSON value takes.
ONEOFS: dict[str, dict[int, str]] = {
    "ParametersItem": {1: "Parameter", 2: "JsonReference"},
    "Parameter": {1: "BodyParameter", 2: "NonBodyParameter"},
    "NonBodyParameter": {1: "HeaderParameterSubSchema", 2: "FormDataParameterSubSchema",
                         3: "QueryParameterSubSchema", 4: "PathParameterSubSchema"},
    "ResponseValue": {1: "Response", 2: "JsonReference"},
    "SchemaItem": {1: "Schema"},
    "AdditionalPropertiesItem": {1: "Schema", 2: BOOL},
    "SecurityDefinitionsItem": {1: "BasicAuthenticationSecurity", 2: "ApiKeySecurity"},
}
_IN = {"header": 1, "formData": 2, "query": 3, "path": 4}
_CHOOSE: dict[str, Callable[[Any], int]] = {
    "ParametersItem": lambda p: 2 if "$ref" in p else 1,
    "Parameter": lambda p: 1 if p.get("in") == "body" else 2,
    "NonBodyParameter": lambda p: _IN[p["in"]],
    "ResponseValue": lambda r: 2 if "$ref" in r else 1,
    "SchemaItem": lambda s: 1,
    "AdditionalPropertiesItem": lambda v: 2 if isinstance(v, bool) else 1,
    "SecurityDefinitionsItem": lambda s: {"basic": 1, "apiKey": 2}[s["type"]],
}

# Wire types.
_VARINT, _FIXED64, _BYTES = 0, 1, 2


def _varint(out: bytearray, v: int) -> None:
    v &= 0xFFFFFFFFFFFFFFFF
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _key(out: bytearray, number: int, wire: int) -> None:
    _varint(out, number << 3 | wire)


def _bytes(out: bytearray, number: int, data: bytes) -> None:
    _key(out, number, _BYTES)
    _varint(out, len(data))
    out += data


def _yaml(value: Any) -> str:
    """A value as YAML text for `Any.yaml`: JSON, with spaces after separators, is valid YAML."""
    return json.dumps(value, ensure_ascii=False)


def _value(out: bytearray, number: int, type_: str, v: Any, where: str) -> None:
    if type_ == STRING:
        if not isinstance(v, str):
            raise ValueError(f"{where}: wants a string, got {v!r}")
        if v:
            _bytes(out, number, v.encode())
    elif type_ == BOOL:
        if not isinstance(v, bool):
            raise ValueError(f"{where}: wants a boolean, got {v!r}")
        if v:
            _key(out, number, _VARINT)
            _varint(out, 1)
    elif type_ == INT64:
        _key(out, number, _VARINT)
        _varint(out, int(v))
    elif type_ == DOUBLE:
        _key(out, number, _FIXED64)
        out += struct.pack("<d", float(v))
    elif type_ == ANY:
        _bytes(out, number, _message({"yaml": _yaml(v)}, "Any", where))
    else:
        _bytes(out, number, _message(v, type_, where))


def _message(v: Any, name: str, where: str) -> bytes:
    out = bytearray()
    if name in ONEOFS:
        number = _CHOOSE[name](v)
        _value(out, number, ONEOFS[name][number], v, where)
        return bytes(out)
    if name in LISTS:
        number, type_ = LISTS[name]
        for item in v if isinstance(v, list) else [v]:
            _value(out, number, type_, item, where)
        return bytes(out)
    if not isinstance(v, dict):
        raise ValueError(f"{where}: {name} wants an object, got {v!r}")
    rows = FIELDS[name]
    known = {key for _, key, _, _ in rows}
    unknown = [k for k in v if k not in known and not (k.startswith("x-") and EXTENSIONS in known)]
    if unknown and ENTRIES not in known:
        raise ValueError(f"{where}: {name} has no field for {unknown}")
    for number, key, type_, repeated in rows:
        if key == EXTENSIONS:
            for k, x in v.items():
                if k.startswith("x-"):
                    _value(out, number, type_, {"name": k, "value": x}, f"{where}.{k}")
        elif key == ENTRIES:
            for k, x in v.items():
                if not (k.startswith("x-") and EXTENSIONS in known):
                    _value(out, number, type_, {"name": k, "value": x}, f"{where}.{k}")
        elif key in v:
            x = v[key]
            if repeated:
                if not isinstance(x, list):
                    raise ValueError(f"{where}.{key}: wants a list, got {x!r}")
                for item in x:
                    _value(out, number, type_, item, f"{where}.{key}")
            else:
                _value(out, number, type_, x, f"{where}.{key}")
    return bytes(out)


def encode(doc: dict[str, Any]) -> bytes:
    """A Swagger 2.0 JSON document as a gnostic `openapi.v2.Document`. A key the protobuf form has
    no field for is an error, never silently dropped."""
    return _message(doc, "Document", "Document")


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def _fields(buf: bytes) -> list[tuple[int, Any]]:
    out = []
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _read_varint(buf, pos)
        elif wire == _FIXED64:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == _BYTES:
            n, pos = _read_varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        else:
            raise ValueError(f"unexpected wire type {wire} for field {number}")
        out.append((number, value))
    return out


def _read_value(type_: str, raw: Any) -> Any:
    if type_ == STRING:
        return raw.decode()
    if type_ == BOOL:
        return bool(raw)
    if type_ == INT64:
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if type_ == DOUBLE:
        return struct.unpack("<d", raw)[0]
    if type_ == ANY:
        return json.loads(_read_message(raw, "Any").get("yaml", "null"))
    return _read_message(raw, type_)


def _read_message(buf: bytes, name: str) -> Any:
    fields = _fields(buf)
    if name in ONEOFS:
        for number, raw in fields:
            if number in ONEOFS[name]:
                return _read_value(ONEOFS[name][number], raw)
        return {}
    if name in LISTS:
        number, type_ = LISTS[name]
        items = [_read_value(type_, raw) for n, raw in fields if n == number]
        return items[0] if len(items) == 1 and name != "StringArray" else items
    rows = {number: (key, type_, repeated) for number, key, type_, repeated in FIELDS[name]}
    out: dict[str, Any] = {}
    for number, raw in fields:
        if number not in rows:
            continue
        key, type_, repeated = rows[number]
        value = _read_value(type_, raw)
        if key in (EXTENSIONS, ENTRIES):
            out[value["name"]] = value.get("value")
        elif repeated:
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    return out


def decode(data: bytes) -> dict[str, Any]:
    """A gnostic `openapi.v2.Document` back as Swagger 2.0 JSON (the inverse of `encode` for the
    documents it writes; used by tests and for debugging)."""
    return _read_message(data, "Document")
