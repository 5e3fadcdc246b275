"""A real node agent: pods that run, print, exit, share localhost, and run init containers first."""

import asyncio
from pathlib import Path

import pytest

from kubelite.agent.testing import pod_manifest

pytestmark = pytest.mark.root


def cs(pod, name, init=False):
    key = "initContainerStatuses" if init else "containerStatuses"
    return next(s for s in pod["status"].get(key) or [] if s["name"] == name)


def cond(pod, t):
    return next((c for c in pod["status"].get("conditions") or [] if c["type"] == t), {})


def log_of(h, pod, container, restart=0):
    md = pod["metadata"]
    path = h.env.log_dir / f"{md['namespace']}_{md['name']}_{md['uid']}" / container / f"{restart}.log"
    return path.read_text()


def test_busybox_pod_prints_and_completes(harness):
    async def body():
        async with harness() as h:
            await h.client.create("pods", pod_manifest(
                "hello", [{"name": "hello", "command": ["sh", "-c", "echo hello from $(hostname)"]}],
                restartPolicy="Never", nodeName=h.env.node_name), "default")
            pod = await h.wait_pod("hello", lambda p: p["status"].get("phase") == "Succeeded")
            s = cs(pod, "hello")
            term = s["state"]["terminated"]
            assert term["exitCode"] == 0 and term["reason"] == "Completed"
            assert s["containerID"].startswith("runc://") and s["restartCount"] == 0
            assert s["image"] == "docker.io/library/busybox:latest"
            assert s["imageID"].startswith("docker.io/library/busybox@sha256:")
            assert cond(pod, "Ready")["status"] == "False" and cond(pod, "Ready")["reason"] == "PodCompleted"
            assert cond(pod, "Initialized")["status"] == "True"
            assert pod["status"]["podIP"].startswith(h.env.pod_cidr.rsplit(".", 2)[0])
            assert pod["status"]["hostIP"] == "198.18.0.2" and pod["status"]["qosClass"] == "BestEffort"
            text = log_of(h, pod, "hello")
            line = text.splitlines()[0].split(" ", 3)
            assert line[1] == "stdout" and line[2] == "F" and line[3] == "hello from hello"
            reasons = [r for r, _ in await h.events("hello")]
            assert reasons[:3] == ["Pulled", "Created", "Started"], reasons
    asyncio.run(body())


def test_pod_is_isolated(harness, tmp_path):
    marker = tmp_path / "host-marker"
    marker.write_text("secret")
    script = (f"ps -o pid,comm; echo hostname=$(hostname); "
              f"if [ -e {marker} ]; then echo host-visible; else echo host-hidden; fi; cat /etc/hostname")
    async def body():
        async with harness() as h:
            await h.client.create("pods", pod_manifest("iso", [{"name": "c", "command": ["sh", "-c", script]}],
                                                       restartPolicy="Never", nodeName=h.env.node_name), "default")
            pod = await h.wait_pod("iso", lambda p: p["status"].get("phase") == "Succeeded")
            out = [ln.split(" ", 3)[3] for ln in log_of(h, pod, "c").splitlines()]
            procs = [ln.split() for ln in out if ln.strip() and ln.strip()[0].isdigit()]
            assert [p[0] for p in procs][0] == "1", out
            assert len(procs) <= 2, out  # sh (pid 1) and ps itself
            assert "hostname=iso" in out and "host-hidden" in out and "iso" in out
    asyncio.run(body())


def test_two_containers_share_localhost(harness):
    server = ["nc", "-l", "-p", "8080", "-e", "sh", "-c", "echo hello-from-server"]
    client = ["sh", "-c", "until nc 127.0.0.1 8080 > /tmp/out 2>/dev/null && grep -q hello /tmp/out; "
                          "do sleep 0.2; done; cat /tmp/out"]
    async def body():
        async with harness() as h:
            await h.client.create("pods", pod_manifest("pair", [{"name": "server", "command": server},
                                                               {"name": "client", "command": client}],
                                                       restartPolicy="Never", nodeName=h.env.node_name), "default")
            pod = await h.wait_pod("pair", lambda p: p["status"].get("phase") in ("Succeeded", "Failed"))
            assert pod["status"]["phase"] == "Succeeded", pod["status"]
            assert "hello-from-server" in log_of(h, pod, "client")
            assert [s["name"] for s in pod["status"]["containerStatuses"]] == ["client", "server"]  # by name
    asyncio.run(body())


def test_init_container_runs_first(harness):
    async def body():
        async with harness() as h:
            spec = pod_manifest("init", [{"name": "app", "command": ["sh", "-c", "cat /work/msg"],
                                          "volumeMounts": [{"name": "work", "mountPath": "/work"}]}],
                                restartPolicy="Never", nodeName=h.env.node_name,
                                volumes=[{"name": "work", "emptyDir": {}}],
                                initContainers=[{"name": "prep", "image": "busybox",
                                                 "command": ["sh", "-c", "echo prepared > /work/msg"],
                                                 "volumeMounts": [{"name": "work", "mountPath": "/work"}]}])
            await h.client.create("pods", spec, "default")
            pod = await h.wait_pod("init", lambda p: p["status"].get("phase") in ("Succeeded", "Failed"))
            assert pod["status"]["phase"] == "Succeeded", pod["status"]
            init = cs(pod, "prep", init=True)
            assert init["state"]["terminated"]["reason"] == "Completed" and init["ready"] is True
            app = cs(pod, "app")
            assert init["state"]["terminated"]["finishedAt"] <= app["state"]["terminated"]["startedAt"]
            assert "prepared" in log_of(h, pod, "app")
    asyncio.run(body())


