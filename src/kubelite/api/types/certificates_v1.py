"""certificates.k8s.io/v1: CertificateSigningRequest.
"""

from __future__ import annotations

from kubelite.api.schema import BYTES, F, INT32, STRING, TIME, define, type_meta_fields

from .common import CERTIFICATES, META


define(CERTIFICATES + "CertificateSigningRequest", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", CERTIFICATES + "CertificateSigningRequestSpec", required=True),
    F(3, "status", CERTIFICATES + "CertificateSigningRequestStatus"),
])

define(CERTIFICATES + "CertificateSigningRequestCondition", [
    F(1, "type", STRING, required=True),
    F(2, "reason", STRING),
    F(3, "message", STRING),
    F(4, "lastUpdateTime", TIME),
    F(5, "lastTransitionTime", TIME),
    F(6, "status", STRING, required=True),
])

define(CERTIFICATES + "CertificateSigningRequestList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CERTIFICATES + "CertificateSigningRequest", repeated=True, required=True),
])

define(CERTIFICATES + "CertificateSigningRequestSpec", [
    F(1, "request", BYTES, required=True, list_type="atomic"),
    F(2, "username", STRING),
    F(3, "uid", STRING),
    F(4, "groups", STRING, repeated=True, list_type="atomic"),
    F(5, "usages", STRING, repeated=True, list_type="atomic"),
    F(6, "extra", STRING, repeated=True, map=True),
    F(7, "signerName", STRING, required=True),
    F(8, "expirationSeconds", INT32),
])

define(CERTIFICATES + "CertificateSigningRequestStatus", [
    F(1, "conditions", CERTIFICATES + "CertificateSigningRequestCondition", repeated=True, list_type="map", list_map_keys=("type",)),
    F(2, "certificate", BYTES, list_type="atomic"),
])
