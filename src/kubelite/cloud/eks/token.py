"""EKS bearer tokens (`aws eks get-token`): `k8s-aws-v1.` + base64url of a presigned STS
GetCallerIdentity URL whose signed `x-k8s-aws-id` header is the cluster name.

The service verifies them offline, as aws-iam-authenticator would after asking STS: the URL is
well formed (path `/`, allowed parameters only, no duplicates, `Action=GetCallerIdentity`, an
STS host or this service's own endpoint), the signature is recomputed with the key's secret
from the IAM store and *this* cluster's name as `x-k8s-aws-id` (so a token for cluster A fails
on cluster B), and the token is at most 15 minutes old (whatever `X-Amz-Expires` says, as the
authenticator does: kubectl caches tokens for 14 minutes). The result is the caller's
`Principal`, exactly what GetCallerIdentity would have answered.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from kubelite.cloud import sigv4
from kubelite.cloud.api.errors import AuthenticationFailure

PREFIX = "k8s-aws-v1."
MAX_LENGTH = 4096
VALIDITY = timedelta(minutes=15)
CLUSTER_ID_HEADER = "x-k8s-aws-id"
ALLOWED_PARAMS = {"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
                  "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"}
STS_HOST_RE = re.compile(r"^sts(-fips)?(\.dualstack)?(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")


class TokenError(Exception):
    pass


def decode(token: str) -> str:
    if len(token) > MAX_LENGTH:
        raise TokenError("token is too large")
    if not token.startswith(PREFIX):
        raise TokenError(f"token is missing expected \"{PREFIX}\" prefix")
    body = token[len(PREFIX):]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise TokenError(f"token is not base64url: {e}") from None


def verify(token: str, cluster_name: str, iam: Any, *, now: datetime, local_hosts: set[str]) -> Any:
    """The `Principal` a token proves, or `TokenError` saying why not."""
    url = decode(token)
    parts = urlsplit(url)
    host = parts.netloc
    if STS_HOST_RE.match(host.split(":")[0]):
        if parts.scheme != "https":
            raise TokenError(f"unexpected scheme {parts.scheme!r} in pre-signed URL")
    elif host not in local_hosts:
        raise TokenError(f"unexpected hostname {host!r} in pre-signed URL")
    if parts.path != "/":
        raise TokenError("unexpected path in pre-signed URL")
    pairs = sigv4.parse_query(parts.query)
    seen: set[str] = set()
    for k, _ in pairs:
        lk = k.lower()
        if lk not in ALLOWED_PARAMS:
            raise TokenError(f"non-allowlisted query parameter {k!r}")
        if lk in seen:
            raise TokenError(f"duplicate query parameter {k!r}")
        seen.add(lk)
    q = {k.lower(): v for k, v in pairs}
    if q.get("action") != "GetCallerIdentity":
        raise TokenError("unexpected action parameter in pre-signed URL")
    signed = q.get("x-amz-signedheaders", "").split(";")
    if CLUSTER_ID_HEADER not in signed or "host" not in signed:
        raise TokenError(f"client did not sign the {CLUSTER_ID_HEADER} header in the pre-signed URL")
    try:
        expires = int(q.get("x-amz-expires", ""))
    except ValueError:
        raise TokenError("X-Amz-Expires must be an integer") from None
    if not 0 <= expires <= 900:
        raise TokenError(f"X-Amz-Expires parameter out of range: {expires}")
    cred = q.get("x-amz-credential", "")
    if cred.count("/") != 4 or cred.split("/")[3] != "sts":
        raise TokenError("the token is not signed for STS")
    try:
        v = sigv4.verify_presigned("GET", "/", parts.query, {"host": host, CLUSTER_ID_HEADER: cluster_name},
                                   iam.secret_for, now=now, max_age=VALIDITY)
    except sigv4.SignatureError as e:
        if e.kind == sigv4.EXPIRED:
            raise TokenError("token is expired") from None
        if e.kind == sigv4.MISMATCH:
            raise TokenError("the token's signature does not match (wrong cluster, or tampered)") from None
        raise TokenError(e.message) from None
    try:
        return iam.principal_for_key(v.scope.access_key_id, v.security_token)
    except AuthenticationFailure as e:
        raise TokenError(e.message) from None


def mint(cluster_name: str, *, access_key_id: str, secret: str, region: str, now: datetime,
         security_token: str = "", host: str = "") -> str:
    """A token as `aws eks get-token` makes it (for node agents and tests)."""
    host = host or f"sts.{region}.amazonaws.com"
    query = sigv4.presign("GET", host, "/", [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
                          access_key_id=access_key_id, secret=secret, region=region, service="sts", now=now,
                          expires=60, extra_headers={CLUSTER_ID_HEADER: cluster_name},
                          security_token=security_token)
    scheme = "https" if STS_HOST_RE.match(host.split(":")[0]) else "http"
    url = f"{scheme}://{host}/?{query}"
    return PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
