"""The OpenAPI v3 documents served under `/openapi/v3`, built from the scheme and the schema.

- `index(hash_fn)` is the `/openapi/v3` discovery document: one entry per served group-version,
  keyed without a leading slash (`api/v1`, `apis/apps/v1`), each pointing at
  `/openapi/v3/<key>?hash=<H>`. The hash changes whenever the document changes, so kubectl can
  cache the documents forever.
- `group_version_document(group, version)` is the document for one group-version: for every
  resource the collection, item, all-namespaces and watch paths, and the subresource paths, each
  operation carrying `x-kubernetes-action` and `x-kubernetes-group-version-kind`, and
  `components.schemas` for every message reachable from the group's kinds plus the meta types
  (ObjectMeta, ListMeta, Status, DeleteOptions, WatchEvent, Patch).

kubectl reads these for two things. Validation (`--validate=strict`, the default for `apply`,
`create -f`, `replace -f`): it finds the PATCH operation whose `x-kubernetes-group-version-kind`
matches the object and checks that it declares the `fieldValidation` query parameter; if so the
server validates. (A `kind: List` is checked item by item against `/openapi/v2`, which
`openapi_v2` builds from these documents.) And `kubectl explain`, which finds the
component schema whose `x-kubernetes-group-version-kind` lists the kind and walks its properties.

Strategic merge patch is deliberately *not* listed among the PATCH request content types. When it
is, `kubectl apply` computes its patch from these schemas' `x-kubernetes-patch-merge-key` and
`x-kubernetes-patch-strategy` instead of from its compiled-in Go types. For the built-in kinds the
compiled-in types carry the exact patch metadata of Kubernetes v1.32, so leaving it out gives the
same patches a real cluster gets and cannot be made worse by a gap in our schema; for kinds kubectl
does not know it uses a JSON merge patch, as it does for custom resources on a real cluster. The
server accepts strategic merge patches either way. (`kubectl apply` of an existing object reads
`/openapi/v2` too; its patches were checked byte-identical to the compiled-in ones for the common
kinds.) Set `ADVERTISE_STRATEGIC_MERGE_PATCH` to change
this once the schema's patch metadata is verified complete against Kubernetes'.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from . import schema
from .protobuf import message_name_for
from .resources import SCHEME
from .scheme import Resource, Subresource
from .schema import Field, Message

ADVERTISE_STRATEGIC_MERGE_PATCH = False
KUBERNETES_VERSION = "v1.32.4"

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = META + "ObjectMeta"
LIST_META = META + "ListMeta"
STATUS = META + "Status"
DELETE_OPTIONS = META + "DeleteOptions"
WATCH_EVENT = META + "WatchEvent"
PATCH = META + "Patch"
API_RESOURCE_LIST = META + "APIResourceList"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
TIME = META + "Time"
MICRO_TIME = META + "MicroTime"
FIELDS_V1 = META + "FieldsV1"
RAW_EXTENSION = "io.k8s.apimachinery.pkg.runtime.RawExtension"

_SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    schema.STRING: {"type": "string"},
    schema.INT32: {"type": "integer", "format": "int32"},
    schema.INT64: {"type": "integer", "format": "int64"},
    schema.BOOL: {"type": "boolean"},
    schema.DOUBLE: {"type": "number", "format": "double"},
    schema.BYTES: {"type": "string", "format": "byte"},
    schema.DURATION: {"type": "string"},
    schema.JSON_ANY: {"x-kubernetes-preserve-unknown-fields": True},
}

# Well-known types that are components of their own, as Kubernetes publishes them.
_WELL_KNOWN: dict[str, tuple[str, dict[str, Any]]] = {
    schema.QUANTITY: (QUANTITY, {
        "description": "A fixed-point number with an optional SI or binary suffix, such as 500m, 1Gi "
                       "or 2.5. Written as a string; plain JSON numbers are accepted on input.",
        "oneOf": [{"type": "string"}, {"type": "number"}]}),
    schema.INT_OR_STRING: (INT_OR_STRING, {
        "description": "Either a 32-bit integer or a string, such as 8080, \"http\" or \"25%\".",
        "format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True}),
    schema.TIME: (TIME, {
        "description": "A point in time in RFC 3339 form with second precision, in UTC.",
        "type": "string", "format": "date-time"}),
    schema.MICRO_TIME: (MICRO_TIME, {
        "description": "A point in time in RFC 3339 form with microsecond precision, in UTC.",
        "type": "string", "format": "date-time"}),
    schema.FIELDS_V1: (FIELDS_V1, {
        "description": "The set of fields a manager owns, in the FieldsV1 trie format.",
        "type": "object"}),
    schema.RAW: (RAW_EXTENSION, {
        "description": "An embedded JSON value, usually a complete object with apiVersion and kind.",
        "type": "object", "x-kubernetes-preserve-unknown-fields": True}),
}

_CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})
_VERB_METHOD = {"get": "get", "create": "post", "update": "put", "patch": "patch", "delete": "delete"}
_METHOD_ACTION = {"get": "get", "post": "post", "put": "put", "patch": "patch", "delete": "delete"}
_OPERATION_VERB = {"get": "read", "post": "create", "put": "replace", "patch": "patch", "delete": "delete"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str, where: str, doc: str, type_: str = "string", required: bool = False) -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "in": where, "description": doc, "schema": {"type": type_, "uniqueItems": True}}
    if required:
        p["required"] = True
    return p


_P = {
    "pretty": _param("pretty", "query", "If 'true', the output is pretty printed."),
    "dryRun": _param("dryRun", "query", "When present, modifications are not persisted. The only "
                     "valid value is All, which processes the request fully without storing it."),
    "fieldManager": _param("fieldManager", "query", "The name of the actor making these changes, "
                           "recorded in managedFields. Required for apply patches."),
    "fieldValidation": _param("fieldValidation", "query", "How to treat unknown and duplicate fields "
                              "in the body: Ignore, Warn or Strict."),
    "force": _param("force", "query", "Apply patches only: take ownership of conflicting fields.",
                    "boolean"),
    "allowWatchBookmarks": _param("allowWatchBookmarks", "query", "Ask for BOOKMARK watch events.",
                                  "boolean"),
    "continue": _param("continue", "query", "The continue token of the previous page of a list."),
    "fieldSelector": _param("fieldSelector", "query", "Restrict the result by fields."),
    "labelSelector": _param("labelSelector", "query", "Restrict the result by labels."),
    "limit": _param("limit", "query", "The maximum number of items in one page.", "integer"),
    "resourceVersion": _param("resourceVersion", "query", "The resource version to read or watch from."),
    "resourceVersionMatch": _param("resourceVersionMatch", "query", "How resourceVersion applies to "
                                   "a list: Exact or NotOlderThan."),
    "sendInitialEvents": _param("sendInitialEvents", "query", "Start a watch with the current state "
                                "as synthetic ADDED events.", "boolean"),
    "timeoutSeconds": _param("timeoutSeconds", "query", "End a list or watch after this many seconds.",
                             "integer"),
    "watch": _param("watch", "query", "Watch for changes instead of listing.", "boolean"),
    "gracePeriodSeconds": _param("gracePeriodSeconds", "query", "Seconds before the object is "
                                 "deleted; 0 deletes immediately.", "integer"),
    "ignoreStoreReadErrorWithClusterBreakingPotential": _param(
        "ignoreStoreReadErrorWithClusterBreakingPotential", "query",
        "Delete an object that cannot be read from storage.", "boolean"),
    "orphanDependents": _param("orphanDependents", "query", "Deprecated: use propagationPolicy.",
                               "boolean"),
    "propagationPolicy": _param("propagationPolicy", "query", "Garbage collection of dependents: "
                                "Orphan, Background or Foreground."),
    "namespace": _param("namespace", "path", "object name and auth scope, such as for teams and projects",
                        required=True),
}

_LIST_PARAMS = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion",
                "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch")
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "ignoreStoreReadErrorWithClusterBreakingPotential",
                  "orphanDependents", "propagationPolicy")
_DELETE_COLLECTION_PARAMS = ("continue", "dryRun", "fieldSelector", "gracePeriodSeconds",
                             "ignoreStoreReadErrorWithClusterBreakingPotential", "labelSelector", "limit",
                             "orphanDependents", "propagationPolicy", "resourceVersion", "resourceVersionMatch",
                             "sendInitialEvents", "timeoutSeconds")


def _params(*names: str) -> list[dict[str, Any]]:
    return [_P[n] for n in names]


def _name_param(kind: str) -> dict[str, Any]:
    return _param("name", "path", f"name of the {kind}", required=True)


# -- names ----------------------------------------------------------------------------------------


def group_version_key(group: str, version: str) -> str:
    """The index key and URL tail of a group-version: `api/v1`, `apis/apps/v1`."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _camel_group(group: str) -> str:
    """The group as it appears in operation ids: `apps` -> Apps, `rbac.authorization.k8s.io` ->
    RbacAuthorization, the core group -> Core."""
    if not group:
        return "Core"
    short = group[: -len(".k8s.io")] if group.endswith(".k8s.io") else group
    return "".join(p[:1].upper() + p[1:] for p in short.split("."))


