"""Authentication: who is calling. A chain of authenticators, each answering a user or nothing.

- client certificates signed by the cluster CA (CN = user name, O = groups), verified by TLS;
- bearer tokens: static tokens (the admin token, as k3s has), and pluggable token authenticators
  (service-account JWTs, bootstrap tokens, webhook-shaped ones such as EKS' IAM tokens) added later;
- anonymous requests are allowed only to /version, /healthz, /livez, /readyz (and nothing else).

Every authenticated user also gets the group `system:authenticated`.
"""

from __future__ import annotations

import hmac
import logging
from typing import Awaitable, Callable, Protocol

from aiohttp import web

from kubelite.machinery import errors

from kubelite.registry.generic.store import UserInfo

log = logging.getLogger(__name__)

ANONYMOUS_PATHS = {"/version", "/healthz", "/livez", "/readyz", "/version/",
                   # the signed cluster-info ConfigMap joining nodes read before they have credentials
                   "/api/v1/namespaces/kube-public/configmaps/cluster-info"}


class TokenAuthenticator(Protocol):
    async def authenticate_token(self, token: str) -> UserInfo | None: ...


class StaticTokens:
    """Tokens from a CSV-like file: `token,user,uid,"group1,group2"` (Kubernetes' token-auth-file)."""

    def __init__(self) -> None:
        self._tokens: dict[str, UserInfo] = {}

    def add(self, token: str, user: UserInfo) -> None:
        self._tokens[token] = user

    async def authenticate_token(self, token: str) -> UserInfo | None:
        for t, u in self._tokens.items():
            if hmac.compare_digest(t, token):
                return u
        return None


def user_from_cert(peercert: dict | None) -> UserInfo | None:
    if not peercert:
        return None
    cn = ""
    orgs: list[str] = []
    for rdn in peercert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                cn = v
            elif k == "organizationName":
                orgs.append(v)
    if not cn:
        return None
    return UserInfo(cn, "", orgs)


class Authenticator:
    def __init__(self) -> None:
        self.token_authenticators: list[TokenAuthenticator] = []

    async def authenticate(self, request: web.Request) -> UserInfo | None:
        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            token = auth[7:].strip()
            for a in self.token_authenticators:
                try:
                    u = await a.authenticate_token(token)
                except errors.StatusError:
                    raise
                except Exception:
                    log.exception("token authenticator failed")
                    u = None
                if u is not None:
                    return _with_authenticated(u)
            raise errors.new_unauthorized()
        transport = request.transport
        peercert = transport.get_extra_info("peercert") if transport is not None else None
        u = user_from_cert(peercert)
        if u is not None:
            return _with_authenticated(u)
        return None


def _with_authenticated(u: UserInfo) -> UserInfo:
    if "system:authenticated" not in u.groups:
        u = UserInfo(u.username, u.uid, list(u.groups) + ["system:authenticated"], u.extra)
    return u


ANONYMOUS = UserInfo("system:anonymous", "", ["system:unauthenticated"])

AuthenticateFn = Callable[[web.Request], Awaitable[UserInfo | None]]
