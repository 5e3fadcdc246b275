"""Wait for a condition with a deadline (never a bare sleep in a test)."""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, TypeVar

T = TypeVar("T")


def wait_until(pred: Callable[[], T], timeout: float = 30.0, interval: float = 0.1, message: str = "") -> T:
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # keep trying until the deadline
            last_exc = e
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {message or pred!r}"
                               + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


async def async_wait_until(pred: Callable[[], Awaitable[T] | T], timeout: float = 30.0, interval: float = 0.05,
                           message: str = "") -> T:
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            v = pred()
            if asyncio.iscoroutine(v):
                v = await v
            if v:
                return v  # type: ignore[return-value]
        except Exception as e:
            last_exc = e
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {message or pred!r}"
                               + (f" (last error: {last_exc!r})" if last_exc else ""))
        await asyncio.sleep(interval)
