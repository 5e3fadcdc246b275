import asyncio

from kubelite.controllers.replicaset import ReplicaSetController
from kubelite.controllers.util import FakePodControl
from kubelite.controllers.util.expectations import EXPECTATIONS_TIMEOUT
from kubelite.controllers.util.testing import ControllerHarness
from kubelite.machinery.errors import StatusError, StatusReason
from kubelite.machinery.timeutil import rfc3339


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def rs(name="web", replicas=3, labels=None, min_ready=0):
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "default", "labels": dict(labels)},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def pod(name, labels, owner=None, node="", phase="Running", ready=False, ready_since=None, created=None,
        restarts=0):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": "default", "labels": dict(labels)},
         "spec": {"containers": [{"name": "c", "image": "nginx"}]},
         "status": {"phase": phase, "containerStatuses": [{"name": "c", "restartCount": restarts}]}}
    if node:
        p["spec"]["nodeName"] = node
    if owner is not None:
        p["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                             "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                             "controller": True, "blockOwnerDeletion": True}]
    if ready:
        p["status"]["conditions"] = [{"type": "Ready", "status": "True",
                                      "lastTransitionTime": ready_since or "2025-01-01T00:00:00Z"}]
    if created:
        p["metadata"]["creationTimestamp"] = created
    return p


async def _setup(h, pod_control=None, **kw):
    rsc = ReplicaSetController(h.ctx, pod_control=pod_control, **kw)
    await h.start()
    return rsc


def test_creates_missing_pods_with_owner_and_labels():
    async def main():
        async with ControllerHarness() as h:
            rsc = await _setup(h)
            created = await h.create("replicasets.apps", rs(replicas=3))
            await h.settle()
            await rsc.sync_replica_set("default/web")
            pods = h.objects("pods")
            assert len(pods) == 3
            for p in pods:
                md = p["metadata"]
                assert md["name"].startswith("web-")
                assert md["labels"] == {"app": "web"}
                assert md["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                                  "uid": created["metadata"]["uid"], "controller": True,
                                                  "blockOwnerDeletion": True}]
            assert sorted(h.recorder.events) == sorted(
                f"Normal SuccessfulCreate Created pod: {p['metadata']['name']}" for p in pods)
            status = h.get("replicasets.apps", "web", "default")["status"]
            assert status == {"replicas": 0, "observedGeneration": 1}
            # The informer sees the pods: the next sync counts them and creates nothing more.
            await h.settle()
            await rsc.sync_replica_set("default/web")
            assert len(h.objects("pods")) == 3
            assert h.get("replicasets.apps", "web", "default")["status"]["replicas"] == 3
    run(main())


def test_slow_start_stops_at_the_first_failed_batch():
    async def main():
        async with ControllerHarness() as h:
            calls = []

            def quota(req):
                if req.method == "POST" and req.path.endswith("/pods"):
                    calls.append(1)
                    if len(calls) == 4:
                        raise StatusError(403, StatusReason.FORBIDDEN, 'pods "web-x" is forbidden: exceeded quota')
                return None

            h.server.prepend_reactor(quota)
            rsc = await _setup(h)
            await h.create("replicasets.apps", rs(replicas=10))
            await h.settle()
            try:
                await rsc.sync_replica_set("default/web")
                raise AssertionError("sync should fail")
            except StatusError as e:
                assert "exceeded quota" in str(e)
            # batches of 1, 2, then 4 of which one (or more) failed; nothing after that
            assert len(calls) == 7
            assert len(h.objects("pods")) == 6
            # The skipped and failed creations are not expected; the 6 created ones are observed.
            await h.settle()
            assert rsc.expectations.get_expectations("default/web").add == 0
            status = h.get("replicasets.apps", "web", "default")["status"]
            cond = status["conditions"][0]
            assert (cond["type"], cond["status"], cond["reason"]) == ("ReplicaFailure", "True", "FailedCreate")
            assert cond["message"] == 'pods "web-x" is forbidden: exceeded quota'
            assert "Warning FailedCreate Error creating: pods \"web-x\" is forbidden: exceeded quota" in h.recorder.events
    run(main())


