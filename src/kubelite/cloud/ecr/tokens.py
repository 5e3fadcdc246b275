"""ECR authorization tokens: what `GetAuthorizationToken` hands out and the registry accepts as the
password of user `AWS` (Basic auth, as `docker login` / `kubelite login` send it).

A token is 64 letters and digits (never a colon: `aws ecr get-login-password` splits
`AWS:<password>` on it), valid 12 hours, and stands for the IAM principal that asked for it: the
registry decides what it may do with that principal's policies (and the repository's policy).
Stored hashed in table `ecr-tokens`; expired ones are answered as expired for a day, then
forgotten.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from typing import Any

from ..iam.store import Principal
from ..state import State

TABLE = "ecr-tokens"
VALIDITY = timedelta(hours=12)
FORGET_AFTER = timedelta(days=1)
USERNAME = "AWS"

VALID, EXPIRED, UNKNOWN = "valid", "expired", "unknown"


def _hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


class Tokens:
    def __init__(self, state: State, ids: Any, clock: Any):
        self.state = state
        self.ids = ids
        self.clock = clock

    async def issue(self, principal: Principal) -> tuple[str, datetime]:
        now = self.clock.now()
        expires = now + VALIDITY
        password = self.ids.token(64)
        await self.state.put(TABLE, _hash(password), {"principal": dataclasses.asdict(principal),
                                                      "expiresAt": expires.timestamp(), "issuedAt": now.timestamp()})
        for key, t in list(self.state.items(TABLE)):
            if t["expiresAt"] + FORGET_AFTER.total_seconds() < now.timestamp():
                await self.state.delete(TABLE, key)
        return password, expires

    def check(self, username: str, password: str) -> tuple[str, Principal | None]:
        """(VALID | EXPIRED | UNKNOWN, the principal when valid)."""
        if not hmac.compare_digest(username, USERNAME):
            return UNKNOWN, None
        t = self.state.get(TABLE, _hash(password))
        if t is None:
            return UNKNOWN, None
        if self.clock.now().timestamp() >= t["expiresAt"]:
            return EXPIRED, None
        return VALID, Principal(**t["principal"])


def expires_text(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat()