def _tag(group: str, version: str) -> str:
    g = _camel_group(group)
    return f"{g[:1].lower()}{g[1:]}_{version}"


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


# -- schemas --------------------------------------------------------------------------------------


def _type_schema(type_name: str) -> dict[str, Any]:
    if type_name in _SCALAR_SCHEMAS:
        return dict(_SCALAR_SCHEMAS[type_name])
    if type_name in _WELL_KNOWN:
        return _ref(_WELL_KNOWN[type_name][0])
    return _ref(type_name)


def _wrapped(s: dict[str, Any]) -> dict[str, Any]:
    """A `$ref` cannot have siblings in OpenAPI 3.0, so Kubernetes wraps it in `allOf`."""
    return {"allOf": [s]} if "$ref" in s else s


def field_schema(f: Field) -> dict[str, Any]:
    item = _type_schema(f.type)
    if f.map:
        value = {"type": "array", "items": _wrapped(item)} if f.repeated else _wrapped(item)
        s: dict[str, Any] = {"type": "object", "additionalProperties": value}
    elif f.repeated:
        s = {"type": "array", "items": _wrapped(item)}
    else:
        s = _wrapped(item)
    if f.doc:
        s["description"] = f.doc
    if f.enum:
        s["enum"] = list(f.enum)
    if f.merge_key:
        s["x-kubernetes-patch-merge-key"] = f.merge_key
    if f.patch_strategy:
        s["x-kubernetes-patch-strategy"] = f.patch_strategy
    if f.list_type:
        s["x-kubernetes-list-type"] = f.list_type
    if f.list_map_keys:
        s["x-kubernetes-list-map-keys"] = list(f.list_map_keys)
    if f.map_type:
        s["x-kubernetes-map-type"] = f.map_type
    return s


