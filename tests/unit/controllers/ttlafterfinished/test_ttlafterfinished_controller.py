import asyncio

import pytest

from kubelite.controllers.ttlafterfinished import TTLAfterFinishedController
from kubelite.machinery.timeutil import rfc3339

KEY = "default/pi"


def job(ttl=60, finished_at=None, type_="Complete"):
    j = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default"},
         "spec": {"ttlSecondsAfterFinished": ttl, "template": {}}}
    if finished_at:
        j["status"] = {"conditions": [{"type": type_, "status": "True", "lastTransitionTime": finished_at}]}
    return j


def test_deletes_finished_jobs_after_their_ttl(harness):
    async def main():
        async with harness(TTLAfterFinishedController) as h:
            deleted = []
            h.api.prepend_reactor(lambda req: deleted.append(req.json()) if req.method == "DELETE" else None)
            await h.create("jobs.batch", job(60))
            await h.sync(KEY)
            assert h.get("jobs.batch", "pi", "default") is not None and h.delay_of(KEY) is None
            j = h.get("jobs.batch", "pi", "default")
            j["status"] = {"conditions": [{"type": "Failed", "status": "True",
                                           "lastTransitionTime": rfc3339(h.clock.now())}]}
            await h.update_status("jobs.batch", j)
            await h.sync(KEY)
            assert h.delay_of(KEY) == pytest.approx(60)
            h.step(60)
            await h.sync(KEY)
            assert h.get("jobs.batch", "pi", "default") is None
            assert deleted[0]["propagationPolicy"] == "Foreground"
            assert deleted[0]["preconditions"]["uid"] == j["metadata"]["uid"]

    asyncio.run(main())


def test_jobs_without_ttl_stay(harness):
    async def main():
        async with harness(TTLAfterFinishedController) as h:
            j = job(None, "2024-01-01T00:00:00Z")
            del j["spec"]["ttlSecondsAfterFinished"]
            await h.create("jobs.batch", j)
            await h.sync(KEY)
            assert h.get("jobs.batch", "pi", "default") is not None

    asyncio.run(main())