def test_crashing_container_backs_off(harness):
    async def body():
        async with harness() as h:
            await h.client.create("pods", pod_manifest("crash", [{"name": "c", "command": ["sh", "-c", "exit 3"]}],
                                                       nodeName=h.env.node_name), "default")
            pod = await h.wait_pod("crash", lambda p: (cs(p, "c").get("state") or {}).get("waiting", {}).get(
                "reason") == "CrashLoopBackOff", timeout=30)
            s = cs(pod, "c")
            assert s["restartCount"] >= 1
            assert s["lastState"]["terminated"]["exitCode"] == 3 and s["lastState"]["terminated"]["reason"] == "Error"
            assert s["state"]["waiting"]["message"].startswith("back-off 10s restarting failed container=c pod=crash_")
            assert pod["status"]["phase"] == "Running"
            assert any(r == "BackOff" for r, _ in await h.events("crash"))
    asyncio.run(body())


def test_bad_command_and_unknown_image(harness):
    async def body():
        async with harness() as h:
            node = h.env.node_name
            await h.client.create("pods", pod_manifest("badcmd", [{"name": "c", "command": ["/no/such/binary"]}],
                                                       nodeName=node), "default")
            await h.client.create("pods", pod_manifest("badimg", [{"name": "c", "image": "kubelite.invalid/nope:1"}],
                                                       nodeName=node), "default")
            pod = await h.wait_pod("badcmd", lambda p: (cs(p, "c").get("state") or {}).get("waiting", {}).get(
                "reason") in ("RunContainerError", "CrashLoopBackOff"))
            w = cs(pod, "c")["state"]["waiting"]
            assert w["reason"] == "RunContainerError" and "no such file" in w["message"], w
            pod = await h.wait_pod("badimg", lambda p: (cs(p, "c").get("state") or {}).get("waiting", {}).get(
                "reason") == "ImagePullBackOff")
            evs = await h.events("badimg")
            assert any(r == "Failed" and m.startswith('Failed to pull image "kubelite.invalid/nope:1"') for r, m in evs)
            assert ("Failed", "Error: ErrImagePull") in evs and ("Failed", "Error: ImagePullBackOff") in evs
            node_obj = await h.client.get("nodes", node)
            ready = next(c for c in node_obj["status"]["conditions"] if c["type"] == "Ready")
            assert ready["status"] == "True"
    asyncio.run(body())


def test_termination_messages_and_sidecar(harness):
    async def body():
        async with harness() as h:
            node = h.env.node_name
            await h.client.create("pods", pod_manifest(
                "msg", [{"name": "file", "command": ["sh", "-c", "echo from-file > /dev/termination-log; exit 2"]},
                        {"name": "logs", "command": ["sh", "-c", "echo from-logs; exit 3"],
                         "terminationMessagePolicy": "FallbackToLogsOnError"}],
                restartPolicy="Never", nodeName=node), "default")
            pod = await h.wait_pod("msg", lambda p: p["status"].get("phase") == "Failed")
            assert cs(pod, "file")["state"]["terminated"]["message"] == "from-file\n"
            assert cs(pod, "logs")["state"]["terminated"]["message"] == "from-logs\n"
            sidecar = {"name": "side", "image": "busybox", "restartPolicy": "Always", "command": ["sleep", "600"]}
            await h.client.create("pods", pod_manifest(
                "sidecar", [{"name": "app", "command": ["sh", "-c", "sleep 1; echo done"]}], restartPolicy="Never",
                nodeName=node, initContainers=[sidecar], terminationGracePeriodSeconds=1), "default")
            pod = await h.wait_pod("sidecar", lambda p: "running" in (cs(p, "side", init=True).get("state") or {})
                                   if p["status"].get("initContainerStatuses") else False)
            assert cs(pod, "side", init=True)["started"] is True
            pod = await h.wait_pod("sidecar", lambda p: p["status"].get("phase") == "Succeeded", timeout=30)
            assert cs(pod, "app")["state"]["terminated"]["reason"] == "Completed"
    asyncio.run(body())


def test_pull_from_a_loopback_registry(harness, tmp_path):
    from kubelite.images.distribution import push
    from kubelite.images.registry import RegistryServer
    from kubelite.images.store import LocalImageStore

    async def body():
        registry = RegistryServer("127.0.0.1", 0, tmp_path / "registry")
        await registry.start()
        try:
            src = LocalImageStore(tmp_path / "src-images")
            await src.get("busybox")
            ref = f"{registry.address}/test/bb:v1"
            await src.tag("busybox", ref)
            await push(src, ref)
            async with harness() as h:
                await h.client.create("pods", pod_manifest("pulled", [{"name": "c", "image": ref,
                                                                      "imagePullPolicy": "Always",
                                                                      "command": ["echo", "pulled"]}],
                                                           restartPolicy="Never", nodeName=h.env.node_name), "default")
                pod = await h.wait_pod("pulled", lambda p: p["status"].get("phase") in ("Succeeded", "Failed"))
                assert pod["status"]["phase"] == "Succeeded", pod["status"]
                assert cs(pod, "c")["image"] == ref and cs(pod, "c")["imageID"].startswith(
                    f"{registry.address}/test/bb@sha256:")
                evs = await h.events("pulled")
                assert ("Pulling", f'Pulling image "{ref}"') in evs
                assert any(r == "Pulled" and m.startswith(f'Successfully pulled image "{ref}" in ') for r, m in evs)
        finally:
            await registry.stop()
    asyncio.run(body())
