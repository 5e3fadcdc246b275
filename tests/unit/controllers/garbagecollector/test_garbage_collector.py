import asyncio

from kubelite.client.transport import Response
from kubelite.controllers.garbagecollector import GarbageCollector, GraphBuilder, ObjectReference
from kubelite.controllers.util.testing import ControllerHarness
from kubelite.machinery.timeutil import rfc3339


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def emulate_finalizers(h):
    """What the real API server does that the fake one does not: Foreground and Orphan deletes
    add a finalizer and a deletionTimestamp instead of deleting."""
    async def reactor(req):
        if req.method != "DELETE":
            return None
        opts = req.json() or {}
        policy = opts.get("propagationPolicy")
        parts = req.path.strip("/").split("/")
        ns = parts[parts.index("namespaces") + 1] if "namespaces" in parts else ""
        resource = {"configmaps": "configmaps", "pods": "pods", "replicasets": "replicasets.apps",
                    "deployments": "deployments.apps", "namespaces": "namespaces"}[parts[-2]]
        obj = h.server.get_object(resource, parts[-1], ns)
        if obj is None or (policy not in ("Foreground", "Orphan") and not obj["metadata"].get("finalizers")):
            return None
        fins = set(obj["metadata"].get("finalizers") or [])
        if policy in ("Foreground", "Orphan"):
            fins.add("foregroundDeletion" if policy == "Foreground" else "orphan")
        obj["metadata"]["finalizers"] = sorted(fins)
        obj["metadata"].setdefault("deletionTimestamp", rfc3339(h.clock.now()))
        out = await h.client.update(resource, obj, ns or None)
        return Response.from_json(200, out)
    h.server.prepend_reactor(reactor)


async def finalize(h):
    """Remove objects whose finalizers are all gone (the API server's job)."""
    for resource in ("configmaps", "pods", "replicasets.apps", "deployments.apps"):
        for obj in h.objects(resource):
            md = obj["metadata"]
            if md.get("deletionTimestamp") and not md.get("finalizers"):
                await h.client.delete(resource, md["name"], md.get("namespace"))


async def drain(h, gc, rounds=30):
    """Run the collector's queues until they are empty (no workers: one item at a time)."""
    for _ in range(rounds):
        await h.settle()
        await finalize(h)
        await h.settle()
        did = False
        for queue, process in ((gc.queue, gc.process_attempt_to_delete),
                               (gc.orphan_queue, gc.process_attempt_to_orphan)):
            while len(queue):
                uid = queue.get_nowait()
                try:
                    await process(uid)
                finally:
                    queue.done(uid)
                did = True
        if not did:
            return
    raise AssertionError("the garbage collector did not settle")


def cm(name, owners=(), ns="default", **meta):
    md = {"name": name, "namespace": ns, **meta}
    if owners:
        md["ownerReferences"] = list(owners)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": {}}


def ref(obj, block=True, controller=False):
    r = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
         "uid": obj["metadata"]["uid"]}
    if block:
        r["blockOwnerDeletion"] = True
    if controller:
        r["controller"] = True
    return r


async def setup(h):
    gc = GarbageCollector(h.ctx)
    await h.start()
    return gc


def names(h, resource="configmaps"):
    return sorted(o["metadata"]["name"] for o in h.objects(resource))


def test_background_dependents_of_a_deleted_owner_are_deleted():
    async def main():
        async with ControllerHarness() as h:
            gc = await setup(h)
            owner = await h.create("configmaps", cm("owner"))
            await h.create("configmaps", cm("child-1", [ref(owner)]))
            child2 = await h.create("configmaps", cm("child-2", [ref(owner)]))
            await h.create("configmaps", cm("grandchild", [ref(child2)]))
            await h.create("configmaps", cm("unrelated"))
            await drain(h, gc)
            assert names(h) == ["child-1", "child-2", "grandchild", "owner", "unrelated"]
            await h.client.delete("configmaps", "owner", "default")
            await drain(h, gc)
            assert names(h) == ["unrelated"]
    run(main())


def test_dependents_of_missing_owners_are_collected_at_startup():
    async def main():
        async with ControllerHarness() as h:
            real = await h.create("configmaps", cm("real"))
            await h.create("configmaps", cm("orphaned", [{"apiVersion": "v1", "kind": "ConfigMap", "name": "gone",
                                                         "uid": "no-such-uid"}]))
            await h.create("configmaps", cm("uid-mismatch", [{**ref(real), "uid": "old-uid"}]))
            await h.create("configmaps", cm("kept", [ref(real)]))
            gc = await setup(h)
            await drain(h, gc)
            assert names(h) == ["kept", "real"]
            assert "no-such-uid" not in gc.graph.uid_to_node
    run(main())


