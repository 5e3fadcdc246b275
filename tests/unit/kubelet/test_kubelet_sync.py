"""The kubelet over FakeRuntime and FakeAPIServer: pods run, restart per policy, back off, wait
for volumes, get deleted, and are cleaned up after an agent restart."""

import asyncio

import pytest

from kubelite.kubelet.testing import KubeletHarness, condition, container_status, make_pod
from kubelite.machinery.timeutil import rfc3339


def phase(p):
    return (p.get("status") or {}).get("phase")


def waiting(p, name):
    return (container_status(p, name).get("state") or {}).get("waiting", {}).get("reason")


def run(coro):
    asyncio.run(asyncio.wait_for(coro, 30))


def test_completed_pod_and_events(tmp_path):
    async def body():
        async with KubeletHarness(tmp_path) as h:
            await h.create_pod(make_pod("p", command=["sh", "-c", "echo hi; exit 0"], restartPolicy="Never"))
            pod = await h.wait_for_pod("p", lambda p: phase(p) == "Succeeded")
            s = container_status(pod, "p")
            assert s["state"]["terminated"]["reason"] == "Completed" and s["ready"] is False
            assert condition(pod, "Ready")["reason"] == "PodCompleted"
            assert condition(pod, "PodScheduled")["lastTransitionTime"] == "2025-01-01T00:00:00Z"  # kept
            assert [e["reason"] for e in h.events("p")] == ["Pulled", "Created", "Started"]
            ev = h.events("p")[1]
            assert ev["involvedObject"]["fieldPath"] == "spec.containers{p}" and ev["source"]["component"] == "kubelet"
            log = (h.config.log_dir / f"default_p_{pod['metadata']['uid']}" / "p" / "0.log").read_text()
            assert log.split(" ", 3)[1:] == ["stdout", "F", "hi\n"]
    run(body())


@pytest.mark.parametrize("policy,code,expect_phase,restarts", [
    ("OnFailure", 0, "Succeeded", 0), ("OnFailure", 1, "Running", 1), ("Never", 1, "Failed", 0),
])
def test_restart_policies(tmp_path, policy, code, expect_phase, restarts):
    async def body():
        async with KubeletHarness(tmp_path, config={"crash_backoff_initial": 5}) as h:
            await h.create_pod(make_pod("p", command=["sh", "-c", f"exit {code}"], restartPolicy=policy))
            pod = await h.wait_for_pod("p", lambda p: phase(p) == expect_phase and container_status(p, "p").get(
                "restartCount") == restarts and (restarts == 0 or waiting(p, "p") == "CrashLoopBackOff"))
            if restarts:
                msg = container_status(pod, "p")["state"]["waiting"]["message"]
                assert msg == f"back-off 5s restarting failed container=p pod=p_default({pod['metadata']['uid']})"
    run(body())


def test_crash_loop_backoff_timing(tmp_path):
    async def body():
        async with KubeletHarness(tmp_path, config={"crash_backoff_initial": 0.3, "crash_backoff_max": 1.2}) as h:
            await h.create_pod(make_pod("p", command=["sh", "-c", "exit 1"]))
            loop = asyncio.get_running_loop()
            times = {}
            while len(times) < 5:
                pod = h.get_pod("p")
                n = container_status(pod, "p").get("restartCount", 0) if pod else 0
                times.setdefault(n, loop.time())
                await asyncio.sleep(0.01)
            gaps = [round(times[i + 1] - times[i], 1) for i in range(1, 4)]
            assert times[1] - times[0] < 0.25  # the first restart is immediate
            assert gaps[0] >= 0.3 and gaps[1] >= 0.6 and gaps[2] >= 1.2, gaps
            assert gaps[2] < 2.5  # capped
    run(body())


