"""Blob storage behind redirects, as registries backed by S3 or GCS serve layers.

With a `BlobRedirect`, the registry answers a blob `GET` with `307 Location: <storage URL>`; the
URL carries an expiry and an HMAC signature (a presigned URL) and no registry credentials.
`BlobStorageServer` serves those URLs from the registry's blob directory on its own address, with
`Range` support, and rejects requests that carry an `Authorization` header (object stores refuse a
second auth mechanism), so a client that leaks the registry's token to storage fails as it would
against S3.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web


@dataclass
class BlobRedirect:
    base_url: str                                  # "http://127.0.0.1:PORT"
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    ttl: int = 300

    def signature(self, path: str, expires: int) -> str:
        return hmac.new(self.secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def url_for(self, digest: str) -> str:
        alg, _, hexpart = digest.partition(":")
        path = f"/blobs/{alg}/{hexpart}"
        expires = int(time.time()) + self.ttl
        return f"{self.base_url}{path}?{urlencode({'expires': expires, 'signature': self.signature(path, expires)})}"

    def check(self, path: str, expires: str, signature: str) -> bool:
        try:
            exp = int(expires)
        except ValueError:
            return False
        return exp >= time.time() and hmac.compare_digest(self.signature(path, exp), signature)


class BlobStorageServer:
    """Serves `<root>/blobs/<alg>/<hex>` at presigned URLs; `redirect` is what the registry needs."""

    def __init__(self, root: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root)
        self.host = host
        self.port = port
        self.redirect = BlobRedirect("")
        self.served = 0
        self._runner: web.AppRunner | None = None

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization"):
            return web.Response(status=400, text="Only one auth mechanism allowed")
        alg, hexpart = request.match_info["alg"], request.match_info["hex"]
        if not self.redirect.check(request.path, request.query.get("expires", ""),
                                   request.query.get("signature", "")):
            return web.Response(status=403, text="AccessDenied: bad or expired signature")
        path = self.root / "blobs" / alg / hexpart
        if alg not in ("sha256", "sha512") or not hexpart.isalnum() or not path.is_file():
            return web.Response(status=404, text="NoSuchKey")
        self.served += 1
        return web.FileResponse(path, chunk_size=1 << 20)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/blobs/{alg}/{hex}", self._get)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.redirect.base_url = f"http://{self.host}:{self.port}"
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BlobStorageServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
