"""Connections to targets: a keep-alive pool per target, and a register of the ones in use so
that a target leaving (its deregistration delay is over) can have them cut.

`Connector` is the seam that opens a connection (`open_connection` on the host by default; the
cloud layer may open them from inside a network namespace).
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from .model import Target

Connector = Callable[[Target], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]

READ_LIMIT = 64 * 1024


async def open_tcp(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A plain TCP connection from this network namespace (asyncio sets TCP_NODELAY)."""
    return await asyncio.open_connection(target.ip, target.port, limit=READ_LIMIT)


class Upstream:
    __slots__ = ("target", "reader", "writer", "idle_since", "uses", "cut")

    def __init__(self, target: Target, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.target = target
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0
        self.uses = 0
        self.cut = False   # the load balancer itself cut it (the end of a deregistration delay)

    def usable(self) -> bool:
        """Still open, and the target has sent nothing since the last response."""
        return not self.writer.transport.is_closing() and not self.reader.at_eof() and \
            not self.reader._buffer  # noqa: SLF001 - leftover bytes make the connection unusable

    def close(self) -> None:
        self.writer.transport.close()

    def abort(self) -> None:
        self.cut = True
        self.writer.transport.abort()


class UpstreamPool:
    def __init__(self, *, connect: Connector = open_tcp, max_idle_per_target: int = 64,
                 idle_timeout: float = 30.0) -> None:
        self.connect_fn = connect
        self.max_idle = max_idle_per_target
        self.idle_timeout = idle_timeout
        self.idle: dict[Target, list[Upstream]] = {}
        self.active: dict[Target, set[Upstream]] = {}
        self.opened = 0

    async def acquire(self, target: Target, timeout: float, *, fresh: bool = False) -> tuple[Upstream, bool]:
        """A connection to `target` and whether it was reused; raises OSError or TimeoutError."""
        if not fresh:
            idle = self.idle.get(target)
            while idle:
                up = idle.pop()
                if up.usable():
                    self._activate(up)
                    return up, True
                up.close()
        async with asyncio.timeout(timeout):
            reader, writer = await self.connect_fn(target)
        self.opened += 1
        up = Upstream(target, reader, writer)
        self._activate(up)
        return up, False

    def _activate(self, up: Upstream) -> None:
        up.uses += 1
        self.active.setdefault(up.target, set()).add(up)

    def release(self, up: Upstream, *, reusable: bool, now: float) -> None:
        active = self.active.get(up.target)
        if active is not None:
            active.discard(up)
            if not active:
                del self.active[up.target]
        if reusable and up.usable():
            idle = self.idle.setdefault(up.target, [])
            if len(idle) < self.max_idle:
                up.idle_since = now
                idle.append(up)
                return
        up.close()

    def close_idle(self, target: Target) -> None:
        for up in self.idle.pop(target, []):
            up.close()

    def abort_active(self, target: Target) -> int:
        ups = self.active.pop(target, set())
        for up in ups:
            up.abort()
        return len(ups)

    def expire_idle(self, now: float) -> None:
        for target in list(self.idle):
            idle = self.idle[target]
            keep = []
            for up in idle:
                if now - up.idle_since > self.idle_timeout or not up.usable():
                    up.close()
                else:
                    keep.append(up)
            if keep:
                self.idle[target] = keep
            else:
                del self.idle[target]

    def close_all(self) -> None:
        for target in list(self.idle):
            self.close_idle(target)
        for target in list(self.active):
            self.abort_active(target)

    def statistics(self) -> dict[str, int]:
        return {"idle": sum(len(v) for v in self.idle.values()),
                "active": sum(len(v) for v in self.active.values()), "opened": self.opened}
