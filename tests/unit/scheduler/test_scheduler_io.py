"""The Scheduler's I/O against the fake API server: bindings, events, status conditions,
schedulerName, and preemption's writes."""

import asyncio
import contextlib
import random

from kubelite.client.testing import FakeAPIServer, wait_until
from kubelite.machinery.errors import new_conflict
from kubelite.scheduler import Scheduler
from kubelite.scheduler.testing import make_node, make_pod


def strip(pod):
    """As a client would create it (the server fills uid and resourceVersion)."""
    pod = {**pod, "metadata": {k: v for k, v in pod["metadata"].items() if k != "uid"}}
    pod["status"] = {"phase": pod["status"]["phase"]}
    return pod


@contextlib.asynccontextmanager
async def running(api, **kw):
    client = api.client()
    sched = Scheduler(client, rng=random.Random(0), **kw)
    task = asyncio.ensure_future(sched.run())
    try:
        await asyncio.wait_for(sched.wait_ready(), 5)
        yield client, sched
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def events(api, reason):
    return [e for e in api.objects("events") if e["reason"] == reason]


def test_binds_pods_and_records_scheduled_events():
    async def main():
        api = FakeAPIServer()
        async with running(api) as (client, sched):
            for n in ("n1", "n2"):
                await client.create("nodes", make_node(n))
            for i in range(4):
                await client.create("pods", strip(make_pod(f"p{i}", cpu="100m")), "default")
            await wait_until(lambda: all(p["spec"].get("nodeName") for p in api.objects("pods"))
                             and len(events(api, "Scheduled")) == 4)
            nodes = sorted(p["spec"]["nodeName"] for p in api.objects("pods"))
            assert nodes == ["n1", "n1", "n2", "n2"]
            msgs = sorted(e["message"] for e in events(api, "Scheduled"))
            assert msgs[0].startswith("Successfully assigned default/p0 to n")
            assert events(api, "Scheduled")[0]["source"]["component"] == "default-scheduler"
    asyncio.run(main())


def test_unschedulable_pod_gets_condition_and_warning_event():
    async def main():
        api = FakeAPIServer()
        async with running(api) as (client, sched):
            await client.create("nodes", make_node("n1", cpu="1"))
            await client.create("pods", strip(make_pod("big", cpu="2")), "default")
            msg = ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
                   "1 No preemption victims found for incoming pod.")

            def condition():
                pod = api.get_object("pods", "big", "default")
                return next((c for c in pod["status"].get("conditions") or [] if c["type"] == "PodScheduled"), None)

            await wait_until(lambda: condition() is not None and events(api, "FailedScheduling"))
            c = condition()
            assert (c["status"], c["reason"], c["message"]) == ("False", "Unschedulable", msg)
            ev = events(api, "FailedScheduling")[0]
            assert (ev["type"], ev["message"], ev["involvedObject"]["name"]) == ("Warning", msg, "big")
            assert sched.queue.where(api.get_object("pods", "big", "default")["metadata"]["uid"]) == "unschedulable"
            # A bigger node makes it schedulable.
            await client.create("nodes", make_node("n2", cpu="4"))
            await wait_until(lambda: api.get_object("pods", "big", "default")["spec"].get("nodeName") == "n2",
                             timeout=5)
    asyncio.run(main())


def test_only_pods_for_this_scheduler():
    async def main():
        api = FakeAPIServer()
        async with running(api, scheduler_name="my-scheduler") as (client, sched):
            await client.create("nodes", make_node("n1"))
            await client.create("pods", strip(make_pod("mine", scheduler_name="my-scheduler")), "default")
            await client.create("pods", strip(make_pod("theirs")), "default")
            await wait_until(lambda: api.get_object("pods", "mine", "default")["spec"].get("nodeName"))
            await asyncio.sleep(0.05)
            assert not api.get_object("pods", "theirs", "default")["spec"].get("nodeName")
            assert sched.stats.attempts == 1
    asyncio.run(main())


def test_binding_conflict_is_dropped():
    async def main():
        api = FakeAPIServer()

        def bound_elsewhere(req):
            if req.path.endswith("/binding"):
                name = req.path.split("/")[-2]
                raise new_conflict("", "pods/binding", name, f'pod {name} is already assigned to node "elsewhere"')
            return None

        api.prepend_reactor(bound_elsewhere)
        async with running(api) as (client, sched):
            await client.create("nodes", make_node("n1"))
            await client.create("pods", strip(make_pod("p")), "default")
            await wait_until(lambda: sched.stats.bind_errors == 1)
            assert sched.cache.assumed_count() == 0 and sched.stats.scheduled == 0
    asyncio.run(main())


def test_preemption_evicts_the_victim_and_nominates_the_node():
    async def main():
        api = FakeAPIServer()
        async with running(api) as (client, sched):
            await client.create("priorityclasses.scheduling.k8s.io",
                                {"metadata": {"name": "high"}, "value": 1000})
            await client.create("nodes", make_node("n1", cpu="1"))
            await client.create("pods", strip(make_pod("low", cpu="1", node_name="n1")), "default")
            await wait_until(lambda: sched.cache.pod_count() == 1)
            high = strip(make_pod("high", cpu="1"))
            high["spec"]["priorityClassName"] = "high"
            await client.create("pods", high, "default")
            await wait_until(lambda: api.get_object("pods", "low", "default") is None)
            high_uid = api.get_object("pods", "high", "default")["metadata"]["uid"]
            await wait_until(lambda: events(api, "Preempted"))   # events are written asynchronously
            ev = events(api, "Preempted")
            assert ev and ev[0]["message"] == f"Preempted by pod {high_uid} on node n1"
            assert ev[0]["involvedObject"]["name"] == "low"
            # The victim is gone: the pod schedules on its nominated node.
            await wait_until(lambda: api.get_object("pods", "high", "default")["spec"].get("nodeName") == "n1",
                             timeout=5)
            assert sched.stats.preemptions == 1
    asyncio.run(main())


def test_priority_from_the_pod_its_class_or_the_global_default():
    from kubelite.scheduler.scheduler import resolve_priority
    from kubelite.scheduler.testing import StaticListers

    listers = StaticListers(priorityclasses=[{"metadata": {"name": "high"}, "value": 1000},
                                             {"metadata": {"name": "default"}, "value": 5, "globalDefault": True}])
    assert resolve_priority(make_pod("p", priority=7), listers) == 7
    named = make_pod("p")
    named["spec"]["priorityClassName"] = "high"
    assert resolve_priority(named, listers) == 1000
    assert resolve_priority(make_pod("p"), listers) == 5
    assert resolve_priority(make_pod("p"), StaticListers()) == 0


def test_node_update_actions():
    from kubelite.scheduler.framework import ActionType
    from kubelite.scheduler.scheduler import node_update_actions

    old = make_node("n")
    assert node_update_actions(old, make_node("n")) == ActionType(0)
    assert node_update_actions(old, make_node("n", cpu="8")) == ActionType.UPDATE_NODE_ALLOCATABLE
    assert node_update_actions(old, make_node("n", labels={"a": "b"})) == ActionType.UPDATE_NODE_LABEL
    assert node_update_actions(old, make_node("n", unschedulable=True)) == ActionType.UPDATE_NODE_TAINT
