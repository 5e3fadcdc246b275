"""A controller work queue, as in client-go's `util/workqueue` (queue, delaying, rate limiting).

Rules (the reason controllers use this rather than `asyncio.Queue`):

- An item is queued at most once: adding an item that is already waiting is a no-op (the
  *dirty* set coalesces bursts of events into one sync).
- Two workers never hold the same item: `get()` moves it to the *processing* set; an item
  added while it is processing is marked dirty and queued again only when `done(item)` is
  called. Workers must call `done` (in a `finally`).
- `add_after(item, delay)` queues it later (an earlier pending time wins);
  `add_rate_limited(item)` uses the rate limiter's delay; `forget(item)` clears its failure
  history on success; `num_requeues(item)` reports it.
- `shut_down()` stops accepting items; `get()` still hands out what is queued, then raises
  `ShutDown`. `shut_down_with_drain()` also waits for in-flight items to be `done`.

Rate limiters: `ItemExponentialFailureRateLimiter` (per item, 5 ms doubling to 1000 s),
`BucketRateLimiter` (overall 10 qps, burst 100), `max_of(...)`; the default controller limiter is
the max of the two. Delays are measured on the injected `Clock`; no background task is needed.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from typing import Any, Generic, Hashable, Protocol, TypeVar

from ..machinery.backoff import TokenBucket
from ..machinery.clock import REAL_CLOCK, Clock

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    """The queue is shut down and has nothing left to hand out."""


class RateLimiter(Protocol):
    def when(self, item: Any) -> float: ...

    def forget(self, item: Any) -> None: ...

    def num_requeues(self, item: Any) -> int: ...


class ItemExponentialFailureRateLimiter:
    """`base * 2**failures`, capped at `max_delay`, counted per item."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[Any, int] = {}

    def when(self, item: Any) -> float:
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        if exp > 62:
            return self.max_delay
        return min(self.base_delay * (2 ** exp), self.max_delay)

    def forget(self, item: Any) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Any) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """One token bucket for all items: the overall retry rate."""

    def __init__(self, qps: float = 10.0, burst: int = 100, *, clock: Clock = REAL_CLOCK) -> None:
        self._bucket = TokenBucket(qps, burst, clock=clock)

    def when(self, item: Any) -> float:
        return self._bucket.reserve()

    def forget(self, item: Any) -> None:
        pass

    def num_requeues(self, item: Any) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay of several limiters (every one of them is consulted)."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, item: Any) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: Any) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Any) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def max_of(*limiters: RateLimiter) -> MaxOfRateLimiter:
    return MaxOfRateLimiter(*limiters)


def default_controller_rate_limiter(clock: Clock = REAL_CLOCK) -> MaxOfRateLimiter:
    return max_of(ItemExponentialFailureRateLimiter(0.005, 1000.0), BucketRateLimiter(10.0, 100, clock=clock))


class WorkQueue(Generic[T]):
    def __init__(self, name: str = "", *, rate_limiter: RateLimiter | None = None,
                 clock: Clock = REAL_CLOCK) -> None:
        self.name = name
        self._clock = clock
        self._limiter = rate_limiter or default_controller_rate_limiter(clock)
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._waiting: list[tuple[float, int, T]] = []
        self._ready_at: dict[T, float] = {}
        self._seq = itertools.count()
        self._getters: list[asyncio.Future[None]] = []
        self._idle: list[asyncio.Future[None]] = []
        self._shutting_down = False

    # ----- the basic queue

    def add(self, item: T) -> None:
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        self._wake(self._getters)

    def __len__(self) -> int:
        self._promote()
        return len(self._queue)

    async def get(self) -> T:
        """The next item, waiting for one; raises `ShutDown` once shut down and empty."""
        loop = asyncio.get_running_loop()
        while True:
            self._promote()
            if self._queue:
                return self._take()
            if self._shutting_down:
                raise ShutDown(self.name)
            waiter: asyncio.Future[None] = loop.create_future()
            self._getters.append(waiter)
            timer = self._clock.after(self._waiting[0][0] - self._clock.monotonic()) if self._waiting else None
            try:
                await asyncio.wait([waiter] if timer is None else [waiter, timer],
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                if timer is not None:
                    timer.cancel()
                if waiter in self._getters:
                    self._getters.remove(waiter)

    def get_nowait(self) -> T:
        """The next item if one is ready; raises `asyncio.QueueEmpty` (or `ShutDown`) otherwise."""
        self._promote()
        if self._queue:
            return self._take()
        if self._shutting_down:
            raise ShutDown(self.name)
        raise asyncio.QueueEmpty

    def _take(self) -> T:
        item = self._queue.popleft()
        self._processing.add(item)
        self._dirty.discard(item)
        return item

    def done(self, item: T) -> None:
        """Processing of `item` finished; if it was added meanwhile, it is queued again now."""
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._wake(self._getters)
        elif not self._processing:
            self._wake(self._idle)

    def shut_down(self) -> None:
        self._shutting_down = True
        self._waiting.clear()
        self._ready_at.clear()
        self._wake(self._getters)

    async def shut_down_with_drain(self) -> None:
        """Shut down, then wait until every item handed out has been marked `done`."""
        self.shut_down()
        while self._processing:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._idle.append(fut)
            try:
                await fut
            finally:
                fut.cancel()

    def shutting_down(self) -> bool:
        return self._shutting_down

    # ----- delays

    def add_after(self, item: T, delay: float) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready = self._clock.monotonic() + delay
        if item in self._ready_at and self._ready_at[item] <= ready:
            return
        self._ready_at[item] = ready
        heapq.heappush(self._waiting, (ready, next(self._seq), item))
        self._wake(self._getters)     # getters re-arm their timers

    def _promote(self) -> None:
        now = self._clock.monotonic()
        while self._waiting and self._waiting[0][0] <= now:
            ready, _, item = heapq.heappop(self._waiting)
            if self._ready_at.get(item) != ready:
                continue                # superseded by an earlier add_after
            del self._ready_at[item]
            self.add(item)

    # ----- rate limiting

    def add_rate_limited(self, item: T) -> None:
        self.add_after(item, self._limiter.when(item))

    def forget(self, item: T) -> None:
        self._limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self._limiter.num_requeues(item)

    def statistics(self) -> dict[str, int]:
        self._promote()
        return {"queued": len(self._queue), "processing": len(self._processing),
                "waiting": len(self._ready_at), "getters": len(self._getters)}

    @staticmethod
    def _wake(futures: list[asyncio.Future[None]]) -> None:
        for f in futures:
            if not f.done():
                f.set_result(None)
        futures.clear()
