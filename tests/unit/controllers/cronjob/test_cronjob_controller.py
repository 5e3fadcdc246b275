import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from kubelite.api.validation.cron import CronError
from kubelite.controllers.cronjob import CronJobController
from kubelite.controllers.cronjob.schedule import most_recent_schedule_time, parse_schedule
from kubelite.machinery.timeutil import rfc3339

UTC = timezone.utc
KEY = "default/backup"
T0 = datetime(2025, 1, 1, tzinfo=UTC)       # the FakeClock's start (a Wednesday)


def at(s):
    return datetime.fromisoformat(s)


@pytest.mark.parametrize("spec,after,want", [
    ("*/15 * * * *", "2025-03-08T12:07:00+00:00", "2025-03-08T12:15:00+00:00"),
    ("*/15 * * * *", "2025-03-08T12:15:00+00:00", "2025-03-08T12:30:00+00:00"),
    ("5-10/5 3 * * *", "2025-03-08T03:06:00+00:00", "2025-03-08T03:10:00+00:00"),
    ("0 9 * * mon-fri", "2025-03-08T12:00:00+00:00", "2025-03-10T09:00:00+00:00"),
    ("0 0 1 jan,jul *", "2025-03-08T12:00:00+00:00", "2025-07-01T00:00:00+00:00"),
    ("0 0 13 * fri", "2025-03-08T12:00:00+00:00", "2025-03-13T00:00:00+00:00"),     # day-of-month OR weekday
    ("0 0 */2 * fri", "2025-03-08T12:00:00+00:00", "2025-03-09T00:00:00+00:00"),
    ("@hourly", "2025-03-08T12:00:00+00:00", "2025-03-08T13:00:00+00:00"),
    ("@weekly", "2025-03-08T12:00:00+00:00", "2025-03-09T00:00:00+00:00"),
    ("@yearly", "2025-03-08T12:00:00+00:00", "2026-01-01T00:00:00+00:00"),
    ("0 0 29 2 *", "2025-03-08T12:00:00+00:00", "2028-02-29T00:00:00+00:00"),
    ("@every 90s", "2025-03-08T12:00:00.5+00:00", "2025-03-08T12:01:30+00:00"),
    ("TZ=Europe/Berlin 0 9 * * *", "2025-03-08T12:00:00+00:00", "2025-03-09T08:00:00+00:00"),
    ("CRON_TZ=Asia/Tokyo 0 9 * * *", "2025-03-08T12:00:00+00:00", "2025-03-09T00:00:00+00:00"),
    # New York springs forward on 2025-03-09: 02:30 does not exist that day and is skipped.
    ("TZ=America/New_York 30 2 * * *", "2025-03-08T12:00:00+00:00", "2025-03-10T06:30:00+00:00"),
    # ... and falls back on 2025-11-02: 01:30 happens once (the first, EDT).
    ("TZ=America/New_York 30 1 * * *", "2025-11-02T04:00:00+00:00", "2025-11-02T05:30:00+00:00"),
    ("0 0 30 2 *", "2025-03-08T12:00:00+00:00", None),
])
def test_next_activation(spec, after, want):
    got = parse_schedule(spec).next(at(after))
    assert (got.astimezone(UTC).isoformat() if got else None) == want


@pytest.mark.parametrize("spec,message", [
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("61 * * * *", "end of range (61) above maximum (59): 61"),
    ("@sometimes", "unrecognized descriptor: @sometimes"),
    ("TZ=Mars/Olympus 0 * * * *", "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"),
])
def test_invalid_schedules(spec, message):
    with pytest.raises(CronError) as e:
        parse_schedule(spec)
    assert str(e.value) == message


def test_most_recent_missed_activation():
    sched = parse_schedule("0 * * * *")
    cj = {"metadata": {"creationTimestamp": "2025-01-01T00:00:00Z"}, "spec": {}, "status": {}}
    _, recent, missed = most_recent_schedule_time(cj, at("2025-01-01T05:30:00+00:00"), sched, True)
    assert recent == at("2025-01-01T05:00:00+00:00") and missed == 5
    cj["spec"]["startingDeadlineSeconds"] = 600
    _, recent, missed = most_recent_schedule_time(cj, at("2025-01-01T05:30:00+00:00"), sched, True)
    assert recent is None and missed == 0


def cronjob(schedule="*/5 * * * *", **spec):
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "backup", "namespace": "default"},
            "spec": {"schedule": schedule, "jobTemplate": {
                "metadata": {"labels": {"app": "backup"}},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                                               "containers": [{"name": "c", "image": "busybox"}]}}}}, **spec}}


def jobs(h):
    return sorted(h.objects("jobs.batch"), key=lambda j: j["metadata"]["name"])


async def finish(h, job, type_="Complete"):
    job["status"] = {"conditions": [{"type": type_, "status": "True"}], "startTime": rfc3339(h.clock.now()),
                     **({"completionTime": rfc3339(h.clock.now())} if type_ == "Complete" else {})}
    await h.update_status("jobs.batch", job)


