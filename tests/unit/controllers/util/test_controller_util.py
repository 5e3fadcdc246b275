import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from kubelite.client import FakeClock
from kubelite.controllers.util import (
    ControllerExpectations,
    FakePodControl,
    UIDTrackingControllerExpectations,
    compute_hash,
    fnv32a,
    get_pods_to_delete,
    is_pod_available,
    pod_from_template,
    safe_encode_string,
    slow_start_batch,
)
from kubelite.controllers.util.expectations import EXPECTATIONS_TIMEOUT
from kubelite.controllers.util.ranking import sort_pods_for_deletion
from kubelite.machinery.errors import StatusError, StatusReason
from kubelite.machinery.timeutil import rfc3339

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def pod(name, node="", phase="Running", ready=None, created=None, restarts=0, cost=None, uid=None):
    p = {"metadata": {"name": name, "uid": uid or name}, "spec": {}, "status": {"phase": phase}}
    if node:
        p["spec"]["nodeName"] = node
    if ready is not None:
        p["status"]["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": rfc3339(ready)}]
    if created is not None:
        p["metadata"]["creationTimestamp"] = rfc3339(created)
    if restarts:
        p["status"]["containerStatuses"] = [{"name": "c", "restartCount": restarts}]
    if cost is not None:
        p["metadata"]["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    return p


def names(pods):
    return [p["metadata"]["name"] for p in pods]


HOUR = timedelta(hours=1)


@pytest.mark.parametrize("first,second", [
    (pod("unassigned", phase="Pending"), pod("assigned", node="n", phase="Pending")),
    (pod("pending", node="n", phase="Pending"), pod("unknown", node="n", phase="Unknown")),
    (pod("unknown", node="n", phase="Unknown"), pod("running", node="n")),
    (pod("not-ready", node="n"), pod("ready", node="n", ready=NOW - HOUR)),
    (pod("cheap", node="n", ready=NOW - HOUR, cost=-5), pod("dear", node="n", ready=NOW - HOUR, cost=10)),
    (pod("recently-ready", node="n", ready=NOW - timedelta(seconds=30)), pod("long-ready", node="n", ready=NOW - 100 * HOUR)),
    (pod("restarts", node="n", restarts=5), pod("steady", node="n", restarts=1)),
    (pod("new", node="n", created=NOW - timedelta(seconds=5)), pod("old", node="n", created=NOW - 100 * HOUR)),
    (pod("no-time", node="n"), pod("old", node="n", created=NOW - HOUR)),
], ids=["unassigned", "pending-unknown", "unknown-running", "not-ready", "deletion-cost", "ready-time",
        "restarts", "newer", "zero-creation-time"])
def test_deletion_ranking(first, second):
    assert names(sort_pods_for_deletion([second, first], [0, 0], NOW)) == [names([first])[0], names([second])[0]]
    assert names(sort_pods_for_deletion([first, second], [0, 0], NOW)) == [names([first])[0], names([second])[0]]


def test_pods_doubled_up_on_a_node_go_first():
    a, b = pod("alone", node="n1", ready=NOW - HOUR), pod("crowded", node="n2", ready=NOW - HOUR)
    related = [a, b, pod("x", node="n2"), pod("y", node="n2")]
    assert names(get_pods_to_delete([a, b], related, 1, NOW)) == ["crowded"]


def test_similar_ages_tie_on_a_log_scale_then_uid():
    a = pod("a", node="n", ready=NOW - timedelta(seconds=100), uid="2")
    b = pod("b", node="n", ready=NOW - timedelta(seconds=101), uid="1")
    assert names(sort_pods_for_deletion([a, b], [0, 0], NOW)) == ["b", "a"]


def test_delete_all_skips_sorting():
    pods = [pod("a", node="n"), pod("b")]
    assert names(get_pods_to_delete(pods, [], 2, NOW)) == ["a", "b"]


def test_is_pod_available_honours_min_ready_seconds():
    p = pod("p", ready=NOW - timedelta(seconds=10))
    assert is_pod_available(p, 0, NOW)
    assert is_pod_available(p, 5, NOW)
    assert not is_pod_available(p, 10, NOW)
    assert not is_pod_available(pod("q"), 0, NOW)


def test_expectations_lifecycle():
    clock = FakeClock()
    e = ControllerExpectations(clock)
    assert e.satisfied_expectations("k")
    e.expect_creations("k", 2)
    assert not e.satisfied_expectations("k")
    e.creation_observed("k")
    assert not e.satisfied_expectations("k")
    e.creation_observed("k")
    assert e.satisfied_expectations("k")
    e.expect_deletions("k", 1)
    assert not e.satisfied_expectations("k")
    clock.step(EXPECTATIONS_TIMEOUT + 1)
    assert e.satisfied_expectations("k")
    e.delete_expectations("k")
    assert e.get_expectations("k") is None


def test_uid_tracking_counts_each_deletion_once():
    u = UIDTrackingControllerExpectations(FakeClock())
    u.expect_deletions("rs", ["ns/a", "ns/b"])
    u.deletion_observed("rs", "ns/a")
    u.deletion_observed("rs", "ns/a")
    u.deletion_observed("rs", "ns/zzz")
    assert u.get_expectations("rs").delete == 1
    u.deletion_observed("rs", "ns/b")
    assert u.satisfied_expectations("rs")
    u.delete_expectations("rs")
    assert u.get_uids("rs") is None


def test_slow_start_batch_sizes_and_first_error():
    async def main():
        calls = []
        active = [0]
        peak = []

        async def fn():
            calls.append(1)
            n = len(calls)
            active[0] += 1
            peak.append(active[0])
            await asyncio.sleep(0)
            active[0] -= 1
            if n == 5:
                raise StatusError(500, StatusReason.INTERNAL_ERROR, "boom")

        ok, err = await slow_start_batch(10, 1, fn)
        assert (ok, str(err)) == (6, "boom")           # batches 1, 2, 4 (one failed)
        assert len(calls) == 7 and max(peak) == 4
        ok, err = await slow_start_batch(10, 1, lambda: asyncio.sleep(0))
        assert (ok, err) == (10, None)
        assert await slow_start_batch(0, 1, fn) == (0, None)
    asyncio.run(main())


def test_hash_is_stable_and_safe_encoded():
    t = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    h = compute_hash(t)
    assert h == compute_hash({"spec": {"containers": [{"image": "nginx", "name": "c"}]},
                              "metadata": {"labels": {"app": "web"}, "annotations": {}}})
    assert h != compute_hash(t, 1) and compute_hash(t, 1) != compute_hash(t, 2)
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert fnv32a(b"") == 0x811C9DC5 and fnv32a(b"a") == 0xE40C292C
    assert safe_encode_string("0123456789") == "456789bcdf"


def test_pod_from_template():
    tmpl = {"metadata": {"labels": {"app": "web"}, "annotations": {"a": "1"}, "finalizers": ["f"]},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    owner = {"metadata": {"name": "web-abc", "uid": "u"}}
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "u", "controller": True}
    p = pod_from_template(tmpl, owner, ref)
    assert p["metadata"] == {"generateName": "web-abc-", "labels": {"app": "web"}, "annotations": {"a": "1"},
                             "finalizers": ["f"], "ownerReferences": [ref]}
    assert p["spec"] == tmpl["spec"] and p["spec"] is not tmpl["spec"]


def test_fake_pod_control_records_and_fails():
    async def main():
        f = FakePodControl()
        await f.create_pods("ns", {"metadata": {"labels": {"a": "b"}}, "spec": {}}, {"metadata": {"name": "x"}}, None)
        await f.delete_pod("ns", "p", {})
        assert len(f.templates) == 1 and f.delete_pod_names == ["p"]
        f.create_limit = 1
        with pytest.raises(StatusError):
            await f.create_pods("ns", {"spec": {}}, {"metadata": {"name": "x"}}, None)
    asyncio.run(main())
