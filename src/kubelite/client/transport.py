"""The HTTP seam under the client (httpx's transport idea).

- `Transport` Protocol: `request(method, path, *, query, headers, body) -> Response` (the
  whole body read), and `stream(...)`, an async context manager giving a `StreamResponse`
  whose `lines()` yields the body line by line (watches, followed logs).
- `AiohttpTransport(config)`: one `aiohttp` session (keep-alive pool), TLS from the config,
  credentials from `auth.Authenticator`. The only module that imports aiohttp.
- `FakeTransport(handler)`: calls `handler(Request) -> Response` (sync or async) in process;
  a `StatusError` raised by the handler becomes a Status reply. A `Response` may carry a
  `stream` of byte chunks instead of a body, to play a watch.

Network failures raise `TransportError`; HTTP error codes are *not* exceptions here (the
client turns them into `StatusError`).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import ssl
import tempfile
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterable, AsyncIterator, Awaitable, Callable, Protocol, Sequence
from urllib.parse import parse_qsl, quote, urlencode

import aiohttp
import orjson
from yarl import URL

from ..machinery.errors import StatusError
from .auth import Authenticator
from .config import ClientConfig

Query = Sequence[tuple[str, str]]


class TransportError(Exception):
    """The request did not complete: connection refused or reset, TLS failure, bad stream."""


class ConnectError(TransportError):
    """No connection could be made (nothing was sent)."""


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def param(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.query:
            if k == name:
                return v
        return default

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    @property
    def url(self) -> str:
        return self.path + ("?" + urlencode(self.query, quote_via=quote) if self.query else "")


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: AsyncIterable[bytes] | None = None      # FakeTransport only: a body played in chunks

    def __post_init__(self) -> None:
        self.headers = {k.lower(): v for k, v in self.headers.items()}

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @classmethod
    def from_json(cls, status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, {"content-type": "application/json", **(headers or {})}, orjson.dumps(obj))


class StreamResponse:
    """An open streaming reply: status and headers now, the body as chunks or lines later."""

    def __init__(self, status: int, headers: dict[str, str], chunks: AsyncIterable[bytes]) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self._chunks = chunks

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    async def read(self) -> bytes:
        return b"".join([c async for c in self._chunks])

    def lines(self) -> AsyncIterator[bytes]:
        return iter_lines(self._chunks)


async def iter_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Split a chunked body on `\\n` (no line-length limit); a last unterminated line counts."""
    buf = b""
    async for chunk in chunks:
        buf += chunk
        while (i := buf.find(b"\n")) >= 0:
            yield buf[:i]
            buf = buf[i + 1:]
    if buf:
        yield buf


class Transport(Protocol):
    async def request(self, method: str, path: str, *, query: Query = (),
                      headers: dict[str, str] | None = None, body: bytes | None = None) -> Response: ...

    def stream(self, method: str, path: str, *, query: Query = (), headers: dict[str, str] | None = None,
               body: bytes | None = None) -> AbstractAsyncContextManager[StreamResponse]: ...

    async def close(self) -> None: ...


Handler = Callable[[Request], "Response | Awaitable[Response]"]


class FakeTransport:
    """Serves requests from a function, in process; records every request in `requests`."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    async def _call(self, method: str, path: str, query: Query, headers: dict[str, str] | None,
                    body: bytes | None) -> Response:
        path, _, qs = path.partition("?")
        req = Request(method, path, [*parse_qsl(qs, keep_blank_values=True), *query], dict(headers or {}), body)
        self.requests.append(req)
        try:
            resp = self.handler(req)
            if inspect.isawaitable(resp):
                resp = await resp
        except StatusError as e:
            return Response.from_json(e.code, e.status(), e.headers)
        return resp

    async def request(self, method: str, path: str, *, query: Query = (),
                      headers: dict[str, str] | None = None, body: bytes | None = None) -> Response:
        resp = await self._call(method, path, query, headers, body)
        if resp.stream is not None:
            return Response(resp.status, resp.headers, b"".join([c async for c in resp.stream]))
        return resp

    @asynccontextmanager
    async def stream(self, method: str, path: str, *, query: Query = (), headers: dict[str, str] | None = None,
                     body: bytes | None = None) -> AsyncIterator[StreamResponse]:
        resp = await self._call(method, path, query, headers, body)
        chunks = resp.stream if resp.stream is not None else _once(resp.body)
        try:
            yield StreamResponse(resp.status, resp.headers, chunks)
        finally:
            if hasattr(chunks, "aclose"):
                await chunks.aclose()

    async def close(self) -> None:
        pass


async def _once(body: bytes) -> AsyncIterator[bytes]:
    if body:
        yield body


def build_ssl_context(config: ClientConfig) -> ssl.SSLContext:
    """A client TLS context from files or PEM data (blocking file I/O: run it in a thread)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=config.ca_file,
                                     cadata=config.ca_data.decode() if config.ca_data else None)
    if config.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if config.cert_file or config.cert_data:
        with tempfile.TemporaryDirectory(prefix="kubelite-client-") as d:
            cert, key = config.cert_file, config.key_file
            if config.cert_data:
                cert = _write_private(os.path.join(d, "client.crt"), config.cert_data)
            if config.key_data:
                key = _write_private(os.path.join(d, "client.key"), config.key_data)
            ctx.load_cert_chain(cert, key)
    return ctx


