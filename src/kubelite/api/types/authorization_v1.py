"""authorization.k8s.io/v1: the access reviews (Self/Local/SubjectAccessReview) and
SelfSubjectRulesReview.

SubjectAccessReviewSpec.extra is a map of string lists, as in authentication/v1.
"""

from __future__ import annotations

from kubelite.api.schema import BOOL, F, STRING, define, type_meta_fields

from .common import AUTHORIZATION, META


define(AUTHORIZATION + "FieldSelectorAttributes", [
    F(1, "rawSelector", STRING),
    F(2, "requirements", META + "FieldSelectorRequirement", repeated=True, list_type="atomic"),
])

define(AUTHORIZATION + "LabelSelectorAttributes", [
    F(1, "rawSelector", STRING),
    F(2, "requirements", META + "LabelSelectorRequirement", repeated=True, list_type="atomic"),
])

define(AUTHORIZATION + "LocalSubjectAccessReview", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", AUTHORIZATION + "SubjectAccessReviewSpec", required=True),
    F(3, "status", AUTHORIZATION + "SubjectAccessReviewStatus"),
])

define(AUTHORIZATION + "NonResourceAttributes", [
    F(1, "path", STRING),
    F(2, "verb", STRING),
])

define(AUTHORIZATION + "NonResourceRule", [
    F(1, "verbs", STRING, repeated=True, required=True, list_type="atomic"),
    F(2, "nonResourceURLs", STRING, repeated=True, list_type="atomic"),
])

define(AUTHORIZATION + "ResourceAttributes", [
    F(1, "namespace", STRING),
    F(2, "verb", STRING),
    F(3, "group", STRING),
    F(4, "version", STRING),
    F(5, "resource", STRING),
    F(6, "subresource", STRING),
    F(7, "name", STRING),
    F(8, "fieldSelector", AUTHORIZATION + "FieldSelectorAttributes"),
    F(9, "labelSelector", AUTHORIZATION + "LabelSelectorAttributes"),
])

define(AUTHORIZATION + "ResourceRule", [
    F(1, "verbs", STRING, repeated=True, required=True, list_type="atomic"),
    F(2, "apiGroups", STRING, repeated=True, list_type="atomic"),
    F(3, "resources", STRING, repeated=True, list_type="atomic"),
    F(4, "resourceNames", STRING, repeated=True, list_type="atomic"),
])

define(AUTHORIZATION + "SelfSubjectAccessReview", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", AUTHORIZATION + "SelfSubjectAccessReviewSpec", required=True),
    F(3, "status", AUTHORIZATION + "SubjectAccessReviewStatus"),
])

define(AUTHORIZATION + "SelfSubjectAccessReviewSpec", [
    F(1, "resourceAttributes", AUTHORIZATION + "ResourceAttributes"),
    F(2, "nonResourceAttributes", AUTHORIZATION + "NonResourceAttributes"),
])

define(AUTHORIZATION + "SelfSubjectRulesReview", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", AUTHORIZATION + "SelfSubjectRulesReviewSpec", required=True),
    F(3, "status", AUTHORIZATION + "SubjectRulesReviewStatus"),
])

define(AUTHORIZATION + "SelfSubjectRulesReviewSpec", [
    F(1, "namespace", STRING),
])

define(AUTHORIZATION + "SubjectAccessReview", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", AUTHORIZATION + "SubjectAccessReviewSpec", required=True),
    F(3, "status", AUTHORIZATION + "SubjectAccessReviewStatus"),
])

define(AUTHORIZATION + "SubjectAccessReviewSpec", [
    F(1, "resourceAttributes", AUTHORIZATION + "ResourceAttributes"),
    F(2, "nonResourceAttributes", AUTHORIZATION + "NonResourceAttributes"),
    F(3, "user", STRING),
    F(4, "groups", STRING, repeated=True, list_type="atomic"),
    F(5, "extra", STRING, repeated=True, map=True),
    F(6, "uid", STRING),
])

define(AUTHORIZATION + "SubjectAccessReviewStatus", [
    F(1, "allowed", BOOL, required=True),
    F(2, "reason", STRING),
    F(3, "evaluationError", STRING),
    F(4, "denied", BOOL),
])

define(AUTHORIZATION + "SubjectRulesReviewStatus", [
    F(1, "resourceRules", AUTHORIZATION + "ResourceRule", repeated=True, required=True, list_type="atomic"),
    F(2, "nonResourceRules", AUTHORIZATION + "NonResourceRule", repeated=True, required=True, list_type="atomic"),
    F(3, "incomplete", BOOL, required=True),
    F(4, "evaluationError", STRING),
])
