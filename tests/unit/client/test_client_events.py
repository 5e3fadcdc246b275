import asyncio
import random

from kubelite.client.events import AGGREGATE_PREFIX, EventRecorder
from kubelite.client.testing import FakeAPIServer, wait_until
from kubelite.client.transport import TransportError
from kubelite.machinery.clock import FakeClock
from kubelite.machinery.errors import new_not_found


def run(coro):
    return asyncio.run(coro)


RS = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
      "metadata": {"name": "web-5d8f", "namespace": "prod", "uid": "u-1", "resourceVersion": "42"}}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "u-n1"}}


async def recorder_env(**kwargs):
    clock = FakeClock()
    api = FakeAPIServer(clock=clock)
    client = api.client(clock=clock)
    rec = EventRecorder(client, "replicaset-controller", "cp-1", clock=clock, rng=random.Random(0), **kwargs)
    return clock, api, client, rec


def test_event_fields():
    async def main():
        clock, api, client, rec = await recorder_env()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(rec.run())
            rec.event(RS, "Normal", "SuccessfulCreate", "Created pod: web-5d8f-abcde")
            rec.event(NODE, "Warning", "NodeNotReady", "Node n1 status is now: NodeNotReady", field_path="status")
            await rec.wait_flushed()
            task.cancel()
        (ev,) = [e for e in api.objects("events") if e["metadata"]["namespace"] == "prod"]
        assert ev["metadata"]["name"].startswith("web-5d8f.")
        int(ev["metadata"]["name"].split(".", 1)[1], 16)
        assert ev["involvedObject"] == {"kind": "ReplicaSet", "namespace": "prod", "name": "web-5d8f",
                                        "uid": "u-1", "apiVersion": "apps/v1", "resourceVersion": "42"}
        assert ev["source"] == {"component": "replicaset-controller", "host": "cp-1"}
        assert (ev["reportingComponent"], ev["reportingInstance"]) == ("replicaset-controller", "cp-1")
        assert (ev["type"], ev["reason"], ev["count"]) == ("Normal", "SuccessfulCreate", 1)
        assert ev["firstTimestamp"] == ev["lastTimestamp"] == "2025-01-01T00:00:00Z"
        (node_ev,) = [e for e in api.objects("events") if e["metadata"]["namespace"] == "default"]
        assert node_ev["involvedObject"]["fieldPath"] == "status"
        assert "namespace" not in node_ev["involvedObject"]

    run(main())


def test_identical_events_are_counted_with_patches_within_ten_minutes():
    async def main():
        clock, api, client, rec = await recorder_env()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(rec.run())
            for _ in range(3):
                rec.event(RS, "Warning", "FailedCreate", "quota exceeded")
                await rec.wait_flushed()
                clock.step(60)
            events = api.objects("events")
            assert len(events) == 1
            ev = events[0]
            assert ev["count"] == 3
            assert ev["firstTimestamp"] == "2025-01-01T00:00:00Z"
            assert ev["lastTimestamp"] == "2025-01-01T00:02:00Z"
            patches = [r for r in client.transport.requests if r.method == "PATCH"]
            assert len(patches) == 2
            assert patches[0].headers["Content-Type"] == "application/strategic-merge-patch+json"
            assert patches[0].json() == {"count": 2, "lastTimestamp": "2025-01-01T00:01:00Z",
                                         "message": "quota exceeded"}

            clock.step(11 * 60)
            rec.event(RS, "Warning", "FailedCreate", "quota exceeded")
            await rec.wait_flushed()
            assert len(api.objects("events")) == 2, "after 10 quiet minutes a new Event is created"

            rec.event(RS, "Warning", "FailedCreate", "other message")
            await rec.wait_flushed()
            assert len(api.objects("events")) == 3
            task.cancel()

    run(main())


def test_patch_of_a_vanished_event_recreates_it():
    async def main():
        clock, api, client, rec = await recorder_env()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(rec.run())
            rec.event(RS, "Normal", "ScalingReplicaSet", "Scaled up")
            await rec.wait_flushed()
            first = api.objects("events")[0]["metadata"]["name"]
            await client.delete("events", first, "prod")
            rec.event(RS, "Normal", "ScalingReplicaSet", "Scaled up")
            await rec.wait_flushed()
            (ev,) = api.objects("events")
            assert ev["metadata"]["name"] == first and ev["count"] == 2
            task.cancel()

    run(main())


def test_similar_events_are_aggregated():
    async def main():
        clock, api, client, rec = await recorder_env()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(rec.run())
            for i in range(12):
                rec.event(RS, "Warning", "FailedCreate", f"error {i}")
            await rec.wait_flushed()
            task.cancel()
        events = api.objects("events")
        combined = [e for e in events if e["message"].startswith(AGGREGATE_PREFIX)]
        assert len(events) == 10
        assert len(combined) == 1 and combined[0]["count"] == 3
        assert combined[0]["message"] == AGGREGATE_PREFIX + "error 11"

    run(main())


def test_spam_filter_allows_a_burst_of_25_per_object():
    async def main():
        clock, api, client, rec = await recorder_env()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(rec.run())
            for i in range(30):
                rec.event(RS, "Normal", f"Reason{i}", "m")
            await rec.wait_flushed()
            assert len(api.objects("events")) == 25
            clock.step(300)
            rec.event(RS, "Normal", "Late", "m")
            rec.event(RS, "Normal", "TooLate", "m")
            await rec.wait_flushed()
            assert len(api.objects("events")) == 26
            task.cancel()

    run(main())


def test_event_never_blocks_and_drops_when_full_or_invalid():
    async def main():
        clock, api, client, rec = await recorder_env(max_queued=2)
        rec.event(RS, "Normal", "A", "1")
        rec.event(RS, "Normal", "B", "2")
        rec.event(RS, "Normal", "C", "3")           # queue full: dropped, not blocked
        rec.event(RS, "Info", "D", "4")             # not Normal/Warning
        rec.event({"metadata": {"name": "no-kind"}}, "Normal", "E", "5")
        assert rec.dropped == 1
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(rec.run())
            await rec.wait_flushed()
            task.cancel()
        assert sorted(e["reason"] for e in api.objects("events")) == ["A", "B"]

    run(main())


def test_network_failures_are_retried_status_errors_are_not():
    async def main():
        clock, api, client, rec = await recorder_env()
        failures = []

        def flaky(req):
            if req.method == "POST" and len(failures) < 2:
                failures.append(req)
                raise TransportError("connection reset")
            if req.method == "POST" and "Doomed" in str(req.json()):
                raise new_not_found("", "namespaces", "prod")
            return None

        api.prepend_reactor(flaky)
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(rec.run())
            rec.event(RS, "Normal", "Retried", "m")
            await wait_until(lambda: clock.waiters() == 1)
            assert clock.next_deadline() < 10                 # the first retry waits a random part of 10 s
            clock.step(10)
            await wait_until(lambda: clock.waiters() == 1)
            assert clock.next_deadline() == 10
            clock.step(10)
            await rec.wait_flushed()
            rec.event(RS, "Normal", "Doomed", "m")
            await rec.wait_flushed()
            task.cancel()
        assert [e["reason"] for e in api.objects("events")] == ["Retried"]
        assert len([r for r in client.transport.requests if "Doomed" in str(r.json())]) == 1

    run(main())