def test_init_then_app_and_missing_configmap(tmp_path):
    async def body():
        async with KubeletHarness(tmp_path) as h:
            pod = make_pod("p", containers=[{"name": "app", "command": ["sleep", "100"],
                                             "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}]}],
                           initContainers=[{"name": "init", "command": ["true"]}],
                           volumes=[{"name": "cfg", "configMap": {"name": "later"}}])
            await h.create_pod(pod)
            p = await h.wait_for_pod("p", lambda p: waiting(p, "app") == "PodInitializing")
            assert phase(p) == "Pending"
            await h.wait_for_pod("p", lambda p: any(e["reason"] == "FailedMount" for e in h.events("p")))
            assert not h.runtime.state.sandboxes
            await h.client.create("configmaps", {"metadata": {"name": "later", "namespace": "default"},
                                                 "data": {"k": "v"}}, "default")
            p = await h.wait_for_pod("p", lambda p: phase(p) == "Running" and condition(p, "Ready")["status"] == "True")
            init = container_status(p, "init", init=True)
            assert init["state"]["terminated"]["reason"] == "Completed" and init["ready"] is True
            assert condition(p, "Initialized")["status"] == "True"
            created = [c.config.name for c in sorted(h.runtime.state.containers.values(), key=lambda c: c.created_at)]
            assert created == ["init", "app"]
    run(body())


def test_graceful_deletion_kills_then_deletes(tmp_path):
    async def body():
        async with KubeletHarness(tmp_path) as h:
            await h.create_pod(make_pod("p", command=["sh", "-c", "trap 'exit 0' TERM; sleep 100"]))
            pod = await h.wait_for_pod("p", lambda p: phase(p) == "Running")
            deleting = dict(pod)
            deleting["metadata"] = {**pod["metadata"], "deletionTimestamp": rfc3339(), "deletionGracePeriodSeconds": 30}
            await h.client.update("pods", deleting, "default")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while h.get_pod("p") is not None:
                assert loop.time() < deadline, h.get_pod("p")["status"]
                await asyncio.sleep(0.01)
            while h.runtime.state.sandboxes or h.runtime.state.containers:
                assert loop.time() < deadline
                await asyncio.sleep(0.01)
            reasons = [e["reason"] for e in h.events("p")]
            assert "Killing" in reasons
            assert not (h.config.log_dir / f"default_p_{pod['metadata']['uid']}").exists()
            assert not (h.config.pods_dir / pod["metadata"]["uid"]).exists()
    run(body())


def test_pods_deleted_while_down_are_cleaned_up(tmp_path):
    async def body():
        h = KubeletHarness(tmp_path, keep_containers=True)
        async with h:
            await h.create_pod(make_pod("keep", command=["sleep", "100"]))
            await h.create_pod(make_pod("gone", command=["sleep", "100"]))
            keep = await h.wait_for_pod("keep", lambda p: phase(p) == "Running")
            await h.wait_for_pod("gone", lambda p: phase(p) == "Running")
        cid = container_status(keep, "keep")["containerID"]
        await h.client.delete("pods", "gone", "default")
        h2 = KubeletHarness(tmp_path, api=h.api, runtime=h.runtime)
        async with h2:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while len(h2.runtime.state.sandboxes) != 1:
                assert loop.time() < deadline
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
            keep = h2.get_pod("keep")
            assert container_status(keep, "keep")["containerID"] == cid
            assert container_status(keep, "keep")["restartCount"] == 0
    run(body())


def test_runtime_errors_become_waiting_reasons(tmp_path):
    from kubelite.kubelet.runtime.errors import CommandFailed

    async def body():
        async with KubeletHarness(tmp_path) as h:
            h.runtime.fail_next("create_container", CommandFailed("runc create", ["runc"], 1,
                                                                  'exec: "/x": no such file or directory'))
            await h.create_pod(make_pod("p", command=["/x"]))
            p = await h.wait_for_pod("p", lambda p: waiting(p, "p") == "RunContainerError")
            assert "no such file" in container_status(p, "p")["state"]["waiting"]["message"]
            await h.wait_for_pod("p", lambda p: phase(p) == "Running")  # retried
            await h.create_pod(make_pod("q", containers=[{"name": "c", "command": ["true"],
                                                          "env": [{"name": "X", "valueFrom": {"secretKeyRef": {
                                                              "name": "nope", "key": "k"}}}]}]))
            q = await h.wait_for_pod("q", lambda p: waiting(p, "c") == "CreateContainerConfigError")
            assert container_status(q, "c")["state"]["waiting"]["message"] == 'secret "nope" not found'
            assert any(e["message"] == 'Error: secret "nope" not found' for e in h.events("q"))
    run(body())


def test_node_registration_lease_and_network_readiness(tmp_path):
    from kubelite.kubelet.network.fake import FakeNetworkPlugin
    from kubelite.kubelet.runtime.fake import FakeRuntime

    async def body():
        net = FakeNetworkPlugin(ready=False)
        async with KubeletHarness(tmp_path, runtime=FakeRuntime(network=net)) as h:
            node = h.api.get_object("nodes", "node-1")
            st = node["status"]
            assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "node-1"
            assert st["capacity"]["pods"] == "110" and st["daemonEndpoints"]["kubeletEndpoint"]["Port"] == 10250
            assert st["nodeInfo"]["kubeletVersion"] == "v1.32.4" and st["nodeInfo"]["operatingSystem"] == "linux"
            assert st["nodeInfo"]["containerRuntimeVersion"] == "fake://0.1.0"
            assert st["addresses"][0] == {"type": "InternalIP", "address": "198.18.0.2"}
            ready = next(c for c in st["conditions"] if c["type"] == "Ready")
            assert ready["status"] == "False" and ready["reason"] == "KubeletNotReady"
            assert ready["message"].startswith("container runtime network not ready: NetworkReady=false "
                                               "reason:NetworkPluginNotReady")
            assert [c["type"] for c in st["conditions"]] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
            lease = h.api.get_object("leases", "node-1", "kube-node-lease")
            assert lease["spec"]["holderIdentity"] == "node-1" and lease["spec"]["leaseDurationSeconds"] == 40
            await h.create_pod(make_pod("p", command=["sleep", "10"]))
            await h.wait_for_pod("p", lambda p: any(e["reason"] == "NetworkNotReady" for e in h.events("p")))
            assert phase(h.get_pod("p")) == "Pending"
            net.ready = True
            await h.kubelet.refresh_node_status()
            node = h.api.get_object("nodes", "node-1")
            assert next(c for c in node["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
            await h.wait_for_pod("p", lambda p: phase(p) == "Running")
    run(body())


def test_status_written_only_on_change(tmp_path):
    async def body():
        async with KubeletHarness(tmp_path) as h:
            await h.create_pod(make_pod("p", command=["sleep", "100"]))
            p = await h.wait_for_pod("p", lambda p: condition(p, "Ready").get("status") == "True")
            writes = h.kubelet.status_manager.writes
            ltt = condition(p, "Ready")["lastTransitionTime"]
            for _ in range(3):
                h.kubelet.pod_workers.update_pod(h.get_pod("p"))
                await asyncio.sleep(0.1)
            assert h.kubelet.status_manager.writes == writes
            assert condition(h.get_pod("p"), "Ready")["lastTransitionTime"] == ltt
    run(body())
