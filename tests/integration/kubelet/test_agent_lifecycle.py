"""Agent restarts, containers killed behind its back, deletion, and resource limits (real runtime)."""

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from kubelite.agent.testing import pod_manifest

pytestmark = pytest.mark.root


def cs(pod, name="c"):
    return next(s for s in pod["status"].get("containerStatuses") or [] if s["name"] == name)


def ready(pod):
    return next((c["status"] for c in pod["status"].get("conditions") or [] if c["type"] == "Ready"), None)


def test_agent_restart_changes_nothing_visible(harness):
    keep = {"name": "c", "command": ["sleep", "600"],
            "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1}}
    victim = {"name": "c", "command": ["sleep", "600"]}
    async def body():
        async with harness() as h:
            node = h.env.node_name
            await h.client.create("pods", pod_manifest("keep", [keep], nodeName=node,
                                                       terminationGracePeriodSeconds=1), "default")
            await h.client.create("pods", pod_manifest("victim", [victim], nodeName=node,
                                                       terminationGracePeriodSeconds=1), "default")
            await h.client.create("pods", pod_manifest("gone", [victim], nodeName=node,
                                                       terminationGracePeriodSeconds=1), "default")
            await h.client.create("pods", pod_manifest("done", [{"name": "c", "command": ["sh", "-c", "sleep 1"]}],
                                                       nodeName=node, restartPolicy="Never"), "default")
            before = await h.wait_pod("keep", lambda p: ready(p) == "True")
            v = await h.wait_pod("victim", lambda p: p["status"].get("phase") == "Running")
            await h.wait_pod("gone", lambda p: p["status"].get("phase") == "Running")
            gone_uid = (await h.pod("gone"))["metadata"]["uid"]
            await h.stop_agent()
            # while the agent is down: one container dies, one pod is deleted, one completes
            cid = cs(v)["containerID"].removeprefix("runc://")
            st = await h.agent.runtime.container_status(cid)
            os.kill(st.pid, signal.SIGKILL)
            await h.client.delete("pods", "gone", "default", grace_period_seconds=0)
            await asyncio.sleep(1.5)
            await h.start_agent()
            v2 = await h.wait_pod("victim", lambda p: cs(p).get("restartCount") == 1 and "running" in cs(p)["state"])
            assert cs(v2)["lastState"]["terminated"]["exitCode"] == 137
            done = await h.wait_pod("done", lambda p: p["status"].get("phase") == "Succeeded")
            assert cs(done)["state"]["terminated"]["reason"] == "Completed"
            await asyncio.sleep(2)
            after = await h.pod("keep")
            assert cs(after)["containerID"] == cs(before)["containerID"]
            assert cs(after)["restartCount"] == 0 and ready(after) == "True"
            assert cs(after)["state"] == cs(before)["state"]
            for c in ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"):
                a = next(x for x in after["status"]["conditions"] if x["type"] == c)
                b = next(x for x in before["status"]["conditions"] if x["type"] == c)
                assert a["lastTransitionTime"] == b["lastTransitionTime"], c
            # the pod deleted while the agent was down: nothing of it remains (the cleanup removes the
            # sandbox first, then the volumes and the logs)
            async def leftovers():
                sandboxes = await h.agent.runtime.list_pod_sandbox()
                return ([s.id for s in sandboxes if s.uid == gone_uid] + list(h.env.log_dir.glob(f"*_{gone_uid}"))
                        + [p for p in [h.env.data_dir / "kubelet" / "pods" / gone_uid] if p.exists()])
            for _ in range(100):
                if not await leftovers():
                    break
                await asyncio.sleep(0.1)
            assert not await leftovers()
    asyncio.run(body())


def test_graceful_deletion_runs_prestop_and_deletes(harness, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    c = {"name": "c", "command": ["sh", "-c", "trap 'echo term >> /shared/log; exit 0' TERM; "
                                              "while true; do sleep 0.1; done"],
         "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "echo prestop >> /shared/log"]}},
                       "postStart": {"exec": {"command": ["sh", "-c", "echo poststart >> /shared/log"]}}},
         "volumeMounts": [{"name": "shared", "mountPath": "/shared"}]}
    async def body():
        async with harness() as h:
            await h.client.create("pods", pod_manifest("grace", [c], nodeName=h.env.node_name,
                                                       terminationGracePeriodSeconds=10,
                                                       volumes=[{"name": "shared", "hostPath": {"path": str(shared)}}]),
                                  "default")
            await h.wait_pod("grace", lambda p: p["status"].get("phase") == "Running")
            t0 = time.monotonic()
            await h.client.delete("pods", "grace", "default")
            while True:
                try:
                    await h.pod("grace")
                except Exception:
                    break
                assert time.monotonic() - t0 < 15
                await asyncio.sleep(0.1)
            assert (shared / "log").read_text().split() == ["poststart", "prestop", "term"]
            assert time.monotonic() - t0 < 8  # the container exited on SIGTERM, well before the grace period
    asyncio.run(body())


def test_memory_limit_oom_killed(harness):
    c = {"name": "c", "command": ["sh", "-c", "tail /dev/zero"], "resources": {"limits": {"memory": "32Mi"}}}
    async def body():
        async with harness() as h:
            await h.client.create("pods", pod_manifest("oom", [c], nodeName=h.env.node_name, restartPolicy="Never"),
                                  "default")
            pod = await h.wait_pod("oom", lambda p: p["status"].get("phase") == "Failed", timeout=60)
            term = cs(pod)["state"]["terminated"]
            assert term["reason"] == "OOMKilled" and term["exitCode"] == 137, term
            assert pod["status"]["qosClass"] == "Burstable"
    asyncio.run(body())


def test_fork_bomb_stopped_by_pids_limit(harness):
    c = {"name": "c", "command": ["sh", "-c", "f() { f | f & }; f; sleep 600"],
         "resources": {"limits": {"memory": "256Mi"}}}
    async def body():
        async with harness(pod_pids_limit=200) as h:
            await h.client.create("pods", pod_manifest("bomb", [c], nodeName=h.env.node_name,
                                                       terminationGracePeriodSeconds=1), "default")
            pod = await h.wait_pod("bomb", lambda p: p["status"].get("phase") == "Running")
            await asyncio.sleep(3)
            sandboxes = await h.agent.runtime.list_pod_sandbox()
            sb = await h.agent.runtime.pod_sandbox_status(next(s.id for s in sandboxes
                                                                if s.uid == pod["metadata"]["uid"]))
            pids = int(Path(f"/sys/fs/cgroup/pids{sb.cgroup_parent}/pids.current").read_text())
            limit = Path(f"/sys/fs/cgroup/pids{sb.cgroup_parent}/pids.max").read_text().strip()
            assert limit == "200" and pids <= 200, (pids, limit)
            await h.agent.kubelet.refresh_node_status()
            node = await h.client.get("nodes", h.env.node_name)
            assert next(c for c in node["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
            await h.client.create("pods", pod_manifest("after", [{"name": "c", "command": ["true"]}],
                                                       nodeName=h.env.node_name, restartPolicy="Never"), "default")
            await h.wait_pod("after", lambda p: p["status"].get("phase") == "Succeeded")
    asyncio.run(body())
