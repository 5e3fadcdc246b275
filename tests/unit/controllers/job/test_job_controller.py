import asyncio

import pytest

from kubelite.controllers.job import JobController
from kubelite.controllers.job.indexed import format_indexes, parse_indexes
from kubelite.controllers.job.policy import BackoffRecord
from kubelite.machinery.timeutil import rfc3339

KEY = "default/pi"
FINALIZER = "batch.kubernetes.io/job-tracking"


def job(**spec):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "c", "image": "busybox"}]}}, **spec}}


def pods(h):
    return sorted(h.objects("pods"), key=lambda p: p["metadata"]["name"])


def status(h):
    return h.get("jobs.batch", "pi", "default").get("status") or {}


def conditions(h):
    return {c["type"]: (c["status"], c.get("reason"), c.get("message")) for c in status(h).get("conditions") or []}


async def finish(h, pod, phase="Succeeded", exit_code=0):
    pod = h.get("pods", pod["metadata"]["name"], "default")
    now = rfc3339(h.clock.now())
    pod["status"] = {"phase": phase, "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": exit_code, "finishedAt": now}}}]}
    await h.update_status("pods", pod)


async def sync_until_quiet(h, times=4):
    for _ in range(times):
        await h.sync(KEY)


def test_completions_with_parallelism(harness):
    async def main():
        async with harness(JobController) as h:
            await h.create("jobs.batch", job(completions=3, parallelism=2))
            await h.sync(KEY)
            ps = pods(h)
            assert len(ps) == 2
            p = ps[0]
            assert p["metadata"]["finalizers"] == [FINALIZER]
            assert p["metadata"]["generateName"] == "pi-"
            uid = h.get("jobs.batch", "pi", "default")["metadata"]["uid"]
            assert p["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] == uid
            assert p["metadata"]["labels"]["job-name"] == "pi"
            assert status(h)["active"] == 2 and status(h)["startTime"]
            await h.sync(KEY)
            assert len(pods(h)) == 2                         # idempotent

            await finish(h, ps[0])
            await h.sync(KEY)
            st = status(h)
            assert st["succeeded"] == 1 and not st.get("uncountedTerminatedPods")
            assert h.get("pods", ps[0]["metadata"]["name"], "default")["metadata"].get("finalizers") in (None, [])
            assert len([q for q in pods(h) if q.get("status", {}).get("phase") != "Succeeded"]) == 2

            for q in pods(h):
                if (q.get("status") or {}).get("phase") != "Succeeded":
                    await finish(h, q)
            await sync_until_quiet(h)
            st = status(h)
            assert st["succeeded"] == 3 and st["active"] == 0
            assert conditions(h)["SuccessCriteriaMet"] == ("True", "CompletionsReached",
                                                           "Reached expected number of succeeded pods")
            assert conditions(h)["Complete"][0] == "True"
            assert st["completionTime"]
            assert h.messages("Completed") == ["Job completed"]
            assert all(not q["metadata"].get("finalizers") for q in pods(h))
            assert h.reasons().count("SuccessfulCreate") == 3

    asyncio.run(main())


def test_backoff_between_retries_and_backoff_limit(harness):
    async def main():
        async with harness(JobController) as h:
            await h.create("jobs.batch", job(backoffLimit=2))
            await h.sync(KEY)
            await finish(h, pods(h)[0], "Failed", 1)
            await h.sync(KEY)
            assert status(h)["failed"] == 1
            assert len(pods(h)) == 1                         # no replacement during the 10 s backoff
            assert h.delay_of(KEY) == pytest.approx(10.0)
            h.step(10)
            await h.sync(KEY)
            assert len(pods(h)) == 2
            await finish(h, [p for p in pods(h) if not p.get("status")][0], "Failed", 1)
            await h.sync(KEY)
            assert h.delay_of(KEY) == pytest.approx(20.0)   # doubled
            h.step(20)
            await h.sync(KEY)
            await finish(h, [p for p in pods(h) if not p.get("status")][0], "Failed", 1)
            await sync_until_quiet(h)
            st = status(h)
            assert st["failed"] == 3
            assert conditions(h)["FailureTarget"] == ("True", "BackoffLimitExceeded",
                                                      "Job has reached the specified backoff limit")
            assert conditions(h)["Failed"][1] == "BackoffLimitExceeded"
            assert "completionTime" not in st
            assert ("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit", "pi") \
                in h.recorder.events

    asyncio.run(main())


def test_active_deadline(harness):
    async def main():
        async with harness(JobController) as h:
            await h.create("jobs.batch", job(activeDeadlineSeconds=30, parallelism=2, completions=4))
            await h.sync(KEY)
            assert len(pods(h)) == 2
            assert h.delay_of(KEY) == pytest.approx(30.0)
            h.step(31)
            await sync_until_quiet(h)
            assert pods(h) == []
            assert conditions(h)["Failed"] == ("True", "DeadlineExceeded",
                                               "Job was active longer than specified deadline")
            assert status(h)["failed"] == 2 and status(h)["active"] == 0

    asyncio.run(main())


def test_indexed_completion(harness):
    async def main():
        async with harness(JobController) as h:
            await h.create("jobs.batch", job(completions=3, parallelism=2, completionMode="Indexed"))
            await h.sync(KEY)
            ps = pods(h)
            by_index = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p for p in ps}
            assert sorted(by_index) == ["0", "1"]
            p1 = by_index["1"]
            assert p1["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == "1"
            assert p1["metadata"]["generateName"] == "pi-1-" and p1["spec"]["hostname"] == "pi-1"
            env = p1["spec"]["containers"][0]["env"][0]
            assert env["name"] == "JOB_COMPLETION_INDEX"
            assert "job-completion-index" in env["valueFrom"]["fieldRef"]["fieldPath"]

            await finish(h, p1)
            await h.sync(KEY)
            assert status(h)["completedIndexes"] == "1" and status(h)["succeeded"] == 1
            indexes = sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                             for p in pods(h) if not p.get("status"))
            assert indexes == ["0", "2"]                     # the lowest pending index replaces it

            # A failed index is retried with a new pod for the same index.
            await finish(h, by_index["0"], "Failed", 1)
            await h.sync(KEY)
            h.step(10)
            await h.sync(KEY)
            for p in pods(h):
                if not p.get("status"):
                    await finish(h, p)
            await sync_until_quiet(h)
            assert status(h)["completedIndexes"] == "0-2"
            assert conditions(h)["Complete"][0] == "True"

    asyncio.run(main())


