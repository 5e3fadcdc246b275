import asyncio

from kubelite.controllers.statefulset import StatefulSetController
from kubelite.machinery.timeutil import rfc3339

KEY = "default/web"


def statefulset(replicas=3, *, policy=None, strategy=None, image="web:1"):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "c", "image": image}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}]}}
    if policy:
        sts["spec"]["podManagementPolicy"] = policy
    if strategy:
        sts["spec"]["updateStrategy"] = strategy
    return sts


async def make_ready(h, phase="Running", ready=True):
    for p in h.objects("pods"):
        st = p.get("status") or {}
        if st.get("phase") == phase:
            continue
        p["status"] = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                                       "lastTransitionTime": rfc3339(h.clock.now())}]}
        await h.client.update_status("pods", p)
    await h.settle()


async def set_image(h, image, **spec):
    sts = h.get("statefulsets.apps", "web", "default")
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = image
    sts["spec"].update(spec)
    await h.client.update("statefulsets.apps", sts)
    await h.settle()


def images(h):
    return {p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in h.objects("pods")}


def test_ordered_ready_creates_one_pod_at_a_time(harness):
    async def main():
        async with harness(StatefulSetController) as h:
            await h.create("statefulsets.apps", statefulset())
            await h.sync(KEY)
            assert h.names("pods") == ["web-0"]
            pod = h.get("pods", "web-0", "default")
            assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-0"
            assert pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "0"
            assert pod["spec"]["hostname"] == "web-0" and pod["spec"]["subdomain"] == "nginx"
            assert pod["spec"]["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}}]
            assert h.messages("SuccessfulCreate") == ["create Pod web-0 in StatefulSet web successful"]
            status = h.get("statefulsets.apps", "web", "default")["status"]
            assert status["updateRevision"] == status["currentRevision"]
            assert pod["metadata"]["labels"]["controller-revision-hash"] == status["updateRevision"]
            assert status["updateRevision"].startswith("web-")

            await h.sync(KEY)                       # web-0 is not Running and Ready: wait
            assert h.names("pods") == ["web-0"]
            await make_ready(h)
            await h.sync(KEY)
            assert h.names("pods") == ["web-0", "web-1"]
            await make_ready(h)
            await h.sync(KEY)
            await make_ready(h)
            await h.sync(KEY)
            assert h.names("pods") == ["web-0", "web-1", "web-2"]
            status = h.get("statefulsets.apps", "web", "default")["status"]
            assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (3, 3, 3)
            assert status["currentReplicas"] == status["updatedReplicas"] == 3
            assert status["observedGeneration"] == 1
            assert len(h.objects("controllerrevisions.apps")) == 1

    asyncio.run(main())


def test_parallel_creates_all_at_once_and_scales_down_from_the_top(harness):
    async def main():
        async with harness(StatefulSetController) as h:
            await h.create("statefulsets.apps", statefulset(4, policy="Parallel"))
            await h.sync(KEY)
            assert h.names("pods") == ["web-0", "web-1", "web-2", "web-3"]
            await make_ready(h)
            await h.patch("statefulsets.apps", "web", {"spec": {"replicas": 2}}, "default")
            await h.sync(KEY)
            assert h.names("pods") == ["web-0", "web-1"]

    asyncio.run(main())


def test_ordered_scale_down_removes_the_highest_ordinal_first(harness):
    async def main():
        async with harness(StatefulSetController) as h:
            await h.create("statefulsets.apps", statefulset(3))
            for _ in range(3):
                await h.sync(KEY)
                await make_ready(h)
            await h.patch("statefulsets.apps", "web", {"spec": {"replicas": 1}}, "default")
            await h.sync(KEY)
            assert h.names("pods") == ["web-0", "web-1"]
            await h.sync(KEY)
            assert h.names("pods") == ["web-0"]
            assert h.messages("SuccessfulDelete") == ["delete Pod web-2 in StatefulSet web successful",
                                                      "delete Pod web-1 in StatefulSet web successful"]

    asyncio.run(main())


def test_scale_down_waits_while_another_pod_is_unhealthy(harness):
    async def main():
        async with harness(StatefulSetController) as h:
            await h.create("statefulsets.apps", statefulset(3))
            for _ in range(3):
                await h.sync(KEY)
                await make_ready(h)
            await h.patch("statefulsets.apps", "web", {"spec": {"replicas": 2}}, "default")
            pod = h.get("pods", "web-0", "default")
            pod["status"]["conditions"][0]["status"] = "False"
            await h.update_status("pods", pod)
            await h.sync(KEY)
            assert h.names("pods") == ["web-0", "web-1", "web-2"]

    asyncio.run(main())


def test_rolling_update_with_partition_goes_from_the_highest_ordinal(harness):
    async def main():
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}
        async with harness(StatefulSetController) as h:
            await h.create("statefulsets.apps", statefulset(3, strategy=strategy))
            for _ in range(3):
                await h.sync(KEY)
                await make_ready(h)
            first = h.get("statefulsets.apps", "web", "default")["status"]["currentRevision"]
            await set_image(h, "web:2")
            await h.sync(KEY)
            assert h.names("pods") == ["web-0", "web-1"]          # web-2 deleted for update
            status = h.get("statefulsets.apps", "web", "default")["status"]
            assert status["currentRevision"] == first and status["updateRevision"] != first
            await h.sync(KEY)
            assert images(h) == {"web-0": "web:1", "web-1": "web:1", "web-2": "web:2"}
            await h.sync(KEY)                                    # web-2 not ready: wait
            assert images(h)["web-1"] == "web:1"
            await make_ready(h)
            await h.sync(KEY)
            await h.sync(KEY)
            await make_ready(h)
            await h.sync(KEY)
            # web-0 is below the partition: it stays at the current revision.
            assert images(h) == {"web-0": "web:1", "web-1": "web:2", "web-2": "web:2"}
            status = h.get("statefulsets.apps", "web", "default")["status"]
            assert (status["currentReplicas"], status["updatedReplicas"]) == (1, 2)
            assert status["currentRevision"] == first

            # Lowering the partition finishes the rollout; the update revision becomes current.
            sts = h.get("statefulsets.apps", "web", "default")
            sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 0
            await h.client.update("statefulsets.apps", sts)
            await h.settle()
            for _ in range(3):
                await h.sync(KEY)
                await make_ready(h)
            assert set(images(h).values()) == {"web:2"}
            status = h.get("statefulsets.apps", "web", "default")["status"]
            assert status["currentRevision"] == status["updateRevision"] != first
            assert status["currentReplicas"] == 3

    asyncio.run(main())


