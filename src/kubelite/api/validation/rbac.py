"""rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding
(`pkg/apis/rbac/validation/validation.go`)."""

from __future__ import annotations

from typing import Any

from kubelite.machinery.errors import FieldError, invalid, not_supported, required

from . import gotext, names
from .meta import index, label_selector, list_of, obj_of, selector_converts, selector_value, text

GROUP = "rbac.authorization.k8s.io"


def policy_rule(rule: dict, namespaced: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not list_of(rule.get("verbs")):
        errs.append(required(f"{path}.verbs", "verbs must contain at least one value"))
    urls = list_of(rule.get("nonResourceURLs"))
    if urls:
        shown = gotext.GoValue(gotext.string_slice(urls))
        if namespaced:
            errs.append(invalid(f"{path}.nonResourceURLs", shown, "namespaced rules cannot apply to non-resource URLs"))
        if list_of(rule.get("apiGroups")) or list_of(rule.get("resources")) or list_of(rule.get("resourceNames")):
            errs.append(invalid(f"{path}.nonResourceURLs", shown,
                                "rules cannot apply to both regular resources and non-resource URLs"))
        return errs
    if not list_of(rule.get("apiGroups")):
        errs.append(required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
    if not list_of(rule.get("resources")):
        errs.append(required(f"{path}.resources", "resource rules must supply at least one resource"))
    return errs


def _rules(obj: dict, namespaced: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, rule in enumerate(list_of(obj.get("rules"))):
        errs += policy_rule(obj_of(rule), namespaced, index("rules", i))
    return errs


def validate_role(role: dict) -> list[FieldError]:
    return _rules(role, True)


def validate_cluster_role(role: dict) -> list[FieldError]:
    errs = _rules(role, False)
    agg = role.get("aggregationRule")
    if agg is not None:
        sels = list_of(obj_of(agg).get("clusterRoleSelectors"))
        path = "aggregationRule.clusterRoleSelectors"
        if not sels:
            errs.append(required(path, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
        for i, sel in enumerate(sels):
            errs += label_selector(sel, index(path, i))
            if not selector_converts(sel):
                errs.append(invalid(index(path, i), selector_value(sel), "invalid label selector."))
    return errs


def _subject(s: dict, namespaced: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name, kind, group = text(s.get("name")), text(s.get("kind")), text(s.get("apiGroup"))
    if not name:
        errs.append(required(f"{path}.name"))
    if kind == "ServiceAccount":
        if name:
            errs += [invalid(f"{path}.name", name, m) for m in names.is_dns1123_subdomain(name)]
        if group:
            errs.append(not_supported(f"{path}.apiGroup", group, ("",)))
        if not namespaced and not s.get("namespace"):
            errs.append(required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if group != GROUP:
            errs.append(not_supported(f"{path}.apiGroup", group, (GROUP,)))
    else:
        errs.append(not_supported(f"{path}.kind", kind, ("ServiceAccount", "User", "Group")))
    return errs


def _binding(b: dict, namespaced: bool) -> list[FieldError]:
    ref = obj_of(b.get("roleRef"))
    errs: list[FieldError] = []
    if (text(ref.get("apiGroup"))) != GROUP:
        errs.append(not_supported("roleRef.apiGroup", text(ref.get("apiGroup")), (GROUP,)))
    kinds = ("Role", "ClusterRole") if namespaced else ("ClusterRole",)
    if (text(ref.get("kind"))) not in kinds:
        errs.append(not_supported("roleRef.kind", text(ref.get("kind")), kinds))
    name = text(ref.get("name"))
    if not name:
        errs.append(required("roleRef.name"))
    else:
        errs += [invalid("roleRef.name", name, m) for m in names.is_valid_path_segment_name(name)]
    for i, s in enumerate(list_of(b.get("subjects"))):
        errs += _subject(obj_of(s), namespaced, index("subjects", i))
    return errs


def validate_role_binding(b: dict) -> list[FieldError]:
    return _binding(b, True)


def validate_cluster_role_binding(b: dict) -> list[FieldError]:
    return _binding(b, False)


def _role_ref_shown(ref: Any) -> gotext.GoValue:
    ref = obj_of(ref)
    return gotext.GoValue(gotext.struct("rbac.RoleRef", [
        ("APIGroup", gotext.quote(ref.get("apiGroup"))), ("Kind", gotext.quote(ref.get("kind"))),
        ("Name", gotext.quote(ref.get("name")))]))


def validate_binding_update(new: dict, old: dict) -> list[FieldError]:
    nr, orf = obj_of(new.get("roleRef")), obj_of(old.get("roleRef"))
    keys = ("apiGroup", "kind", "name")
    if any((nr.get(k) or "") != (orf.get(k) or "") for k in keys):
        return [invalid("roleRef", _role_ref_shown(nr), "cannot change roleRef")]
    return []
