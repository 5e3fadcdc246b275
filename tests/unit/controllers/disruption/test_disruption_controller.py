import asyncio

import pytest

from kubelite.controllers.disruption import DisruptionController
from kubelite.machinery.timeutil import rfc3339

KEY = "default/budget"


def pdb(**spec):
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "budget", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}


def pod(name, ready=True, owner=None):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
         "spec": {"containers": [{"name": "c", "image": "x"}]},
         "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
    if owner is not None:
        p["metadata"]["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                             "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                             "controller": True}]
    return p


def status(h):
    return h.get("poddisruptionbudgets.policy", "budget", "default")["status"]


def test_integer_min_available(harness):
    async def main():
        async with harness(DisruptionController) as h:
            for i, ready in enumerate([True, True, True, False]):
                await h.create("pods", pod(f"p{i}", ready))
            await h.create("poddisruptionbudgets.policy", pdb(minAvailable=2))
            await h.sync(KEY)
            st = status(h)
            assert (st["currentHealthy"], st["desiredHealthy"], st["expectedPods"], st["disruptionsAllowed"]) == \
                (3, 2, 4, 1)
            assert st["observedGeneration"] == 1
            [cond] = st["conditions"]
            assert (cond["type"], cond["status"], cond["reason"]) == ("DisruptionAllowed", "True", "SufficientPods")
            await h.delete("pods", "p0", "default")
            await h.sync(KEY)
            [cond] = status(h)["conditions"]
            assert (status(h)["disruptionsAllowed"], cond["status"], cond["reason"]) == (0, "False", "InsufficientPods")

    asyncio.run(main())


@pytest.mark.parametrize("spec,want", [
    ({"maxUnavailable": 1}, (3, 2, 1)),
    ({"maxUnavailable": "50%"}, (3, 1, 2)),
    ({"minAvailable": "50%"}, (3, 2, 1)),
])
def test_percentages_use_the_controllers_scale(harness, spec, want):
    async def main():
        async with harness(DisruptionController) as h:
            dep = await h.create("deployments.apps", {"metadata": {"name": "web", "namespace": "default"},
                                                      "spec": {"replicas": 3}})
            rs = await h.create("replicasets.apps", {"metadata": {"name": "web-1", "namespace": "default",
                                                                  "ownerReferences": [{
                                                                      "apiVersion": "apps/v1", "kind": "Deployment",
                                                                      "name": "web", "uid": dep["metadata"]["uid"],
                                                                      "controller": True}]},
                                                     "spec": {"replicas": 3}})
            for i in range(3):
                await h.create("pods", pod(f"p{i}", owner=rs))
            await h.create("poddisruptionbudgets.policy", pdb(**spec))
            await h.sync(KEY)
            st = status(h)
            assert (st["expectedPods"], st["desiredHealthy"], st["disruptionsAllowed"]) == want

    asyncio.run(main())


def test_statefulset_scale_and_unmanaged_pods(harness):
    async def main():
        async with harness(DisruptionController) as h:
            sts = await h.create("statefulsets.apps", {"metadata": {"name": "db", "namespace": "default"},
                                                       "spec": {"replicas": 4}})
            for i in range(2):
                await h.create("pods", pod(f"db-{i}", owner=sts))
            await h.create("pods", pod("stray"))
            await h.create("poddisruptionbudgets.policy", pdb(maxUnavailable=1))
            await h.sync(KEY)
            st = status(h)
            assert (st["expectedPods"], st["desiredHealthy"], st["currentHealthy"]) == (4, 3, 3)
            assert "UnmanagedPods" in h.reasons()

    asyncio.run(main())


def test_controller_without_scale_fails_safe(harness):
    async def main():
        async with harness(DisruptionController) as h:
            job = await h.create("jobs.batch", {"metadata": {"name": "j", "namespace": "default"}, "spec": {}})
            await h.create("pods", pod("j-1", owner=job))
            await h.create("poddisruptionbudgets.policy", pdb(maxUnavailable=1))
            await h.sync(KEY)
            st = status(h)
            assert st["disruptionsAllowed"] == 0
            [cond] = st["conditions"]
            assert (cond["status"], cond["reason"]) == ("False", "SyncFailed")
            assert cond["message"] == "jobs.batch does not implement the scale subresource"
            assert h.messages("CalculateExpectedPodCountFailed") == [
                "Failed to calculate the number of expected pods: jobs.batch does not implement the scale subresource"]

    asyncio.run(main())


def test_disrupted_pods_are_not_healthy_until_they_expire(harness):
    async def main():
        async with harness(DisruptionController) as h:
            for i in range(3):
                await h.create("pods", pod(f"p{i}"))
            await h.create("poddisruptionbudgets.policy", pdb(minAvailable=1))
            await h.sync(KEY)
            budget = h.get("poddisruptionbudgets.policy", "budget", "default")
            budget["status"]["disruptedPods"] = {"p0": rfc3339(h.clock.now())}
            await h.update_status("poddisruptionbudgets.policy", budget)
            await h.sync(KEY)
            assert status(h)["currentHealthy"] == 2 and status(h)["disruptedPods"] == {"p0": rfc3339(h.clock.now())}
            assert h.delay_of(KEY) == pytest.approx(120)
            h.step(121)
            await h.sync(KEY)
            assert status(h)["currentHealthy"] == 3 and "disruptedPods" not in status(h)
            assert ("Warning", "NotDeleted", "Pod was expected by PDB default/budget to be deleted but it wasn't",
                    "p0") in h.recorder.events

    asyncio.run(main())


def test_no_pods(harness):
    async def main():
        async with harness(DisruptionController) as h:
            await h.create("poddisruptionbudgets.policy", pdb(minAvailable=1))
            await h.sync(KEY)
            assert status(h)["disruptionsAllowed"] == 0 and status(h)["expectedPods"] == 0
            assert h.messages("NoPods") == ["No matching pods found"]

    asyncio.run(main())
