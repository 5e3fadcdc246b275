"""Byte pipes between two connections (L4 proxying and upgraded HTTP connections).

`splice(a, b)` copies both ways until both directions end: an end of stream on one side is
passed on as a half-close where the transport supports it (plain TCP; TLS cannot half-close,
so the other side is closed). Idle means no byte either way for `idle_timeout`; then both are
closed, as ELB's idle timeout does.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Callable

CHUNK = 256 * 1024


class _Activity:
    __slots__ = ("last", "bytes")

    def __init__(self, now: float) -> None:
        self.last = now
        self.bytes = 0


async def _copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter, act: _Activity, idle: float,
                now: Callable[[], float]) -> None:
    while True:
        try:
            async with asyncio.timeout(idle) as cm:
                while True:
                    data = await src.read(CHUNK)
                    if not data:
                        break
                    act.last = now()
                    act.bytes += len(data)
                    dst.write(data)
                    await dst.drain()
                    cm.reschedule(act.last + idle)
        except TimeoutError:
            if now() - act.last < idle:
                continue  # the other direction was busy: the connection is not idle
            raise
        break
    if dst.can_write_eof() and not dst.transport.is_closing():
        with contextlib.suppress(OSError, RuntimeError):
            dst.write_eof()
    else:
        dst.close()


async def splice(a_reader: asyncio.StreamReader, a_writer: asyncio.StreamWriter,
                 b_reader: asyncio.StreamReader, b_writer: asyncio.StreamWriter, *,
                 idle_timeout: float) -> int:
    """Copy a->b and b->a until both end (or idle, or an error); returns the bytes moved.
    Both writers are closed on return."""
    loop = asyncio.get_running_loop()
    act = _Activity(loop.time())
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(_copy(a_reader, b_writer, act, idle_timeout, loop.time))
            tg.create_task(_copy(b_reader, a_writer, act, idle_timeout, loop.time))
    except* (OSError, TimeoutError, asyncio.IncompleteReadError):
        pass
    finally:
        a_writer.close()
        b_writer.close()
    return act.bytes
