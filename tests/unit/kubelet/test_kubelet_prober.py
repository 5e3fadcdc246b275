"""Probe workers: thresholds, initial delay, startup gating, on-hold after a liveness failure,
results seeded from the API after an agent restart, and the events."""

import asyncio

from kubelite.client import FakeClock
from kubelite.kubelet.prober.manager import LIVENESS, READINESS, STARTUP, ProbeManager, ProbeResult, Worker
from kubelite.kubelet.runtime.fake import FakeRuntime
from kubelite.kubelet.runtime.interface import ContainerConfig, ContainerImage, PodSandboxConfig
from kubelite.machinery.timeutil import rfc3339


class Env:
    def __init__(self):
        self.clock = FakeClock()
        self.runtime = FakeRuntime()
        self.flag = {"ok": True}
        self.runtime.handler = self._handler
        self.events = []
        self.changes = []
        self.status = {}
        self.pod = {"metadata": {"name": "p", "namespace": "d", "uid": "u1"},
                    "spec": {"restartPolicy": "Always", "containers": [{"name": "c"}]}}
        self.mgr = ProbeManager(self.runtime, lambda uid: (self.pod, self.status),
                                lambda pod, c, t, r, m: self.events.append((r, m)),
                                lambda uid, name, kind, result: self.changes.append((kind, result)), clock=self.clock)

    def _handler(self, argv):
        from kubelite.kubelet.runtime.fake import shell_handler

        if argv[:1] == ["check"]:
            return shell_handler(["sh", "-c", "exit 0" if self.flag["ok"] else "echo not ok >&2; exit 1"])
        return shell_handler(argv)

    async def start(self, started=True, attempt=0):
        sc = PodSandboxConfig(name="p", namespace="d", uid="u1", attempt=attempt)
        sid = await self.runtime.run_pod_sandbox(sc)
        cid = await self.runtime.create_container(sid, ContainerConfig(name="c", image=ContainerImage(config={}),
                                                                       command=["sleep", "100"], attempt=attempt), sc)
        await self.runtime.start_container(cid)
        self.status = {"phase": "Running", "podIP": "198.19.0.2", "containerStatuses": [
            {"name": "c", "containerID": "runc://" + cid, "started": started,
             "state": {"running": {"startedAt": rfc3339(self.clock.now())}}}]}
        return cid


def worker(kind, **probe):
    return Worker("u1", "c", kind, {"exec": {"command": ["check"]}, **probe})


def test_readiness_thresholds():
    async def body():
        e = Env()
        cid = await e.start()
        w = worker(READINESS, successThreshold=2, failureThreshold=2)
        assert await e.mgr._do_probe(w, due=True) == (True, True)
        assert e.mgr.result(cid, READINESS) == ProbeResult.FAILURE  # initial value; one success is not enough
        await e.mgr._do_probe(w, due=True)
        assert e.mgr.result(cid, READINESS) == ProbeResult.SUCCESS
        e.flag["ok"] = False
        await e.mgr._do_probe(w, due=True)
        assert e.mgr.result(cid, READINESS) == ProbeResult.SUCCESS
        await e.mgr._do_probe(w, due=True)
        assert e.mgr.result(cid, READINESS) == ProbeResult.FAILURE
        assert e.events == [("Unhealthy", "Readiness probe failed: not ok\n")] * 2
        assert (READINESS, ProbeResult.SUCCESS) in e.changes
    asyncio.run(body())


def test_initial_delay_and_startup_gating():
    async def body():
        e = Env()
        cid = await e.start(started=False)
        live = worker(LIVENESS, initialDelaySeconds=5)
        assert await e.mgr._do_probe(live, due=True) == (False, True)  # new container, within the delay
        e.clock.step(6)
        assert await e.mgr._do_probe(live, due=True) == (False, True)  # not started: liveness waits
        startup = worker(STARTUP)
        assert await e.mgr._do_probe(startup, due=True) == (True, True)
        assert e.mgr.result(cid, STARTUP) == ProbeResult.SUCCESS
        e.status["containerStatuses"][0]["started"] = True
        assert await e.mgr._do_probe(live, due=True) == (True, True)
        assert await e.mgr._do_probe(startup, due=True) == (False, True)  # startup is done
    asyncio.run(body())


def test_liveness_failure_holds_until_new_container():
    async def body():
        e = Env()
        cid = await e.start()
        w = worker(LIVENESS, failureThreshold=1)
        e.flag["ok"] = False
        await e.mgr._do_probe(w, due=True)
        assert e.mgr.result(cid, LIVENESS) == ProbeResult.FAILURE and w.on_hold
        assert e.mgr.probe_state("u1", {"c": cid}).liveness_failed == {cid}
        assert await e.mgr._do_probe(w, due=True) == (False, True)  # on hold
        e.flag["ok"] = True
        e.status["containerStatuses"][0]["containerID"] = "runc://" + cid  # same ID: still on hold
        assert await e.mgr._do_probe(w, due=True) == (False, True)
        new = await e.start(attempt=1)  # the kubelet replaced the container
        await e.mgr._do_probe(w, due=True)
        assert not w.on_hold and e.mgr.result(cid, LIVENESS) is None
        assert e.mgr.result(new, LIVENESS) == ProbeResult.SUCCESS
    asyncio.run(body())


def test_terminated_container_stops_worker_only_with_never():
    async def body():
        e = Env()
        await e.start()
        w = worker(READINESS)
        e.status["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 0}}
        assert await e.mgr._do_probe(w, due=True) == (False, True)
        e.pod["spec"]["restartPolicy"] = "Never"
        assert await e.mgr._do_probe(w, due=True) == (False, False)
        e.status["phase"] = "Succeeded"
        assert await e.mgr._do_probe(w, due=True) == (False, False)
    asyncio.run(body())


def test_results_seeded_from_the_api_survive_a_restart():
    async def body():
        e = Env()
        cid = await e.start()
        e.status["containerStatuses"][0]["ready"] = True
        pod = {**e.pod, "status": e.status}
        pod["spec"]["containers"][0]["readinessProbe"] = {"exec": {"command": ["check"]}}
        e.mgr.add_pod(pod)
        assert e.mgr.ready("u1", "c", cid, True) is True
        w = e.mgr._workers[("u1", "c", READINESS)]
        await e.mgr._do_probe(w, due=False)
        assert e.mgr.ready("u1", "c", cid, True) is True
        e.mgr.remove_pod("u1")
    asyncio.run(body())


def test_worker_loop_runs_on_the_period():
    async def body():
        e = Env()
        cid = await e.start()
        pod = e.pod
        pod["spec"]["containers"][0]["readinessProbe"] = {"exec": {"command": ["check"]}, "periodSeconds": 10}
        runner = asyncio.create_task(e.mgr.run())
        e.mgr.add_pod(pod)
        for _ in range(100):
            await asyncio.sleep(0)
        assert e.mgr.result(cid, READINESS) == ProbeResult.SUCCESS
        e.flag["ok"] = False
        e.clock.step(10)
        for _ in range(100):
            await asyncio.sleep(0)
        assert e.mgr.result(cid, READINESS) == ProbeResult.SUCCESS  # below the failure threshold (3)
        for _ in range(2):
            e.clock.step(10)
            for _ in range(100):
                await asyncio.sleep(0)
        assert e.mgr.result(cid, READINESS) == ProbeResult.FAILURE
        runner.cancel()
        try:
            await runner
        except asyncio.CancelledError:
            pass
    asyncio.run(body())