def test_expectations_prevent_duplicate_creates_until_observed_or_expired():
    async def main():
        async with ControllerHarness() as h:
            fake = FakePodControl()
            rsc = await _setup(h, fake)
            await h.create("replicasets.apps", rs(replicas=3))
            await h.settle()
            await rsc.sync_replica_set("default/web")
            assert len(fake.templates) == 3
            # The watch never delivers the pods: a second sync must not create more.
            await rsc.sync_replica_set("default/web")
            assert len(fake.templates) == 3
            assert not rsc.expectations.satisfied_expectations("default/web")
            h.clock.step(EXPECTATIONS_TIMEOUT + 1)
            await rsc.sync_replica_set("default/web")
            assert len(fake.templates) == 6
    run(main())


def test_observed_creations_satisfy_expectations():
    async def main():
        async with ControllerHarness() as h:
            rsc = await _setup(h)
            await h.create("replicasets.apps", rs(replicas=2))
            await h.settle()
            await rsc.sync_replica_set("default/web")
            await h.settle()
            assert rsc.expectations.satisfied_expectations("default/web")
    run(main())


def test_burst_replicas_caps_one_sync():
    async def main():
        async with ControllerHarness() as h:
            fake = FakePodControl()
            rsc = await _setup(h, fake, burst_replicas=5)
            await h.create("replicasets.apps", rs(replicas=12))
            await h.settle()
            await rsc.sync_replica_set("default/web")
            assert len(fake.templates) == 5
    run(main())


def test_adopts_matching_orphans_and_releases_non_matching():
    async def main():
        async with ControllerHarness() as h:
            rsc = await _setup(h)
            owner = await h.create("replicasets.apps", rs(replicas=2))
            await h.create("pods", pod("orphan", {"app": "web"}))
            await h.create("pods", pod("other", {"app": "other"}))
            await h.create("pods", pod("stray", {"app": "changed"}, owner=owner))
            other_owner = {"metadata": {"name": "x", "uid": "not-ours"}}
            await h.create("pods", pod("foreign", {"app": "web"}, owner=other_owner))
            await h.settle()
            await rsc.sync_replica_set("default/web")
            orphan = h.get("pods", "orphan", "default")
            assert orphan["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"]
            assert orphan["metadata"]["ownerReferences"][0]["controller"] is True
            assert "ownerReferences" not in h.get("pods", "stray", "default")["metadata"]
            assert "ownerReferences" not in h.get("pods", "other", "default")["metadata"]
            assert h.get("pods", "foreign", "default")["metadata"]["ownerReferences"][0]["uid"] == "not-ours"
            # One adopted pod plus one created: 2 replicas.
            assert len([p for p in h.objects("pods") if p["metadata"]["name"].startswith("web-")]) == 1
    run(main())


