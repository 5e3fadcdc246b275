"""Bootstrap tokens (pure): format, Secrets, TTLs, cluster-info signatures and the CA pin.

A token is `<id>.<secret>` (`[a-z0-9]{6}.[a-z0-9]{16}`); the id is public, the secret is not.
It lives in the Secret `kube-system/bootstrap-token-<id>` of type `bootstrap.kubernetes.io/token`
with the keys Kubernetes uses: `token-id`, `token-secret`, `expiration` (RFC 3339),
`description`, `usage-bootstrap-authentication`, `usage-bootstrap-signing`, `auth-extra-groups`.
It authenticates as `system:bootstrap:<id>` in `system:bootstrappers` (plus extra groups).

`kube-public/cluster-info` carries a kubeconfig with the cluster CA; for every signing token the
BootstrapSigner adds `jws-kubeconfig-<id>`, a detached JWS (HS256, key = the token secret,
header `kid` = the token id) over that kubeconfig, so a node holding the token can tell the CA
is genuine. The CA can also be pinned with `sha256:<hex>` of its SubjectPublicKeyInfo (kubeadm's
`--discovery-token-ca-cert-hash`); a k3s-style full token `K10<hex>::<id>.<secret>` carries it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import serialization

NAMESPACE = "kube-system"
SECRET_PREFIX = "bootstrap-token-"
SECRET_TYPE = "bootstrap.kubernetes.io/token"
USER_PREFIX = "system:bootstrap:"
GROUP = "system:bootstrappers"
DEFAULT_EXTRA_GROUP = "system:bootstrappers:kubelite:default-node-token"
DEFAULT_TTL = timedelta(hours=24)
USAGES = ("authentication", "signing")

CLUSTER_INFO_NAMESPACE = "kube-public"
CLUSTER_INFO_NAME = "cluster-info"
CLUSTER_INFO_KEY = "kubeconfig"
JWS_PREFIX = "jws-kubeconfig-"

TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
ID_RE = re.compile(r"^[a-z0-9]{6}$")
GROUP_RE = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")
HASH_RE = re.compile(r"^sha256:([0-9a-f]{64})$")
FULL_TOKEN_RE = re.compile(r"^K10([0-9a-f]{64})::(.+)$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class InvalidToken(ValueError):
    """A token, TTL, group or CA hash that does not have the required form."""


@dataclass(frozen=True)
class Token:
    id: str
    secret: str = field(repr=False)

    def __str__(self) -> str:
        return f"{self.id}.{self.secret}"

    @classmethod
    def parse(cls, s: str) -> Token:
        m = TOKEN_RE.match(s.strip())
        if m is None:
            raise InvalidToken(f'the token "{_redact(s)}" was not of the form "[a-z0-9]{{6}}.[a-z0-9]{{16}}"')
        return cls(m.group(1), m.group(2))

    @classmethod
    def generate(cls) -> Token:
        return cls("".join(secrets.choice(_ALPHABET) for _ in range(6)),
                   "".join(secrets.choice(_ALPHABET) for _ in range(16)))

    @property
    def secret_name(self) -> str:
        return SECRET_PREFIX + self.id

    @property
    def username(self) -> str:
        return USER_PREFIX + self.id


def _redact(s: str) -> str:
    """Show a token's id part only, never its secret."""
    head, dot, _ = s.strip().partition(".")
    return f"{head}.<redacted>" if dot else "<redacted>"


def parse_join_token(s: str) -> tuple[Token, list[str]]:
    """A join token, plain or k3s-style `K10<sha256 hex>::<id>.<secret>`; returns the token and
    the CA hashes it pins (empty for a plain token)."""
    s = s.strip()
    m = FULL_TOKEN_RE.match(s)
    if m:
        return Token.parse(m.group(2)), [f"sha256:{m.group(1)}"]
    return Token.parse(s), []


def full_token(token: Token, ca_hash: str) -> str:
    return f"K10{normalize_ca_hash(ca_hash)[len('sha256:'):]}::{token}"


# ----- TTLs -----------------------------------------------------------------------------------

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")


def parse_ttl(s: str) -> timedelta | None:
    """A Go-style duration (`24h`, `1h30m`, `90s`); `0` means the token never expires (None)."""
    s = s.strip()
    if s in ("0", "0s"):
        return None
    pos, total = 0, 0.0
    for m in _DURATION_RE.finditer(s):
        if m.start() != pos:
            break
        n = float(m.group(1))
        total += n * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise InvalidToken(f'invalid duration "{s}": use e.g. 24h, 90m, 3600s, or 0 for no expiry')
    if total <= 0:
        return None
    return timedelta(seconds=total)


