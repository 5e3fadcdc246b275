"""A webhook token authenticator for the API server, as Kubernetes'
`--authentication-token-webhook-config-file` makes one: bearer tokens no other authenticator
knows are sent as a `TokenReview` to a remote service, which answers who they belong to.

The config file is a kubeconfig: `clusters[0].cluster.server` is the URL to POST to,
`users[0].user.token` the bearer token the webhook expects. Positive answers are cached for
`ttl` seconds (Kubernetes' `--authentication-token-webhook-cache-ttl`, 2 minutes there, shorter
here so access changes show sooner); rejections are not cached.

(This belongs in `kubelite.apiserver.authn`; it lives with its only user, the EKS service's
per-cluster API servers, until it moves.)
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from kubelite.registry.generic.store import UserInfo

log = logging.getLogger(__name__)


def write_config(path: Path, url: str, token: str) -> None:
    import os

    doc = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "webhook", "cluster": {"server": url}}],
           "users": [{"name": "apiserver", "user": {"token": token}}],
           "contexts": [{"name": "webhook", "context": {"cluster": "webhook", "user": "apiserver"}}],
           "current-context": "webhook"}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(doc, f)
    os.replace(tmp, path)


class WebhookTokenAuthenticator:
    def __init__(self, url: str, token: str, *, ttl: float = 30.0, timeout: float = 10.0,
                 api_version: str = "authentication.k8s.io/v1"):
        self.url = url
        self.token = token
        self.ttl = ttl
        self.timeout = timeout
        self.api_version = api_version
        self._cache: dict[str, tuple[float, UserInfo]] = {}
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_config_file(cls, path: Path, **kw: Any) -> "WebhookTokenAuthenticator":
        doc = yaml.safe_load(Path(path).read_text())
        url = doc["clusters"][0]["cluster"]["server"]
        token = (doc.get("users") or [{}])[0].get("user", {}).get("token", "")
        return cls(url, token, **kw)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def authenticate_token(self, token: str) -> UserInfo | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        review = {"apiVersion": self.api_version, "kind": "TokenReview", "spec": {"token": token}}
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self._session.post(self.url, json=review, headers=headers) as r:
                body = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            log.warning("token webhook %s failed: %s", self.url, e)
            return None
        status = (body or {}).get("status") or {}
        if not status.get("authenticated"):
            return None
        u = status.get("user") or {}
        user = UserInfo(u.get("username", ""), u.get("uid", ""), list(u.get("groups") or []),
                        {k: list(v) for k, v in (u.get("extra") or {}).items()})
        if not user.username:
            return None
        if len(self._cache) > 10000:
            self._cache.clear()
        self._cache[digest] = (now + self.ttl, user)
        return user
