"""The server side of `exec` and `attach` (Kubernetes' remotecommand protocol), over a WebSocket
channel protocol (v5/v4/v1, binary or base64) or over SPDY/3.1 (v5..v1, kubectl's fallback).

    await serve(request, options, start)   # answers the upgrade and runs the session

`start()` returns the process to stream (a `kubelet.runtime` `ProcessHandle` fits). The session
ends with the exit status on the error channel (v4+: `metav1.Status` with `NonZeroExitCode` /
`ExitCode` so kubectl exits with the container's code). A client that goes away closes the
process (killing an exec'd command).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import WSMsgType, web

from . import upgrade, wschannel
from .spdy import SpdySession, SpdyStream

log = logging.getLogger(__name__)

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
V3 = "v3.channel.k8s.io"
V2 = "v2.channel.k8s.io"
V1 = "channel.k8s.io"
SPDY_PROTOCOLS = (V5, V4, V3, V2, V1)

NON_ZERO_EXIT_CODE = "NonZeroExitCode"
EXIT_CODE = "ExitCode"

STREAM_CREATION_TIMEOUT = 30.0
OUTPUT_GRACE = 2.0  # after the process exits, how long to wait for its pipes to drain
PEER_CLOSE_GRACE = 5.0
_CHUNK = 32 * 1024


class StdinWriter(Protocol):
    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...


class Process(Protocol):
    """What gets streamed (`kubelet.runtime.ProcessHandle` has this shape)."""

    stdin: StdinWriter | None
    stdout: asyncio.StreamReader | None
    stderr: asyncio.StreamReader | None

    async def resize(self, width: int, height: int) -> None: ...

    async def wait(self) -> int: ...

    async def close(self) -> None: ...


Starter = Callable[[], Awaitable[Process]]


class BadRequest(ValueError):
    """The request's options are invalid (answer 400 before upgrading)."""


def _bool(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("1", "true", "t", "yes")


@dataclass
class Options:
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False
    tty: bool = False
    command: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, query, *, need_command: bool = False) -> Options:
        command = query.getall("command", []) if hasattr(query, "getall") else list(query.get("command", []))
        o = cls(_bool(query, "stdin"), _bool(query, "stdout"), _bool(query, "stderr"), _bool(query, "tty"),
                list(command))
        if not (o.stdin or o.stdout or o.stderr):
            raise BadRequest("you must specify at least 1 of stdin, stdout, stderr")
        if need_command and not o.command:
            raise BadRequest("you must specify a command")
        if o.tty and o.stderr:
            o.stderr = False  # a tty merges stderr into stdout (as the kubelet does)
        return o


# --- statuses on the error channel ---------------------------------------------------------------


class ExitError(Exception):
    def __init__(self, code: int, command: list[str] | None = None):
        self.code = code
        self.command = command or []
        super().__init__(f"command terminated with non-zero exit code: error executing command "
                         f"{_go_list(self.command)}, exit code {code}")


def _go_list(words: list[str]) -> str:
    return "[" + " ".join(words) + "]"


def status_for(error: BaseException | None) -> dict:
    """The `metav1.Status` written on the error channel (v4 and later)."""
    if error is None:
        return {"metadata": {}, "status": "Success"}
    if isinstance(error, ExitError):
        return {"metadata": {}, "status": "Failure", "message": str(error), "reason": NON_ZERO_EXIT_CODE,
                "details": {"causes": [{"reason": EXIT_CODE, "message": str(error.code)}]}}
    message = f"Internal error occurred: {error}"
    return {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError",
            "details": {"causes": [{"message": str(error)}]}, "code": 500}


def error_payload(error: BaseException | None, status_json: bool) -> bytes:
    if status_json:
        return json.dumps(status_for(error), separators=(",", ":")).encode()
    return str(error).encode() if error is not None else b""


# --- the session, independent of the transport ----------------------------------------------------


class Session(Protocol):
    async def write(self, channel: int, data: bytes) -> None: ...

    def stdin(self) -> AsyncIterator[bytes]: ...

    def resizes(self) -> AsyncIterator[tuple[int, int]]: ...

    async def finish(self, error: BaseException | None) -> None: ...

    async def wait_closed(self) -> None: ...


async def _pump_out(reader: asyncio.StreamReader | None, session: Session, channel: int, wanted: bool) -> None:
    if reader is None:
        return
    while True:
        chunk = await reader.read(_CHUNK)
        if not chunk:
            return
        if wanted:
            await session.write(channel, chunk)


async def _pump_stdin(session: Session, proc: Process) -> None:
    """Client stdin to the process; after the process stops taking it, keep draining (so the
    client's other messages, and its going away, are still seen)."""
    w = proc.stdin
    try:
        async for chunk in session.stdin():
            if w is None:
                continue
            try:
                w.write(chunk)
                await w.drain()
            except Exception as e:  # the process closed its stdin or exited
                log.debug("exec stdin: %s", e)
                with contextlib.suppress(Exception):
                    w.close()
                w = None
    finally:
        if w is not None:
            with contextlib.suppress(Exception):
                w.close()


