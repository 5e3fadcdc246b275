"""Pod workers: one worker per UID, latest update wins, sync -> terminating -> terminated -> finished;
and the status manager: transition times kept, only changes written, terminal phases kept."""

import asyncio

from kubelite.client.testing import FakeAPIServer
from kubelite.kubelet.pod_workers import TERMINATED, PodWorkers
from kubelite.kubelet.status.manager import StatusManager
from kubelite.kubelet.sync import SyncOutcome
from kubelite.machinery.timeutil import rfc3339


class Syncer:
    def __init__(self):
        self.calls = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def sync_pod(self, pod):
        self.calls.append(("sync", pod["metadata"]["resourceVersion"]))
        await self.gate.wait()
        return SyncOutcome()

    async def sync_terminating_pod(self, pod, grace):
        self.calls.append(("terminating", grace))

    async def sync_terminated_pod(self, pod):
        self.calls.append(("terminated", pod["metadata"]["resourceVersion"]))

    async def kill_orphan(self, uid):
        self.calls.append(("orphan", uid))

    async def cleanup_pod(self, uid, pod):
        self.calls.append(("cleanup", uid))


def pod(rv, **md):
    return {"metadata": {"name": "p", "namespace": "d", "uid": "u1", "resourceVersion": str(rv), **md},
            "spec": {"terminationGracePeriodSeconds": 7}, "status": {"phase": "Running"}}


async def settle():
    for _ in range(50):
        await asyncio.sleep(0)


def test_latest_update_wins_and_lifecycle():
    async def body():
        s = Syncer()
        workers = PodWorkers(s)
        task = asyncio.create_task(workers.run())
        s.gate.clear()
        workers.update_pod(pod(1))
        await settle()
        for rv in (2, 3, 4):  # arrive while the first sync runs
            workers.update_pod(pod(rv))
        s.gate.set()
        await settle()
        assert s.calls == [("sync", "1"), ("sync", "4")]
        workers.update_pod(pod(5, deletionTimestamp=rfc3339(), deletionGracePeriodSeconds=3))
        await settle()
        assert s.calls[2:] == [("terminating", 3), ("terminated", "5")]
        assert workers.phase_of("u1") == TERMINATED
        workers.remove_pod(pod(5))
        await settle()
        assert s.calls[-1] == ("cleanup", "u1") and not workers.is_known("u1")
        workers.kill_orphan("u9")
        await settle()
        assert s.calls[-2:] == [("orphan", "u9"), ("cleanup", "u9")]
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
    asyncio.run(body())


def test_terminal_pod_is_terminated_not_synced():
    async def body():
        s = Syncer()
        workers = PodWorkers(s)
        task = asyncio.create_task(workers.run())
        p = pod(1)
        p["status"]["phase"] = "Succeeded"
        workers.update_pod(p)
        await settle()
        assert s.calls == [("terminating", 7), ("terminated", "1")]
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
    asyncio.run(body())


def test_status_manager_patches_changes_only():
    async def body():
        api = FakeAPIServer()
        client = api.client()
        created = await client.create("pods", {"metadata": {"name": "p", "namespace": "d"},
                                               "spec": {"containers": [{"name": "c", "image": "x"}]},
                                               "status": {"phase": "Pending"}}, "d")
        sm = StatusManager(client)
        status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                  "containerStatuses": [{"name": "c", "ready": True}]}
        assert sm.set_pod_status(created, status)
        uid = created["metadata"]["uid"]
        assert await sm.sync_pod(uid) and sm.writes == 1
        stored = api.get_object("pods", "p", "d")
        ltt = stored["status"]["conditions"][0]["lastTransitionTime"]
        assert stored["status"]["startTime"] and stored["status"]["phase"] == "Running"
        assert not sm.set_pod_status(stored, status)  # nothing new
        assert await sm.sync_pod(uid) and sm.writes == 1
        sm.clock = type("C", (), {"now": staticmethod(lambda: __import__("datetime").datetime(2030, 1, 1,
                                  tzinfo=__import__("datetime").timezone.utc))})()
        status2 = {**status, "containerStatuses": [{"name": "c", "ready": True, "restartCount": 1}]}
        sm.set_pod_status(stored, status2)
        await sm.sync_pod(uid)
        stored = api.get_object("pods", "p", "d")
        assert stored["status"]["conditions"][0]["lastTransitionTime"] == ltt  # same status: time kept
        sm.set_pod_status(stored, {**status2, "conditions": [{"type": "Ready", "status": "False"}]})
        await sm.sync_pod(uid)
        stored = api.get_object("pods", "p", "d")
        assert stored["status"]["conditions"][0]["lastTransitionTime"] == "2030-01-01T00:00:00Z"
        sm.set_pod_status(stored, {**status2, "phase": "Succeeded"})
        sm.set_pod_status(stored, {**status2, "phase": "Running"})
        assert sm.status_of(uid)["phase"] == "Succeeded"  # never back from a terminal phase
        await sm.delete_pod(stored)
        assert api.get_object("pods", "p", "d") is None
    asyncio.run(body())
