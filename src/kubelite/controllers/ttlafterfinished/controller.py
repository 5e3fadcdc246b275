"""`TTLAfterFinishedController`: deletes finished Jobs `ttlSecondsAfterFinished` after they
finished (the time their `Complete` or `Failed` condition turned True).

A Job not yet due is queued again for the moment it is. Before deleting, the controller reads the
Job from the API server (a cached copy may be stale: the TTL may have been changed), and deletes
it with foreground propagation and its UID as a precondition.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from kubelite.client import split_meta_namespace_key
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.errors import StatusError, is_not_found
from kubelite.machinery.timeutil import parse_time

log = logging.getLogger(__name__)


def finish_time(job: dict) -> datetime | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return parse_time(c.get("lastTransitionTime"))
    return None


def needs_cleanup(job: dict) -> bool:
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    return ttl is not None and not job["metadata"].get("deletionTimestamp") and finish_time(job) is not None


def time_left(job: dict, now: datetime) -> float:
    """Seconds until the Job expires (<= 0: expired)."""
    finished = finish_time(job) or now
    ttl = int(job["spec"]["ttlSecondsAfterFinished"])
    return (finished + timedelta(seconds=ttl) - now).total_seconds()


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished-controller"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        self.jobs = ctx.informers.informer_for("jobs.batch")
        self.job_lister = self.jobs.lister()
        self.jobs.add_event_handler(self.add_job, lambda old, new: self.add_job(new), None)

    def add_job(self, job: dict) -> None:
        if needs_cleanup(job):
            self.enqueue(job)

    async def sync(self, key: str) -> None:
        await self.sync_job(key)

    async def sync_job(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        try:
            job = self.job_lister.get(name, ns)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        if not self._due(key, job):
            return
        try:
            fresh = await self.client.get("jobs.batch", name, ns)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        if not self._due(key, fresh):
            return
        try:
            await self.client.delete("jobs.batch", name, ns, propagation_policy="Foreground",
                                     preconditions={"uid": fresh["metadata"]["uid"]})
        except StatusError as e:
            if not is_not_found(e):
                raise

    def _due(self, key: str, job: dict) -> bool:
        if not needs_cleanup(job):
            return False
        left = time_left(job, self.clock.now())
        if left > 0:
            self.enqueue_after(key, left)
            return False
        return True
