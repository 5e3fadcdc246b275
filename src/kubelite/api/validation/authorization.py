"""authorization.k8s.io/v1 access reviews (`pkg/apis/authorization/validation/validation.go`).

Reviews are not stored; their metadata must be empty (apart from managed fields)."""

from __future__ import annotations

from kubelite.machinery.errors import FieldError, invalid

from . import gotext
from .meta import normalize, obj_of, text

_OBJECT_META = gotext.GoValue("v1.ObjectMeta{...}")


def _spec(spec: dict, *, self_review: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if ra is not None and nra is not None:
        errs.append(invalid("spec.nonResourceAttributes", gotext.GoValue("&authorization.NonResourceAttributes{...}"),
                            "cannot be specified in combination with resourceAttributes"))
    if ra is None and nra is None:
        errs.append(invalid("spec.resourceAttributes", None,
                            "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
    if not self_review and not spec.get("user") and not spec.get("groups"):
        errs.append(invalid("spec.user", text(spec.get("user")), "at least one of user or group must be specified"))
    return errs


def _meta_empty(obj: dict, *, allow_namespace: bool = False) -> list[FieldError]:
    md = {k: v for k, v in obj_of(obj.get("metadata")).items() if k != "managedFields"}
    if allow_namespace:
        md.pop("namespace", None)
    if normalize(md):
        return [invalid("metadata", _OBJECT_META, "must be empty")]
    return []


def validate_subject_access_review(r: dict) -> list[FieldError]:
    return _spec(obj_of(r.get("spec")), self_review=False) + _meta_empty(r)


def validate_self_subject_access_review(r: dict) -> list[FieldError]:
    return _spec(obj_of(r.get("spec")), self_review=True) + _meta_empty(r)


def validate_local_subject_access_review(r: dict) -> list[FieldError]:
    spec = obj_of(r.get("spec"))
    errs = _spec(spec, self_review=False) + _meta_empty(r, allow_namespace=True)
    ns = obj_of(r.get("metadata")).get("namespace") or ""
    ra = spec.get("resourceAttributes")
    if ra is not None and (text(obj_of(ra).get("namespace"))) != ns:
        errs.append(invalid("spec.resourceAttributes.namespace", text(obj_of(ra).get("namespace")),
                            "must match metadata.namespace"))
    if spec.get("nonResourceAttributes") is not None:
        errs.append(invalid("spec.nonResourceAttributes", gotext.GoValue("&authorization.NonResourceAttributes{...}"),
                            "disallowed on this kind of request"))
    return errs