async def _pump_resize(session: Session, proc: Process) -> None:
    async for width, height in session.resizes():
        with contextlib.suppress(Exception):
            await proc.resize(width, height)


async def run_session(session: Session, options: Options, start: Starter, command: list[str] | None = None) -> None:
    """Start the process, stream it, report its exit; close it if the client goes away."""
    try:
        proc = await start()
    except Exception as e:  # the runtime refused (container gone, not running, bad command)
        await session.finish(e)
        return
    error: BaseException | None = None
    disconnected = False
    try:
        async with asyncio.TaskGroup() as tg:
            outs = [tg.create_task(_pump_out(proc.stdout, session, wschannel.STDOUT, options.stdout)),
                    tg.create_task(_pump_out(proc.stderr, session, wschannel.STDERR, options.stderr))]
            side = [tg.create_task(_pump_resize(session, proc))]
            if options.stdin:
                side.append(tg.create_task(_pump_stdin(session, proc)))
            waiter = tg.create_task(proc.wait())
            gone = tg.create_task(session.wait_closed())
            await asyncio.wait([waiter, gone], return_when=asyncio.FIRST_COMPLETED)
            if waiter.done():
                code = waiter.result()
                if code != 0:
                    error = ExitError(code, command if command is not None else options.command)
                if not gone.done():  # let the last output through before the status
                    await asyncio.wait(outs, timeout=OUTPUT_GRACE)
            else:
                disconnected = True
                with contextlib.suppress(Exception):
                    await proc.close()  # kill an exec (an attach just lets go), then stop waiting
                await asyncio.wait([waiter], timeout=1.0)
            for t in [*outs, *side, gone, waiter]:
                t.cancel()
    except* ConnectionError:
        disconnected = True
    finally:
        with contextlib.suppress(Exception):
            await proc.close()
    if not disconnected:
        with contextlib.suppress(ConnectionError):
            await session.finish(error)


# --- WebSocket ---------------------------------------------------------------------------------


class WebSocketSession:
    def __init__(self, ws: web.WebSocketResponse, proto: wschannel.ChannelProtocol):
        self.ws = ws
        self.proto = proto
        self._stdin: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=64)
        self._resize: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue(maxsize=16)
        self._closed = asyncio.Event()

    async def write(self, channel: int, data: bytes) -> None:
        if self.ws.closed:
            raise ConnectionResetError("websocket closed")
        msg = self.proto.encode(channel, data)
        if isinstance(msg, str):
            await self.ws.send_str(msg)
        else:
            await self.ws.send_bytes(msg)

    async def read_loop(self) -> None:
        """Demultiplex client messages (stdin, resize, close) until the socket closes."""
        buf = b""
        try:
            async for msg in self.ws:
                if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                try:
                    channel, data = self.proto.decode(msg.data)
                except wschannel.ChannelError:
                    continue
                if channel == wschannel.STDIN:
                    if data:
                        await self._stdin.put(data)
                elif channel == wschannel.RESIZE:
                    buf += data
                    sizes, buf = decode_resizes(buf)
                    for s in sizes:
                        await self._resize.put(s)
                elif channel == wschannel.CLOSE and self.proto.has_close and data[:1] == bytes((wschannel.STDIN,)):
                    await self._stdin.put(None)
        finally:
            self._closed.set()
            for q in (self._stdin, self._resize):
                with contextlib.suppress(asyncio.QueueFull):
                    q.put_nowait(None)

    async def stdin(self) -> AsyncIterator[bytes]:
        while True:
            if self._closed.is_set() and self._stdin.empty():
                return
            chunk = await self._stdin.get()
            if chunk is None:
                return
            yield chunk

    async def resizes(self) -> AsyncIterator[tuple[int, int]]:
        while True:
            item = await self._resize.get()
            if item is None:
                return
            yield item

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def finish(self, error: BaseException | None) -> None:
        if not self.ws.closed:
            payload = error_payload(error, self.proto.status_json)
            if payload:
                await self.write(wschannel.ERROR, payload)
            await self.ws.close()


def decode_resizes(buf: bytes) -> tuple[list[tuple[int, int]], bytes]:
    """Complete `{"Width":w,"Height":h}` objects at the start of `buf`, and the rest."""
    out: list[tuple[int, int]] = []
    text = buf.decode("utf-8", "replace")
    dec = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out, b""
        try:
            obj, end = dec.raw_decode(text, pos)
        except json.JSONDecodeError:
            return out, text[pos:].encode()
        pos = end
        if isinstance(obj, dict):
            w, h = obj.get("Width", obj.get("width", 0)), obj.get("Height", obj.get("height", 0))
            if isinstance(w, int) and isinstance(h, int) and w >= 0 and h >= 0:
                out.append((w, h))


