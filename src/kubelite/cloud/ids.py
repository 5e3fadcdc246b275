"""AWS-shaped identifiers from an injected `random.Random` (deterministic in tests):
access keys (`AKIA…`, `ASIA…`), unique ids (`AIDA…` users, `AROA…` roles, `ANPA…` policies),
EC2 ids (`vpc-`, `subnet-`, `sg-`, `i-` + 17 hex), UUIDs and secrets."""

from __future__ import annotations

import random
import string
import uuid

_UPPER_ALNUM = string.ascii_uppercase + string.digits
_SECRET = string.ascii_letters + string.digits + "+/"


class Ids:
    def __init__(self, rng: random.Random | None = None):
        self.rng = rng or random.SystemRandom()

    def _chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def access_key_id(self) -> str:
        return "AKIA" + self._chars(_UPPER_ALNUM, 16)

    def temporary_access_key_id(self) -> str:
        return "ASIA" + self._chars(_UPPER_ALNUM, 16)

    def secret_access_key(self) -> str:
        return self._chars(_SECRET, 40)

    def session_token(self) -> str:
        return "IQoJb3JpZ2luX2VjE" + self._chars(string.ascii_letters + string.digits, 180)

    def unique_id(self, prefix: str) -> str:
        """`AIDA` (user), `AROA` (role), `ANPA` (policy), `AGPA` (group) + 17 characters."""
        return prefix + self._chars(_UPPER_ALNUM, 17)

    def ec2(self, prefix: str) -> str:
        return f"{prefix}-" + self._chars("0123456789abcdef", 17)

    def hex(self, n: int) -> str:
        return self._chars("0123456789abcdef", n)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def token(self, n: int = 32) -> str:
        return self._chars(string.ascii_letters + string.digits, n)
