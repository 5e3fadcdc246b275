import asyncio
from datetime import datetime, timezone

from kubelite.controllers.resourcequota import ResourceQuotaController
from kubelite.controllers.resourcequota.usage import pod_amounts, usage

KEY = "default/quota"


def pod(name, *, requests=None, limits=None, phase="Running", init=None, deadline=None, priority=None):
    c = {"name": "c", "image": "x", "resources": {}}
    if requests:
        c["resources"]["requests"] = requests
    if limits:
        c["resources"]["limits"] = limits
    spec = {"containers": [c]}
    if init:
        spec["initContainers"] = init
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    if priority:
        spec["priorityClassName"] = priority
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec,
            "status": {"phase": phase}}


def quota(hard, **spec):
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": "default"},
            "spec": {"hard": hard, **spec}}


def used(h):
    return h.get("resourcequotas", "quota", "default")["status"]["used"]


def test_pod_amounts_take_the_larger_of_containers_and_init_containers():
    p = pod("p", requests={"cpu": "250m", "memory": "64Mi"},
            init=[{"name": "i", "resources": {"requests": {"cpu": "1", "memory": "32Mi"}}},
                  {"name": "sidecar", "restartPolicy": "Always", "resources": {"requests": {"memory": "16Mi"}}}])
    req = pod_amounts(p, "requests")
    assert req["cpu"] == 1 and req["memory"] == (64 + 16) * 2**20


def test_usage_of_compute_resources_and_counts(harness):
    async def main():
        async with harness(ResourceQuotaController) as h:
            await h.create("pods", pod("a", requests={"cpu": "500m", "memory": "128Mi"},
                                       limits={"cpu": "1", "memory": "256Mi"}))
            await h.create("pods", pod("b", requests={"cpu": "1", "memory": "64Mi"}))
            await h.create("pods", pod("done", requests={"cpu": "4"}, phase="Succeeded"))
            await h.create("services", {"metadata": {"name": "lb", "namespace": "default"},
                                        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]}})
            await h.create("services", {"metadata": {"name": "c", "namespace": "default"}, "spec": {}})
            await h.create("configmaps", {"metadata": {"name": "cm", "namespace": "default"}})
            await h.create("deployments.apps", {"metadata": {"name": "d", "namespace": "default"}, "spec": {}})
            hard = {"pods": "10", "requests.cpu": "4", "cpu": "4", "requests.memory": "1Gi", "limits.cpu": "2",
                    "limits.memory": "1Gi", "services": "5", "services.loadbalancers": "1",
                    "services.nodeports": "4", "configmaps": "3", "count/deployments.apps": "2", "secrets": "1"}
            await h.create("resourcequotas", quota(hard))
            await h.settle()
            await h.sync(KEY)
            q = h.get("resourcequotas", "quota", "default")
            assert q["status"]["hard"] == hard
            assert q["status"]["used"] == {"pods": "2", "requests.cpu": "1500m", "cpu": "1500m",
                                           "requests.memory": "192Mi", "limits.cpu": "1", "limits.memory": "256Mi",
                                           "services": "2", "services.loadbalancers": "1", "services.nodeports": "2",
                                           "configmaps": "1", "count/deployments.apps": "1", "secrets": "0"}
            rv = q["metadata"]["resourceVersion"]
            await h.sync(KEY)
            assert h.get("resourcequotas", "quota", "default")["metadata"]["resourceVersion"] == rv

            # Deleting a pod is noticed (the quota is queued again) and the usage goes down.
            h.take(KEY)
            await h.delete("pods", "a", "default")
            assert KEY in h.queued()
            await h.sync(KEY)
            assert used(h)["pods"] == "1" and used(h)["requests.cpu"] == "1"

    asyncio.run(main())


def test_scopes():
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    pods = [pod("be"), pod("burst", requests={"cpu": "1"}), pod("batch", deadline=60, requests={"cpu": "2"}),
            pod("hi", requests={"cpu": "3"}, priority="high")]
    objects = {"pods": pods, "services": [{"metadata": {"name": "s"}, "spec": {}}]}
    assert usage(quota({"pods": "9"}, scopes=["BestEffort"]), objects, now) == {"pods": 1}
    assert usage(quota({"pods": "9", "requests.cpu": "9"}, scopes=["NotBestEffort", "NotTerminating"]),
                 objects, now) == {"pods": 2, "requests.cpu": 4}
    assert usage(quota({"requests.cpu": "9"}, scopes=["Terminating"]), objects, now) == {"requests.cpu": 2}
    selector = {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}
    assert usage(quota({"pods": "9", "services": "9"}, scopeSelector=selector), objects, now) == \
        {"pods": 1, "services": 0}
