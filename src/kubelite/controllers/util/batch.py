"""`slow_start_batch`: call a function `count` times in growing concurrent batches.

Batches are 1, 2, 4, ... calls (starting at `initial_batch_size`); the first batch with a failure
ends the run. Returns how many calls succeeded and the first error (or None). This keeps a
controller from sending hundreds of doomed requests when, say, a quota rejects every create.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

SLOW_START_INITIAL_BATCH_SIZE = 1


async def slow_start_batch(count: int, initial_batch_size: int,
                           fn: Callable[[], Awaitable[None]]) -> tuple[int, BaseException | None]:
    remaining = count
    successes = 0
    batch = min(remaining, initial_batch_size)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        errs = [r for r in results if isinstance(r, BaseException)]
        for e in errs:
            if isinstance(e, asyncio.CancelledError):
                raise e
        successes += batch - len(errs)
        if errs:
            return successes, errs[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None
