"""`TokenCleaner`: deletes bootstrap token Secrets once they expire (Kubernetes' TokenCleaner).

`sync_secret(key)` deletes an expired token's Secret (with a UID precondition) and otherwise
requeues the key for the moment it expires.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from kubelite.bootstrap.tokens import NAMESPACE, SECRET_TYPE, BootstrapToken, InvalidToken
from kubelite.client import split_meta_namespace_key
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.errors import StatusError, is_conflict, is_not_found

log = logging.getLogger(__name__)


class TokenCleaner(Controller):
    name = "tokencleaner"
    workers = 1

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        self.secrets = ctx.informers.informer_for("secrets", namespace=NAMESPACE, field_selector=f"type={SECRET_TYPE}")
        self.lister = self.secrets.lister()
        self.secrets.add_event_handler(self.enqueue, lambda old, new: self.enqueue(new), None)

    async def sync(self, key: str) -> None:
        await self.sync_secret(key)

    async def sync_secret(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        try:
            secret = self.lister.get(name, namespace)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        if secret.get("type") != SECRET_TYPE or (secret.get("metadata") or {}).get("deletionTimestamp"):
            return
        try:
            bt = BootstrapToken.from_secret(secret)
        except InvalidToken:
            return
        if bt.expiration is None:
            return
        now = datetime.now(timezone.utc)
        if not bt.expired(now):
            self.enqueue_after(key, (bt.expiration - now).total_seconds() + 0.1)
            return
        try:
            await self.client.delete("secrets", name, namespace,
                                     preconditions={"uid": secret["metadata"].get("uid")})
            log.info("deleted expired bootstrap token %s", bt.token.id)
        except StatusError as e:
            if not (is_not_found(e) or is_conflict(e)):
                raise
