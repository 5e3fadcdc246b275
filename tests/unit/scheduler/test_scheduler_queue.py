"""SchedulingQueue: priority order, backoff 1 s -> 10 s, moving unschedulable pods on relevant
cluster events, the 5-minute flush, scheduling gates, and the nominator."""

import asyncio

import pytest

from kubelite.machinery.clock import FakeClock
from kubelite.scheduler.framework import ActionType, ClusterEvent, EventResource, PodInfo
from kubelite.scheduler.queue import SchedulingQueue
from kubelite.scheduler.testing import Harness, make_pod

NODE_ADD = ClusterEvent(EventResource.NODE, ActionType.ADD)
POD_DELETE = ClusterEvent(EventResource.ASSIGNED_POD, ActionType.DELETE)
NODE_LABEL = ClusterEvent(EventResource.NODE, ActionType.UPDATE_NODE_LABEL)


def new_queue(clock=None):
    events = Harness().framework.events_to_register()
    return SchedulingQueue(clock=clock or FakeClock(), events_to_register=events)


def pod(name, priority=0, **kw):
    return PodInfo(make_pod(name, priority=priority, **kw))


def fail(q, qpi, *plugins, error=False):
    qpi.unschedulable_plugins = set(plugins)
    q.add_unschedulable_if_not_present(qpi, error=error)


def test_pops_by_priority_then_age():
    clock = FakeClock()
    q = new_queue(clock)
    q.add(pod("old-low", 0))
    clock.step(1)
    q.add(pod("high", 100))
    clock.step(1)
    q.add(pod("new-low", 0))
    assert [q.pop_nowait().pod_info.name for _ in range(3)] == ["high", "old-low", "new-low"]
    assert q.pop_nowait() is None


@pytest.mark.parametrize("attempts,want", [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (12, 10.0)])
def test_backoff_doubles_from_one_to_ten_seconds(attempts, want):
    q = new_queue()
    q.add(pod("p"))
    qpi = q.pop_nowait()
    qpi.attempts = attempts
    assert q.backoff_duration(qpi) == want


def test_unschedulable_pod_moves_only_on_events_its_plugins_care_about():
    clock = FakeClock()
    q = new_queue(clock)
    q.add(pod("p"))
    qpi = q.pop_nowait()
    fail(q, qpi, "NodeResourcesFit")
    assert q.where(qpi.uid) == "unschedulable"
    q.move_all_to_active_or_backoff(NODE_LABEL)             # Fit does not care about labels
    assert q.where(qpi.uid) == "unschedulable"
    q.move_all_to_active_or_backoff(NODE_ADD)               # but does about new nodes: still backing off
    assert q.where(qpi.uid) == "backoff"
    clock.step(0.5)
    assert q.flush_backoff_completed() == 0
    clock.step(0.6)
    assert q.flush_backoff_completed() == 1 and q.where(qpi.uid) == "active"


def test_pod_whose_backoff_is_over_goes_straight_to_active():
    clock = FakeClock()
    q = new_queue(clock)
    q.add(pod("p"))
    qpi = q.pop_nowait()
    fail(q, qpi, "TaintToleration")
    clock.step(5)
    q.move_all_to_active_or_backoff(ClusterEvent(EventResource.NODE, ActionType.UPDATE_NODE_TAINT))
    assert q.where(qpi.uid) == "active"


def test_event_during_the_attempt_sends_the_pod_to_backoff():
    q = new_queue()
    q.add(pod("p"))
    qpi = q.pop_nowait()
    q.move_all_to_active_or_backoff(POD_DELETE)              # while p was being scheduled
    fail(q, qpi, "NodeResourcesFit")
    assert q.where(qpi.uid) == "backoff"


def test_errors_go_to_backoff():
    q = new_queue()
    q.add(pod("p"))
    qpi = q.pop_nowait()
    fail(q, qpi, error=True)
    assert q.where(qpi.uid) == "backoff"


def test_unschedulable_pods_are_retried_after_five_minutes():
    clock = FakeClock()
    q = new_queue(clock)
    q.add(pod("p"))
    qpi = q.pop_nowait()
    fail(q, qpi, "NodeAffinity")
    clock.step(299)
    assert q.flush_unschedulable_left_over() == 0
    clock.step(2)
    assert q.flush_unschedulable_left_over() == 1 and q.where(qpi.uid) == "active"


def test_spec_update_moves_an_unschedulable_pod():
    clock = FakeClock()
    q = new_queue(clock)
    q.add(pod("p"))
    qpi = q.pop_nowait()
    fail(q, qpi, "NodeAffinity")
    updated = make_pod("p", uid=qpi.uid, node_selector={"disk": "ssd"})
    clock.step(2)
    q.update(PodInfo(updated))
    assert q.where(qpi.uid) == "active"


def test_scheduling_gates_hold_a_pod_until_removed():
    q = new_queue()
    gated = make_pod("g")
    gated["spec"]["schedulingGates"] = [{"name": "example.com/wait"}]
    q.add(PodInfo(gated))
    assert q.pop_nowait() is None and q.where(gated["metadata"]["uid"]) == "unschedulable"
    q.move_all_to_active_or_backoff(NODE_ADD)
    assert q.pop_nowait() is None
    released = {**gated, "spec": {**gated["spec"], "schedulingGates": []}}
    q.update(PodInfo(released))
    assert q.pop_nowait().pod_info.name == "g"


def test_delete_removes_everywhere():
    q = new_queue()
    q.add(pod("p"))
    uid = q.pop_nowait().uid
    q.add(pod("p2"))
    q.delete(q.pending_pods()[0].uid)
    assert q.pop_nowait() is None
    q.done(uid)
    assert q.where(uid) is None


def test_nominator_tracks_status_and_local_nominations():
    q = new_queue()
    a = pod("a", nominated_node="n1")
    q.add(a)
    assert [p.name for p in q.nominated_pods_for_node("n1")] == ["a"]
    b = pod("b")
    q.add_nominated_pod(b, "n1")
    assert sorted(p.name for p in q.nominated_pods_for_node("n1")) == ["a", "b"]
    q.delete(a.uid)
    q.delete_nominated_pod_if_exists(b.uid)
    assert q.nominated_pods_for_node("n1") == [] and list(q.nominated_node_names()) == []


def test_pop_waits_for_a_pod():
    async def main():
        q = new_queue()
        waiter = asyncio.ensure_future(q.pop())
        await asyncio.sleep(0)
        assert not waiter.done()
        q.add(pod("p"))
        got = await asyncio.wait_for(waiter, 1)
        assert got.pod_info.name == "p" and got.attempts == 1
    asyncio.run(main())