def message_schema(msg: Message, gvks: list[dict[str, str]] | None = None) -> dict[str, Any]:
    props = {f.name: field_schema(f) for f in sorted(msg.fields, key=lambda f: f.name)}
    if gvks:
        props.setdefault("apiVersion", {"type": "string", "description": "The versioned schema of this "
                                        "representation of an object, such as apps/v1."})
        props.setdefault("kind", {"type": "string", "description": "The REST resource this object "
                                  "represents, such as Deployment."})
    s: dict[str, Any] = {"type": "object", "properties": dict(sorted(props.items()))}
    if msg.doc:
        s = {"description": msg.doc, **s}
    if msg.required:
        s["required"] = list(msg.required)
    if msg.map_type:
        s["x-kubernetes-map-type"] = msg.map_type
    if gvks:
        s["x-kubernetes-group-version-kind"] = gvks
    return s


def _list_message(item: str, list_name: str) -> Message:
    """A `<Kind>List` message for kinds whose list the schema does not define."""
    return Message(list_name, (
        *schema.type_meta_fields(),
        Field(1, "metadata", LIST_META, doc="Standard list metadata."),
        Field(2, "items", item, repeated=True, required=True, doc="The objects in the list."),
    ), doc=f"A list of {item.rsplit('.', 1)[-1]} objects.")


