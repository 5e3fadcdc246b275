"""TCP and TLS listeners: the L4 data path (NLB-style).

Each client connection goes to one target of the listener's target group (its default action is
a forward), chosen by the group's algorithm, and the bytes are spliced both ways; a target that
refuses is skipped for the next one. A target's outstanding count is its open connections, so
a draining target keeps its connections until they end or its deregistration delay is over.
A TLS listener terminates TLS and sends plain TCP on.
"""

from __future__ import annotations

import asyncio
import logging

from .model import Forward, Listener
from .pipe import splice
from .runtime import Runtime

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


class TCPListener:
    def __init__(self, rt: Runtime, listener: Listener) -> None:
        self.rt = rt
        self.bound_port = listener.port
        self.connections: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self.closing = False
        self.update(listener)

    def update(self, listener: Listener) -> None:
        self.listener = listener

    def close_idle(self) -> None:
        self.closing = True  # L4 connections are never idle in the HTTP sense: they run to the end

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections[task] = writer
        rt = self.rt
        m = rt.metrics
        m.new_connections += 1
        m.active_connections += 1
        try:
            await self._proxy(reader, writer)
        except Exception:  # noqa: BLE001 - one connection's bug must not stop the listener
            log.exception("lb: error on an L4 connection")
        finally:
            self.connections.pop(task, None)
            m.active_connections -= 1
            writer.close()

    async def _proxy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rt = self.rt
        action = self.listener.default_action
        if not isinstance(action, Forward):
            return
        group = rt.choose_group(action)
        if group is None:
            return
        tried: set = set()
        for attempt in range(MAX_ATTEMPTS):
            entry = group.pick(tried)
            if entry is None:
                return
            if attempt:
                rt.metrics.retries += 1
            group.acquire(entry)
            try:
                try:
                    up, _ = await rt.pool.acquire(entry.target, rt.timeouts.connect, fresh=True)
                except (OSError, TimeoutError):
                    rt.metrics.target_connection_errors += 1
                    tried.add(entry.target)
                    continue
                try:
                    rt.metrics.processed_bytes += await splice(reader, writer, up.reader, up.writer,
                                                               idle_timeout=rt.timeouts.idle)
                finally:
                    rt.pool.release(up, reusable=False, now=rt.now())
                return
            finally:
                rt.release(group, entry)