def test_suspend_and_resume(harness):
    async def main():
        async with harness(JobController) as h:
            await h.create("jobs.batch", job(suspend=True, parallelism=2, completions=2))
            await h.sync(KEY)
            assert pods(h) == []
            assert conditions(h)["Suspended"] == ("True", "JobSuspended", "Job suspended")
            assert "startTime" not in status(h)
            await h.patch("jobs.batch", "pi", {"spec": {"suspend": False}}, "default")
            await h.sync(KEY)
            assert len(pods(h)) == 2
            assert conditions(h)["Suspended"] == ("False", "JobResumed", "Job resumed")
            assert status(h)["startTime"]
            await h.patch("jobs.batch", "pi", {"spec": {"suspend": True}}, "default")
            await h.sync(KEY)
            assert pods(h) == []
            assert h.reasons().count("SuccessfulDelete") == 2 and "Suspended" in h.reasons()

    asyncio.run(main())


def test_pod_failure_policy(harness):
    pfp = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [137]}},
                     {"action": "FailJob", "onExitCodes": {"containerName": "c", "operator": "In", "values": [42]}}]}

    async def main():
        async with harness(JobController) as h:
            await h.create("jobs.batch", job(podFailurePolicy=pfp, backoffLimit=0))
            await h.sync(KEY)
            await finish(h, pods(h)[0], "Failed", 137)      # ignored: not counted, replaced
            await h.sync(KEY)
            assert status(h).get("failed", 0) == 0
            h.step(10)
            await h.sync(KEY)
            fresh = [p for p in pods(h) if not p.get("status")]
            assert len(fresh) == 1
            await finish(h, fresh[0], "Failed", 42)
            await sync_until_quiet(h)
            name = fresh[0]["metadata"]["name"]
            assert conditions(h)["Failed"] == (
                "True", "PodFailurePolicy",
                f"Container c for pod default/{name} failed with exit code 42 matching FailJob rule at index 1")

    asyncio.run(main())


def test_finalizers_released_when_the_job_is_deleted(harness):
    async def main():
        async with harness(JobController) as h:
            await h.create("jobs.batch", job())
            await h.sync(KEY)
            name = pods(h)[0]["metadata"]["name"]
            await h.delete("jobs.batch", "pi", "default")
            key = h.queued(h.controller.orphan_queue)
            assert key == [f"default/{name}"]
            await h.controller.sync_orphan_pod(key[0])
            await h.settle()
            assert not h.get("pods", name, "default")["metadata"].get("finalizers")

    asyncio.run(main())


def test_indexes_round_trip():
    assert format_indexes({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert parse_indexes("0-2,5,7-8", 8) == {0, 1, 2, 5, 7}
    assert format_indexes(set()) == ""


def test_backoff_record():
    from datetime import datetime, timedelta, timezone
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)

    def pod(at, phase):
        return {"metadata": {"name": "p"}, "status": {"phase": phase, "containerStatuses": [
            {"state": {"terminated": {"finishedAt": rfc3339(at)}}}]}}

    r = BackoffRecord().with_new_pods([], [pod(t0, "Failed")])
    assert r.remaining(t0) == 10
    r = r.with_new_pods([], [pod(t0, "Failed"), pod(t0, "Failed")])
    assert r.remaining(t0 + timedelta(seconds=5)) == 35
    assert r.with_new_pods([pod(t0 + timedelta(seconds=1), "Succeeded")], []).remaining(t0) == 0
    big = BackoffRecord(20, t0)
    assert big.remaining(t0) == 600
