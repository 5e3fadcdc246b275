"""Fan-out of committed events to watchers, with catch-up from history.

Backends that run in this process (memory, sqlite) publish every committed batch here, in
revision order, from the event loop. A watcher first reads history up to the hub's revision,
then follows live batches, so nothing is missed or duplicated between the two.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Awaitable, Callable

from .interface import Event

History = Callable[[str, int, int], Awaitable[list[Event]]]


class WatchHub:
    def __init__(self) -> None:
        self._subs: set[tuple[str, asyncio.Queue]] = set()
        self.revision = 0  # highest revision published

    def publish(self, events: list[Event]) -> None:
        if not events:
            return
        self.revision = max(self.revision, events[-1].revision)
        for prefix, q in self._subs:
            batch = [e for e in events if e.kv.key.startswith(prefix)]
            if batch:
                q.put_nowait(batch)

    def close(self) -> None:
        for _, q in self._subs:
            q.put_nowait(None)

    async def watch(self, prefix: str, start_revision: int, history: History) -> AsyncIterator[list[Event]]:
        q: asyncio.Queue = asyncio.Queue()
        sub = (prefix, q)
        self._subs.add(sub)
        try:
            upto = self.revision
            if start_revision <= upto:
                past = await history(prefix, start_revision, upto)
                if past:
                    yield past
            while True:
                batch = await q.get()
                if batch is None:
                    return
                batch = [e for e in batch if e.revision > upto and e.revision >= start_revision]
                if batch:
                    yield batch
        finally:
            self._subs.discard(sub)
