"""Rate limiting and backoff, as in client-go's `util/flowcontrol` and apimachinery's `wait`.

- `TokenBucket(qps, burst)`: starts full; `try_accept()` takes a token if one is there;
  `reserve()` always takes one and returns how long to wait for it (tokens may go negative,
  like `golang.org/x/time/rate`); `wait()` sleeps that long.
- `Backoff`: exponential, capped, jittered, reset after a quiet period (the reflector uses
  0.8 s doubling to 30 s with jitter 1.0, reset after 2 min of no backoff).

Pure apart from the injected clock.
"""

from __future__ import annotations

import random

from .clock import REAL_CLOCK, Clock


class TokenBucket:
    def __init__(self, qps: float, burst: int, *, clock: Clock = REAL_CLOCK) -> None:
        if qps <= 0 or burst <= 0:
            raise ValueError("qps and burst must be positive")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock.monotonic()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now

    def tokens(self) -> float:
        self._refill()
        return self._tokens

    def try_accept(self) -> bool:
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def reserve(self) -> float:
        """Take a token now and return the seconds until it is really available."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    async def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await self._clock.sleep(delay)


class Backoff:
    """Exponential backoff: `initial * factor**n` capped at `cap`, plus up to `jitter` of itself."""

    def __init__(self, initial: float, cap: float, *, factor: float = 2.0, jitter: float = 0.0,
                 reset_after: float | None = None, clock: Clock = REAL_CLOCK,
                 rng: random.Random | None = None) -> None:
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self.reset_after = reset_after
        self._clock = clock
        self._rng = rng or random.Random()
        self._duration = initial
        self._last: float | None = None

    def reset(self) -> None:
        self._duration = self.initial
        self._last = None

    def next(self) -> float:
        now = self._clock.monotonic()
        if self.reset_after is not None and self._last is not None and now - self._last > self.reset_after:
            self._duration = self.initial
        self._last = now
        d = self._duration
        self._duration = min(self.cap, self._duration * self.factor)
        if self.jitter > 0:
            d += self._rng.random() * self.jitter * d
        return d
