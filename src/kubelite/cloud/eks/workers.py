"""One worker per key, latest wish wins (as the kubelet's pod workers): `kick(key)` wakes the
key's worker, starting it if needed; the worker syncs, then waits for the next kick or a periodic
resync; it ends when its sync says the object is gone. A failing sync is retried with backoff.
All workers run in the `TaskGroup` of `run()`, and end with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Awaitable, Callable

log = logging.getLogger(__name__)

Sync = Callable[[str], Awaitable[bool]]   # returns True when the object is gone


class Workers:
    def __init__(self, name: str, sync: Sync, *, resync: float = 30.0, max_backoff: float = 30.0):
        self.name = name
        self.sync = sync
        self.resync = resync
        self.max_backoff = max_backoff
        self._events: dict[str, asyncio.Event] = {}
        self._pending: set[str] = set()
        self._tg: asyncio.TaskGroup | None = None

    def kick(self, key: str) -> None:
        ev = self._events.get(key)
        if ev is not None:
            ev.set()
            return
        if self._tg is None:
            self._pending.add(key)
            return
        ev = self._events[key] = asyncio.Event()
        ev.set()
        self._tg.create_task(self._work(key, ev), name=f"{self.name}:{key}")

    def active(self) -> list[str]:
        return sorted(self._events)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            for key in sorted(self._pending):
                self.kick(key)
            self._pending.clear()
            try:
                await asyncio.Event().wait()
            finally:
                self._tg = None

    async def _work(self, key: str, ev: asyncio.Event) -> None:
        backoff = 0.5
        try:
            while True:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(ev.wait(), self.resync)
                ev.clear()
                try:
                    if await self.sync(key):
                        return
                    backoff = 0.5
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s %s: sync failed; retrying in %.1fs", self.name, key, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    ev.set()
        finally:
            if self._events.get(key) is ev:
                del self._events[key]
                if ev.is_set() and self._tg is not None:
                    # Kicked while finishing: the object came back (a new one with the same name).
                    self.kick(key)
