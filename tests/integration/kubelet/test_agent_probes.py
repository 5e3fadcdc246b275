"""Probes with the real runtime: liveness restarts, readiness flips Ready, httpGet into the node netns."""

import asyncio

import pytest

from kubelite.agent.testing import pod_manifest

pytestmark = pytest.mark.root


def cs(pod, name):
    return next(s for s in pod["status"].get("containerStatuses") or [] if s["name"] == name)


def ready(pod):
    return next((c["status"] for c in pod["status"].get("conditions") or [] if c["type"] == "Ready"), None)


def test_liveness_failure_restarts(harness):
    c = {"name": "c", "command": ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 600"],
         "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 1}}
    async def body():
        async with harness() as h:
            await h.client.create("pods", pod_manifest("live", [c], nodeName=h.env.node_name,
                                                       terminationGracePeriodSeconds=1), "default")
            pod = await h.wait_pod("live", lambda p: cs(p, "c").get("restartCount", 0) >= 1, timeout=40)
            s = cs(pod, "c")
            assert s["lastState"]["terminated"]["exitCode"] == 137, s
            evs = await h.events("live")
            assert ("Killing", "Container c failed liveness probe, will be restarted") in evs, evs
            assert any(r == "Unhealthy" and m.startswith("Liveness probe failed: cat: can't open '/tmp/healthy'")
                       for r, m in evs), evs
            await h.wait_pod("live", lambda p: "running" in cs(p, "c")["state"])
    asyncio.run(body())


def test_readiness_flips_ready(harness):
    c = {"name": "c", "command": ["sh", "-c", "sleep 1; touch /tmp/ready; sleep 3; rm /tmp/ready; sleep 600"],
         "readinessProbe": {"exec": {"command": ["test", "-e", "/tmp/ready"]}, "periodSeconds": 1}}
    async def body():
        async with harness() as h:
            await h.client.create("pods", pod_manifest("ready", [c], nodeName=h.env.node_name,
                                                       terminationGracePeriodSeconds=1), "default")
            pod = await h.wait_pod("ready", lambda p: p["status"].get("phase") == "Running")
            assert ready(pod) == "False"
            pod = await h.wait_pod("ready", lambda p: ready(p) == "True", timeout=15)
            assert cs(pod, "c")["ready"] is True and cs(pod, "c")["started"] is True
            pod = await h.wait_pod("ready", lambda p: ready(p) == "False", timeout=15)
            cond = next(c for c in pod["status"]["conditions"] if c["type"] == "ContainersReady")
            assert cond["reason"] == "ContainersNotReady" and cond["message"] == "containers with unready status: [c]"
            assert cs(pod, "c")["restartCount"] == 0
    asyncio.run(body())


def test_http_and_tcp_probes_reach_the_pod(harness):
    c = {"name": "web", "command": ["sh", "-c", "mkdir -p /www && echo ok > /www/healthz && httpd -f -p 8080 -h /www"],
         "ports": [{"name": "http", "containerPort": 8080}],
         "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1},
         "livenessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1, "failureThreshold": 3}}
    async def body():
        async with harness() as h:
            await h.client.create("pods", pod_manifest("web", [c], nodeName=h.env.node_name,
                                                       terminationGracePeriodSeconds=1), "default")
            pod = await h.wait_pod("web", lambda p: ready(p) == "True", timeout=20)
            await asyncio.sleep(3)
            pod = await h.pod("web")
            assert cs(pod, "web")["restartCount"] == 0 and ready(pod) == "True"
    asyncio.run(body())
