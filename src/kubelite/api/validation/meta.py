"""ObjectMeta, labels, annotations, label selectors and the small shared rules.

Mirrors apimachinery's `api/validation/objectmeta.go`, `apis/meta/v1/validation` and the helpers
of `pkg/apis/core/validation` that every group uses (`ValidateNonnegativeField`,
`ValidateImmutableField`).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from kubelite.machinery.errors import FieldError, forbidden, invalid, required, too_long

from . import gotext, names

NameFn = Callable[[str, bool], list[str]]

IMMUTABLE = "field is immutable"
NEGATIVE = "must be greater than or equal to 0"
NOT_POSITIVE = "must be greater than zero"
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


# -- field paths, as Kubernetes' field.Path prints them ------------------------------------------

def child(path: str, *names_: str) -> str:
    for n in names_:
        path = f"{path}.{n}" if path else n
    return path


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    return f"{path}[{k}]"


# -- tolerant accessors (objects are decoded JSON; shapes were checked by the schema) ----------------

def obj_of(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def list_of(v: Any) -> list:
    return v if isinstance(v, list) else []


def text(v: Any) -> str:
    """A string field's value; anything else counts as unset (the schema rejects wrong types)."""
    return v if isinstance(v, str) else ""


def int_of(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def is_set(v: Any) -> bool:
    """Go's `len(x) != 0` / non-nil pointer for JSON values."""
    return v is not None and v != "" and v != [] and v != {}


# -- shared small rules ------------------------------------------------------------------------------

def nonnegative(value: Any, path: str) -> list[FieldError]:
    n = int_of(value)
    if n is not None and n < 0:
        return [invalid(path, n, NEGATIVE)]
    return []


def positive(value: Any, path: str) -> list[FieldError]:
    n = int_of(value)
    if n is not None and n <= 0:
        return [invalid(path, n, NOT_POSITIVE)]
    return []


def semantic_equal(a: Any, b: Any) -> bool:
    """apimachinery's Semantic.DeepEqual on JSON values: empty and absent collections are equal."""
    return normalize(a) == normalize(b)


def normalize(v: Any) -> Any:
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            nx = normalize(x)
            if nx is None or nx == [] or nx == {} or nx == "" or nx is False:
                continue
            out[k] = nx
        return out
    if isinstance(v, list):
        return [normalize(x) for x in v]
    return v


def immutable(new: Any, old: Any, path: str, shown: Any = None) -> list[FieldError]:
    """`ValidateImmutableField`: the new value, rendered as Kubernetes shows it."""
    if semantic_equal(new, old):
        return []
    return [invalid(path, new if shown is None else shown, IMMUTABLE)]


def dns1123_label(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, m) for m in names.is_dns1123_label(value)]


def dns1123_subdomain(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, m) for m in names.is_dns1123_subdomain(value)]


def qualified_name(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, m) for m in names.is_qualified_name(value)]


def port_num_or_name(port: Any, path: str) -> list[FieldError]:
    """`ValidatePortNumOrName` for an IntOrString port."""
    if isinstance(port, str):
        return [invalid(path, port, m) for m in names.is_valid_port_name(port)]
    n = int_of(port)
    return [invalid(path, n if n is not None else port, m) for m in names.is_valid_port_num(n)]


# -- labels, annotations, selectors ------------------------------------------------------------------

def label_name(k: str, path: str) -> list[FieldError]:
    return [invalid(path, k, m) for m in names.is_qualified_name(k)]


