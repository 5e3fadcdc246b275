"""HTTP and HTTPS listeners: the L7 data path.

For each client connection (HTTP/1.1 keep-alive, requests in order): read a request head, route
it (`routing.Router`), then answer it locally (fixed response, redirect, 400/404/503) or forward
it to a target of the chosen group over a pooled keep-alive connection, streaming the bodies
both ways. Where nothing has reached a target yet (a refused connection, a pooled connection the
target had closed), the request is sent again, to another target or on a fresh connection, so a
target going away never fails a request that it did not take: a refused connection is always
retried elsewhere, a connection closed without an answer only for idempotent methods. Small
request bodies are read first so that such a retry is possible; large or chunked ones stream
and are never retried once sent.

The load balancer's own answers: 502 (target refused or broke the response), 503 (no target),
504 (target timed out), with plain-text bodies. An `Upgrade` (WebSocket) answered with 101 turns
the connection into a byte pipe to that target.
"""

from __future__ import annotations

import asyncio
import logging
import time

from .http11 import (CHUNKED, CLOSE, LENGTH, NONE, ChunkedScanner, HTTPError, RequestHead, UpstreamError,
                     client_response_head, error_body, parse_request_head, parse_response_head,
                     redirect_location, simple_response, upstream_request_head)
from .model import FixedResponse, Forward, Listener, ListenerProtocol, Redirect
from .pipe import splice
from .pool import Upstream
from .routing import Router, normalize_host
from .runtime import AccessLogEntry, Runtime
from .targets import TargetEntry

log = logging.getLogger(__name__)