def test_on_delete_updates_only_deleted_pods(harness):
    async def main():
        async with harness(StatefulSetController) as h:
            await h.create("statefulsets.apps", statefulset(2, strategy={"type": "OnDelete"}))
            for _ in range(2):
                await h.sync(KEY)
                await make_ready(h)
            await set_image(h, "web:2")
            await h.sync(KEY)
            assert images(h) == {"web-0": "web:1", "web-1": "web:1"}
            await h.delete("pods", "web-1", "default")
            await h.sync(KEY)
            assert images(h) == {"web-0": "web:1", "web-1": "web:2"}

    asyncio.run(main())


def test_failed_pod_is_recreated(harness):
    async def main():
        async with harness(StatefulSetController) as h:
            await h.create("statefulsets.apps", statefulset(1))
            await h.sync(KEY)
            uid = h.get("pods", "web-0", "default")["metadata"]["uid"]
            await make_ready(h, phase="Failed", ready=False)
            await h.sync(KEY)
            pod = h.get("pods", "web-0", "default")
            assert pod is not None and pod["metadata"]["uid"] != uid
            assert h.messages("RecreatingFailedPod") == ["StatefulSet default/web is recreating failed Pod web-0"]

    asyncio.run(main())


def test_identity_is_restored(harness):
    async def main():
        async with harness(StatefulSetController) as h:
            await h.create("statefulsets.apps", statefulset(1))
            await h.sync(KEY)
            await make_ready(h)
            pod = h.get("pods", "web-0", "default")
            del pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"]
            await h.client.update("pods", pod)
            await h.sync(KEY)
            pod = h.get("pods", "web-0", "default")
            assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-0"
            assert "update Pod web-0 in StatefulSet web successful" in h.messages("SuccessfulUpdate")

    asyncio.run(main())