def test_only_dangling_references_are_removed_when_a_solid_owner_remains():
    async def main():
        async with ControllerHarness() as h:
            gc = await setup(h)
            a = await h.create("configmaps", cm("a"))
            b = await h.create("configmaps", cm("b"))
            await h.create("configmaps", cm("child", [ref(a), ref(b)]))
            await drain(h, gc)
            await h.client.delete("configmaps", "a", "default")
            await drain(h, gc)
            child = h.get("configmaps", "child", "default")
            assert child is not None
            assert [r["uid"] for r in child["metadata"]["ownerReferences"]] == [b["metadata"]["uid"]]
    run(main())


def test_foreground_deletes_dependents_first_then_the_owner():
    async def main():
        async with ControllerHarness() as h:
            emulate_finalizers(h)
            gc = await setup(h)
            owner = await h.create("configmaps", cm("owner"))
            await h.create("configmaps", cm("blocking", [ref(owner)]))
            await h.create("configmaps", cm("non-blocking", [ref(owner, block=False)]))
            mid = await h.create("configmaps", cm("mid", [ref(owner)]))
            await h.create("configmaps", cm("leaf", [ref(mid)]))
            await drain(h, gc)
            await h.client.delete("configmaps", "owner", "default", propagation_policy="Foreground")
            await h.settle()
            assert h.get("configmaps", "owner", "default")["metadata"]["finalizers"] == ["foregroundDeletion"]
            await drain(h, gc)
            assert names(h) == []
    run(main())


def test_foreground_waits_for_blocking_dependents():
    async def main():
        async with ControllerHarness() as h:
            emulate_finalizers(h)
            gc = await setup(h)
            owner = await h.create("configmaps", cm("owner"))
            # A dependent that cannot go yet: it has a finalizer nobody removes.
            await h.create("configmaps", cm("stuck", [ref(owner)], finalizers=["example.com/hold"]))
            await drain(h, gc)
            await h.client.delete("configmaps", "owner", "default", propagation_policy="Foreground")
            await drain(h, gc)
            assert names(h) == ["owner", "stuck"]
            assert h.get("configmaps", "owner", "default")["metadata"]["finalizers"] == ["foregroundDeletion"]
            stuck = h.get("configmaps", "stuck", "default")
            assert stuck["metadata"].get("deletionTimestamp")
            stuck["metadata"]["finalizers"] = []
            await h.client.update("configmaps", stuck)
            await drain(h, gc)
            assert names(h) == []
    run(main())


def test_orphan_strips_owner_references_then_the_finalizer():
    async def main():
        async with ControllerHarness() as h:
            emulate_finalizers(h)
            gc = await setup(h)
            owner = await h.create("configmaps", cm("owner"))
            other = await h.create("configmaps", cm("other"))
            await h.create("configmaps", cm("child", [ref(owner, controller=True), ref(other)]))
            await h.create("configmaps", cm("only-child", [ref(owner)]))
            await drain(h, gc)
            await h.client.delete("configmaps", "owner", "default", propagation_policy="Orphan")
            await drain(h, gc)
            assert names(h) == ["child", "only-child", "other"]
            assert [r["uid"] for r in h.get("configmaps", "child", "default")["metadata"]["ownerReferences"]] == \
                [other["metadata"]["uid"]]
            assert "ownerReferences" not in h.get("configmaps", "only-child", "default")["metadata"]
    run(main())


def test_owner_cycles_neither_hang_nor_crash():
    async def main():
        async with ControllerHarness() as h:
            emulate_finalizers(h)
            gc = await setup(h)
            a = await h.create("configmaps", cm("a"))
            b = await h.create("configmaps", cm("b", [ref(a)]))
            a["metadata"]["ownerReferences"] = [ref(b)]
            await h.client.update("configmaps", a)
            c = await h.create("configmaps", cm("c"))
            c["metadata"]["ownerReferences"] = [ref(c)]      # owns itself
            await h.client.update("configmaps", c)
            await drain(h, gc)
            assert names(h) == ["a", "b", "c"]               # all owners exist: nothing to collect
            await h.client.delete("configmaps", "a", "default", propagation_policy="Foreground")
            await drain(h, gc)
            assert names(h) == ["c"]
            await h.client.delete("configmaps", "c", "default", propagation_policy="Foreground")
            await drain(h, gc)
            assert names(h) == []
            # Both ends of a cycle deleted in the foreground at once.
            d = await h.create("configmaps", cm("d"))
            e = await h.create("configmaps", cm("e", [ref(d)]))
            d["metadata"]["ownerReferences"] = [ref(e)]
            await h.client.update("configmaps", d)
            await drain(h, gc)
            await h.client.delete("configmaps", "d", "default", propagation_policy="Foreground")
            await h.client.delete("configmaps", "e", "default", propagation_policy="Foreground")
            await drain(h, gc)
            assert names(h) == []
    run(main())


