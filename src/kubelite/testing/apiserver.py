"""An API server in this process for integration tests: memory (or SQLite) storage, plain HTTP on
127.0.0.1 with a bearer token, bootstrap objects created, and a ready `Client`.

    async with InProcessAPIServer() as api:
        await api.client.create("pods", pod, namespace="default")
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

from aiohttp import web

from kubelite.apiserver.authn import StaticTokens
from kubelite.apiserver.server import APIServer, ServerOptions
from kubelite.registry.generic.store import UserInfo
from kubelite.storage import Backend
from kubelite.storage.memory import MemoryBackend

from .process import free_port


class InProcessAPIServer:
    def __init__(self, backend: Backend | None = None, *, port: int | None = None):
        self.backend = backend or MemoryBackend()
        self.port = port or free_port()
        self.token = secrets.token_hex(16)
        self.server: APIServer | None = None
        self.client = None
        self._stack = contextlib.AsyncExitStack()
        self._task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def new_client(self, token: str | None = None):
        from kubelite.client import Client, ClientConfig

        return Client.from_config(ClientConfig(server=self.url, token=token or self.token))

    def add_token(self, token: str, user: str, groups: list[str] | None = None) -> None:
        assert self.server is not None
        for a in self.server.authenticator.token_authenticators:
            if isinstance(a, StaticTokens):
                a.add(token, UserInfo(user, "", list(groups or [])))
                return

    async def __aenter__(self) -> "InProcessAPIServer":
        from kubelite.controlplane import bootstrap_objects

        await self.backend.start()
        self._stack.push_async_callback(self.backend.close)
        self.server = APIServer(self.backend, ServerOptions(bind_address="127.0.0.1", port=self.port))
        tokens = StaticTokens()
        tokens.add(self.token, UserInfo("system:admin", "", ["system:masters"]))
        self.server.authenticator.token_authenticators.append(tokens)
        self._task = asyncio.ensure_future(self.server.run_caches())
        self._stack.push_async_callback(self._stop_caches)
        await self.server.wait_ready()
        await bootstrap_objects.ensure(self.server, advertise_address="198.18.0.1", port=self.port)
        runner = web.AppRunner(self.server.app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        self._stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self.client = self.new_client()
        self._stack.push_async_callback(self.client.close)
        return self

    async def _stop_caches(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aexit__(self, *exc) -> None:
        await self._stack.aclose()