_SYNTHETIC: dict[str, Message] = {
    API_RESOURCE_LIST: Message(API_RESOURCE_LIST, (
        *schema.type_meta_fields(),
        Field(1, "groupVersion", schema.STRING, required=True, doc="The group and version of the resources."),
        Field(2, "resources", META + "APIResource", repeated=True, required=True, list_type="atomic",
              doc="The resources served in this group-version."),
    ), doc="The resources of one group-version, as legacy discovery lists them."),
    META + "APIResource": Message(META + "APIResource", (
        Field(1, "name", schema.STRING, required=True, doc="The plural name, or plural/subresource."),
        Field(6, "singularName", schema.STRING, required=True, doc="The singular name."),
        Field(2, "namespaced", schema.BOOL, required=True, doc="Whether the resource is namespaced."),
        Field(8, "group", schema.STRING, doc="The group of a subresource's kind, when it differs."),
        Field(9, "version", schema.STRING, doc="The version of a subresource's kind, when it differs."),
        Field(3, "kind", schema.STRING, required=True, doc="The kind of the resource."),
        Field(4, "verbs", schema.STRING, repeated=True, required=True, doc="The supported verbs."),
        Field(5, "shortNames", schema.STRING, repeated=True, list_type="atomic", doc="Short names."),
        Field(7, "categories", schema.STRING, repeated=True, list_type="atomic", doc="Categories, such as all."),
        Field(10, "storageVersionHash", schema.STRING, doc="A hash of the storage version."),
    ), doc="One resource in legacy discovery."),
    WATCH_EVENT: Message(WATCH_EVENT, (
        Field(1, "type", schema.STRING, required=True, doc="ADDED, MODIFIED, DELETED, BOOKMARK or ERROR."),
        Field(2, "object", schema.RAW, required=True, doc="The object, or a Status for ERROR events."),
    ), doc="One event of a watch stream."),
}
_PATCH_SCHEMA = {"description": "The body of a PATCH request; its shape depends on the patch type.",
                 "type": "object"}


def _gvks_by_message() -> dict[str, list[dict[str, str]]]:
    """Every message that is a kind somewhere, with all its group-version-kinds."""
    out: dict[str, list[dict[str, str]]] = {}

    def add(name: str, gvk: dict[str, str]) -> None:
        lst = out.setdefault(name, [])
        if gvk not in lst:
            lst.append(gvk)

    for r in SCHEME.resources:
        add(r.message, _gvk(r.group, r.version, r.kind))
        add(_list_name(r), _gvk(r.group, r.version, r.list_kind))
        for s in r.subresources:
            if s.name not in _CONNECT_SUBRESOURCES and s.name != "log":
                add(_sub_message(r, s), _sub_gvk(r, s))
    all_gvs = [gv.rpartition("/") for gv in SCHEME.group_versions()]
    for meta_kind in ("DeleteOptions", "WatchEvent"):
        for g, _, v in all_gvs:
            add(META + meta_kind, _gvk(g, v, meta_kind))
    add(STATUS, _gvk("", "v1", "Status"))
    return out


def _list_name(r: Resource) -> str:
    return r.message + "List"


def _sub_gvk(r: Resource, s: Subresource) -> dict[str, str]:
    """A subresource of the parent's own kind (status, ephemeralcontainers, ...) shares its GVK; the
    scheme leaves the group empty for some of them."""
    if s.kind == r.kind:
        return _gvk(r.group, r.version, r.kind)
    return _gvk(s.group, s.version, s.kind)


def _sub_message(r: Resource, s: Subresource) -> str:
    if s.kind == r.kind:
        return r.message
    return message_name_for(f"{s.group}/{s.version}" if s.group else s.version, s.kind)


def _lookup(name: str) -> Message | None:
    if name in schema.MESSAGES:
        return schema.MESSAGES[name]
    if name in _SYNTHETIC:
        return _SYNTHETIC[name]
    if name.endswith("List") and name[: -len("List")] in schema.MESSAGES:
        return _list_message(name[: -len("List")], name)
    return None


def component_schemas(roots: list[str]) -> dict[str, Any]:
    """Schemas for `roots` and everything they reference, keyed by message name."""
    gvks = _gvks_by_message()
    out: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        if name == PATCH:
            out[name] = dict(_PATCH_SCHEMA)
            continue
        msg = _lookup(name)
        if msg is None:
            out[name] = {"type": "object", "description": f"{name} (no schema is defined)"}
            continue
        out[name] = message_schema(msg, gvks.get(name))
        for f in msg.fields:
            if f.type in _WELL_KNOWN:
                wk_name, wk = _WELL_KNOWN[f.type]
                out.setdefault(wk_name, dict(wk))
            elif f.is_message:
                todo.append(f.type)
    return dict(sorted(out.items()))


