"""`BootstrapTokenAuthenticator`: bearer tokens of the form `<id>.<secret>` backed by the Secret
`kube-system/bootstrap-token-<id>` (Kubernetes' bootstrap token authenticator).

A token authenticates as `system:bootstrap:<id>` in `system:bootstrappers` and its
`auth-extra-groups` when its Secret exists, is not being deleted, allows
`usage-bootstrap-authentication`, holds the same secret (compared in constant time) and has not
expired. Anything that does not look like a bootstrap token is left to the next authenticator.
A token whose secret matches but which has expired is refused with a message that says so (the
caller holds the secret, so nothing leaks); every other failure is a plain "Unauthorized".
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime, timezone
from typing import Awaitable, Callable

from kubelite.machinery import errors
from kubelite.registry.generic.store import UserInfo

from .tokens import GROUP, NAMESPACE, TOKEN_RE, BootstrapToken, InvalidToken, Token

log = logging.getLogger(__name__)

GetObject = Callable[[str, str, str], Awaitable[dict | None]]  # (plural, namespace, name)


class BootstrapTokenAuthenticator:
    def __init__(self, get: GetObject, *, now: Callable[[], datetime] | None = None):
        self.get = get
        self.now = now or (lambda: datetime.now(timezone.utc))

    async def authenticate_token(self, raw: str) -> UserInfo | None:
        if TOKEN_RE.match(raw) is None:
            return None
        token = Token.parse(raw)
        secret = await self.get("secrets", NAMESPACE, token.secret_name)
        if secret is None:
            log.debug("bootstrap token %s: no secret", token.id)
            return None
        if (secret.get("metadata") or {}).get("deletionTimestamp"):
            return None
        try:
            stored = BootstrapToken.from_secret(secret)
        except InvalidToken as e:
            log.warning("bootstrap token %s: %s", token.id, e)
            return None
        if not hmac.compare_digest(stored.token.secret.encode(), token.secret.encode()):
            log.debug("bootstrap token %s: secret does not match", token.id)
            return None
        if "authentication" not in stored.usages:
            log.debug("bootstrap token %s: not usable for authentication", token.id)
            return None
        if stored.expired(self.now()):
            raise errors.new_unauthorized(f'bootstrap token "{token.id}" expired at '
                                          f'{stored.expiration:%Y-%m-%dT%H:%M:%SZ}')
        groups = [GROUP] + [g for g in stored.groups if g != GROUP]
        return UserInfo(token.username, "", groups)