def test_creates_jobs_on_schedule(harness):
    async def main():
        async with harness(CronJobController) as h:
            await h.create("cronjobs.batch", cronjob())
            await h.sync(KEY)
            assert jobs(h) == []
            assert h.delay_of(KEY) == pytest.approx(300.1)
            h.step(301)
            await h.sync(KEY)
            [job] = jobs(h)
            scheduled = T0 + timedelta(minutes=5)
            assert job["metadata"]["name"] == f"backup-{int(scheduled.timestamp()) // 60}"
            assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == \
                "2025-01-01T00:05:00Z"
            assert job["metadata"]["labels"] == {"app": "backup"}
            assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
            cj = h.get("cronjobs.batch", "backup", "default")
            assert cj["status"]["lastScheduleTime"] == "2025-01-01T00:05:00Z"
            assert [r["name"] for r in cj["status"]["active"]] == [job["metadata"]["name"]]
            assert h.messages("SuccessfulCreate") == [f"Created job {job['metadata']['name']}"]
            assert h.delay_of(KEY) == pytest.approx(299.1)
            await h.sync(KEY)                                  # the same activation is not run twice
            assert len(jobs(h)) == 1

            await finish(h, job)
            await h.sync(KEY)
            cj = h.get("cronjobs.batch", "backup", "default")
            assert "active" not in cj["status"]
            assert cj["status"]["lastSuccessfulTime"] == rfc3339(h.clock.now())
            assert h.messages("SawCompletedJob") == [f"Saw completed job: {job['metadata']['name']}, "
                                                     "condition: Complete"]

    asyncio.run(main())


def test_time_zone_is_used_for_activations_and_the_annotation(harness):
    async def main():
        async with harness(CronJobController) as h:
            await h.create("cronjobs.batch", cronjob("0 2 * * *", timeZone="Europe/Paris"))
            h.step(3600)                                       # 02:00 in Paris is 01:00 UTC
            await h.sync(KEY)
            [job] = jobs(h)
            assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == \
                "2025-01-01T02:00:00+01:00"
            assert h.get("cronjobs.batch", "backup", "default")["status"]["lastScheduleTime"] == "2025-01-01T01:00:00Z"

    asyncio.run(main())


@pytest.mark.parametrize("policy", ["Allow", "Forbid", "Replace"])
def test_concurrency_policies(harness, policy):
    async def main():
        async with harness(CronJobController) as h:
            await h.create("cronjobs.batch", cronjob("* * * * *", concurrencyPolicy=policy))
            h.step(60)
            await h.sync(KEY)
            first = jobs(h)[0]["metadata"]["name"]
            h.step(60)
            await h.sync(KEY)
            names = [j["metadata"]["name"] for j in jobs(h)]
            active = [r["name"] for r in h.get("cronjobs.batch", "backup", "default")["status"]["active"]]
            if policy == "Allow":
                assert len(names) == 2 and active == names
            elif policy == "Forbid":
                assert names == [first] and active == [first]
                assert h.messages("JobAlreadyActive") == [
                    "Not starting job because prior execution is running and concurrency policy is Forbid"]
            else:
                assert len(names) == 1 and names[0] != first and active == names
                assert h.messages("SuccessfulDelete") == [f"Deleted job {first}"]

    asyncio.run(main())


def test_starting_deadline_misses_late_activations(harness):
    async def main():
        async with harness(CronJobController) as h:
            await h.create("cronjobs.batch", cronjob("0 * * * *", startingDeadlineSeconds=100))
            h.step(3600 + 200)
            await h.sync(KEY)
            assert jobs(h) == []
            h.step(3600 - 200 + 50)
            await h.sync(KEY)
            assert len(jobs(h)) == 1

    asyncio.run(main())


def test_history_limits(harness):
    async def main():
        async with harness(CronJobController) as h:
            await h.create("cronjobs.batch", cronjob("* * * * *", successfulJobsHistoryLimit=1,
                                                     failedJobsHistoryLimit=0))
            for type_ in ("Complete", "Complete", "Failed"):
                h.step(60)
                await h.sync(KEY)
                job = [j for j in jobs(h) if not j.get("status")][0]
                await finish(h, job, type_)
            await h.sync(KEY)
            left = jobs(h)
            assert len(left) == 1 and left[0]["status"]["conditions"][0]["type"] == "Complete"
            assert h.reasons().count("SuccessfulDelete") == 2

    asyncio.run(main())


@pytest.mark.parametrize("spec,reason,message", [
    ({"schedule": "every tuesday"}, "UnparseableSchedule",
     'unparseable schedule: "every tuesday" : expected exactly 5 fields, found 2: [every tuesday]'),
    ({"timeZone": "Mars/Olympus"}, "UnknownTimeZone",
     'invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus'),
])
def test_invalid_spec_is_reported_not_retried(harness, spec, reason, message):
    async def main():
        async with harness(CronJobController) as h:
            await h.create("cronjobs.batch", {**cronjob(), "spec": {**cronjob()["spec"], **spec}})
            h.step(600)
            await h.sync(KEY)
            assert jobs(h) == []
            assert h.recorder.events == [("Warning", reason, message, "backup")]
            assert h.delay_of(KEY) is None

    asyncio.run(main())


def test_suspended_cronjob_starts_nothing(harness):
    async def main():
        async with harness(CronJobController) as h:
            await h.create("cronjobs.batch", cronjob(suspend=True))
            h.step(600)
            await h.sync(KEY)
            assert jobs(h) == []

    asyncio.run(main())
