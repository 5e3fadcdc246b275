"""Time as an injected seam, like client-go's `k8s.io/utils/clock` and trio's `MockClock`.

- `Clock`: `now()` (wall time, UTC, for timestamps written to objects), `monotonic()` (seconds,
  for intervals and deadlines), `sleep(seconds)`, and `after(seconds)`, a future that resolves
  when the time has come (Go's `clock.After`; race it with `asyncio.wait`).
- `RealClock`: the event loop's timers.
- `FakeClock`: time moves only when a test calls `step()`; sleepers wake in deadline order.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def after(self, seconds: float) -> asyncio.Future[None]: ...


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class RealClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def after(self, seconds: float) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        handle = loop.call_later(max(0.0, seconds), _resolve, fut)
        fut.add_done_callback(lambda _: handle.cancel())
        return fut


REAL_CLOCK = RealClock()

_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)


class FakeClock:
    """A clock that stands still until `step()`; `monotonic()` starts at 0."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or _EPOCH
        self._elapsed = 0.0
        self._seq = itertools.count()
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    def after(self, seconds: float) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if seconds <= 0:
            fut.set_result(None)
        else:
            heapq.heappush(self._timers, (self._elapsed + seconds, next(self._seq), fut))
        return fut

    async def sleep(self, seconds: float) -> None:
        fut = self.after(seconds)
        try:
            await fut
        finally:
            fut.cancel()

    def step(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        if seconds < 0:
            raise ValueError("a FakeClock cannot go backwards")
        self._elapsed += seconds
        while self._timers and self._timers[0][0] <= self._elapsed:
            _, _, fut = heapq.heappop(self._timers)
            _resolve(fut)

    def waiters(self) -> int:
        """How many sleepers are parked on this clock (for tests to wait on)."""
        self._timers = [t for t in self._timers if not t[2].done()]
        heapq.heapify(self._timers)
        return len(self._timers)

    def next_deadline(self) -> float | None:
        """Seconds until the earliest sleeper wakes, or None when nobody sleeps."""
        if not self.waiters():
            return None
        return max(0.0, self._timers[0][0] - self._elapsed)
