"""The server side of port-forward, in the three forms clients speak:

- SPDY/3.1 (`portforward.k8s.io`), over a raw upgrade (kubectl's fallback) or tunnelled inside
  WebSocket binary messages (`SPDY/3.1+portforward.k8s.io`, kubectl's first choice). Each
  forwarded connection is a pair of client streams, `streamType: error` and `streamType: data`,
  with the same `requestID` and `port` headers. Bytes are copied both ways on the data stream; a
  failure is written to the error stream, which is closed when the connection is done.
- WebSocket channels (`v4.channel.k8s.io`, the Python client): `?ports=80,443`; port i uses
  channel 2i for data and 2i+1 for errors, and each channel's first message is the port number
  (2 bytes, little-endian).

`dial(port)` connects to the pod's port and returns a stream pair; it raises `OSError` (whose text
goes to the client) when it cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from . import upgrade, wschannel
from .spdy import ByteStream, SpdySession, SpdyStream

log = logging.getLogger(__name__)

PROTOCOL = "portforward.k8s.io"
STREAM_CREATION_TIMEOUT = 30.0
_CHUNK = 32 * 1024

Dialer = Callable[[int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


def forward_error(port: int, pod: str, err: BaseException | str) -> str:
    if isinstance(err, OSError) and err.strerror:
        err = err.strerror
    return f"error forwarding port {port} to pod {pod}, uid : {err}"


def parse_ports(values: list[str]) -> list[int]:
    """`ports` query values ("80,443" or repeated) as port numbers; ValueError on a bad one."""
    ports: list[int] = []
    for v in values:
        for p in v.split(","):
            p = p.strip()
            if not p:
                continue
            try:
                n = int(p)
            except ValueError:
                raise ValueError(f'invalid port "{p}"') from None
            if not 0 < n < 65536:
                raise ValueError(f"invalid port {n}: must be between 1 and 65535, inclusive")
            ports.append(n)
    return ports


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
        await writer.wait_closed()


# --- SPDY ----------------------------------------------------------------------------------------


@dataclass
class _Pair:
    request_id: str
    data: SpdyStream | None = None
    error: SpdyStream | None = None
    complete: asyncio.Event = field(default_factory=asyncio.Event)


class SpdyPortForward:
    def __init__(self, spdy: SpdySession, dial: Dialer, pod: str, tg: asyncio.TaskGroup):
        self.spdy = spdy
        self.dial = dial
        self.pod = pod
        self.tg = tg
        self.pairs: dict[str, _Pair] = {}
        self.tasks: set[asyncio.Task] = set()

    async def on_stream(self, stream: SpdyStream) -> None:
        kind = stream.header("streamType")
        if kind not in ("error", "data"):
            await stream.reset()
            return
        request_id = stream.header("requestID")
        if not request_id:  # old clients: the data stream follows its error stream
            request_id = str(stream.id if kind == "error" else stream.id - 2)
        await stream.reply()
        pair = self.pairs.get(request_id)
        if pair is None:
            pair = self.pairs[request_id] = _Pair(request_id)
            task = self.tg.create_task(self._run_pair(pair), name=f"portforward-{request_id}")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        if getattr(pair, kind) is not None:
            await stream.reset()
            return
        setattr(pair, kind, stream)
        if pair.data is not None and pair.error is not None:
            pair.complete.set()

    async def _run_pair(self, pair: _Pair) -> None:
        try:
            try:
                async with asyncio.timeout(STREAM_CREATION_TIMEOUT):
                    await pair.complete.wait()
            except TimeoutError:
                for s in (pair.data, pair.error):
                    if s is not None:
                        await s.reset()
                return
            await self._forward(pair)
        except ConnectionError:
            pass
        finally:
            self.pairs.pop(pair.request_id, None)

    async def _forward(self, pair: _Pair) -> None:
        data, errs = pair.data, pair.error
        assert data is not None and errs is not None
        port_text = data.header("port") or errs.header("port")
        try:
            port = int(port_text)
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            await self._fail(pair, f'invalid port "{port_text}"')
            return
        try:
            reader, writer = await self.dial(port)
        except OSError as e:
            await self._fail(pair, forward_error(port, self.pod, e))
            return
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(_stream_to_pod(data, writer))
                tg.create_task(_pod_to_stream(reader, data))
        except* ConnectionError:
            pass
        finally:
            await _close_writer(writer)
        await errs.close()
        if data.is_reset:
            return
        await data.close()

    async def _fail(self, pair: _Pair, message: str) -> None:
        log.info("port-forward: %s", message)
        assert pair.error is not None and pair.data is not None
        with contextlib.suppress(ConnectionError):
            await pair.error.write(message.encode())
        await pair.error.close()
        await pair.data.close()


async def _stream_to_pod(stream: SpdyStream, writer: asyncio.StreamWriter) -> None:
    while chunk := await stream.read(_CHUNK):
        writer.write(chunk)
        await writer.drain()
    if stream.is_reset:
        writer.close()  # the client gave up on this connection: drop it (unblocks the other copy)
    elif writer.can_write_eof():
        writer.write_eof()


async def _pod_to_stream(reader: asyncio.StreamReader, stream: SpdyStream) -> None:
    try:
        while chunk := await reader.read(_CHUNK):
            await stream.write(chunk)
    except OSError:  # the pod reset the connection
        pass
    await stream.close()


async def _run_spdy(transport: ByteStream, dial: Dialer, pod: str) -> None:
    spdy = SpdySession(transport, server=True)
    try:
        async with asyncio.TaskGroup() as tg:
            handler = SpdyPortForward(spdy, dial, pod, tg)
            await spdy.run(handler.on_stream)
            for task in list(handler.tasks):  # the client went away: drop its connections
                task.cancel()
    except* ConnectionError:
        pass
    finally:
        await spdy.close()


async def serve_spdy(request: web.Request, dial: Dialer, pod: str) -> web.StreamResponse:
    version = upgrade.negotiate_stream_protocol(request, (PROTOCOL,))
    headers = {"Upgrade": upgrade.SPDY_UPGRADE}
    if version:
        headers[upgrade.STREAM_PROTOCOL_HEADER] = version
    up = await upgrade.RawUpgrade.accept(request, headers)
    await _run_spdy(up, dial, pod)
    return up.response


async def serve_tunnel(request: web.Request, dial: Dialer, pod: str) -> web.StreamResponse:
    ws = web.WebSocketResponse(protocols=(wschannel.PORTFORWARD_TUNNEL,), autoping=True, max_msg_size=0)
    await ws.prepare(request)
    await _run_spdy(upgrade.WebSocketByteStream(ws), dial, pod)
    return ws


# --- WebSocket channels (the Python client) -------------------------------------------------------


async def serve_websocket(request: web.Request, dial: Dialer, pod: str) -> web.StreamResponse:
    try:
        ports = parse_ports(request.query.getall("ports", []))
    except ValueError as e:
        raise web.HTTPBadRequest(text=str(e)) from None
    if not ports:
        raise web.HTTPBadRequest(text='query parameter "port" is required')
    offers = wschannel.offered(request.headers.getall("Sec-WebSocket-Protocol", []))
    chosen = wschannel.negotiate(offers, wschannel.PORTFORWARD)
    if chosen is None:
        raise web.HTTPBadRequest(text=f"requested protocol(s) are not supported: {offers}; "
                                      f"supports {list(wschannel.PORTFORWARD)}")
    proto = wschannel.protocol(chosen)
    ws = web.WebSocketResponse(protocols=(chosen,) if chosen else (), autoping=True, max_msg_size=0)
    await ws.prepare(request)

    async def send(channel: int, data: bytes) -> None:
        msg = proto.encode(channel, data)
        await (ws.send_str(msg) if isinstance(msg, str) else ws.send_bytes(msg))

    writers: dict[int, asyncio.StreamWriter] = {}
    try:
        for i, port in enumerate(ports):
            await send(2 * i, wschannel.port_prefix(port))
            await send(2 * i + 1, wschannel.port_prefix(port))
        async with asyncio.TaskGroup() as tg:
            pumps = []
            for i, port in enumerate(ports):
                try:
                    reader, writer = await dial(port)
                except OSError as e:
                    await send(2 * i + 1, forward_error(port, pod, e).encode())
                    continue
                writers[i] = writer
                pumps.append(tg.create_task(_pod_to_channel(reader, send, 2 * i)))
            inbound = tg.create_task(_channels_to_pods(ws, proto, writers))
            await _wait_ports_or_close(pumps, inbound)
            for t in [*pumps, inbound]:
                t.cancel()
    except* ConnectionError:
        pass
    finally:
        for w in writers.values():
            await _close_writer(w)
        if not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close()
    return ws


async def _wait_ports_or_close(pumps: list[asyncio.Task], inbound: asyncio.Task) -> None:
    """Until every pod connection has ended, or the client closed the socket."""
    pending = set(pumps)
    while pending and not inbound.done():
        done, pending = await asyncio.wait(pending | {inbound}, return_when=asyncio.FIRST_COMPLETED)
        pending.discard(inbound)


async def _pod_to_channel(reader: asyncio.StreamReader, send, channel: int) -> None:
    with contextlib.suppress(OSError):
        while chunk := await reader.read(_CHUNK):
            await send(channel, chunk)


async def _channels_to_pods(ws: web.WebSocketResponse, proto: wschannel.ChannelProtocol,
                            writers: dict[int, asyncio.StreamWriter]) -> None:
    async for msg in ws:
        if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
            continue
        try:
            channel, data = proto.decode(msg.data)
        except wschannel.ChannelError:
            continue
        w = writers.get(channel // 2)
        if channel % 2 or w is None or not data or w.is_closing():
            continue
        w.write(data)
        with contextlib.suppress(OSError):
            await w.drain()


async def serve(request: web.Request, dial: Dialer, pod: str) -> web.StreamResponse:
    """Answer a port-forward request in whichever form the client asked for."""
    if upgrade.is_websocket(request):
        offers = wschannel.offered(request.headers.getall("Sec-WebSocket-Protocol", []))
        if wschannel.PORTFORWARD_TUNNEL in offers:
            return await serve_tunnel(request, dial, pod)
        return await serve_websocket(request, dial, pod)
    if upgrade.is_spdy(request):
        return await serve_spdy(request, dial, pod)
    raise web.HTTPBadRequest(text="Upgrade request required")
