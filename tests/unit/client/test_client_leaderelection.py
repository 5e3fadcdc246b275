import asyncio
import random
import re

import pytest

from kubelite.client.leaderelection import LeaderElectionLost, LeaderElector
from kubelite.client.testing import FakeAPIServer, wait_until
from kubelite.machinery.clock import FakeClock
from kubelite.machinery.errors import new_internal_error

MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def run(coro):
    return asyncio.run(coro)


def elector(api, clock, identity, **kw):
    return LeaderElector(api.client(clock=clock), "kube-scheduler", "kube-system", identity, clock=clock,
                         rng=random.Random(identity), **kw)


def lease(api):
    return api.get_object("leases.coordination.k8s.io", "kube-scheduler", "kube-system")


def test_parameters_are_checked():
    api, clock = FakeAPIServer(), FakeClock()
    with pytest.raises(ValueError, match="lease_duration"):
        elector(api, clock, "a", lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError, match="retry_period"):
        elector(api, clock, "a", renew_deadline=2, retry_period=2)
    with pytest.raises(ValueError, match="identity"):
        elector(api, clock, "")


def test_first_candidate_creates_the_lease():
    async def main():
        api, clock = FakeAPIServer(), FakeClock()
        a = elector(api, clock, "a")
        assert await a.try_acquire_or_renew()
        assert a.is_leader() and a.get_leader() == "a"
        spec = lease(api)["spec"]
        assert spec["holderIdentity"] == "a" and spec["leaseDurationSeconds"] == 15
        assert spec["leaseTransitions"] == 0
        assert MICRO.match(spec["acquireTime"]) and MICRO.match(spec["renewTime"])
        clock.step(2)
        assert await a.try_acquire_or_renew()
        spec2 = lease(api)["spec"]
        assert spec2["acquireTime"] == spec["acquireTime"] and spec2["renewTime"] > spec["renewTime"]
        assert spec2["leaseTransitions"] == 0

    run(main())


def test_take_over_when_the_lease_expires():
    async def main():
        api, clock = FakeAPIServer(), FakeClock()
        a, b = elector(api, clock, "a"), elector(api, clock, "b")
        leaders = []
        b.on_new_leader = leaders.append
        assert await a.try_acquire_or_renew()
        assert not await b.try_acquire_or_renew(), "b just observed a's record: it is valid"
        assert leaders == ["a"]
        clock.step(10)
        assert await a.try_acquire_or_renew()            # a renews: b sees a new record
        clock.step(10)
        assert not await b.try_acquire_or_renew(), "renewed 10 s ago by b's own clock"
        clock.step(15.1)                                  # a is silent for a whole lease duration
        assert await b.try_acquire_or_renew()
        spec = lease(api)["spec"]
        assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
        assert leaders == ["a", "b"]
        assert not await a.try_acquire_or_renew(), "a now sees b's fresh record"
        assert not a.is_leader() and a.get_leader() == "b"

    run(main())


def test_leader_keeps_the_lease_while_renewing_and_releases_on_exit():
    async def main():
        api, clock = FakeAPIServer(), FakeClock()
        a, b = elector(api, clock, "a"), elector(api, clock, "b")
        inside = asyncio.Event()
        stop = asyncio.Event()

        async def lead():
            async with a.leading():
                inside.set()
                await stop.wait()

        async with asyncio.TaskGroup() as tg:
            tg.create_task(lead())
            await inside.wait()
            for _ in range(20):                          # 40 s of renewals
                await wait_until(lambda: clock.waiters() == 1)
                clock.step(2)
                await wait_until(lambda: lease(api)["spec"]["renewTime"] >= _micro(clock))
                assert not await b.try_acquire_or_renew()
            stop.set()
        spec = lease(api)["spec"]
        assert spec["holderIdentity"] == "" and spec["leaseDurationSeconds"] == 1
        assert await b.try_acquire_or_renew(), "a released lease is free at once"
        assert lease(api)["spec"]["leaseTransitions"] == 1

    run(main())


def _micro(clock):
    return clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_leader_that_cannot_renew_loses_and_its_work_is_cancelled():
    async def main():
        api, clock = FakeAPIServer(), FakeClock()
        stopped, cancelled = [], []
        a = elector(api, clock, "a")
        started = asyncio.Event()

        async def work():
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        async with asyncio.TaskGroup() as tg:
            runner = tg.create_task(a.run(work, lambda: stopped.append(True)))
            await started.wait()

            def fail_writes(req):
                if req.method == "PUT":
                    raise new_internal_error("etcd down")

            api.prepend_reactor(fail_writes)
            for _ in range(6):
                if runner.done():
                    break
                await wait_until(lambda: clock.waiters() == 1 or runner.done())
                clock.step(2)
            await asyncio.wait_for(runner, 5)
        assert cancelled == [True] and stopped == [True]
        assert lease(api)["spec"]["holderIdentity"] == "a", "a lost lease is not released"

    run(main())


def test_leading_raises_leader_election_lost():
    async def main():
        api, clock = FakeAPIServer(), FakeClock()
        a = elector(api, clock, "a")
        with pytest.raises(LeaderElectionLost):
            async with a.leading():
                # Someone else takes the lease over behind a's back.
                obj = lease(api)
                obj["spec"]["holderIdentity"] = "intruder"
                await api.client().update("leases.coordination.k8s.io", obj)
                while True:
                    await wait_until(lambda: clock.waiters() == 1)
                    clock.step(2)

    run(main())


def test_run_returns_after_the_work_and_releases():
    async def main():
        api, clock = FakeAPIServer(), FakeClock()
        a = elector(api, clock, "a")
        done = []

        async def work():
            done.append("worked")

        await a.run(work, lambda: done.append("stopped"))
        assert done == ["worked", "stopped"]
        assert lease(api)["spec"]["holderIdentity"] == ""

    run(main())


def test_cancelled_candidate_does_not_call_on_stopped_leading():
    async def main():
        api, clock = FakeAPIServer(), FakeClock()
        a, b = elector(api, clock, "a"), elector(api, clock, "b")
        assert await a.try_acquire_or_renew()
        calls = []

        async def never():
            calls.append("started")

        task = asyncio.create_task(b.run(never, lambda: calls.append("stopped")))
        await wait_until(lambda: clock.waiters() == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert calls == []
        assert lease(api)["spec"]["holderIdentity"] == "a"

    run(main())
