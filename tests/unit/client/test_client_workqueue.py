import asyncio

import pytest

from kubelite.client.testing import wait_until
from kubelite.client.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ShutDown,
    WorkQueue,
    default_controller_rate_limiter,
    max_of,
)
from kubelite.machinery.clock import FakeClock


def run(coro):
    return asyncio.run(coro)


def test_add_coalesces_duplicates():
    async def main():
        q = WorkQueue()
        q.add("ns/a")
        q.add("ns/a")
        q.add("ns/b")
        assert len(q) == 2
        assert await q.get() == "ns/a"
        assert await q.get() == "ns/b"

    run(main())


def test_item_added_while_processing_is_requeued_on_done():
    async def main():
        q = WorkQueue()
        q.add("k")
        item = await q.get()
        q.add("k")
        q.add("k")
        assert len(q) == 0, "an item being processed must not be handed out again"
        with pytest.raises(asyncio.QueueEmpty):
            q.get_nowait()
        q.done(item)
        assert len(q) == 1
        assert q.get_nowait() == "k"
        q.done("k")
        assert len(q) == 0

    run(main())


def test_two_workers_never_hold_the_same_key():
    async def main():
        q = WorkQueue()
        held: set[str] = set()
        overlaps = []
        processed = []

        async def worker():
            while True:
                try:
                    key = await q.get()
                except ShutDown:
                    return
                try:
                    if key in held:
                        overlaps.append(key)
                    held.add(key)
                    await asyncio.sleep(0)
                    if len(processed) < 50:
                        q.add(key)             # re-added while processing
                    await asyncio.sleep(0)
                    processed.append(key)
                    held.discard(key)
                finally:
                    q.done(key)

        async with asyncio.TaskGroup() as tg:
            for _ in range(4):
                tg.create_task(worker())
            for i in range(20):
                q.add(f"k{i % 3}")
                await asyncio.sleep(0)
            await wait_until(lambda: len(processed) >= 50 and len(q) == 0 and not held)
            await q.shut_down_with_drain()
        assert overlaps == []
        assert set(processed) == {"k0", "k1", "k2"}

    run(main())


def test_add_after_waits_for_the_clock_and_earliest_wins():
    async def main():
        clock = FakeClock()
        q = WorkQueue(clock=clock)
        q.add_after("a", 10)
        q.add_after("a", 5)      # earlier wins
        q.add_after("a", 20)     # later is ignored
        assert len(q) == 0
        got = []

        async def getter():
            got.append(await q.get())

        async with asyncio.TaskGroup() as tg:
            tg.create_task(getter())
            await wait_until(lambda: clock.waiters() == 1)
            clock.step(4.9)
            await asyncio.sleep(0)
            assert got == []
            clock.step(0.1)
        assert got == ["a"]
        assert q.statistics()["waiting"] == 0

    run(main())


def test_getter_rearms_when_an_earlier_delay_arrives():
    async def main():
        clock = FakeClock()
        q = WorkQueue(clock=clock)
        q.add_after("late", 100)
        got = []

        async def getter():
            got.append(await q.get())

        async with asyncio.TaskGroup() as tg:
            tg.create_task(getter())
            await wait_until(lambda: clock.waiters() == 1)
            q.add_after("soon", 1)
            await wait_until(lambda: clock.next_deadline() == 1)
            clock.step(1)
        assert got == ["soon"]

    run(main())


def test_exponential_backoff_grows_and_caps():
    rl = ItemExponentialFailureRateLimiter(0.005, 1000)
    delays = [rl.when("x") for _ in range(20)]
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert all(b >= a for a, b in zip(delays, delays[1:]))
    assert delays[-1] == 1000
    assert rl.num_requeues("x") == 20
    assert rl.when("other") == 0.005
    rl.forget("x")
    assert rl.num_requeues("x") == 0
    assert rl.when("x") == 0.005
    assert ItemExponentialFailureRateLimiter().when("y") == 0.005
    huge = ItemExponentialFailureRateLimiter()
    for _ in range(200):
        huge.when("z")
    assert huge.when("z") == 1000


def test_bucket_allows_burst_then_paces():
    clock = FakeClock()
    rl = BucketRateLimiter(10, 100, clock=clock)
    assert [rl.when(i) for i in range(100)] == [0.0] * 100
    assert rl.when("a") == pytest.approx(0.1)
    assert rl.when("b") == pytest.approx(0.2)
    clock.step(10)
    assert rl.when("c") == 0.0


def test_max_of_takes_the_longest_delay_and_forgets_everywhere():
    clock = FakeClock()
    rl = max_of(ItemExponentialFailureRateLimiter(0.005, 1000), BucketRateLimiter(10, 1, clock=clock))
    assert rl.when("a") == 0.005
    assert rl.when("a") == pytest.approx(0.1)       # the bucket is empty now
    assert rl.num_requeues("a") == 2
    rl.forget("a")
    assert rl.num_requeues("a") == 0
    assert default_controller_rate_limiter(clock).when("k") == 0.005


def test_add_rate_limited_uses_backoff_and_forget_resets():
    async def main():
        clock = FakeClock()
        q = WorkQueue(clock=clock, rate_limiter=ItemExponentialFailureRateLimiter(1, 100))
        q.add_rate_limited("k")       # 1 s
        clock.step(0.5)
        assert len(q) == 0
        clock.step(0.5)
        assert len(q) == 1
        key = q.get_nowait()
        q.done(key)
        q.add_rate_limited("k")       # 2 s
        clock.step(1.5)
        assert len(q) == 0
        clock.step(0.5)
        assert len(q) == 1
        assert q.num_requeues("k") == 2
        q.forget("k")
        assert q.num_requeues("k") == 0

    run(main())


def test_shut_down_hands_out_remaining_items_then_raises():
    async def main():
        clock = FakeClock()
        q = WorkQueue(clock=clock)
        q.add("a")
        q.add_after("later", 1)
        q.shut_down()
        q.add("b")                     # ignored
        assert q.shutting_down()
        assert await q.get() == "a"
        clock.step(5)
        with pytest.raises(ShutDown):
            await q.get()

    run(main())


def test_shut_down_wakes_blocked_getters():
    async def main():
        q = WorkQueue()
        results = []

        async def getter():
            try:
                await q.get()
            except ShutDown:
                results.append("shutdown")

        async with asyncio.TaskGroup() as tg:
            for _ in range(3):
                tg.create_task(getter())
            await wait_until(lambda: q.statistics()["getters"] == 3)
            q.shut_down()
        assert results == ["shutdown"] * 3

    run(main())


def test_shut_down_with_drain_waits_for_in_flight_items():
    async def main():
        q = WorkQueue()
        q.add("a")
        item = await q.get()
        drained = asyncio.Event()

        async def drain():
            await q.shut_down_with_drain()
            drained.set()

        async with asyncio.TaskGroup() as tg:
            tg.create_task(drain())
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            assert not drained.is_set()
            q.done(item)
        assert drained.is_set()

    run(main())
