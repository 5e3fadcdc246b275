"""Registry authentication: none, HTTP Basic, or Docker's Bearer token flow (with the token endpoint).

Basic: a 401 carries `WWW-Authenticate: Basic realm="…"`; clients retry with credentials on every
request. Token: a 401 carries `WWW-Authenticate: Bearer realm="<this server>/token",service="…"`
(plus `scope="repository:<name>:pull,push"` on repository endpoints); clients fetch
`GET /token?service=…&scope=…` (repeatable `scope`) with Basic credentials, or anonymously, and
send `Authorization: Bearer <token>`. Tokens are HMAC-signed JSON claims (subject, granted
access, expiry), checked by this server only. `POST /token` accepts the OAuth2 password and
refresh-token grants Docker uses. Anonymous pulls are allowed only with `anonymous_pull`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import UNAUTHORIZED, RegistryError

PULL, PUSH, DELETE = "pull", "push", "delete"


@dataclass
class RegistryAuth:
    mode: str = "none"                       # none | basic | token
    users: dict[str, str] = field(default_factory=dict)
    anonymous_pull: bool = False
    realm: str = ""                          # token: the token URL (default: <scheme>://<host>/token)
    service: str = "kubelite-registry"
    token_ttl: int = 300
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def __post_init__(self) -> None:
        if self.mode not in ("none", "basic", "token"):
            raise ValueError(f"unknown registry auth mode {self.mode!r} (none, basic or token)")

    # -- credentials --

    def check_password(self, user: str, password: str) -> bool:
        want = self.users.get(user)
        return want is not None and hmac.compare_digest(want.encode(), password.encode())

    def basic_user(self, header: str) -> str | None:
        """The user of a valid `Authorization: Basic …` header; None if absent; raises if wrong."""
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise RegistryError(UNAUTHORIZED, 401, "invalid basic credentials") from None
        if not self.check_password(user, password):
            raise RegistryError(UNAUTHORIZED, 401, "invalid username or password")
        return user

    # -- tokens --

    def issue(self, subject: str, access: list[dict[str, Any]]) -> dict[str, Any]:
        now = int(time.time())
        claims = {"sub": subject, "access": access, "iat": now, "exp": now + self.token_ttl, "aud": self.service,
                  "jti": secrets.token_hex(8)}
        payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=")
        sig = base64.urlsafe_b64encode(hmac.new(self.secret, payload, hashlib.sha256).digest()).rstrip(b"=")
        token = (payload + b"." + sig).decode()
        return {"token": token, "access_token": token, "expires_in": self.token_ttl,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}

    def verify(self, token: str) -> dict[str, Any] | None:
        try:
            payload, sig = token.encode().split(b".")
            want = base64.urlsafe_b64encode(hmac.new(self.secret, payload, hashlib.sha256).digest()).rstrip(b"=")
            if not hmac.compare_digest(want, sig):
                return None
            claims = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        except (ValueError, TypeError):
            return None
        if claims.get("exp", 0) < time.time():
            return None
        return claims

    def grant(self, subject: str | None, scopes: list[str]) -> list[dict[str, Any]]:
        """What a (possibly anonymous) subject gets of the requested scopes."""
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            if subject:
                allowed = [a for a in actions if a in (PULL, PUSH, DELETE, "*")]
            else:
                allowed = [a for a in actions if a == PULL] if self.anonymous_pull and typ == "repository" else []
            if allowed:
                access.append({"type": typ, "name": name, "actions": sorted(set(allowed))})
        return access


def required_scope(name: str | None, method: str) -> tuple[str, str, str] | None:
    """(type, name, action) a request needs; None for the `/v2/` probe."""
    if name is None:
        return None
    if name == "_catalog":
        return ("registry", "catalog", "*")
    action = PULL if method in ("GET", "HEAD") else DELETE if method == "DELETE" else PUSH
    return ("repository", name, action)


def _scope_string(scope: tuple[str, str, str]) -> str:
    typ, name, action = scope
    if typ == "repository":
        actions = "pull" if action == PULL else "pull,push" if action == PUSH else "delete"
        return f"repository:{name}:{actions}"
    return f"{typ}:{name}:{action}"


def authorize(auth: RegistryAuth, header: str, scope: tuple[str, str, str] | None, token_realm: str) -> str | None:
    """Check one request; returns the subject (or None if anonymous) or raises a 401/403 RegistryError."""
    if auth.mode == "none":
        return None
    if auth.mode == "basic":
        challenge = {"WWW-Authenticate": f'Basic realm="{auth.realm or auth.service}"'}
        try:
            user = auth.basic_user(header)
        except RegistryError as e:
            raise RegistryError(UNAUTHORIZED, 401, e.message, headers=challenge) from None
        if user is None and not (auth.anonymous_pull and (scope is None or scope[2] == PULL)):
            raise RegistryError(UNAUTHORIZED, 401, headers=challenge)
        return user
    # token
    realm = auth.realm or token_realm
    challenge_value = f'Bearer realm="{realm}",service="{auth.service}"'
    if scope is not None:
        challenge_value += f',scope="{_scope_string(scope)}"'
    challenge = {"WWW-Authenticate": challenge_value}
    claims = None
    if header.lower().startswith("bearer "):
        claims = auth.verify(header[7:].strip())
    if claims is None:
        detail = None if scope is None else [{"Type": scope[0], "Name": scope[1], "Action": scope[2]}]
        raise RegistryError(UNAUTHORIZED, 401, detail=detail, headers=challenge)
    if scope is None:
        return claims.get("sub") or None
    typ, name, action = scope
    for a in claims.get("access") or []:
        if a.get("type") == typ and a.get("name") == name:
            acts = set(a.get("actions") or [])
            if action in acts or "*" in acts:
                return claims.get("sub") or None
    # insufficient scope: re-challenge with the scope needed (clients fetch a new token)
    raise RegistryError(UNAUTHORIZED, 401, detail=[{"Type": typ, "Name": name, "Action": action}], headers=challenge)