# -- operations -----------------------------------------------------------------------------------


def _json_content(s: dict[str, Any] | None, *types: str) -> dict[str, Any]:
    return {t: ({"schema": s} if s else {}) for t in (types or ("application/json", "application/yaml"))}


def _ok(s: dict[str, Any] | None, *codes: tuple[str, str]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code, description in codes or (("200", "OK"),):
        responses[code] = {"description": description, "content": _json_content(s)}
    responses["401"] = {"description": "Unauthorized"}
    return responses


def _operation(op_id: str, action: str, gvk: dict[str, str], tag: str, description: str,
               params: list[dict[str, Any]], responses: dict[str, Any],
               body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"tags": [tag], "description": description, "operationId": op_id}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    op["responses"] = responses
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = gvk
    return op


def _patch_body() -> dict[str, Any]:
    types = ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"]
    if ADVERTISE_STRATEGIC_MERGE_PATCH:
        types.append("application/strategic-merge-patch+json")
    return {"content": {t: {"schema": _ref(PATCH)} for t in types}, "required": True}


def _object_body(ref: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"*/*": {"schema": ref}}, "required": True}


def _delete_body() -> dict[str, Any]:
    return {"content": {"*/*": {"schema": _ref(DELETE_OPTIONS)}}}


class _PathBuilder:
    def __init__(self, group: str, version: str) -> None:
        self.group, self.version = group, version
        self.prefix = "/" + group_version_key(group, version)
        self.ids = _camel_group(group) + version[:1].upper() + version[1:]
        self.tag = _tag(group, version)
        self.paths: dict[str, Any] = {}
        self.roots: list[str] = [OBJECT_META, LIST_META, STATUS, DELETE_OPTIONS, WATCH_EVENT, PATCH]

    def path(self, p: str, params: list[dict[str, Any]]) -> dict[str, Any]:
        item = self.paths.setdefault(p, {})
        item["parameters"] = params
        return item

    def resource(self, r: Resource) -> None:
        gvk = _gvk(r.group, r.version, r.kind)
        obj, lst = _ref(r.message), _ref(_list_name(r))
        self.roots += [r.message, _list_name(r)]
        ns = "Namespaced" if r.namespaced else ""
        base = f"{self.prefix}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{self.prefix}/{r.plural}"
        scope = [_P["namespace"]] if r.namespaced else []
        verbs = set(r.verbs)
        ids, tag, kind = self.ids, self.tag, r.kind

        collection: dict[str, Any] = {}
        if "list" in verbs:
            collection["get"] = _operation(f"list{ids}{ns}{kind}", "list", gvk, tag,
                                           f"list or watch objects of kind {kind}", _params(*_LIST_PARAMS),
                                           _ok(lst))
        if "create" in verbs:
            collection["post"] = _operation(f"create{ids}{ns}{kind}", "post", gvk, tag, f"create a {kind}",
                                            _params(*_WRITE_PARAMS),
                                            _ok(obj, ("200", "OK"), ("201", "Created"), ("202", "Accepted")),
                                            _object_body(obj))
        if "deletecollection" in verbs:
            collection["delete"] = _operation(f"delete{ids}Collection{ns}{kind}", "deletecollection", gvk, tag,
                                              f"delete collection of {kind}", _params(*_DELETE_COLLECTION_PARAMS),
                                              _ok(_ref(STATUS)), _delete_body())
        if collection:
            self.path(base, [*scope, _P["pretty"]]).update(collection)

        item_ops: dict[str, Any] = {}
        if "get" in verbs:
            item_ops["get"] = _operation(f"read{ids}{ns}{kind}", "get", gvk, tag, f"read the specified {kind}",
                                         [], _ok(obj))
        if "update" in verbs:
            item_ops["put"] = _operation(f"replace{ids}{ns}{kind}", "put", gvk, tag,
                                         f"replace the specified {kind}", _params(*_WRITE_PARAMS),
                                         _ok(obj, ("200", "OK"), ("201", "Created")), _object_body(obj))
        if "patch" in verbs:
            item_ops["patch"] = _operation(f"patch{ids}{ns}{kind}", "patch", gvk, tag,
                                           f"partially update the specified {kind}",
                                           _params(*_WRITE_PARAMS, "force"),
                                           _ok(obj, ("200", "OK"), ("201", "Created")), _patch_body())
        if "delete" in verbs:
            item_ops["delete"] = _operation(f"delete{ids}{ns}{kind}", "delete", gvk, tag,
                                            f"delete a {kind}", _params(*_DELETE_PARAMS),
                                            _ok(_ref(STATUS), ("200", "OK"), ("202", "Accepted")), _delete_body())
        if item_ops:
            self.path(f"{base}/{{name}}", [_name_param(kind), *scope, _P["pretty"]]).update(item_ops)

        if r.namespaced and "list" in verbs:
            self.path(f"{self.prefix}/{r.plural}", [_P["pretty"]])["get"] = _operation(
                f"list{ids}{kind}ForAllNamespaces", "list", gvk, tag, f"list or watch objects of kind {kind}",
                _params(*_LIST_PARAMS), _ok(lst))
        if "watch" in verbs:
            self.watch_paths(r, gvk)
        for s in r.subresources:
            self.subresource(r, s, base, scope)

    def watch_paths(self, r: Resource, gvk: dict[str, str]) -> None:
        event = _ref(WATCH_EVENT)
        ids, tag, kind = self.ids, self.tag, r.kind
        content = {"application/json": {"schema": event}, "application/json;stream=watch": {"schema": event}}
        responses = {"200": {"description": "OK", "content": content}, "401": {"description": "Unauthorized"}}
        params = _params(*_LIST_PARAMS)
        if r.namespaced:
            base = f"{self.prefix}/watch/namespaces/{{namespace}}/{r.plural}"
            self.path(base, [_P["namespace"], _P["pretty"]])["get"] = _operation(
                f"watch{ids}Namespaced{kind}List", "watchlist", gvk, tag,
                f"watch individual changes to a list of {kind}", params, responses)
            self.path(f"{base}/{{name}}", [_name_param(kind), _P["namespace"], _P["pretty"]])["get"] = _operation(
                f"watch{ids}Namespaced{kind}", "watch", gvk, tag, f"watch changes to an object of kind {kind}",
                params, responses)
            self.path(f"{self.prefix}/watch/{r.plural}", [_P["pretty"]])["get"] = _operation(
                f"watch{ids}{kind}ListForAllNamespaces", "watchlist", gvk, tag,
                f"watch individual changes to a list of {kind}", params, responses)
        else:
            base = f"{self.prefix}/watch/{r.plural}"
            self.path(base, [_P["pretty"]])["get"] = _operation(
                f"watch{ids}{kind}List", "watchlist", gvk, tag, f"watch individual changes to a list of {kind}",
                params, responses)
            self.path(f"{base}/{{name}}", [_name_param(kind), _P["pretty"]])["get"] = _operation(
                f"watch{ids}{kind}", "watch", gvk, tag, f"watch changes to an object of kind {kind}",
                params, responses)

    def subresource(self, r: Resource, s: Subresource, base: str, scope: list[dict[str, Any]]) -> None:
        ns = "Namespaced" if r.namespaced else ""
        suffix = s.name[:1].upper() + s.name[1:]
        gvk = _sub_gvk(r, s)
        ops: dict[str, Any] = {}
        if s.name in _CONNECT_SUBRESOURCES:
            for verb in s.verbs:
                method = _VERB_METHOD[verb]
                m = method[:1].upper() + method[1:]
                ops[method] = _operation(f"connect{self.ids}{m}{ns}{r.kind}{suffix}", "connect", gvk, self.tag,
                                         f"connect {method.upper()} requests to {s.name} of {r.kind}", [],
                                         {"200": {"description": "OK", "content": {"*/*": {"schema": {
                                             "type": "string"}}}}, "401": {"description": "Unauthorized"}})
        elif s.name == "log":
            ops["get"] = _operation(f"read{self.ids}{ns}{r.kind}Log", "get", gvk, self.tag,
                                    f"read log of the specified {r.kind}", [],
                                    {"200": {"description": "OK", "content": {"text/plain": {"schema": {
                                        "type": "string"}}}}, "401": {"description": "Unauthorized"}})
        else:
            sub_msg = _sub_message(r, s)
            self.roots.append(sub_msg)
            obj = _ref(sub_msg)
            for verb in s.verbs:
                method = _VERB_METHOD[verb]
                name = f"{_OPERATION_VERB[method]}{self.ids}{ns}{r.kind}{suffix}"
                if method == "get":
                    ops[method] = _operation(name, "get", gvk, self.tag, f"read {s.name} of the specified {r.kind}",
                                             [], _ok(obj))
                elif method == "post":
                    ops[method] = _operation(name, "post", gvk, self.tag, f"create {s.name} of a {r.kind}",
                                             _params(*_WRITE_PARAMS),
                                             _ok(obj, ("200", "OK"), ("201", "Created"), ("202", "Accepted")),
                                             _object_body(obj))
                elif method == "put":
                    ops[method] = _operation(name, "put", gvk, self.tag, f"replace {s.name} of the specified "
                                             f"{r.kind}", _params(*_WRITE_PARAMS),
                                             _ok(obj, ("200", "OK"), ("201", "Created")), _object_body(obj))
                elif method == "patch":
                    ops[method] = _operation(name, "patch", gvk, self.tag, f"partially update {s.name} of the "
                                             f"specified {r.kind}", _params(*_WRITE_PARAMS, "force"),
                                             _ok(obj, ("200", "OK"), ("201", "Created")), _patch_body())
                elif method == "delete":
                    ops[method] = _operation(name, "delete", gvk, self.tag, f"delete {s.name} of a {r.kind}",
                                             _params(*_DELETE_PARAMS), _ok(_ref(STATUS)), _delete_body())
        if ops:
            self.path(f"{base}/{{name}}/{s.name}", [_name_param(s.kind), *scope,
                                                     _P["pretty"]]).update(ops)

    def discovery(self) -> None:
        self.roots.append(API_RESOURCE_LIST)
        self.paths[self.prefix + "/"] = {"get": {
            "tags": [self.tag], "description": "get available resources", "operationId": f"get{self.ids}APIResources",
            "responses": _ok(_ref(API_RESOURCE_LIST))}}


