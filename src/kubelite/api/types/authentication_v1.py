"""authentication.k8s.io/v1: TokenRequest (the service account `token` subresource), TokenReview,
SelfSubjectReview and UserInfo.

UserInfo.extra and the review specs' `extra` are maps whose values are lists of strings
(`map=True, repeated=True`); on the protobuf wire each value is a message whose field 1 holds the
list.
"""

from __future__ import annotations

from kubelite.api.schema import BOOL, F, INT64, STRING, TIME, define, type_meta_fields

from .common import AUTHENTICATION, META


define(AUTHENTICATION + "BoundObjectReference", [
    F(1, "kind", STRING),
    F(2, "apiVersion", STRING),
    F(3, "name", STRING),
    F(4, "uid", STRING),
])

define(AUTHENTICATION + "SelfSubjectReview", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "status", AUTHENTICATION + "SelfSubjectReviewStatus"),
])

define(AUTHENTICATION + "SelfSubjectReviewStatus", [
    F(1, "userInfo", AUTHENTICATION + "UserInfo"),
])

define(AUTHENTICATION + "TokenRequest", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", AUTHENTICATION + "TokenRequestSpec", required=True),
    F(3, "status", AUTHENTICATION + "TokenRequestStatus"),
])

define(AUTHENTICATION + "TokenRequestSpec", [
    F(1, "audiences", STRING, repeated=True, required=True, list_type="atomic"),
    F(3, "boundObjectRef", AUTHENTICATION + "BoundObjectReference"),
    F(4, "expirationSeconds", INT64),
])

define(AUTHENTICATION + "TokenRequestStatus", [
    F(1, "token", STRING, required=True),
    F(2, "expirationTimestamp", TIME, required=True),
])

define(AUTHENTICATION + "TokenReview", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", AUTHENTICATION + "TokenReviewSpec", required=True),
    F(3, "status", AUTHENTICATION + "TokenReviewStatus"),
])

define(AUTHENTICATION + "TokenReviewSpec", [
    F(1, "token", STRING),
    F(2, "audiences", STRING, repeated=True, list_type="atomic"),
])

define(AUTHENTICATION + "TokenReviewStatus", [
    F(1, "authenticated", BOOL),
    F(2, "user", AUTHENTICATION + "UserInfo"),
    F(3, "error", STRING),
    F(4, "audiences", STRING, repeated=True, list_type="atomic"),
])

define(AUTHENTICATION + "UserInfo", [
    F(1, "username", STRING),
    F(2, "uid", STRING),
    F(3, "groups", STRING, repeated=True, list_type="atomic"),
    F(4, "extra", STRING, repeated=True, map=True),
])
