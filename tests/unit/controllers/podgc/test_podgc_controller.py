import asyncio

from kubelite.controllers.podgc import PodGCController
from kubelite.controllers.podgc.controller import terminated_to_delete


def pod(name, node="n1", phase="Running", created="2025-01-01T00:00:00Z", terminating=False, reason=None):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": "default", "creationTimestamp": created},
         "spec": {"containers": [{"name": "c", "image": "x"}]}, "status": {"phase": phase}}
    if node:
        p["spec"]["nodeName"] = node
    if terminating:
        p["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    if reason:
        p["status"]["reason"] = reason
    return p


def node(name, ready="True", taints=None):
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {"taints": taints or []},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def test_terminated_over_threshold_evicted_and_oldest_first():
    pods = [pod("new", phase="Succeeded", created="2025-01-03T00:00:00Z"),
            pod("old", phase="Failed", created="2025-01-01T00:00:00Z"),
            pod("evicted", phase="Failed", created="2025-01-05T00:00:00Z", reason="Evicted"),
            pod("running")]
    assert [p["metadata"]["name"] for p in terminated_to_delete(pods, 1)] == ["evicted", "old"]
    assert terminated_to_delete(pods, 3) == [] and terminated_to_delete(pods, 0) == []


def test_gc_passes(harness):
    async def main():
        async with harness(PodGCController, options={"terminated_pod_gc_threshold": 1}) as h:
            await h.create("nodes", node("n1"))
            await h.create("nodes", node("down", "False", [{"key": "node.kubernetes.io/out-of-service",
                                                            "effect": "NoExecute"}]))
            await h.create("pods", pod("done-1", phase="Succeeded", created="2025-01-01T00:00:00Z"))
            await h.create("pods", pod("done-2", phase="Succeeded", created="2025-01-02T00:00:00Z"))
            await h.create("pods", pod("live"))
            await h.create("pods", pod("stuck", node="down", terminating=True))
            await h.create("pods", pod("never-scheduled", node=None, terminating=True))
            await h.create("pods", pod("orphan", node="gone"))
            await h.controller.gc()
            await h.settle()
            assert h.names("pods") == ["done-2", "live", "orphan"]
            h.step(41)
            seen = []
            h.api.prepend_reactor(lambda req: seen.append(req.json()) if req.path.endswith("orphan/status") else None)
            await h.controller.gc()
            await h.settle()
            assert h.names("pods") == ["done-2", "live"]
            status = seen[0]["status"]
            assert status["phase"] == "Failed"
            assert status["conditions"][-1]["reason"] == "DeletionByPodGC"
            assert status["conditions"][-1]["message"] == "PodGC: node no longer exists"

    asyncio.run(main())