def labels(m: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for k, v in sorted(obj_of(m).items()):
        errs += label_name(k, path)
        errs += [invalid(path, v, msg) for msg in names.is_valid_label_value(v if isinstance(v, str) else str(v))]
    return errs


def annotations(m: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    m = obj_of(m)
    for k in sorted(m):
        errs += [invalid(path, k, msg) for msg in names.is_qualified_name(k.lower())]
    size = sum(len(k) + len(v if isinstance(v, str) else str(v)) for k, v in m.items())
    if size > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, "", TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def label_selector_requirement(req: Mapping, path: str, *, allow_invalid_values: bool = False
                               ) -> list[FieldError]:
    errs: list[FieldError] = []
    op = req.get("operator")
    values = list_of(req.get("values"))
    if op in ("In", "NotIn"):
        if not values:
            errs.append(required(child(path, "values"), "must be specified when `operator` is 'In' or 'NotIn'"))
    elif op in ("Exists", "DoesNotExist"):
        if values:
            errs.append(forbidden(child(path, "values"),
                                  "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    else:
        errs.append(invalid(child(path, "operator"), op or "", "not a valid selector operator"))
    errs += label_name(text(req.get("key")), child(path, "key"))
    if not allow_invalid_values:
        for i, v in enumerate(values):
            errs += [invalid(index(child(path, "values"), i), v, m)
                     for m in names.is_valid_label_value(v if isinstance(v, str) else str(v))]
    return errs


def label_selector(sel: Any, path: str, *, allow_invalid_values: bool = False) -> list[FieldError]:
    if not isinstance(sel, dict):
        return []
    errs = labels(sel.get("matchLabels"), child(path, "matchLabels"))
    for i, req in enumerate(list_of(sel.get("matchExpressions"))):
        errs += label_selector_requirement(obj_of(req), index(child(path, "matchExpressions"), i),
                                           allow_invalid_values=allow_invalid_values)
    return errs


def selector_is_empty(sel: Any) -> bool:
    sel = obj_of(sel)
    return not sel.get("matchLabels") and not sel.get("matchExpressions")


def selector_matches(sel: Any, lbls: Any) -> bool | None:
    """Whether a LabelSelector matches the labels; None when the selector cannot be converted."""
    if sel is None:
        return False
    sel = obj_of(sel)
    have = obj_of(lbls)
    for k, v in obj_of(sel.get("matchLabels")).items():
        if have.get(k) != v:
            return False
    for req in list_of(sel.get("matchExpressions")):
        req = obj_of(req)
        k, op, vals = req.get("key"), req.get("operator"), list_of(req.get("values"))
        if op == "In":
            if k not in have or have[k] not in vals:
                return False
        elif op == "NotIn":
            if k in have and have[k] in vals:
                return False
        elif op == "Exists":
            if k not in have:
                return False
        elif op == "DoesNotExist":
            if k in have:
                return False
        else:
            return None
    return True


def selector_converts(sel: Any) -> bool:
    """`metav1.LabelSelectorAsSelector` succeeds (operators known, values well-formed)."""
    for req in list_of(obj_of(sel).get("matchExpressions")):
        req = obj_of(req)
        op, vals = req.get("operator"), list_of(req.get("values"))
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
        if op in ("In", "NotIn") and not vals:
            return False
        if op in ("Exists", "DoesNotExist") and vals:
            return False
        if names.is_qualified_name(text(req.get("key"))):
            return False
    for k, v in obj_of(obj_of(sel).get("matchLabels")).items():
        if names.is_qualified_name(k) or names.is_valid_label_value(str(v)):
            return False
    return True


def selector_value(sel: Any) -> gotext.GoValue:
    return gotext.GoValue(gotext.label_selector(obj_of(sel)))


def template_labels_mismatch(sel: Any, template: Any, path: str) -> list[FieldError]:
    """The `selector` does not match template `labels` rule (path ends in `template.metadata.labels`)."""
    lbls = obj_of(obj_of(template).get("metadata")).get("labels")
    if selector_matches(sel, lbls) is False:
        return [invalid(path, gotext.GoValue(gotext.string_map(lbls)),
                        "`selector` does not match template `labels`")]
    return []


# -- ObjectMeta -------------------------------------------------------------------------------------

def _finalizers(fins: Any, path: str, *, kube: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    fins = [f for f in list_of(fins) if isinstance(f, str)]
    for f in fins:
        errs += [invalid(path, f, m) for m in names.is_qualified_name(f)]
    if "orphan" in fins and "foregroundDeletion" in fins:
        errs.append(invalid(path, gotext.GoValue(gotext.string_slice(fins)),
                            "finalizer orphan and foregroundDeletion cannot be both set"))
    if kube:
        for i, f in enumerate(fins):
            if "/" not in f and f not in STANDARD_FINALIZERS:
                errs.append(invalid(index(path, i), f,
                                    "name is neither a standard finalizer name nor is it fully qualified"))
    return errs


def _owner_references(refs: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    first = ""
    for ref in list_of(refs):
        ref = obj_of(ref)
        api_version = text(ref.get("apiVersion"))
        version = api_version.rpartition("/")[2]
        if not version:
            errs.append(invalid(child(path, "apiVersion"), api_version, "version must not be empty"))
        if not ref.get("kind"):
            errs.append(invalid(child(path, "kind"), text(ref.get("kind")), "kind must not be empty"))
        if not ref.get("name"):
            errs.append(invalid(child(path, "name"), text(ref.get("name")), "name must not be empty"))
        if not ref.get("uid"):
            errs.append(invalid(child(path, "uid"), text(ref.get("uid")), "uid must not be empty"))
        if ref.get("controller") is True:
            cur = f"{ref.get('kind', '')}/{ref.get('name', '')}"
            if first:
                errs.append(invalid(path, gotext.GoValue("[]v1.OwnerReference{...}"),
                                    'Only one reference can have Controller set to true. Found "true" in '
                                    f"references for {first} and {cur}"))
            else:
                first = cur
    return errs


def _common(md: dict, path: str, kube_finalizers: bool) -> list[FieldError]:
    errs = labels(md.get("labels"), child(path, "labels"))
    errs += annotations(md.get("annotations"), child(path, "annotations"))
    errs += _owner_references(md.get("ownerReferences"), child(path, "ownerReferences"))
    errs += _finalizers(md.get("finalizers"), child(path, "finalizers"), kube=kube_finalizers)
    return errs


def validate_object_meta(md: Any, *, namespaced: bool, name_fn: NameFn, path: str = "metadata",
                         kube_finalizers: bool = True) -> list[FieldError]:
    """`ValidateObjectMeta` on create (after generateName has produced the name)."""
    md = obj_of(md)
    errs: list[FieldError] = []
    gen = text(md.get("generateName"))
    if gen:
        errs += [invalid(child(path, "generateName"), gen, m) for m in name_fn(gen, True)]
    name = text(md.get("name"))
    if not name:
        errs.append(required(child(path, "name"), "name or generateName is required"))
    else:
        errs += [invalid(child(path, "name"), name, m) for m in name_fn(name, False)]
    ns = text(md.get("namespace"))
    if namespaced:
        if not ns:
            errs.append(required(child(path, "namespace")))
        else:
            errs += [invalid(child(path, "namespace"), ns, m) for m in names.name_is_dns_label(ns, False)]
    elif ns:
        errs.append(forbidden(child(path, "namespace"), "not allowed on this type"))
    errs += nonnegative(md.get("generation"), child(path, "generation"))
    errs += _common(md, path, kube_finalizers)
    return errs


def validate_object_meta_update(new: Any, old: Any, path: str = "metadata", *,
                                kube_finalizers: bool = True) -> list[FieldError]:
    """`ValidateObjectMetaUpdate`: system fields keep their values; labels etc. stay well-formed.

    Like Kubernetes' BeforeUpdate, an empty uid or creationTimestamp in the new object and a
    deletionTimestamp the update tries to drop count as unchanged (the store restores them).
    """
    new, old = obj_of(new), obj_of(old)
    errs: list[FieldError] = []
    if old.get("deletionTimestamp"):
        added = [f for f in list_of(new.get("finalizers")) if f not in list_of(old.get("finalizers"))]
        if added:
            errs.append(forbidden(child(path, "finalizers"),
                                  "no new finalizers can be added if the object is being deleted, found new "
                                  f"finalizers {gotext.string_slice(sorted(set(added)))}"))
    errs += immutable(text(new.get("name")), text(old.get("name")), child(path, "name"))
    errs += immutable(text(new.get("namespace")), text(old.get("namespace")), child(path, "namespace"))
    if new.get("uid"):
        errs += immutable(new.get("uid"), text(old.get("uid")), child(path, "uid"))
    if new.get("creationTimestamp") and old.get("creationTimestamp"):
        errs += immutable(new.get("creationTimestamp"), old.get("creationTimestamp"),
                          child(path, "creationTimestamp"))
    if new.get("deletionTimestamp") and not old.get("deletionTimestamp"):
        errs += immutable(new.get("deletionTimestamp"), None, child(path, "deletionTimestamp"))
    if not old.get("deletionGracePeriodSeconds") and new.get("deletionGracePeriodSeconds") is not None:
        errs += immutable(new.get("deletionGracePeriodSeconds"), old.get("deletionGracePeriodSeconds"),
                          child(path, "deletionGracePeriodSeconds"))
    errs += _common(new, path, kube_finalizers)
    return errs
