"""Bootstrap tokens through the API (what `kubelite token create|list|delete` does).

    tok = await create_token(client, ttl=timedelta(hours=2), description="rack 3")
    for t in await list_tokens(client): ...
    await delete_token(client, "abcdef")          # id or the whole token
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kubelite.machinery import errors

from .tokens import (
    DEFAULT_EXTRA_GROUP,
    DEFAULT_TTL,
    ID_RE,
    NAMESPACE,
    SECRET_PREFIX,
    SECRET_TYPE,
    BootstrapToken,
    InvalidToken,
    Token,
    new_token,
)


async def create_token(client, *, ttl: timedelta | None = DEFAULT_TTL, description: str = "",
                       token: Token | None = None, groups: tuple[str, ...] = (DEFAULT_EXTRA_GROUP,),
                       now: datetime | None = None) -> BootstrapToken:
    """Create a token Secret (a new random token unless `token` is given)."""
    for _ in range(5):
        bt = new_token(ttl=ttl, description=description, token=token, groups=groups, now=now)
        try:
            await client.create("secrets", bt.to_secret(), NAMESPACE)
            return bt
        except errors.StatusError as e:
            if errors.is_already_exists(e) and token is None:
                continue  # an id collision: draw again
            raise
    raise RuntimeError("could not find a free token id")


async def list_tokens(client) -> list[BootstrapToken]:
    secrets = await client.list("secrets", NAMESPACE, field_selector=f"type={SECRET_TYPE}")
    out = []
    for s in secrets.get("items") or []:
        if not s["metadata"]["name"].startswith(SECRET_PREFIX):
            continue
        try:
            out.append(BootstrapToken.from_secret(s))
        except InvalidToken:
            continue
    return sorted(out, key=lambda t: t.token.id)


def token_id(s: str) -> str:
    s = s.strip()
    if "." in s:
        return Token.parse(s).id
    if not ID_RE.match(s):
        raise InvalidToken(f'"{s}" is neither a token id ([a-z0-9]{{6}}) nor a token')
    return s


async def delete_token(client, id_or_token: str) -> str:
    tid = token_id(id_or_token)
    await client.delete("secrets", SECRET_PREFIX + tid, NAMESPACE)
    return tid


def remaining(bt: BootstrapToken, now: datetime | None = None) -> timedelta | None:
    if bt.expiration is None:
        return None
    return bt.expiration - (now or datetime.now(timezone.utc))
