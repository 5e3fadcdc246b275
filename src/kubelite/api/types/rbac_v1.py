"""rbac.authorization.k8s.io/v1: Role, ClusterRole and their bindings.
"""

from __future__ import annotations

from kubelite.api.schema import F, STRING, define, type_meta_fields

from .common import META, RBAC


define(RBAC + "AggregationRule", [
    F(1, "clusterRoleSelectors", META + "LabelSelector", repeated=True, list_type="atomic"),
])

define(RBAC + "ClusterRole", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "rules", RBAC + "PolicyRule", repeated=True, list_type="atomic"),
    F(3, "aggregationRule", RBAC + "AggregationRule"),
])

define(RBAC + "ClusterRoleBinding", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "subjects", RBAC + "Subject", repeated=True, list_type="atomic"),
    F(3, "roleRef", RBAC + "RoleRef", required=True),
])

define(RBAC + "ClusterRoleBindingList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", RBAC + "ClusterRoleBinding", repeated=True, required=True),
])

define(RBAC + "ClusterRoleList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", RBAC + "ClusterRole", repeated=True, required=True),
])

define(RBAC + "PolicyRule", [
    F(1, "verbs", STRING, repeated=True, required=True, list_type="atomic"),
    F(2, "apiGroups", STRING, repeated=True, list_type="atomic"),
    F(3, "resources", STRING, repeated=True, list_type="atomic"),
    F(4, "resourceNames", STRING, repeated=True, list_type="atomic"),
    F(5, "nonResourceURLs", STRING, repeated=True, list_type="atomic"),
])

define(RBAC + "Role", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "rules", RBAC + "PolicyRule", repeated=True, list_type="atomic"),
])

define(RBAC + "RoleBinding", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "subjects", RBAC + "Subject", repeated=True, list_type="atomic"),
    F(3, "roleRef", RBAC + "RoleRef", required=True),
])

define(RBAC + "RoleBindingList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", RBAC + "RoleBinding", repeated=True, required=True),
])

define(RBAC + "RoleList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", RBAC + "Role", repeated=True, required=True),
])

define(RBAC + "RoleRef", [
    F(1, "apiGroup", STRING, required=True),
    F(2, "kind", STRING, required=True),
    F(3, "name", STRING, required=True),
], map_type="atomic")

define(RBAC + "Subject", [
    F(1, "kind", STRING, required=True),
    F(2, "apiGroup", STRING),
    F(3, "name", STRING, required=True),
    F(4, "namespace", STRING),
], map_type="atomic")
