"""Running the registry: `run_registry` for embedding, `RegistryServer` for tests and the CLI."""

from __future__ import annotations

import asyncio
import os
import socket

from aiohttp import web

from .app import RegistryApp
from .auth import RegistryAuth
from .blobstore import BlobRedirect
from .storage import RegistryStorage


class RegistryServer:
    """The registry on `host:port` (port 0 picks a free one; see `.port` after `start`)."""

    def __init__(self, host: str, port: int, root: str | os.PathLike[str], auth: RegistryAuth | None = None, *,
                 blob_redirect: BlobRedirect | None = None) -> None:
        self.host = host
        self.blob_redirect = blob_redirect
        self.port = port
        self.root = root
        self.auth = auth or RegistryAuth()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        storage = await asyncio.to_thread(RegistryStorage, self.root)
        app = RegistryApp(storage, self.auth, blob_redirect=self.blob_redirect).build()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> RegistryServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def run_registry(host: str, port: int, root: str | os.PathLike[str], auth: RegistryAuth | None = None) -> None:
    """Serve until cancelled."""
    server = RegistryServer(host, port, root, auth)
    await server.start()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
