"""Proxying to a backend (the API server to a kubelet) over one HTTP/1.1 connection per request:
plain requests with a streamed body, and upgrades whose bytes, after the backend's 101, are
passed through untouched in both directions (WebSocket or SPDY alike).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from . import upgrade

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
MAX_ERROR_BODY = 1 << 20
CONNECT_TIMEOUT = 10.0
_CHUNK = 64 * 1024

# Request headers an upgrade needs at the backend.
UPGRADE_HEADERS = ("Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol",
                   "Sec-WebSocket-Extensions", "X-Stream-Protocol-Version", "Origin", "User-Agent",
                   "Kubectl-Command", "Kubectl-Session")
# Response headers of a 101 that belong to the hop, not to the client.
_HOP_HEADERS = {"connection", "date", "server", "content-length", "transfer-encoding", "keep-alive"}


@dataclass
class Backend:
    host: str
    port: int
    ssl: ssl.SSLContext | None = None


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    _closed: bool = field(default=False, repr=False)

    def header(self, name: str, default: str = "") -> str:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    async def iter_body(self) -> AsyncIterator[bytes]:
        """The body as it arrives (chunked, Content-Length or until close)."""
        if "chunked" in self.header("Transfer-Encoding").lower():
            while True:
                line = await self.reader.readline()
                if not line:
                    return
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    await self.reader.readline()
                    return
                yield await self.reader.readexactly(size)
                await self.reader.readexactly(2)
        elif self.header("Content-Length"):
            left = int(self.header("Content-Length"))
            while left > 0:
                chunk = await self.reader.read(min(left, _CHUNK))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk
        else:
            while chunk := await self.reader.read(_CHUNK):
                yield chunk

    async def read_body(self, limit: int = MAX_ERROR_BODY) -> bytes:
        out = bytearray()
        async for chunk in self.iter_body():
            out += chunk
            if len(out) >= limit:
                break
        return bytes(out[:limit])

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self.writer.close()
            async with asyncio.timeout(2):
                await self.writer.wait_closed()


async def send_request(backend: Backend, method: str, target: str, headers: dict[str, str] | None = None,
                  body: bytes = b"") -> Response:
    """Send one request on a new connection and read the response head."""
    async with asyncio.timeout(CONNECT_TIMEOUT):
        reader, writer = await asyncio.open_connection(backend.host, backend.port, ssl=backend.ssl,
                                                       limit=MAX_HEAD)
    try:
        host = f"[{backend.host}]" if ":" in backend.host else backend.host
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{backend.port}"]
        h = dict(headers or {})
        if body or method in ("POST", "PUT", "PATCH"):
            h.setdefault("Content-Length", str(len(body)))
        lines += [f"{k}: {v}" for k, v in h.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        async with asyncio.timeout(CONNECT_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
    except BaseException:
        writer.close()
        raise
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        writer.close()
        raise ConnectionError(f"bad response from {backend.host}:{backend.port}: {status_line[:80]!r}")
    resp_headers = []
    for line in header_lines:
        if ":" in line:
            k, v = line.split(":", 1)
            resp_headers.append((k.strip(), v.strip()))
    return Response(int(parts[1]), parts[2] if len(parts) > 2 else "", resp_headers, reader, writer)


def client_gone(request: web.BaseRequest) -> bool:
    t = request.transport
    return t is None or t.is_closing()


async def proxy_upgrade(request: web.Request, backend: Backend, target: str,
                        extra_headers: dict[str, str] | None = None) -> web.StreamResponse:
    """Forward an upgrade request; on 101 splice the two connections, else echo the answer."""
    headers = {k: request.headers[k] for k in UPGRADE_HEADERS if k in request.headers}
    if "X-Stream-Protocol-Version" in request.headers:  # SPDY clients repeat it
        headers["X-Stream-Protocol-Version"] = ", ".join(request.headers.getall("X-Stream-Protocol-Version"))
    if "Sec-WebSocket-Protocol" in request.headers:
        headers["Sec-WebSocket-Protocol"] = ", ".join(request.headers.getall("Sec-WebSocket-Protocol"))
    headers["Connection"] = "Upgrade"
    headers.update(extra_headers or {})
    try:
        resp = await send_request(backend, request.method, target, headers)
    except (OSError, TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
        raise BackendError(f"error dialing backend: {e}") from e
    if resp.status != 101:
        try:
            body = await resp.read_body()
        finally:
            await resp.close()
        out = web.Response(status=resp.status, body=body)
        ct = resp.header("Content-Type")
        if ct:
            out.headers["Content-Type"] = ct
        return out
    up = await upgrade.RawUpgrade.accept(
        request, {k: v for k, v in resp.headers if k.lower() not in _HOP_HEADERS})
    try:
        await splice(up, resp)
    finally:
        await resp.close()
        await up.close()
    return up.response



class BackendError(ConnectionError):
    """The backend could not be reached."""


async def splice(client: upgrade.RawUpgrade, backend: Response) -> None:
    """Copy bytes both ways until either side closes, then close both. (An upgraded client
    connection ends whole, so once it is gone nothing more can reach it.)"""

    async def up() -> None:
        while data := await client.read():
            backend.writer.write(data)
            await backend.writer.drain()

    async def down() -> None:
        # bytes the backend sent right after its 101 are already in the reader's buffer
        while data := await backend.reader.read(_CHUNK):
            await client.write(data)

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(_quiet(up())), tg.create_task(_quiet(down()))]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()


async def _quiet(coro) -> None:
    with contextlib.suppress(ConnectionError, OSError, asyncio.IncompleteReadError):
        await coro
