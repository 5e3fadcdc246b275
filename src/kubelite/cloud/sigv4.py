"""AWS Signature Version 4: the canonical request, the signing key chain, and verification of
header-signed requests and presigned URLs, as botocore produces them (pure; no I/O).

What the server recomputes (see `eks-contract.md` §1.2 and §4.3):

- CanonicalURI: the path exactly as received (already percent-encoded once) with each
  `/`-separated segment encoded again (non-S3 services double-encode: `%3A` → `%253A`);
- CanonicalQuery: every `k=v` pair decoded, re-encoded with the unreserved set `A-Za-z0-9-_.~`,
  sorted by key then value; repeated keys are separate pairs;
- CanonicalHeaders: each signed header, lower-cased, value trimmed with inner whitespace runs
  collapsed; `host` keeps `:port` when it is not the scheme's default;
- the payload hash: SHA-256 of the body (or of the empty string for a presigned GET).

`verify_*` return a `Verified` (the access key id, scope and time) or raise `SignatureError`
whose `kind` tells the caller which AWS error to answer with. Secrets are looked up by a
callback, so this module knows nothing about IAM.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable
from urllib.parse import quote, unquote, unquote_plus

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AMZ_DATE = "%Y%m%dT%H%M%SZ"
MAX_SKEW = timedelta(minutes=15)
_WS = re.compile(r"\s+")

# SignatureError kinds.
MISSING = "missing"          # no signature at all
MALFORMED = "malformed"      # an Authorization header or query we cannot parse
UNKNOWN_KEY = "unknown-key"  # the access key id is not known
MISMATCH = "mismatch"        # the signature does not match
EXPIRED = "expired"          # the request time is outside the allowed window


class SignatureError(Exception):
    def __init__(self, kind: str, message: str, access_key_id: str = ""):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.access_key_id = access_key_id


@dataclass(frozen=True)
class Scope:
    access_key_id: str
    date: str
    region: str
    service: str

    @property
    def text(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True)
class Verified:
    scope: Scope
    amz_date: datetime
    signed_headers: tuple[str, ...]
    security_token: str = ""


# A secret for an access key id, or None when the key is unknown.
SecretLookup = Callable[[str], "str | None"]


def uri_encode(s: str, *, safe: str = "") -> str:
    return quote(s, safe="-_.~" + safe)


def canonical_uri(raw_path: str) -> str:
    """The path as received, each segment percent-encoded a second time."""
    if not raw_path:
        return "/"
    return "/".join(uri_encode(seg) for seg in raw_path.split("/"))


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Decoded `(key, value)` pairs of a raw query string, in order (`+` is a space, as in forms)."""
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((unquote_plus(k), unquote_plus(v)))
    return pairs


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    enc = sorted((uri_encode(k), uri_encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in enc)


def canonical_headers(headers: dict[str, str], signed: Iterable[str]) -> str:
    lower = {k.lower(): v for k, v in headers.items()}
    out = []
    for name in signed:
        value = lower.get(name, "")
        out.append(f"{name}:{_WS.sub(' ', value.strip())}\n")
    return "".join(out)


def canonical_request(method: str, raw_path: str, query: Iterable[tuple[str, str]], headers: dict[str, str],
                      signed_headers: Iterable[str], payload_hash: str) -> str:
    signed = list(signed_headers)
    return "\n".join([method.upper(), canonical_uri(raw_path), canonical_query(query),
                      canonical_headers(headers, signed), ";".join(signed), payload_hash])


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def string_to_sign(amz_date: str, scope: Scope, creq: str) -> str:
    return "\n".join([ALGORITHM, amz_date, scope.text, hashlib.sha256(creq.encode()).hexdigest()])


def signature(secret: str, scope: Scope, amz_date: str, creq: str) -> str:
    key = signing_key(secret, scope.date, scope.region, scope.service)
    return hmac.new(key, string_to_sign(amz_date, scope, creq).encode(), hashlib.sha256).hexdigest()


def parse_credential(value: str) -> Scope:
    parts = value.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        raise SignatureError(MALFORMED, f"Credential should be scoped to a valid region. ('{value}')")
    return Scope(*parts[:4])


def parse_authorization(header: str) -> tuple[Scope, list[str], str]:
    """`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`."""
    algo, _, rest = header.strip().partition(" ")
    if algo != ALGORITHM:
        raise SignatureError(MALFORMED, f"Unsupported signature algorithm '{algo}'.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        k, sep, v = item.strip().partition("=")
        if sep:
            fields[k] = v
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
    if missing:
        raise SignatureError(MALFORMED, f"Authorization header requires '{missing[0]}' parameter. "
                                        f"Authorization={header.split(' ')[0]}")
    return parse_credential(fields["Credential"]), fields["SignedHeaders"].split(";"), fields["Signature"]


def parse_amz_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError as e:
        raise SignatureError(MALFORMED, f"Invalid date '{value}'; expected yyyyMMdd'T'HHmmss'Z'.") from e


def _check_skew(t: datetime, now: datetime, max_skew: timedelta) -> None:
    fmt = lambda d: d.strftime(AMZ_DATE)  # noqa: E731
    if t < now - max_skew:
        raise SignatureError(EXPIRED, f"Signature expired: {fmt(t)} is now earlier than {fmt(now - max_skew)} "
                                      f"({fmt(now)} - {int(max_skew.total_seconds() // 60)} min.)")
    if t > now + max_skew:
        raise SignatureError(EXPIRED, f"Signature not yet current: {fmt(t)} is still later than "
                                      f"{fmt(now + max_skew)} ({fmt(now)} + "
                                      f"{int(max_skew.total_seconds() // 60)} min.)")


MISMATCH_MESSAGE = ("The request signature we calculated does not match the signature you provided. "
                    "Check your AWS Secret Access Key and signing method. Consult the service documentation "
                    "for details.")


def verify_request(method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes,
                   secret_for: SecretLookup, *, now: datetime, max_skew: timedelta = MAX_SKEW) -> Verified:
    """Verify a header-signed request (`Authorization: AWS4-HMAC-SHA256 ...`)."""
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization", "")
    if not auth:
        if "X-Amz-Signature" in raw_query:
            return verify_presigned(method, raw_path, raw_query, headers, secret_for, now=now,
                                    payload_hash=hashlib.sha256(body).hexdigest())
        raise SignatureError(MISSING, "Missing Authentication Token")
    scope, signed, sig = parse_authorization(auth)
    date_value = lower.get("x-amz-date") or ""
    if not date_value:
        raise SignatureError(MALFORMED, "Authorization header requires existence of either a 'X-Amz-Date' or "
                                        "a 'Date' header.")
    t = parse_amz_date(date_value)
    secret = secret_for(scope.access_key_id)
    if secret is None:
        raise SignatureError(UNKNOWN_KEY, "The security token included in the request is invalid.",
                             scope.access_key_id)
    if "host" not in signed:
        raise SignatureError(MISMATCH, "'Host' must be a 'SignedHeader' in the AWS Authorization.",
                             scope.access_key_id)
    payload = lower.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    if payload == "UNSIGNED-PAYLOAD":
        payload = "UNSIGNED-PAYLOAD"
    creq = canonical_request(method, raw_path, parse_query(raw_query), headers, signed, payload)
    expected = signature(secret, scope, date_value, creq)
    if not hmac.compare_digest(expected, sig):
        raise SignatureError(MISMATCH, MISMATCH_MESSAGE, scope.access_key_id)
    _check_skew(t, now, max_skew)
    return Verified(scope, t, tuple(signed), lower.get("x-amz-security-token", ""))


def verify_presigned(method: str, raw_path: str, raw_query: str, headers: dict[str, str],
                     secret_for: SecretLookup, *, now: datetime, payload_hash: str = EMPTY_SHA256,
                     max_age: timedelta | None = None) -> Verified:
    """Verify a presigned URL (`X-Amz-Signature` in the query). `max_age` overrides `X-Amz-Expires`
    (EKS tokens are valid 15 minutes whatever the URL says)."""
    pairs = parse_query(raw_query)
    q: dict[str, str] = {}
    for k, v in pairs:
        q.setdefault(k, v)
    if q.get("X-Amz-Algorithm") != ALGORITHM:
        raise SignatureError(MALFORMED, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
    for k in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"):
        if not q.get(k):
            raise SignatureError(MALFORMED, f"Query-string authentication requires the {k} parameter.")
    scope = parse_credential(q["X-Amz-Credential"])
    t = parse_amz_date(q["X-Amz-Date"])
    signed = q["X-Amz-SignedHeaders"].split(";")
    secret = secret_for(scope.access_key_id)
    if secret is None:
        raise SignatureError(UNKNOWN_KEY, "The security token included in the request is invalid.",
                             scope.access_key_id)
    creq = canonical_request(method, raw_path, [(k, v) for k, v in pairs if k != "X-Amz-Signature"], headers,
                             signed, payload_hash)
    expected = signature(secret, scope, q["X-Amz-Date"], creq)
    if not hmac.compare_digest(expected, q["X-Amz-Signature"]):
        raise SignatureError(MISMATCH, MISMATCH_MESSAGE, scope.access_key_id)
    if max_age is None:
        try:
            expires = int(q.get("X-Amz-Expires", "0"))
        except ValueError as e:
            raise SignatureError(MALFORMED, "X-Amz-Expires should be a number") from e
        max_age = timedelta(seconds=expires)
    fmt = lambda d: d.strftime(AMZ_DATE)  # noqa: E731
    if now > t + max_age:
        raise SignatureError(EXPIRED, f"Request has expired: signed at {fmt(t)}, valid until "
                                      f"{fmt(t + max_age)}, now {fmt(now)}")
    if t > now + timedelta(minutes=5):
        raise SignatureError(EXPIRED, f"Request is not yet valid: signed at {fmt(t)}, now {fmt(now)}")
    return Verified(scope, t, tuple(signed), q.get("X-Amz-Security-Token", ""))


# -- signing (for tests, and for tokens the service mints itself) -----------------------------------


def sign_request(method: str, url_path: str, raw_query: str, headers: dict[str, str], body: bytes, *,
                 access_key_id: str, secret: str, region: str, service: str, now: datetime,
                 security_token: str = "") -> dict[str, str]:
    """Headers to add to sign a request as botocore does (`X-Amz-Date`, `Authorization`, ...)."""
    amz_date = now.strftime(AMZ_DATE)
    h = dict(headers)
    h["X-Amz-Date"] = amz_date
    if security_token:
        h["X-Amz-Security-Token"] = security_token
    signed = sorted({k.lower() for k in h} | {"host"})
    scope = Scope(access_key_id, amz_date[:8], region, service)
    creq = canonical_request(method, url_path, parse_query(raw_query), h, signed, hashlib.sha256(body).hexdigest())
    sig = signature(secret, scope, amz_date, creq)
    out = {"X-Amz-Date": amz_date,
           "Authorization": f"{ALGORITHM} Credential={access_key_id}/{scope.text}, "
                            f"SignedHeaders={';'.join(signed)}, Signature={sig}"}
    if security_token:
        out["X-Amz-Security-Token"] = security_token
    return out


def presign(method: str, host: str, path: str, params: list[tuple[str, str]], *, access_key_id: str, secret: str,
            region: str, service: str, now: datetime, expires: int, extra_headers: dict[str, str] | None = None,
            security_token: str = "") -> str:
    """A presigned query string (what botocore's `generate_presigned_url` appends)."""
    amz_date = now.strftime(AMZ_DATE)
    scope = Scope(access_key_id, amz_date[:8], region, service)
    headers = {"host": host, **{k.lower(): v for k, v in (extra_headers or {}).items()}}
    signed = sorted(headers)
    q = list(params) + [("X-Amz-Algorithm", ALGORITHM), ("X-Amz-Credential", f"{access_key_id}/{scope.text}"),
                        ("X-Amz-Date", amz_date), ("X-Amz-Expires", str(expires)),
                        ("X-Amz-SignedHeaders", ";".join(signed))]
    if security_token:
        q.append(("X-Amz-Security-Token", security_token))
    creq = canonical_request(method, path, q, headers, signed, EMPTY_SHA256)
    q.append(("X-Amz-Signature", signature(secret, scope, amz_date, creq)))
    return "&".join(f"{uri_encode(k)}={uri_encode(v)}" for k, v in q)


def decoded_path_segments(raw_path: str) -> list[str]:
    """Split the raw path on `/` first, then decode each segment (ARNs keep their `%2F`)."""
    return [unquote(s) for s in raw_path.strip("/").split("/")] if raw_path.strip("/") else []
