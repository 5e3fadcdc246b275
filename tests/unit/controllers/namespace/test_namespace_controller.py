import asyncio

from kubelite.client.transport import Response
from kubelite.controllers.namespace import NamespaceController, deletable_namespaced_resources
from kubelite.controllers.util.testing import ControllerHarness
from kubelite.api.resources import SCHEME


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def terminating_ns(name="doomed"):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "deletionTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def test_discovers_every_namespaced_stored_resource_once():
    names = [r.group_resource for r in deletable_namespaced_resources(SCHEME)]
    assert "pods" in names and "replicasets.apps" in names and "events" in names
    assert "events.events.k8s.io" in names
    assert "namespaces" not in names and "nodes" not in names
    assert names.count("horizontalpodautoscalers.autoscaling") == 1
    assert "localsubjectaccessreviews.authorization.k8s.io" not in names


def test_deletes_content_then_finalizes():
    async def main():
        async with ControllerHarness() as h:
            nc = NamespaceController(h.ctx)
            await h.start()
            await h.create("namespaces", terminating_ns())
            await h.create("configmaps", {"metadata": {"name": "a", "namespace": "doomed"}})
            await h.create("pods", {"metadata": {"name": "p", "namespace": "doomed"}, "spec": {}})
            await h.create("deployments.apps", {"metadata": {"name": "d", "namespace": "doomed"}, "spec": {}})
            await h.create("configmaps", {"metadata": {"name": "keep", "namespace": "other"}})
            await h.settle()
            await nc.sync_namespace("doomed")
            assert [o["metadata"]["name"] for o in h.objects("configmaps")] == ["keep"]
            assert h.objects("pods") == [] and h.objects("deployments.apps") == []
            ns = h.get("namespaces", "doomed")
            assert ns["status"]["phase"] == "Terminating"
            assert ns["spec"]["finalizers"] == []
            conds = {c["type"]: c for c in ns["status"]["conditions"]}
            assert [c["type"] for c in ns["status"]["conditions"]] == [
                "NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
                "NamespaceDeletionContentFailure", "NamespaceContentRemaining", "NamespaceFinalizersRemaining"]
            c = conds["NamespaceContentRemaining"]
            assert (c["status"], c["reason"], c["message"]) == ("False", "ContentRemoved", "All content successfully removed")
    run(main())


def test_waits_for_content_with_finalizers():
    async def main():
        async with ControllerHarness() as h:
            async def hold(req):
                # An object with finalizers is only marked for deletion (the fake server deletes at once).
                if req.method == "DELETE" and req.path.endswith("/configmaps/held"):
                    obj = h.get("configmaps", "held", "doomed")
                    obj["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
                    return Response.from_json(200, await h.client.update("configmaps", obj))
                return None

            h.server.prepend_reactor(hold)
            nc = NamespaceController(h.ctx)
            await h.start()
            await h.create("namespaces", terminating_ns())
            await h.create("configmaps", {"metadata": {"name": "held", "namespace": "doomed",
                                                       "finalizers": ["example.com/x", "example.com/y"]}})
            await h.settle()
            await nc.sync_namespace("doomed")
            ns = h.get("namespaces", "doomed")
            assert ns["spec"]["finalizers"] == ["kubernetes"]
            conds = {c["type"]: c for c in ns["status"]["conditions"]}
            c = conds["NamespaceContentRemaining"]
            assert (c["status"], c["reason"], c["message"]) == (
                "True", "SomeResourcesRemain", "Some resources are remaining: configmaps. has 1 resource instances")
            c = conds["NamespaceFinalizersRemaining"]
            assert c["message"] == ("Some content in the namespace has finalizers remaining: example.com/x in 1 "
                                    "resource instances, example.com/y in 1 resource instances")
            # Looked at again after half the 15 s estimate.
            assert nc.queue.statistics()["waiting"] == 1
            h.clock.step(8)
            assert nc.queue.get_nowait() == "doomed"
    run(main())


def test_active_and_finalized_namespaces_are_left_alone():
    async def main():
        async with ControllerHarness() as h:
            nc = NamespaceController(h.ctx)
            await h.start()
            await h.create("namespaces", {"metadata": {"name": "live"}, "status": {"phase": "Active"}})
            await h.create("configmaps", {"metadata": {"name": "a", "namespace": "live"}})
            done = terminating_ns("done")
            done["spec"]["finalizers"] = []
            await h.create("namespaces", done)
            await h.create("configmaps", {"metadata": {"name": "b", "namespace": "done"}})
            await h.settle()
            await nc.sync_namespace("live")
            await nc.sync_namespace("done")
            await nc.sync_namespace("missing")
            assert sorted(o["metadata"]["name"] for o in h.objects("configmaps")) == ["a", "b"]
    run(main())


def test_only_terminating_namespaces_are_queued():
    async def main():
        async with ControllerHarness() as h:
            nc = NamespaceController(h.ctx)
            await h.start()
            await h.create("namespaces", {"metadata": {"name": "live"}})
            await h.create("namespaces", terminating_ns())
            await h.settle()
            assert nc.queue.get_nowait() == "doomed"
            assert len(nc.queue) == 0
    run(main())
