"""A SPDY/3.1 session over any byte stream: streams, replies, half-close, resets, pings, GOAWAY and
flow control.

`SpdySession.run(on_stream)` reads frames until the peer goes away; each SYN_STREAM from the peer
becomes a `SpdyStream` handed to `on_stream` (awaited in the reader loop, so it should only reply
and hand work to a task group it owns).

Flow control, as SPDY/3.1 defines it (64 KiB initial windows, per stream and per session):
- receiving: a WINDOW_UPDATE is sent as the application consumes data, so a flow-controlling
  peer never stalls; the per-session update only once the peer has shown it speaks SPDY/3.1.
  A stream whose unread data passes `high_water` pauses the reader (TCP backpressure).
- sending: windows are tracked always but only waited on once the peer has sent a
  WINDOW_UPDATE or an initial-window SETTING. Go's spdystream (kubectl) ignores flow control
  entirely and never sends updates, so waiting on it unconditionally would deadlock at 64 KiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import inspect
from collections.abc import Awaitable, Callable
from typing import Protocol

from . import frames as f

log = logging.getLogger(__name__)

INITIAL_WINDOW = 64 * 1024
MAX_DATA_FRAME = 32 * 1024


class ByteStream(Protocol):
    """A full-duplex byte pipe: a raw upgraded connection or a WebSocket tunnel."""

    async def read(self) -> bytes:
        """Some bytes; b"" at end of stream."""

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


OnStream = Callable[["SpdyStream"], Awaitable[None] | None]


class StreamReset(ConnectionError):
    """The stream was reset (by either side) or its session ended."""


class SpdyStream:
    def __init__(self, session: SpdySession, stream_id: int, headers: f.Headers, *, remote_fin: bool = False):
        self.session = session
        self.id = stream_id
        self.headers = headers
        self.replied = False
        self.local_closed = False
        self.remote_closed = remote_fin
        self.reset_status: int | None = None
        self._buf = bytearray()
        self._readable = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._consumed = 0
        self.send_window = session.peer_initial_window
        self.recv_window = INITIAL_WINDOW
        if remote_fin:
            self._readable.set()

    def __repr__(self) -> str:
        return f"<SpdyStream {self.id} {self.headers}>"

    def header(self, name: str, default: str = "") -> str:
        return f.first(self.headers, name, default)

    @property
    def is_reset(self) -> bool:
        return self.reset_status is not None

    # -- receiving --------------------------------------------------------------------------
    def _on_data(self, data: bytes, fin: bool) -> None:
        if data:
            self._buf += data
            self.recv_window -= len(data)
            if len(self._buf) >= self.session.high_water:
                self._drained.clear()
        if fin:
            self.remote_closed = True
        self._readable.set()

    def _on_reset(self, status: int) -> None:
        self.reset_status = status
        self.remote_closed = True
        self._readable.set()
        self._drained.set()

    async def read(self, n: int = 65536) -> bytes:
        """Up to `n` bytes; b"" once the peer half-closed (or the stream was reset)."""
        while not self._buf:
            if self.remote_closed or self.reset_status is not None:
                return b""
            self._readable.clear()
            await self._readable.wait()
        data = bytes(self._buf[:n])
        del self._buf[:n]
        if len(self._buf) < self.session.high_water:
            self._drained.set()
        await self._consumed_bytes(len(data))
        return data

    async def read_all(self, limit: int = 1 << 20) -> bytes:
        out = bytearray()
        while len(out) < limit:
            chunk = await self.read()
            if not chunk:
                break
            out += chunk
        return bytes(out)

    async def _consumed_bytes(self, n: int) -> None:
        self._consumed += n
        if self._consumed >= INITIAL_WINDOW // 2 and not self.remote_closed and self.reset_status is None:
            delta, self._consumed = self._consumed, 0
            self.recv_window += delta
            await self.session._send_window_update(self.id, delta)

    # -- sending ----------------------------------------------------------------------------
    async def reply(self, headers: f.Headers | None = None, fin: bool = False) -> None:
        if self.replied:
            return
        self.replied = True
        await self.session.send(f.SynReply(self.id, headers or {}, fin))
        if fin:
            self._local_fin()

    async def write(self, data: bytes) -> None:
        if self.reset_status is not None:
            raise StreamReset(f"stream {self.id} was reset")
        if self.local_closed:
            raise StreamReset(f"stream {self.id} is closed for writing")
        view = memoryview(data)
        while view:
            n = await self.session._reserve(self, min(len(view), MAX_DATA_FRAME))
            await self.session.send(f.DataFrame(self.id, bytes(view[:n])))
            view = view[n:]

    async def close(self) -> None:
        """Half-close: FIN our side. The peer may still send."""
        if self.local_closed or self.reset_status is not None:
            return
        self._local_fin()
        with contextlib.suppress(ConnectionError):
            await self.session.send(f.DataFrame(self.id, b"", fin=True))

    async def reset(self, status: int = f.CANCEL) -> None:
        if self.reset_status is not None:
            return
        self._on_reset(status)
        self.session._forget(self)
        with contextlib.suppress(ConnectionError):
            await self.session.send(f.RstStream(self.id, status))

    def _local_fin(self) -> None:
        self.local_closed = True
        if self.remote_closed:
            self.session._forget(self)


class SpdySession:
    def __init__(self, transport: ByteStream, *, server: bool = True, high_water: int = 1 << 20):
        self.transport = transport
        self.server = server
        self.high_water = high_water
        self.framer = f.Framer()
        self.streams: dict[int, SpdyStream] = {}
        self.peer_initial_window = INITIAL_WINDOW
        self.session_send_window = INITIAL_WINDOW
        self.session_recv_consumed = 0
        self.peer_flow_control = False  # the peer sent WINDOW_UPDATE/SETTINGS: honour its windows
        self.peer_session_flow = False  # the peer sent a session-level WINDOW_UPDATE (SPDY/3.1)
        self.last_peer_stream = 0
        self.going_away = False
        self.closed = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._window = asyncio.Condition()
        self._next_stream_id = 2 if server else 1
        self._next_ping_id = 2 if server else 1
        self._pings: dict[int, asyncio.Future[None]] = {}

    # -- writing ----------------------------------------------------------------------------
    async def send(self, frame: f.Frame) -> None:
        if self.closed.is_set():
            raise ConnectionResetError("SPDY session is closed")
        async with self._write_lock:  # header compression needs frames in the order they are encoded
            data = self.framer.encode(frame)
            await self.transport.write(data)

    async def _send_window_update(self, stream_id: int, delta: int) -> None:
        with contextlib.suppress(ConnectionError):
            await self.send(f.WindowUpdate(stream_id, delta))
            if self.peer_session_flow:
                self.session_recv_consumed += delta
                await self.send(f.WindowUpdate(0, delta))

    async def _reserve(self, stream: SpdyStream, want: int) -> int:
        """How many bytes `stream` may send now (waits while the peer's windows are closed)."""
        async with self._window:
            while self.peer_flow_control and (
                    stream.send_window <= 0 or (self.peer_session_flow and self.session_send_window <= 0)):
                if stream.reset_status is not None or self.closed.is_set():
                    raise StreamReset(f"stream {stream.id} was reset")
                await self._window.wait()
            n = want
            if self.peer_flow_control:
                n = min(n, stream.send_window)
                if self.peer_session_flow:
                    n = min(n, self.session_send_window)
            stream.send_window -= n
            self.session_send_window -= n
            return n

    async def open_stream(self, headers: f.Headers, fin: bool = False) -> SpdyStream:
        """Start a stream from our side (used by tests and clients)."""
        sid = self._next_stream_id
        self._next_stream_id += 2
        stream = SpdyStream(self, sid, headers)
        stream.replied = True
        self.streams[sid] = stream
        await self.send(f.SynStream(sid, headers, fin=fin))
        if fin:
            stream._local_fin()
        return stream

    async def ping(self, timeout: float = 10.0) -> None:
        pid = self._next_ping_id
        self._next_ping_id += 2
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pings[pid] = fut
        try:
            await self.send(f.Ping(pid))
            async with asyncio.timeout(timeout):
                await fut
        finally:
            self._pings.pop(pid, None)

    async def goaway(self, status: int = f.GOAWAY_OK) -> None:
        if self.going_away:
            return
        self.going_away = True
        with contextlib.suppress(ConnectionError):
            await self.send(f.GoAway(self.last_peer_stream, status))

    async def close(self) -> None:
        """End the session: streams see EOF/reset, the transport is closed."""
        if self.closed.is_set():
            return
        self._end()
        with contextlib.suppress(Exception):
            await self.transport.close()

    def _end(self) -> None:
        self.closed.set()
        for s in list(self.streams.values()):
            s._on_reset(f.CANCEL)
        self.streams.clear()
        for fut in self._pings.values():
            if not fut.done():
                fut.set_exception(ConnectionResetError("SPDY session closed"))

    def _forget(self, stream: SpdyStream) -> None:
        if self.streams.get(stream.id) is stream:
            del self.streams[stream.id]

    # -- reading ----------------------------------------------------------------------------
    async def run(self, on_stream: OnStream) -> None:
        """Read frames until the transport ends; then every stream sees EOF."""
        try:
            while True:
                data = await self.transport.read()
                if not data:
                    return
                for frame in self.framer.feed(data):
                    await self._dispatch(frame, on_stream)
        except f.ProtocolError as e:
            log.info("SPDY protocol error: %s", e)
            await self.goaway(f.GOAWAY_PROTOCOL_ERROR)
        except ConnectionError:
            pass
        finally:
            self._end()
            async with self._window:
                self._window.notify_all()

    async def _dispatch(self, frame: f.Frame, on_stream: OnStream) -> None:
        if isinstance(frame, f.DataFrame):
            stream = self.streams.get(frame.stream_id)
            if stream is None:
                if frame.data and frame.stream_id:
                    await self._send_quietly(f.RstStream(frame.stream_id, f.INVALID_STREAM))
                return
            stream._on_data(frame.data, frame.fin)
            if frame.fin and stream.local_closed:
                self._forget(stream)
            if not stream._drained.is_set():
                await stream._drained.wait()  # backpressure: stop reading until the consumer catches up
        elif isinstance(frame, f.SynStream):
            await self._on_syn_stream(frame, on_stream)
        elif isinstance(frame, f.SynReply):
            stream = self.streams.get(frame.stream_id)
            if stream is not None:
                stream.headers = {**stream.headers, **frame.headers}
                if frame.fin:
                    stream._on_data(b"", True)
        elif isinstance(frame, f.HeadersFrame):
            stream = self.streams.get(frame.stream_id)
            if stream is not None and frame.fin:
                stream._on_data(b"", True)
        elif isinstance(frame, f.RstStream):
            stream = self.streams.pop(frame.stream_id, None)
            if stream is not None:
                stream._on_reset(frame.status)
                async with self._window:
                    self._window.notify_all()
        elif isinstance(frame, f.Ping):
            if (frame.id % 2 == 1) == self.server:  # the peer's ping: echo it
                await self._send_quietly(frame)
            else:
                fut = self._pings.get(frame.id)
                if fut is not None and not fut.done():
                    fut.set_result(None)
        elif isinstance(frame, f.GoAway):
            self.going_away = True
        elif isinstance(frame, f.Settings):
            for _flags, sid, value in frame.entries:
                if sid == f.SETTINGS_INITIAL_WINDOW_SIZE:
                    async with self._window:
                        delta = value - self.peer_initial_window
                        self.peer_initial_window = value
                        for s in self.streams.values():
                            s.send_window += delta
                        self.peer_flow_control = True
                        self._window.notify_all()
        elif isinstance(frame, f.WindowUpdate):
            async with self._window:
                self.peer_flow_control = True
                if frame.stream_id == 0:
                    self.peer_session_flow = True
                    self.session_send_window += frame.delta
                else:
                    stream = self.streams.get(frame.stream_id)
                    if stream is not None:
                        stream.send_window += frame.delta
                self._window.notify_all()

    async def _on_syn_stream(self, frame: f.SynStream, on_stream: OnStream) -> None:
        sid = frame.stream_id
        own_parity = 0 if self.server else 1
        if sid == 0 or sid % 2 == own_parity or sid <= self.last_peer_stream:
            await self._send_quietly(f.RstStream(sid, f.PROTOCOL_ERROR))
            return
        self.last_peer_stream = sid
        if self.going_away:
            await self._send_quietly(f.RstStream(sid, f.REFUSED_STREAM))
            return
        stream = SpdyStream(self, sid, frame.headers, remote_fin=frame.fin)
        if frame.unidirectional:
            stream.local_closed = True
        self.streams[sid] = stream
        result = on_stream(stream)
        if inspect.isawaitable(result):
            await result

    async def _send_quietly(self, frame: f.Frame) -> None:
        with contextlib.suppress(ConnectionError):
            await self.send(frame)