def _write_private(path: str, data: bytes) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


class AiohttpTransport:
    """The real transport. Create it anywhere; the session opens on first use, in the loop."""

    def __init__(self, config: ClientConfig, *, auth: Authenticator | None = None,
                 connection_limit: int = 100) -> None:
        self.config = config
        self._auth = auth or Authenticator(config)
        self._limit = connection_limit
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()

    async def _get_session(self) -> aiohttp.ClientSession:
        async with self._lock:
            if self._session is None or self._session.closed:
                kwargs: dict[str, Any] = {"limit": self._limit}
                if self.config.is_https:
                    kwargs["ssl"] = await asyncio.to_thread(build_ssl_context, self.config)
                self._session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(**kwargs),
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
                    headers={"User-Agent": self.config.user_agent}, auto_decompress=True)
            return self._session

    async def _prepare(self, path: str, query: Query, headers: dict[str, str] | None) -> tuple[URL, dict, dict]:
        url = self.config.server + path
        if query:
            url += ("&" if "?" in path else "?") + urlencode(list(query), quote_via=quote)
        hdrs = {**await self._auth.headers(), **(headers or {})}
        extra: dict[str, Any] = {}
        if self.config.is_https and self.config.tls_server_name:
            extra["server_hostname"] = self.config.tls_server_name
        return URL(url, encoded=True), hdrs, extra

    async def request(self, method: str, path: str, *, query: Query = (),
                      headers: dict[str, str] | None = None, body: bytes | None = None) -> Response:
        session = await self._get_session()
        url, hdrs, extra = await self._prepare(path, query, headers)
        timeout = aiohttp.ClientTimeout(total=self.config.timeout, sock_connect=30)
        try:
            async with session.request(method, url, headers=hdrs, data=body, timeout=timeout,
                                       allow_redirects=False, **extra) as resp:
                data = await resp.read()
                if resp.status == 401:
                    self._auth.invalidate()
                return Response(resp.status, dict(resp.headers), data)
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(f"{method} {url}: {exc}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError(f"{method} {url}: {exc}") from exc

    @asynccontextmanager
    async def stream(self, method: str, path: str, *, query: Query = (), headers: dict[str, str] | None = None,
                     body: bytes | None = None) -> AsyncIterator[StreamResponse]:
        session = await self._get_session()
        url, hdrs, extra = await self._prepare(path, query, headers)
        try:
            resp = await session.request(method, url, headers=hdrs, data=body, allow_redirects=False,
                                         timeout=aiohttp.ClientTimeout(total=None, sock_connect=30), **extra)
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(f"{method} {url}: {exc}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError(f"{method} {url}: {exc}") from exc
        if resp.status == 401:
            self._auth.invalidate()
        try:
            yield StreamResponse(resp.status, dict(resp.headers), _chunks(resp, method, url))
        finally:
            resp.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _chunks(resp: aiohttp.ClientResponse, method: str, url: URL) -> AsyncIterator[bytes]:
    try:
        async for chunk in resp.content.iter_any():
            yield chunk
    except (aiohttp.ClientError, OSError) as exc:
        raise TransportError(f"{method} {url}: stream: {exc}") from exc
