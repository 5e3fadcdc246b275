"""Printers for batch/v1: Job and CronJob."""

from __future__ import annotations

from datetime import datetime

from .columns import AGE, CONTAINERS, IMAGES, NAME, SELECTOR, Column, Printer
from .format import (NONE, age, bool_ptr, container_cells, created, format_label_selector, human_duration, meta,
                     parse_time, template_containers)

JOB_COLUMNS = (
    NAME,
    Column("Status", "string", "Complete, Failed, Terminating, Suspended, FailureTarget or Running."),
    Column("Completions", "string", "Succeeded pods out of the completions wanted."),
    Column("Duration", "string", "How long the job ran, or has been running."),
    AGE, CONTAINERS, IMAGES, SELECTOR,
)


def _condition_true(status: dict, type_: str) -> bool:
    """The first condition of the type decides."""
    for cond in status.get("conditions") or []:
        if cond.get("type") == type_:
            return cond.get("status") == "True"
    return False


def job_status(job: dict) -> str:
    status = job.get("status") or {}
    if _condition_true(status, "Complete"):
        return "Complete"
    if _condition_true(status, "Failed"):
        return "Failed"
    if meta(job).get("deletionTimestamp"):
        return "Terminating"
    if _condition_true(status, "Suspended"):
        return "Suspended"
    if _condition_true(status, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def job_completions(job: dict) -> str:
    spec = job.get("spec") or {}
    succeeded = (job.get("status") or {}).get("succeeded") or 0
    if spec.get("completions") is not None:
        return f"{succeeded}/{spec['completions']}"
    parallelism = spec.get("parallelism") or 0
    if parallelism > 1:
        return f"{succeeded}/1 of {parallelism}"
    return f"{succeeded}/1"


def job_duration(job: dict, now: datetime) -> str:
    status = job.get("status") or {}
    start = parse_time(status.get("startTime"))
    if start is None:
        return ""
    end = parse_time(status.get("completionTime")) or now
    return human_duration((end - start).total_seconds())


def job_cells(job: dict, now: datetime) -> list:
    names, images = container_cells(template_containers(job))
    return [meta(job).get("name", ""), job_status(job), job_completions(job), job_duration(job, now),
            created(job, now), names, images, format_label_selector((job.get("spec") or {}).get("selector"))]


CRONJOB_COLUMNS = (
    NAME,
    Column("Schedule", "string", "The cron schedule."),
    Column("Timezone", "string", "The time zone the schedule is read in."),
    Column("Suspend", "boolean", "Whether new runs are suspended."),
    Column("Active", "integer", "Jobs running now."),
    Column("Last Schedule", "string", "Time since a job was last scheduled."),
    AGE, CONTAINERS, IMAGES, SELECTOR,
)


def cronjob_cells(cj: dict, now: datetime) -> list:
    spec = cj.get("spec") or {}
    status = cj.get("status") or {}
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    names, images = container_cells((((job_spec.get("template") or {}).get("spec")) or {}).get("containers"))
    last = status.get("lastScheduleTime")
    time_zone = spec.get("timeZone")
    return [meta(cj).get("name", ""), spec.get("schedule", ""), NONE if time_zone is None else time_zone,
            bool_ptr(spec.get("suspend")), len(status.get("active") or []), age(last, now) if last else NONE,
            created(cj, now), names, images, format_label_selector(job_spec.get("selector"))]


PRINTERS = {
    ("batch", "Job"): Printer(JOB_COLUMNS, job_cells),
    ("batch", "CronJob"): Printer(CRONJOB_COLUMNS, cronjob_cells),
}
