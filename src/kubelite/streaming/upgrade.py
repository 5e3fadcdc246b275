"""HTTP/1.1 upgrades on an aiohttp server: telling upgrade requests apart, negotiating
`X-Stream-Protocol-Version`, taking over the raw connection after a 101, and a WebSocket seen as
a byte stream (the `SPDY/3.1+portforward.k8s.io` tunnel).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping

from aiohttp import WSMsgType, web

STREAM_PROTOCOL_HEADER = "X-Stream-Protocol-Version"
ACCEPTED_PROTOCOLS_HEADER = "X-Accepted-Stream-Protocol-Versions"
SPDY_UPGRADE = "SPDY/3.1"

_READ_HIGH_WATER = 256 * 1024


def _tokens(value: str) -> list[str]:
    return [t.strip().lower() for t in value.split(",") if t.strip()]


def is_upgrade(request: web.BaseRequest) -> bool:
    return "upgrade" in _tokens(request.headers.get("Connection", "")) and bool(request.headers.get("Upgrade"))


def is_websocket(request: web.BaseRequest) -> bool:
    return is_upgrade(request) and request.headers.get("Upgrade", "").strip().lower() == "websocket"


def is_spdy(request: web.BaseRequest) -> bool:
    return is_upgrade(request) and request.headers.get("Upgrade", "").strip().lower() == SPDY_UPGRADE.lower()


def client_protocols(headers: Mapping) -> list[str]:
    values = headers.getall(STREAM_PROTOCOL_HEADER, []) if hasattr(headers, "getall") else \
        [headers.get(STREAM_PROTOCOL_HEADER, "")]
    out: list[str] = []
    for v in values:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return out


def negotiate_stream_protocol(request: web.BaseRequest, supported: tuple[str, ...]) -> str:
    """The first `X-Stream-Protocol-Version` the client offered that we support ("" when the
    client offered none: a legacy client). Answers 403 like Kubernetes' `httpstream.Handshake`."""
    offered = client_protocols(request.headers)
    if not offered:
        return ""
    for p in offered:
        if p in supported:
            return p
    raise web.HTTPForbidden(
        text=f"unable to upgrade: unable to negotiate protocol: client supports {offered}, "
             f"server accepts {list(supported)}",
        headers={ACCEPTED_PROTOCOLS_HEADER: ", ".join(supported)})


class _Feeder:
    """Stands in for aiohttp's payload parser: the connection's bytes after the 101."""

    def __init__(self, owner: RawUpgrade):
        self._owner = owner

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self._owner._on_data(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self._owner._on_eof()


class RawUpgrade:
    """The raw connection after `101 Switching Protocols` (SPDY, or a proxied upgrade).

        up = await RawUpgrade.accept(request, {"Upgrade": "SPDY/3.1", ...})
        ... await up.read() / await up.write(b) ...
        return up.response
    """

    def __init__(self, request: web.BaseRequest, response: web.StreamResponse):
        self.request = request
        self.response = response
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False
        self._readable = asyncio.Event()
        self._paused = False
        self._writer = None
        self._closed = False

    @classmethod
    async def accept(cls, request: web.BaseRequest, headers: Mapping[str, str], status: int = 101) -> RawUpgrade:
        resp = web.StreamResponse(status=status, reason="Switching Protocols" if status == 101 else None)
        for k, v in headers.items():
            if k.lower() != "connection":
                resp.headers.add(k, v)
        resp.headers["Connection"] = "Upgrade"
        resp._length_check = False  # a 101 has no body; what follows is the new protocol (aiohttp's WS does the same)
        resp.force_close()
        up = cls(request, resp)
        # Take the connection's bytes before the 101 leaves: the client may answer at once.
        request.protocol.set_parser(_Feeder(up))
        request.protocol.keep_alive(False)
        up._writer = await resp.prepare(request)
        return up

    # -- ByteStream ------------------------------------------------------------------------
    def _on_data(self, data: bytes) -> None:
        if not data:
            return
        self._chunks.append(data)
        self._buffered += len(data)
        self._readable.set()
        if self._buffered > _READ_HIGH_WATER and not self._paused and self.request.transport is not None:
            self._paused = True
            self.request.transport.pause_reading()

    def _on_eof(self) -> None:
        self._eof = True
        self._readable.set()

    async def read(self) -> bytes:
        while not self._chunks:
            if self._eof:
                return b""
            self._readable.clear()
            await self._readable.wait()
        data = self._chunks.popleft()
        self._buffered -= len(data)
        if self._paused and self._buffered < _READ_HIGH_WATER // 2:
            self._paused = False
            if self.request.transport is not None:
                self.request.transport.resume_reading()
        return data

    async def write(self, data: bytes) -> None:
        if self._closed or self.request.transport is None or self.request.transport.is_closing():
            raise ConnectionResetError("connection closed")
        await self._writer.write(data)
        await self._writer.drain()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        t = self.request.transport
        if t is not None and not t.is_closing():
            with contextlib.suppress(Exception):
                await self._writer.drain()
            t.close()
        self._on_eof()

    @property
    def at_eof(self) -> bool:
        return self._eof and not self._chunks

    async def wait_peer_close(self, timeout: float) -> None:
        """Discard input until the peer closes (or `timeout`): closing first with unread input
        would reset the connection and could lose what we wrote last."""
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(timeout):
                while await self.read():
                    pass


class WebSocketByteStream:
    """A WebSocket whose binary messages are chunks of one byte stream (the port-forward tunnel:
    SPDY frames inside WebSocket messages, split anywhere)."""

    def __init__(self, ws: web.WebSocketResponse):
        self.ws = ws

    async def read(self) -> bytes:
        while True:
            msg = await self.ws.receive()
            if msg.type == WSMsgType.BINARY:
                if msg.data:
                    return bytes(msg.data)
                continue
            if msg.type == WSMsgType.TEXT:
                return msg.data.encode()
            if msg.type in (WSMsgType.PING, WSMsgType.PONG):
                continue
            return b""  # CLOSE, CLOSING, CLOSED, ERROR

    async def write(self, data: bytes) -> None:
        if self.ws.closed:
            raise ConnectionResetError("websocket closed")
        await self.ws.send_bytes(data)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