BUFFER_LIMIT = 64 * 1024        # request bodies up to this are read before forwarding (retryable)
DISCARD_LIMIT = 1024 * 1024     # a body we answer without forwarding is read and dropped up to this
CHUNK = 256 * 1024
MAX_ATTEMPTS = 3                # targets tried for one request
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class _Retry(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


class _Fail(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


class _Abort(Exception):
    """The response broke after its head was sent: the client connection is cut."""


class ClientConnection:
    __slots__ = ("writer", "idle")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.idle = True


class HTTPListener:
    def __init__(self, rt: Runtime, listener: Listener) -> None:
        self.rt = rt
        self.scheme = "https" if listener.protocol is ListenerProtocol.HTTPS else "http"
        self.bound_port = listener.port
        self.connections: dict[asyncio.Task, ClientConnection] = {}
        self.closing = False
        self.update(listener)

    def update(self, listener: Listener) -> None:
        self.listener = listener
        self.router = Router(listener.rules, listener.default_action)

    @property
    def public_port(self) -> int:
        return self.listener.port or self.bound_port

    # ----- connections ---------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn = ClientConnection(writer)
        self.connections[task] = conn
        m = self.rt.metrics
        m.new_connections += 1
        m.active_connections += 1
        peer = writer.get_extra_info("peername")
        client_ip = peer[0] if peer else "-"
        try:
            await self._serve(reader, writer, conn, client_ip)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, _Abort):
            writer.transport.abort()
        except Exception:  # noqa: BLE001 - one connection's bug must not stop the listener
            log.exception("lb: error serving %s", client_ip)
            writer.transport.abort()
        finally:
            self.connections.pop(task, None)
            m.active_connections -= 1
            writer.close()

    def close_idle(self) -> None:
        """Stop reading new requests; idle keep-alive connections are closed now."""
        self.closing = True
        for conn in self.connections.values():
            if conn.idle:
                conn.writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: ClientConnection,
                     client_ip: str) -> None:
        rt = self.rt
        m = rt.metrics
        timeout = rt.timeouts.client_header
        while not self.closing:
            conn.idle = True
            try:
                async with asyncio.timeout(timeout):
                    head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                m.request_count += 1
                writer.write(simple_response(431, error_body(431), keep_alive=False))
                m.response(431, by_lb=True)
                return
            except (asyncio.IncompleteReadError, TimeoutError):
                return
            if head[:2] == b"\r\n":  # stray line breaks between requests are allowed
                head = head.lstrip(b"\r\n")
                if not head:
                    continue
            conn.idle = False
            timeout = rt.timeouts.idle
            start = time.perf_counter()
            m.request_count += 1
            try:
                req = parse_request_head(head)
            except HTTPError as e:
                writer.write(simple_response(e.status, error_body(e.status), keep_alive=False))
                m.response(e.status, by_lb=True)
                return
            m.active_requests += 1
            try:
                keep = await self._dispatch(req, reader, writer, client_ip, start)
            finally:
                m.active_requests -= 1
            if not keep:
                return

    # ----- answering -----------------------------------------------------------------------

    async def _dispatch(self, req: RequestHead, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        client_ip: str, start: float) -> bool:
        action = self.router.route(normalize_host(req.host), req.path).action
        if type(action) is Forward:
            return await self._forward(req, action, reader, writer, client_ip, start)
        if type(action) is FixedResponse:
            self.rt.metrics.fixed_responses += 1
            return await self._local(req, reader, writer, action.status, action.body, client_ip, start,
                                     content_type=action.content_type)
        assert type(action) is Redirect
        self.rt.metrics.redirects += 1
        host, _, _ = req.host.partition(":") if not req.host.startswith("[") else (req.host, "", "")
        location = redirect_location(protocol=action.protocol, host=action.host, port=action.port,
                                     path=action.path, query=action.query, req_scheme=self.scheme,
                                     req_host=host, req_port=self.public_port, req_path=req.path,
                                     req_query=req.query)
        return await self._local(req, reader, writer, action.status, "", client_ip, start,
                                 headers=(("Location", location),))

    async def _discard_body(self, req: RequestHead, reader: asyncio.StreamReader) -> bool:
        """Read and drop the request body; False when the connection cannot be kept."""
        f = req.framing
        if f.kind == NONE:
            return True
        if req.expect_continue:
            return False  # the client waits for 100 Continue: never read, close instead
        try:
            async with asyncio.timeout(self.rt.timeouts.client_header):
                if f.kind == LENGTH:
                    if f.length > DISCARD_LIMIT:
                        return False
                    await reader.readexactly(f.length)
                    return True
                scanner = ChunkedScanner()
                total = 0
                while not scanner.done:
                    data = await reader.read(CHUNK)
                    if not data:
                        return False
                    n = scanner.feed(data)
                    total += n
                    if n < len(data) or total > DISCARD_LIMIT:
                        return False  # pipelined bytes after the body, or too much: close
                return True
        except (asyncio.IncompleteReadError, TimeoutError, ValueError):
            return False

    async def _local(self, req: RequestHead, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     status: int, body: str, client_ip: str, start: float, *, content_type: str = "",
                     headers: tuple[tuple[str, str], ...] = (), body_read: bool | None = False) -> bool:
        """Answer from the load balancer itself. `body_read`: False (the request body is still
        unread), True (read already), None (partly sent to a target: close afterwards)."""
        keep = req.keep_alive and not self.closing and body_read is not None
        if keep and not body_read:
            keep = await self._discard_body(req, reader)
        data = simple_response(status, body, content_type=content_type or "text/plain; charset=utf-8",
                               keep_alive=keep, headers=headers, head_only=req.method == "HEAD")
        writer.write(data)
        await writer.drain()
        self.rt.metrics.response(status, by_lb=True)
        if self.rt.access_log is not None:
            self._log(req, client_ip, status, None, None, start, len(data))
        return keep

    def _lb_error(self, req: RequestHead, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int,
                  client_ip: str, start: float, body_read: bool | None):
        return self._local(req, reader, writer, status, error_body(status), client_ip, start, body_read=body_read)

    # ----- forwarding ----------------------------------------------------------------------

    async def _forward(self, req: RequestHead, action: Forward, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter, client_ip: str, start: float) -> bool:
        rt = self.rt
        group = rt.choose_group(action)
        if group is None or not group.has_targets():
            return await self._lb_error(req, reader, writer, 503, client_ip, start, False)
        f = req.framing
        if req.expect_continue and f.kind != NONE:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = b""
        replayable = True
        if f.kind == LENGTH and f.length <= BUFFER_LIMIT:
            try:
                async with asyncio.timeout(rt.timeouts.client_header):
                    body = await reader.readexactly(f.length)
            except (asyncio.IncompleteReadError, TimeoutError):
                return False
        elif f.kind != NONE:
            replayable = False
        head = upstream_request_head(req, client_ip=client_ip, proto=self.scheme, port=self.public_port,
                                     default_host="" if req.host else _local_host(writer))
        tried: set = set()
        status = 503
        for attempt in range(MAX_ATTEMPTS):
            entry = group.pick(tried)
            if entry is None:
                break
            if attempt:
                rt.metrics.retries += 1
            group.acquire(entry)
            try:
                return await self._exchange(req, head, body, replayable, entry, reader, writer, client_ip, start)
            except _Retry as r:
                tried.add(entry.target)
                status = r.status
            except _Fail as fail:
                return await self._lb_error(req, reader, writer, fail.status, client_ip, start,
                                            True if replayable else None)
            finally:
                rt.release(group, entry)
        return await self._lb_error(req, reader, writer, status, client_ip, start, True if replayable else None)

    async def _exchange(self, req: RequestHead, head: bytes, body: bytes, replayable: bool, entry: TargetEntry,
                        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client_ip: str,
                        start: float) -> bool:
        rt = self.rt
        pool = rt.pool
        t = rt.timeouts
        m = rt.metrics
        fresh = False
        while True:
            try:
                up, reused = await pool.acquire(entry.target, t.connect, fresh=fresh)
            except TimeoutError:
                m.target_connection_errors += 1
                raise _Retry(504) from None
            except OSError:
                m.target_connection_errors += 1
                raise _Retry(502) from None
            reusable = False
            try:
                up.writer.write(head + body if body else head)
                if not replayable:
                    await self._stream_request_body(req, reader, up)
                small = b""
                try:
                    async with asyncio.timeout(t.target_response):
                        resp = parse_response_head(await up.reader.readuntil(b"\r\n\r\n"), req.method)
                        while resp.status < 200 and resp.status != 101:  # interim responses
                            resp = parse_response_head(await up.reader.readuntil(b"\r\n\r\n"), req.method)
                        if resp.framing.kind == LENGTH and resp.framing.length <= BUFFER_LIMIT:
                            small = await up.reader.readexactly(resp.framing.length)
                except (asyncio.IncompleteReadError, ConnectionError) as e:
                    # closed without a byte of answer: an idempotent request is sent again (RFC 9110
                    # 9.2.2), on a fresh connection when this one came from the pool (the target had
                    # closed it), else to another target (it was going away)
                    if replayable and req.method in IDEMPOTENT and not getattr(e, "partial", b"") and not up.cut:
                        if reused:
                            fresh = True
                            m.retries += 1
                            continue
                        raise _Retry(502) from None
                    raise _Fail(502) from None
                except TimeoutError:
                    raise _Fail(504) from None
                except (asyncio.LimitOverrunError, UpstreamError, OSError):
                    raise _Fail(502) from None
                m.response(resp.status, by_lb=False)
                if resp.status == 101:
                    if not req.upgrade:
                        raise _Fail(502)
                    writer.write(client_response_head(resp, keep_alive=False))
                    m.upgrades += 1
                    if rt.access_log is not None:
                        self._log(req, client_ip, 101, entry, 101, start, 0)
                    m.processed_bytes += await splice(reader, writer, up.reader, up.writer, idle_timeout=t.idle)
                    return False
                http10 = req.version == "HTTP/1.0"
                kind = resp.framing.kind
                decode = http10 and kind == CHUNKED
                keep = req.keep_alive and kind != CLOSE and not decode and not self.closing
                out = client_response_head(resp, keep_alive=keep, http10=http10, decoded=decode)
                if kind == NONE or small or (kind == LENGTH and resp.framing.length <= BUFFER_LIMIT):
                    writer.write(out + small if small else out)
                    await writer.drain()
                    sent, clean = len(small), True
                else:
                    sent, clean = await self._copy_response_body(resp.framing, up, writer, out, decode)
                m.processed_bytes += sent + len(body)
                reusable = resp.keep_alive and clean and not entry.draining
                if rt.access_log is not None:
                    self._log(req, client_ip, resp.status, entry, resp.status, start, sent)
                return keep
            finally:
                pool.release(up, reusable=reusable, now=rt.now())

    async def _stream_request_body(self, req: RequestHead, reader: asyncio.StreamReader, up: Upstream) -> None:
        """Copy a large or chunked request body to the target as it arrives."""
        t = self.rt.timeouts.client_header
        f = req.framing
        try:
            async with asyncio.timeout(t) as cm:
                if f.kind == LENGTH:
                    remaining = f.length
                    while remaining:
                        data = await reader.read(min(remaining, CHUNK))
                        if not data:
                            raise _Abort()
                        remaining -= len(data)
                        up.writer.write(data)
                        await up.writer.drain()
                        cm.reschedule(asyncio.get_running_loop().time() + t)
                else:
                    scanner = ChunkedScanner()
                    while not scanner.done:
                        data = await reader.read(CHUNK)
                        if not data:
                            raise _Abort()
                        n = scanner.feed(data)
                        if n < len(data):
                            raise _Abort()  # pipelining after a chunked body: not supported
                        up.writer.write(data)
                        await up.writer.drain()
                        cm.reschedule(asyncio.get_running_loop().time() + t)
        except (TimeoutError, ValueError, asyncio.IncompleteReadError):
            raise _Abort() from None
        except ConnectionError:
            raise _Fail(502) from None

    async def _copy_response_body(self, framing, up: Upstream, writer: asyncio.StreamWriter, out_head: bytes,
                                  decode: bool) -> tuple[int, bool]:
        """Stream a response body; (bytes, whether the target connection ended cleanly)."""
        t = self.rt.timeouts.target_response
        loop = asyncio.get_running_loop()
        r = up.reader
        writer.write(out_head)
        sent = 0
        clean = True
        try:
            async with asyncio.timeout(t) as cm:
                if framing.kind == LENGTH:
                    remaining = framing.length
                    while remaining:
                        data = await r.read(min(remaining, CHUNK))
                        if not data:
                            raise _Abort()
                        remaining -= len(data)
                        sent += len(data)
                        writer.write(data)
                        await writer.drain()
                        cm.reschedule(loop.time() + t)
                elif framing.kind == CHUNKED:
                    scanner = ChunkedScanner(decode=decode)
                    while not scanner.done:
                        data = await r.read(CHUNK)
                        if not data:
                            raise _Abort()
                        n = scanner.feed(data)
                        if n < len(data):
                            clean = False  # bytes after the body: do not reuse the connection
                        piece = scanner.take_payload() if decode else (data if n == len(data) else data[:n])
                        sent += len(piece)
                        writer.write(piece)
                        await writer.drain()
                        cm.reschedule(loop.time() + t)
                else:  # until the target closes
                    clean = False
                    while True:
                        data = await r.read(CHUNK)
                        if not data:
                            break
                        sent += len(data)
                        writer.write(data)
                        await writer.drain()
                        cm.reschedule(loop.time() + t)
        except (TimeoutError, ValueError, OSError, asyncio.IncompleteReadError):
            up.abort()
            raise _Abort() from None
        return sent, clean

    def _log(self, req: RequestHead, client_ip: str, status: int, entry: TargetEntry | None,
             target_status: int | None, start: float, sent: int) -> None:
        assert self.rt.access_log is not None
        self.rt.access_log(AccessLogEntry(
            time.time(), self.listener.key, client_ip, req.method, req.host, req.path, status,
            entry.target.id if entry else "-", target_status, time.perf_counter() - start, sent))


def _local_host(writer: asyncio.StreamWriter) -> str:
    sockname = writer.get_extra_info("sockname")
    if not sockname:
        return "localhost"
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