def test_no_adoption_when_the_replica_set_is_being_deleted():
    async def main():
        async with ControllerHarness() as h:
            rsc = await _setup(h)
            obj = rs(replicas=1)
            obj["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
            obj["metadata"]["finalizers"] = ["foregroundDeletion"]
            await h.create("replicasets.apps", obj)
            await h.create("pods", pod("orphan", {"app": "web"}))
            await h.settle()
            await rsc.sync_replica_set("default/web")
            assert "ownerReferences" not in h.get("pods", "orphan", "default")["metadata"]
            assert len(h.objects("pods")) == 1
    run(main())


def test_scale_down_deletes_in_kubernetes_rank_order():
    async def main():
        async with ControllerHarness() as h:
            fake = FakePodControl()
            rsc = await _setup(h, fake)
            owner = await h.create("replicasets.apps", rs(replicas=2))
            lbl = {"app": "web"}
            await h.create("pods", pod("ready-old", lbl, owner, node="n1", ready=True, created="2024-01-01T00:00:00Z"))
            await h.create("pods", pod("ready-new", lbl, owner, node="n2", ready=True,
                                       ready_since="2024-12-31T23:59:00Z", created="2024-12-31T23:58:00Z"))
            await h.create("pods", pod("unassigned", lbl, owner, phase="Pending"))
            await h.create("pods", pod("pending", lbl, owner, node="n1", phase="Pending"))
            await h.create("pods", pod("not-ready", lbl, owner, node="n1"))
            await h.settle()
            await rsc.sync_replica_set("default/web")
            assert fake.delete_pod_names == ["unassigned", "pending", "not-ready"]
            exp = rsc.expectations.get_expectations("default/web")
            assert exp.delete == 3
            assert rsc.expectations.get_uids("default/web") == {"default/unassigned", "default/pending",
                                                                 "default/not-ready"}
    run(main())


def test_scale_down_real_deletes_and_events():
    async def main():
        async with ControllerHarness() as h:
            rsc = await _setup(h)
            owner = await h.create("replicasets.apps", rs(replicas=1))
            lbl = {"app": "web"}
            await h.create("pods", pod("a", lbl, owner, node="n1", ready=True))
            await h.create("pods", pod("b", lbl, owner, node="n1"))
            await h.settle()
            await rsc.sync_replica_set("default/web")
            assert [p["metadata"]["name"] for p in h.objects("pods")] == ["a"]
            assert h.recorder.events == ["Normal SuccessfulDelete Deleted pod: b"]
            await h.settle()
            assert rsc.expectations.satisfied_expectations("default/web")
    run(main())


def test_status_counts_ready_and_available_with_min_ready_seconds():
    async def main():
        async with ControllerHarness() as h:
            rsc = await _setup(h)
            owner = await h.create("replicasets.apps", rs(replicas=3, min_ready=10))
            lbl = {"app": "web"}
            now = h.clock.now()
            await h.create("pods", pod("a", lbl, owner, node="n1", ready=True, ready_since="2024-01-01T00:00:00Z"))
            await h.create("pods", pod("b", lbl, owner, node="n1", ready=True, ready_since=rfc3339(now)))
            await h.create("pods", pod("c", {**lbl, "extra": "x"}, owner, node="n1"))
            await h.settle()
            await rsc.sync_replica_set("default/web")
            st = h.get("replicasets.apps", "web", "default")["status"]
            assert st == {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 2, "availableReplicas": 1,
                          "observedGeneration": 1}
            h.clock.step(11)
            await h.settle()
            await rsc.sync_replica_set("default/web")
            assert h.get("replicasets.apps", "web", "default")["status"]["availableReplicas"] == 2
    run(main())


def test_deleted_replica_set_forgets_expectations():
    async def main():
        async with ControllerHarness() as h:
            fake = FakePodControl()
            rsc = await _setup(h, fake)
            await h.create("replicasets.apps", rs(replicas=2))
            await h.settle()
            await rsc.sync_replica_set("default/web")
            await h.client.delete("replicasets.apps", "web", "default")
            await h.settle()
            await rsc.sync_replica_set("default/web")
            assert rsc.expectations.get_expectations("default/web") is None
    run(main())


def test_pod_events_lower_expectations_and_enqueue_owner():
    async def main():
        async with ControllerHarness() as h:
            rsc = await _setup(h)
            owner = await h.create("replicasets.apps", rs(replicas=1))
            await h.settle()
            rsc.expectations.expect_creations("default/web", 1)
            await h.create("pods", pod("p", {"app": "web"}, owner))
            await h.settle()
            assert rsc.expectations.satisfied_expectations("default/web")
            while len(rsc.queue):
                k = rsc.queue.get_nowait()
                rsc.queue.done(k)
            rsc.expectations.expect_deletions("default/web", ["default/p"])
            await h.client.delete("pods", "p", "default")
            await h.settle()
            assert rsc.expectations.satisfied_expectations("default/web")
            assert rsc.queue.get_nowait() == "default/web"
    run(main())


def test_create_failure_with_terminating_namespace_is_quiet():
    async def main():
        async with ControllerHarness() as h:
            def terminating(req):
                if req.method == "POST" and req.path.endswith("/pods"):
                    raise StatusError(403, StatusReason.FORBIDDEN, "unable to create new content in namespace "
                                      "default because it is being terminated",
                                      {"causes": [{"type": "NamespaceTerminating"}]})
                return None

            h.server.prepend_reactor(terminating)
            rsc = await _setup(h)
            await h.create("replicasets.apps", rs(replicas=2))
            await h.settle()
            await rsc.sync_replica_set("default/web")
            assert h.recorder.events == []
    run(main())

