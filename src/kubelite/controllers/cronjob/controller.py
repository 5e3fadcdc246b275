"""`CronJobController`: Jobs on a cron schedule (Kubernetes' cronjob controller v2).

A sync (`sync_cronjob(key)`):

1. reconcile `status.active` with the Jobs the CronJob controls (finished ones leave it,
   `SawCompletedJob`; vanished ones leave it, `MissingJob`; unknown running ones are reported,
   `UnexpectedJob`) and advance `lastSuccessfulTime`;
2. unless deleted, suspended, or its time zone or schedule is invalid (a Warning event, no
   retry until the spec changes), find the most recent unmet activation: too late for
   `startingDeadlineSeconds` is `MissSchedule`; `Forbid` skips it while a Job runs
   (`JobAlreadyActive`); `Replace` deletes the running Jobs first;
3. create the Job `<cronjob>-<scheduled minutes since the epoch>` from the template (the name
   makes a second creation for the same activation fail), record it in `status.active` and
   `lastScheduleTime`;
4. delete finished Jobs beyond `successfulJobsHistoryLimit`/`failedJobsHistoryLimit`, write the
   status through `/status`, and come back at the next activation.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime

from kubelite.api.validation.cron import CronError
from kubelite.client import split_meta_namespace_key
from kubelite.client.informers import meta_namespace_key
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.errors import StatusError, is_already_exists, is_not_found
from kubelite.machinery.timeutil import parse_time, rfc3339

from .schedule import (
    MANY_MISSED,
    UnknownTimeZone,
    job_name,
    load_location,
    most_recent_schedule_time,
    next_schedule_delay,
    parse_schedule,
)

log = logging.getLogger(__name__)

SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def _controller_uid(obj: dict) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def finished_condition(job: dict) -> str | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return c["type"]
    return None


def format_schedule(cj: dict) -> str:
    spec = cj.get("spec") or {}
    schedule, tz = spec.get("schedule") or "", spec.get("timeZone")
    if "TZ" in schedule or tz is None:
        return schedule
    return f"TZ={tz} {schedule}"


def _rfc3339_in(t: datetime, tz_name: str | None) -> str:
    local = t.astimezone(load_location(tz_name or ""))
    offset = local.strftime("%z")
    suffix = "Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + suffix


def job_from_template(cj: dict, scheduled: datetime) -> dict:
    template = copy.deepcopy((cj.get("spec") or {}).get("jobTemplate") or {})
    tmeta = template.get("metadata") or {}
    md = cj["metadata"]
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = _rfc3339_in(scheduled, (cj.get("spec") or {}).get("timeZone"))
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": job_name(cj, scheduled), "namespace": md["namespace"],
                         "labels": dict(tmeta.get("labels") or {}), "annotations": annotations,
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": md["name"],
                                              "uid": md["uid"], "controller": True, "blockOwnerDeletion": True}]},
            "spec": template.get("spec") or {}}


def _job_ref(job: dict) -> dict:
    md = job["metadata"]
    return {"kind": "Job", "namespace": md["namespace"], "name": md["name"], "uid": md["uid"],
            "apiVersion": "batch/v1", "resourceVersion": md.get("resourceVersion", "")}


def _start_key(job: dict) -> tuple:
    st = (job.get("status") or {}).get("startTime")
    return (st is None, st or "", job["metadata"].get("creationTimestamp") or "", job["metadata"]["name"])


class CronJobController(Controller):
    name = "cronjob-controller"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        self.cronjobs = ctx.informers.informer_for("cronjobs.batch")
        self.jobs = ctx.informers.informer_for("jobs.batch")
        self.cj_lister = self.cronjobs.lister()
        self.job_lister = self.jobs.lister()
        self.cronjobs.add_event_handler(self.enqueue, self.update_cronjob, None)
        self.jobs.add_event_handler(self.enqueue_owner, lambda old, new: self.enqueue_owner(new), self.enqueue_owner)

    # ----- handlers

    def update_cronjob(self, old: dict, new: dict) -> None:
        """A changed schedule or time zone takes effect now, not at the previously planned time."""
        os_, ns_ = old.get("spec") or {}, new.get("spec") or {}
        if (os_.get("schedule"), os_.get("timeZone")) != (ns_.get("schedule"), ns_.get("timeZone")):
            try:
                delay = next_schedule_delay(new, self.clock.now(), parse_schedule(format_schedule(new)))
            except (CronError, UnknownTimeZone):
                delay = None
            self.queue.forget(meta_namespace_key(new))
            self.enqueue_after(new, delay if delay is not None else 0)
        self.enqueue(new)

    def enqueue_owner(self, job: dict) -> None:
        for ref in job["metadata"].get("ownerReferences") or []:
            if ref.get("controller") and ref.get("kind") == "CronJob":
                self.enqueue(f"{job['metadata']['namespace']}/{ref['name']}")

    # ----- sync

    async def sync(self, key: str) -> None:
        await self.sync_cronjob(key)

    async def sync_cronjob(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        try:
            cached = self.cj_lister.get(name, ns)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        cj = copy.deepcopy(cached)
        cj.setdefault("status", {})
        jobs = [j for j in self.job_lister.list(ns) if _controller_uid(j) == cj["metadata"]["uid"]]
        now = self.clock.now()
        delay, changed = await self.reconcile(cj, jobs, now)
        if delay is not None:
            self.enqueue_after(key, delay)
        changed = await self.cleanup_finished_jobs(cj, jobs) or changed
        if changed:
            await self.client.update_status("cronjobs.batch", cj)

    async def reconcile(self, cj: dict, jobs: list[dict], now: datetime) -> tuple[float | None, bool]:
        """Bring `cj["status"]` up to date and start a Job if one is due; `(requeue after, changed)`."""
        changed = await self.sync_active(cj, jobs)
        delay, started = await self.start_due_job(cj, now)
        return delay, changed or started

    async def sync_active(self, cj: dict, jobs: list[dict]) -> bool:
        """Reconcile `status.active` and `lastSuccessfulTime` with the Jobs the CronJob controls."""
        status = cj["status"]
        changed = False
        active = list(status.get("active") or [])
        active_uids = {r.get("uid") for r in active}
        children = set()
        for job in jobs:
            uid = job["metadata"]["uid"]
            children.add(uid)
            finished = finished_condition(job)
            if uid not in active_uids and finished is None:
                md = cj["metadata"]
                fresh = await self.client.get("cronjobs.batch", md["name"], md["namespace"])
                if uid not in {r.get("uid") for r in (fresh.get("status") or {}).get("active") or []}:
                    self.event(cj, "Warning", "UnexpectedJob",
                               f"Saw a job that the controller did not create or forgot: {job['metadata']['name']}")
            elif uid in active_uids and finished is not None:
                active = [r for r in active if r.get("uid") != uid]
                self.event(cj, "Normal", "SawCompletedJob",
                           f"Saw completed job: {job['metadata']['name']}, condition: {finished}")
                changed = True
            if finished == "Complete":
                done = (job.get("status") or {}).get("completionTime")
                last = status.get("lastSuccessfulTime")
                if done and (last is None or parse_time(done) > parse_time(last)):
                    status["lastSuccessfulTime"] = done
                    changed = True
        for ref in list(active):
            if ref.get("uid") in children:
                continue
            try:
                await self.client.get("jobs.batch", ref["name"], ref.get("namespace") or cj["metadata"]["namespace"])
            except StatusError as e:
                if not is_not_found(e):
                    raise
                self.event(cj, "Normal", "MissingJob", f"Active job went missing: {ref['name']}")
                active = [r for r in active if r.get("uid") != ref.get("uid")]
                changed = True
        status["active"] = active
        if not active:
            status.pop("active")
        return changed

    async def start_due_job(self, cj: dict, now: datetime) -> tuple[float | None, bool]:
        """Start the Job of the most recent unmet activation, if allowed; `(requeue after, started)`."""
        status = cj["status"]
        active = list(status.get("active") or [])
        changed = False
        spec = cj.get("spec") or {}
        if cj["metadata"].get("deletionTimestamp"):
            return None, changed
        tz = spec.get("timeZone")
        if tz is not None:
            try:
                load_location(tz)
            except UnknownTimeZone as e:
                self.event(cj, "Warning", "UnknownTimeZone", f'invalid timeZone: "{tz}": {e}')
                return None, changed
        if spec.get("suspend"):
            return None, changed
        if "TZ" in (spec.get("schedule") or ""):
            self.event(cj, "Warning", "UnsupportedSchedule",
                       f'CRON_TZ or TZ used in schedule "{spec.get("schedule")}" is not officially supported, see '
                       "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details")
        try:
            sched = parse_schedule(format_schedule(cj))
        except CronError as e:
            self.event(cj, "Warning", "UnparseableSchedule", f'unparseable schedule: "{spec.get("schedule")}" : {e}')
            return None, changed
        try:
            _, scheduled, missed = most_recent_schedule_time(cj, now, sched, True)
        except ValueError as e:
            self.event(cj, "Warning", "InvalidSchedule", f"invalid schedule: {spec.get('schedule')} : {e}")
            return None, changed
        if missed > MANY_MISSED:
            self.event(cj, "Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease "
                                                            ".spec.startingDeadlineSeconds or check clock skew")

        def later() -> float | None:
            return next_schedule_delay(cj, now, sched)

        if scheduled is None or scheduled > now:
            return later(), changed
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and (now - scheduled).total_seconds() > int(deadline):
            self.event(cj, "Warning", "MissSchedule", "Missed scheduled time to start a job: "
                       + scheduled.strftime("%a, %d %b %Y %H:%M:%S +0000"))
            return later(), changed
        name = job_name(cj, scheduled)
        last = parse_time(status.get("lastScheduleTime"))
        if any(r.get("name") == name for r in active) or last == scheduled:
            return later(), changed
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and active:
            self.event(cj, "Normal", "JobAlreadyActive",
                       "Not starting job because prior execution is running and concurrency policy is Forbid")
            return later(), changed
        if policy == "Replace":
            for ref in list(active):
                await self.delete_job(cj, ref["name"])
                active = [r for r in active if r.get("uid") != ref.get("uid")]
                changed = True
        body = job_from_template(cj, scheduled)
        try:
            job = await self.client.create("jobs.batch", body, cj["metadata"]["namespace"])
            self.event(cj, "Normal", "SuccessfulCreate", f"Created job {job['metadata']['name']}")
        except StatusError as e:
            if any(c.get("reason") == "NamespaceTerminating" for c in (e.details or {}).get("causes") or []):
                raise
            if not is_already_exists(e):
                self.event(cj, "Warning", "FailedCreate", f"Error creating job: {e}")
                raise
            job = await self.client.get("jobs.batch", name, cj["metadata"]["namespace"])
            if _controller_uid(job) != cj["metadata"]["uid"] or job["metadata"]["uid"] in {r.get("uid")
                                                                                           for r in active}:
                if active:
                    status["active"] = active
                else:
                    status.pop("active", None)
                return later(), changed
        active.append(_job_ref(job))
        status["active"] = active
        status["lastScheduleTime"] = rfc3339(scheduled)
        return later(), True

    async def delete_job(self, cj: dict, name: str) -> bool:
        try:
            await self.client.delete("jobs.batch", name, cj["metadata"]["namespace"], propagation_policy="Background")
        except StatusError as e:
            if is_not_found(e):
                return True
            self.event(cj, "Warning", "FailedDelete", f"Deleted job: {e}")
            return False
        self.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {name}")
        return True

    async def cleanup_finished_jobs(self, cj: dict, jobs: list[dict]) -> bool:
        """Delete the oldest finished Jobs beyond the history limits (defaults 3 and 1)."""
        spec = cj.get("spec") or {}
        succeeded_limit = spec.get("successfulJobsHistoryLimit")
        failed_limit = spec.get("failedJobsHistoryLimit")
        succeeded_limit = 3 if succeeded_limit is None else int(succeeded_limit)
        failed_limit = 1 if failed_limit is None else int(failed_limit)
        changed = False
        for kind, limit in (("Complete", succeeded_limit), ("Failed", failed_limit)):
            done = sorted((j for j in jobs if finished_condition(j) == kind), key=_start_key)
            for job in done[:max(0, len(done) - limit)]:
                if await self.delete_job(cj, job["metadata"]["name"]):
                    uid = job["metadata"]["uid"]
                    active = [r for r in (cj["status"].get("active") or []) if r.get("uid") != uid]
                    if len(active) != len(cj["status"].get("active") or []):
                        cj["status"]["active"] = active
                    changed = True
        return changed