def format_ttl(remaining: timedelta) -> str:
    """kubeadm's TTL column: `23h`, `59m`, `<invalid>` once expired."""
    secs = int(remaining.total_seconds())
    if secs <= 0:
        return "<invalid>"
    if secs >= 2 * 86400:
        return f"{secs // 86400}d"
    if secs >= 3600:
        return f"{secs // 3600}h"
    if secs >= 60:
        return f"{secs // 60}m"
    return f"{secs}s"


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(s: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(s.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


# ----- Secrets --------------------------------------------------------------------------------


@dataclass
class BootstrapToken:
    """A token as stored in its Secret."""

    token: Token
    description: str = ""
    expiration: datetime | None = None
    usages: tuple[str, ...] = USAGES
    groups: tuple[str, ...] = (DEFAULT_EXTRA_GROUP,)

    def expired(self, now: datetime) -> bool:
        return self.expiration is not None and now >= self.expiration

    def to_secret(self) -> dict:
        data = {"token-id": self.token.id, "token-secret": self.token.secret}
        if self.description:
            data["description"] = self.description
        if self.expiration is not None:
            data["expiration"] = _rfc3339(self.expiration)
        for u in self.usages:
            data[f"usage-bootstrap-{u}"] = "true"
        if self.groups:
            data["auth-extra-groups"] = ",".join(self.groups)
        return {"apiVersion": "v1", "kind": "Secret", "type": SECRET_TYPE,
                "metadata": {"name": self.token.secret_name, "namespace": NAMESPACE},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}

    @classmethod
    def from_secret(cls, secret: dict) -> BootstrapToken:
        """Read a token Secret; raises InvalidToken when it is not a well-formed token."""
        name = (secret.get("metadata") or {}).get("name", "")
        if secret.get("type") != SECRET_TYPE:
            raise InvalidToken(f"secret {name} is not of type {SECRET_TYPE}")
        data = secret_data(secret)
        tid, tsecret = data.get("token-id", ""), data.get("token-secret", "")
        if name != SECRET_PREFIX + tid:
            raise InvalidToken(f"secret {name}: token-id {tid!r} does not match the name")
        token = Token.parse(f"{tid}.{tsecret}")
        expiration = None
        if data.get("expiration"):
            expiration = _parse_time(data["expiration"])
            if expiration is None:
                raise InvalidToken(f"secret {name}: unparseable expiration {data['expiration']!r}")
        usages = tuple(u for u in USAGES if data.get(f"usage-bootstrap-{u}") == "true")
        groups = tuple(g.strip() for g in data.get("auth-extra-groups", "").split(",") if g.strip())
        for g in groups:
            if not GROUP_RE.match(g):
                raise InvalidToken(f"secret {name}: extra group {g!r} must start with system:bootstrappers:")
        return cls(token, data.get("description", ""), expiration, usages, groups)


def secret_data(secret: dict) -> dict[str, str]:
    """A Secret's `data` (base64) and `stringData`, decoded."""
    out: dict[str, str] = {}
    for k, v in (secret.get("data") or {}).items():
        try:
            out[k] = base64.b64decode(v).decode()
        except (ValueError, UnicodeDecodeError):
            continue
    for k, v in (secret.get("stringData") or {}).items():
        out[k] = str(v)
    return out


def new_token(*, ttl: timedelta | None = DEFAULT_TTL, description: str = "", now: datetime | None = None,
              groups: tuple[str, ...] = (DEFAULT_EXTRA_GROUP,), usages: tuple[str, ...] = USAGES,
              token: Token | None = None) -> BootstrapToken:
    for g in groups:
        if not GROUP_RE.match(g):
            raise InvalidToken(f'extra group "{g}" must start with "system:bootstrappers:"')
    for u in usages:
        if u not in USAGES:
            raise InvalidToken(f'unknown usage "{u}" (use {", ".join(USAGES)})')
    now = now or datetime.now(timezone.utc)
    return BootstrapToken(token or Token.generate(), description,
                          None if ttl is None else (now + ttl).replace(microsecond=0), usages, groups)


# ----- cluster-info signatures ----------------------------------------------------------------


def _b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64url(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def sign_detached(content: str, token: Token) -> str:
    """The detached JWS `<header>..<signature>` over `content` (HS256, key = token secret)."""
    header = _b64url(json.dumps({"alg": "HS256", "kid": token.id}, separators=(",", ":")).encode())
    payload = _b64url(content.encode())
    sig = hmac.new(token.secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}..{_b64url(sig)}"


def verify_detached(detached: str, content: str, token: Token) -> bool:
    parts = detached.split(".")
    if len(parts) != 3 or parts[1] != "":
        return False
    try:
        header = json.loads(_unb64url(parts[0]))
        sig = _unb64url(parts[2])
    except (ValueError, json.JSONDecodeError):
        return False
    if not isinstance(header, dict) or header.get("alg") != "HS256" or header.get("kid", token.id) != token.id:
        return False
    payload = _b64url(content.encode())
    want = hmac.new(token.secret.encode(), f"{parts[0]}.{payload}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(want, sig)


# ----- the CA pin -----------------------------------------------------------------------------


def ca_cert_hash(cert: x509.Certificate | bytes) -> str:
    """`sha256:<hex>` of the certificate's SubjectPublicKeyInfo (kubeadm's CA pin)."""
    if isinstance(cert, (bytes, bytearray)):
        cert = x509.load_pem_x509_certificate(bytes(cert))
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def normalize_ca_hash(h: str) -> str:
    h = h.strip().lower()
    if not h.startswith("sha256:") and re.fullmatch(r"[0-9a-f]{64}", h):
        h = "sha256:" + h
    if not HASH_RE.match(h):
        raise InvalidToken(f'invalid CA certificate hash "{h}": expected "sha256:" and 64 hex digits')
    return h
