"""Request credentials from a `ClientConfig`: the `Authorization` header a transport adds.

Precedence as in client-go: a static bearer token, else a token file (re-read at most once a
minute: service account tokens rotate), else an exec plugin's token (cached until its
`expirationTimestamp`), else basic auth. `invalidate()` (called on a 401) drops cached tokens.
Exec plugins that return client certificates are not supported.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from datetime import datetime, timezone

import orjson

from ..machinery.clock import REAL_CLOCK, Clock
from ..machinery.timeutil import parse_time
from .config import ClientConfig, ConfigError, ExecConfig

log = logging.getLogger(__name__)

TOKEN_FILE_PERIOD = 60.0


class Authenticator:
    def __init__(self, config: ClientConfig, *, clock: Clock = REAL_CLOCK) -> None:
        self._config = config
        self._clock = clock
        self._cached: str | None = None
        self._cached_at = 0.0
        self._expires: datetime | None = None
        self._lock = asyncio.Lock()

    async def headers(self) -> dict[str, str]:
        token = await self.token()
        if token:
            return {"Authorization": f"Bearer {token}"}
        c = self._config
        if c.username is not None:
            raw = f"{c.username}:{c.password or ''}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {}

    def invalidate(self) -> None:
        self._cached = None

    async def token(self) -> str | None:
        c = self._config
        if c.token:
            return c.token
        if not c.token_file and not c.exec:
            return None
        async with self._lock:
            if self._fresh():
                return self._cached
            try:
                if c.token_file:
                    self._cached = await asyncio.to_thread(_read_token, c.token_file)
                    self._expires = None
                elif c.exec:
                    self._cached, self._expires = await _run_exec(c.exec, c)
            except (OSError, ConfigError) as exc:
                if self._cached is None:
                    raise ConfigError(f"cannot get a bearer token: {exc}") from exc
                log.warning("keeping the previous bearer token: %s", exc)
            self._cached_at = self._clock.monotonic()
            return self._cached

    def _fresh(self) -> bool:
        if self._cached is None:
            return False
        if self._config.token_file:
            return self._clock.monotonic() - self._cached_at < TOKEN_FILE_PERIOD
        return self._expires is None or self._clock.now() < self._expires


def _read_token(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


async def _run_exec(e: ExecConfig, c: ClientConfig) -> tuple[str, datetime | None]:
    spec: dict = {"interactive": False}
    if e.provide_cluster_info:
        cluster: dict = {"server": c.server, "insecure-skip-tls-verify": c.insecure}
        if c.ca_data:
            cluster["certificate-authority-data"] = base64.b64encode(c.ca_data).decode()
        if c.tls_server_name:
            cluster["tls-server-name"] = c.tls_server_name
        spec["cluster"] = cluster
    info = {"apiVersion": e.api_version, "kind": "ExecCredential", "spec": spec}
    env = {**os.environ, **e.env, "KUBERNETES_EXEC_INFO": orjson.dumps(info).decode()}
    try:
        proc = await asyncio.create_subprocess_exec(
            e.command, *e.args, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except FileNotFoundError as exc:
        hint = f"\n\n{e.install_hint}" if e.install_hint else ""
        raise ConfigError(f'exec: executable {e.command} not found{hint}') from exc
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise ConfigError(f"exec: executable {e.command} failed with exit code {proc.returncode}: "
                          f"{err.decode(errors='replace').strip()}")
    try:
        cred = orjson.loads(out)
        status = cred.get("status") or {}
    except (orjson.JSONDecodeError, AttributeError) as exc:
        raise ConfigError(f"exec: decoding stdout: {exc}") from exc
    token = status.get("token")
    if not token:
        raise ConfigError("exec plugin didn't return a token")
    expiry = status.get("expirationTimestamp")
    return token, parse_time(expiry).astimezone(timezone.utc) if expiry else None