async def serve_websocket(request: web.Request, options: Options, start: Starter,
                          command: list[str] | None = None) -> web.StreamResponse:
    offers = wschannel.offered(request.headers.getall("Sec-WebSocket-Protocol", []))
    chosen = wschannel.negotiate(offers, wschannel.REMOTECOMMAND)
    if chosen is None:
        raise web.HTTPBadRequest(text=f"requested protocol(s) are not supported: {offers}; "
                                      f"supports {list(wschannel.REMOTECOMMAND)}")
    ws = web.WebSocketResponse(protocols=(chosen,) if chosen else (), autoping=True, max_msg_size=0)
    await ws.prepare(request)
    session = WebSocketSession(ws, wschannel.protocol(chosen))
    # tell the client the streams are ready: an empty message on the lowest writable channel
    first = wschannel.STDOUT if options.stdout else wschannel.STDERR if options.stderr else wschannel.ERROR
    async with asyncio.TaskGroup() as tg:
        reader = tg.create_task(session.read_loop())
        try:
            await session.write(first, b"")
            await run_session(session, options, start, command)
        except ConnectionError:
            pass
        finally:
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
            reader.cancel()
    return ws


# --- SPDY ----------------------------------------------------------------------------------------


class SpdyExecSession:
    """Streams by `streamType` header: error, stdin, stdout, stderr, resize."""

    def __init__(self, spdy: SpdySession, up: upgrade.RawUpgrade, options: Options, version: str):
        self.spdy = spdy
        self.up = up
        self.options = options
        self.version = version
        self.streams: dict[str, SpdyStream] = {}
        self.expected = {"error"}
        if options.stdin:
            self.expected.add("stdin")
        if options.stdout:
            self.expected.add("stdout")
        if options.stderr:
            self.expected.add("stderr")
        if options.tty and version in (V5, V4, V3):
            self.expected.add("resize")
        self.ready = asyncio.Event()

    async def on_stream(self, stream: SpdyStream) -> None:
        kind = stream.header("streamType")
        if kind not in ("error", "stdin", "stdout", "stderr", "resize") or kind in self.streams:
            await stream.reset()
            return
        self.streams[kind] = stream
        await stream.reply()
        if self.expected <= set(self.streams):
            self.ready.set()

    async def write(self, channel: int, data: bytes) -> None:
        name = {wschannel.STDOUT: "stdout", wschannel.STDERR: "stderr"}.get(channel)
        stream = self.streams.get(name or "")
        if stream is not None and data:
            await stream.write(data)

    async def stdin(self) -> AsyncIterator[bytes]:
        stream = self.streams.get("stdin")
        if stream is None:
            return
        while chunk := await stream.read():
            yield chunk

    async def resizes(self) -> AsyncIterator[tuple[int, int]]:
        stream = self.streams.get("resize")
        if stream is None:
            return
        buf = b""
        while chunk := await stream.read():
            sizes, buf = decode_resizes(buf + chunk)
            for s in sizes:
                yield s

    async def wait_closed(self) -> None:
        await self.spdy.closed.wait()

    async def finish(self, error: BaseException | None) -> None:
        err = self.streams.get("error")
        if err is not None:
            payload = error_payload(error, self.version in (V5, V4))
            if payload:
                with contextlib.suppress(ConnectionError):
                    await err.write(payload)
        for stream in self.streams.values():
            with contextlib.suppress(ConnectionError):
                await stream.close()
        await self.spdy.goaway()
        await self.up.wait_peer_close(PEER_CLOSE_GRACE)


async def serve_spdy(request: web.Request, options: Options, start: Starter,
                     command: list[str] | None = None) -> web.StreamResponse:
    version = upgrade.negotiate_stream_protocol(request, SPDY_PROTOCOLS) or V1
    headers = {"Upgrade": upgrade.SPDY_UPGRADE}
    if upgrade.client_protocols(request.headers):
        headers[upgrade.STREAM_PROTOCOL_HEADER] = version
    up = await upgrade.RawUpgrade.accept(request, headers)
    spdy = SpdySession(up, server=True)
    session = SpdyExecSession(spdy, up, options, version)
    try:
        async with asyncio.TaskGroup() as tg:
            reader = tg.create_task(spdy.run(session.on_stream))
            try:
                ready = tg.create_task(session.ready.wait())
                async with asyncio.timeout(STREAM_CREATION_TIMEOUT):
                    await asyncio.wait([ready, reader], return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
                if session.ready.is_set():
                    await run_session(session, options, start, command)
            except TimeoutError:
                log.info("exec: timed out waiting for the client to create streams")
            finally:
                await spdy.close()
                reader.cancel()
    except* ConnectionError:
        pass
    return up.response


async def serve(request: web.Request, options: Options, start: Starter,
                command: list[str] | None = None) -> web.StreamResponse:
    """Answer an exec/attach upgrade: WebSocket if asked for, else SPDY."""
    if upgrade.is_websocket(request):
        return await serve_websocket(request, options, start, command)
    if upgrade.is_spdy(request):
        return await serve_spdy(request, options, start, command)
    raise web.HTTPBadRequest(text="Upgrade request required")
