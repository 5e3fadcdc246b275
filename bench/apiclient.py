"""An HTTPS client for the benchmarks: admin certificate, JSON bodies, a connection pool of
`conns` (bench/ is on `sys.path` when a benchmark runs as a script)."""

from __future__ import annotations

import json
import ssl

import aiohttp

from kubelite.testing import ServerProcess


class Client:
    def __init__(self, server: ServerProcess, conns: int = 32, cert: tuple[str, str] | None = None):
        tls = server.data_dir / "tls"
        ctx = ssl.create_default_context(cafile=str(tls / "ca.crt"))
        ctx.load_cert_chain(*(cert or (str(tls / "admin.crt"), str(tls / "admin.key"))))
        self.base = server.url
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=conns))

    async def req(self, method: str, path: str, body: dict | None = None,
                  headers: dict | None = None) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        async with self.session.request(method, self.base + path, data=data,
                                        headers={"Content-Type": "application/json", **(headers or {})}) as r:
            return r.status, await r.read()

    async def close(self) -> None:
        await self.session.close()