def test_background_cycle_is_collected():
    async def main():
        async with ControllerHarness() as h:
            gc = await setup(h)
            a = await h.create("configmaps", cm("a"))
            b = await h.create("configmaps", cm("b", [ref(a)]))
            a["metadata"]["ownerReferences"] = [ref(b)]
            await h.client.update("configmaps", a)
            await drain(h, gc)
            await h.client.delete("configmaps", "a", "default")
            await drain(h, gc)
            assert names(h) == []
    run(main())


def test_owner_in_another_namespace_is_reported_and_the_dependent_collected():
    async def main():
        async with ControllerHarness() as h:
            gc = await setup(h)
            owner = await h.create("configmaps", cm("owner", ns="b"))
            await drain(h, gc)
            await h.create("configmaps", cm("child", [ref(owner)], ns="a"))
            await drain(h, gc)
            assert names(h) == ["owner"]
            uid = owner["metadata"]["uid"]
            assert h.recorder.events == [
                f'Warning OwnerRefInvalidNamespace ownerRef [v1/ConfigMap, namespace: a, name: owner, uid: {uid}] '
                f'does not exist in namespace "a"']
            obj = h.recorder.records[0][0]
            assert (obj["kind"], obj["name"], obj["namespace"]) == ("ConfigMap", "child", "a")
    run(main())


def test_cluster_scoped_dependent_of_a_namespaced_owner_is_left_alone():
    async def main():
        async with ControllerHarness() as h:
            gc = await setup(h)
            owner = await h.create("configmaps", cm("owner"))
            await h.create("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": "weird", "ownerReferences": [ref(owner)]}})
            await drain(h, gc)
            assert [n["metadata"]["name"] for n in h.objects("namespaces")] == ["weird"]
    run(main())


def test_dependents_of_deleted_pods_owner_chain_deployment_to_pods():
    async def main():
        async with ControllerHarness() as h:
            gc = await setup(h)
            d = await h.create("deployments.apps", {"apiVersion": "apps/v1", "kind": "Deployment",
                                                    "metadata": {"name": "web", "namespace": "default"},
                                                    "spec": {"replicas": 1}})
            rs = await h.create("replicasets.apps", {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                     "metadata": {"name": "web-1", "namespace": "default",
                                                                  "ownerReferences": [ref(d, controller=True)]},
                                                     "spec": {"replicas": 1}})
            await h.create("pods", {"apiVersion": "v1", "kind": "Pod",
                                    "metadata": {"name": "web-1-a", "namespace": "default",
                                                 "ownerReferences": [ref(rs, controller=True)]}, "spec": {}})
            await drain(h, gc)
            await h.client.delete("deployments.apps", "web", "default")
            await drain(h, gc)
            assert h.objects("replicasets.apps") == [] and h.objects("pods") == []
    run(main())


def test_graph_tracks_owner_reference_changes():
    queued = []
    g = GraphBuilder(attempt_to_delete=lambda n: queued.append(("delete", n.identity.name)),
                     attempt_to_orphan=lambda n: queued.append(("orphan", n.identity.name)))
    owner = {"metadata": {"name": "o", "namespace": "d", "uid": "u-o"}}
    child = {"metadata": {"name": "c", "namespace": "d", "uid": "u-c",
                          "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u-o",
                                               "blockOwnerDeletion": True}]}}
    g.on_add("v1", "ConfigMap", child)
    assert g.get("u-o").virtual and queued == [("delete", "o")]
    g.on_add("v1", "ConfigMap", owner)
    assert not g.get("u-o").virtual
    assert [n.identity.name for n in g.get("u-o").blocking_dependents()] == ["c"]
    queued.clear()
    dying = {"metadata": {**owner["metadata"], "deletionTimestamp": "2025-01-01T00:00:00Z",
                          "finalizers": ["foregroundDeletion"]}}
    g.on_update("v1", "ConfigMap", owner, dying)
    assert g.get("u-o").deleting_dependents
    assert queued == [("delete", "c"), ("delete", "o")]
    queued.clear()
    released = {"metadata": {**child["metadata"], "ownerReferences": []}}
    g.on_update("v1", "ConfigMap", child, released)
    assert queued == [("delete", "o")]      # the blocking reference went away
    assert g.get("u-o").dependents == set()
    g.on_delete("v1", "ConfigMap", dying)
    assert g.get("u-o") is None
    assert str(ObjectReference("v1", "ConfigMap", "o", "u-o", "d")) == "[v1/ConfigMap, namespace: d, name: o, uid: u-o]"