def group_version_document(group: str, version: str) -> dict[str, Any] | None:
    """The `/openapi/v3/<api|apis/group>/<version>` document, or None for a group-version that is
    not served."""
    resources = SCHEME.in_group_version(group, version)
    if not resources:
        return None
    b = _PathBuilder(group, version)
    b.discovery()
    for r in resources:
        b.resource(r)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": dict(sorted(b.paths.items())),
        "components": {
            "schemas": component_schemas(b.roots),
            "securitySchemes": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication",
                                                "name": "authorization", "in": "header"}},
        },
        "security": [{"BearerToken": []}],
    }


def document_hash(doc: dict[str, Any]) -> str:
    """A stable content hash of a document: SHA-512 of its canonical JSON, upper-case hex."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha512(canonical.encode()).hexdigest().upper()


def group_versions() -> list[tuple[str, str]]:
    """The served group-versions, core first, in discovery order."""
    out = []
    for gv in SCHEME.group_versions():
        g, _, v = gv.rpartition("/")
        out.append((g, v))
    return out


def index(hash_fn: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The `/openapi/v3` document. `hash_fn(key)` gives the hash of the document at `key`
    (`api/v1`, `apis/apps/v1`); callers that cache documents pass their own. By default the
    documents are built and hashed with `document_hash`."""
    paths = {}
    for g, v in group_versions():
        key = group_version_key(g, v)
        h = hash_fn(key) if hash_fn else document_hash(group_version_document(g, v) or {})
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={h}"}
    return {"paths": paths}


def parse_group_version_key(key: str) -> tuple[str, str] | None:
    """`api/v1` -> ("", "v1"); `apis/apps/v1` -> ("apps", "v1"); anything else -> None."""
    parts = key.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "api":
        return "", parts[1]
    if len(parts) == 3 and parts[0] == "apis":
        return parts[1], parts[2]
    return None
