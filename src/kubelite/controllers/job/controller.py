"""`JobController`: run pods to completion, as Kubernetes 1.32's job controller does.

Every pod is created with the `batch.kubernetes.io/job-tracking` finalizer, so a finished pod
cannot vanish before it is counted. Counting is a three-step dance, each step idempotent:

1. a finished pod's UID goes into `status.uncountedTerminatedPods` (status written);
2. its finalizer is removed;
3. UIDs of pods that no longer hold the finalizer move from the uncounted lists into
   `succeeded`/`failed` (status written).

A sync (`sync_job(key)`) computes what the pods say (active, ready, terminating, newly finished),
decides whether the Job has failed (pod failure policy, `backoffLimit`, `activeDeadlineSeconds`)
or met its success criteria (completions, success policy), otherwise creates or deletes pods
(`manage_job`: parallelism, completions, Indexed completion indexes, `suspend`, backoff after
failures), then tracks status and finalizers. A terminal condition is announced first as
`FailureTarget` or `SuccessCriteriaMet`; `Failed` or `Complete` follow once no pod is terminating.
"""

from __future__ import annotations

import asyncio
import copy
import logging

from kubelite.client import WorkQueue, split_meta_namespace_key
from kubelite.client.informers import meta_namespace_key
from kubelite.client.workqueue import default_controller_rate_limiter
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.errors import StatusError, is_not_found, new_conflict
from kubelite.machinery.timeutil import parse_time, rfc3339

from ..util.expectations import UIDTrackingControllerExpectations
from ..util.ownerrefs import get_controller_of, new_controller_ref, resolve_controller_ref
from ..util.pod_control import pod_from_template
from ..util.pods import is_pod_ready, is_terminating, phase
from ..util.ref_manager import ControllerRefManager
from . import indexed, policy
from .state import (
    COMPLETE,
    CONTROLLER_NAME,
    FAILED,
    FAILURE_TARGET,
    MAX_POD_CREATE_DELETE_PER_SYNC,
    REASON_BACKOFF_LIMIT,
    REASON_COMPLETIONS_REACHED,
    REASON_DEADLINE,
    REASON_POD_FAILURE_POLICY,
    REASON_SUCCESS_POLICY,
    SLOW_START_INITIAL_BATCH,
    SUCCESS_CRITERIA_MET,
    SUSPENDED,
    TRACKING_FINALIZER,
    SyncContext,
    backoff_limit,
    completions,
    condition,
    count_uncounted,
    enact_finished,
    ensure_condition,
    fail_job_message,
    has_finalizer,
    is_finished,
    is_indexed,
    is_suspended,
    job_selector,
    new_condition,
    only_replace_failed,
    parallelism,
    past_backoff_limit_on_failure,
    plan_tracking,
    pod_template,
    pods_for_removal,
    remove_finalizer_patch,
    spec_value,
)

log = logging.getLogger(__name__)

API_VERSION, KIND = "batch/v1", "Job"

class JobController(Controller):
    name = "job-controller"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        inf = ctx.informers
        self.jobs = inf.informer_for("jobs.batch")
        self.pods = inf.informer_for("pods")
        self.job_lister = self.jobs.lister()
        self.pod_lister = self.pods.lister()
        self.expectations = UIDTrackingControllerExpectations(self.clock)
        self.finalizer_expectations: dict[str, set[str]] = {}
        self.backoff_records: dict[str, policy.BackoffRecord] = {}
        self.orphan_queue: WorkQueue[str] = WorkQueue(f"{self.name}-orphan-pods", clock=ctx.clock,
                                                      rate_limiter=default_controller_rate_limiter(ctx.clock))
        self.jobs.add_event_handler(self.enqueue, self.update_job, self.delete_job)
        self.pods.add_event_handler(self.add_pod, self.update_pod, self.delete_pod)

    # ----- handlers

    def update_job(self, old: dict, new: dict) -> None:
        self.enqueue(new)
        # A changed activeDeadlineSeconds needs a fresh timer.
        deadline = spec_value(new, "activeDeadlineSeconds")
        start = parse_time((new.get("status") or {}).get("startTime"))
        if deadline is not None and start is not None and deadline != spec_value(old, "activeDeadlineSeconds"):
            passed = (self.clock.now() - start).total_seconds()
            self.enqueue_after(new, max(0.0, int(deadline) - passed))

    def delete_job(self, job: dict) -> None:
        key = meta_namespace_key(job)
        self.expectations.delete_expectations(key)
        self.finalizer_expectations.pop(key, None)
        self.backoff_records.pop(key, None)
        for pod in self.pod_lister.list(job["metadata"].get("namespace")):
            if (get_controller_of(pod) or {}).get("uid") == job["metadata"].get("uid") and has_finalizer(pod):
                self.orphan_queue.add(meta_namespace_key(pod))

    def _owner_key(self, pod: dict) -> str | None:
        ref = get_controller_of(pod)
        job = resolve_controller_ref(self.job_lister, pod["metadata"].get("namespace", ""), ref, KIND) if ref else None
        return meta_namespace_key(job) if job is not None else None

    def _check_orphan(self, pod: dict) -> str | None:
        key = self._owner_key(pod)
        if key is None and has_finalizer(pod) and (get_controller_of(pod) or {}).get("kind") == "Job":
            self.orphan_queue.add(meta_namespace_key(pod))
        return key

    def _enqueue_selecting(self, pod: dict) -> None:
        md = pod["metadata"]
        for job in self.job_lister.list(md.get("namespace")):
            if job_selector(job).matches(md.get("labels")):
                self.enqueue(job)

    def add_pod(self, pod: dict) -> None:
        key = self._check_orphan(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self.enqueue(key)
        elif get_controller_of(pod) is None:
            self._enqueue_selecting(pod)

    def update_pod(self, old: dict, new: dict) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        key = self._check_orphan(new)
        old_key = self._owner_key(old)
        if old_key is not None and old_key != key:
            self.enqueue(old_key)
        if key is None:
            if get_controller_of(new) is None:
                self._enqueue_selecting(new)
            return
        if is_terminating(new) and not is_terminating(old):
            self.expectations.deletion_observed(key, meta_namespace_key(new))
        if has_finalizer(old) and not has_finalizer(new):
            self.finalizer_expectations.get(key, set()).discard(new["metadata"].get("uid"))
        self.enqueue(key)

    def delete_pod(self, pod: dict) -> None:
        key = self._owner_key(pod)
        if key is None:
            return
        self.expectations.deletion_observed(key, meta_namespace_key(pod))
        self.finalizer_expectations.get(key, set()).discard(pod["metadata"].get("uid"))
        self.enqueue(key)

    # ----- loops

    async def run(self) -> None:
        await self.informers.wait_for_cache_sync()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(super().run())
                tg.create_task(self._orphan_worker())
        finally:
            self.orphan_queue.shut_down()

    async def _orphan_worker(self) -> None:
        while True:
            key = await self.orphan_queue.get()
            try:
                await self.sync_orphan_pod(key)
                self.orphan_queue.forget(key)
            except StatusError as e:
                log.info("%s: orphan pod %s: %s", self.name, key, e)
                self.orphan_queue.add_rate_limited(key)
            finally:
                self.orphan_queue.done(key)

    async def sync_orphan_pod(self, key: str) -> None:
        """Remove the tracking finalizer of a pod whose Job is gone or finished."""
        ns, name = split_meta_namespace_key(key)
        try:
            pod = self.pod_lister.get(name, ns)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        if not has_finalizer(pod):
            return
        ref = get_controller_of(pod)
        if ref is not None and ref.get("kind") == "Job":
            try:
                job = self.job_lister.get(ref["name"], ns)
                if job["metadata"].get("uid") == ref.get("uid") and not is_finished(job):
                    return
            except StatusError as e:
                if not is_not_found(e):
                    raise
        await self._patch_pod(pod, remove_finalizer_patch(pod))

    async def _merge_patch_pod(self, pod: dict, patch: dict) -> dict:
        md = pod["metadata"]
        return await self.client.patch("pods", md["name"], patch, md["namespace"])

    async def _patch_pod(self, pod: dict, patch: list[dict]) -> None:
        try:
            await self.client.patch("pods", pod["metadata"]["name"], patch, pod["metadata"]["namespace"],
                                    patch_type="json")
        except StatusError as e:
            if not is_not_found(e):
                raise

    # ----- sync

    async def sync(self, key: str) -> None:
        await self.sync_job(key)

    async def _can_adopt(self, job: dict) -> None:
        md = job["metadata"]
        fresh = await self.client.get("jobs.batch", md["name"], md["namespace"])
        if fresh["metadata"].get("uid") != md["uid"] or is_terminating(fresh):
            raise new_conflict("batch", "jobs", md["name"], "the Job is gone or being deleted and cannot adopt pods")

    async def sync_job(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        try:
            cached = self.job_lister.get(name, ns)
        except StatusError as e:
            if not is_not_found(e):
                raise
            self.expectations.delete_expectations(key)
            self.finalizer_expectations.pop(key, None)
            self.backoff_records.pop(key, None)
            return
        managed_by = spec_value(cached, "managedBy")
        if managed_by and managed_by != CONTROLLER_NAME:
            return
        if is_finished(cached):
            for pod in self.pod_lister.list(ns):
                if (get_controller_of(pod) or {}).get("uid") == cached["metadata"]["uid"] and has_finalizer(pod):
                    self.orphan_queue.add(meta_namespace_key(pod))
            return
        job = copy.deepcopy(cached)
        status = job.setdefault("status", {})
        satisfied = self.expectations.satisfied_expectations(key)
        manager = ControllerRefManager(job, job_selector(job), API_VERSION, KIND, lambda: self._can_adopt(job),
                                       self._merge_patch_pod, finalizers=(TRACKING_FINALIZER,))
        pods = await manager.claim(self.pod_lister.list(ns))
        ctx = SyncContext(job, pods, set(self.finalizer_expectations.get(key, set())))
        active = len(ctx.active)
        new_succeeded, new_failed = ctx.new_finished_pods()
        pfp = spec_value(job, "podFailurePolicy")
        counted_failed = [p for p in new_failed if pfp is None or policy.match_pod_failure_policy(pfp, p)[1]]
        ctx.succeeded = int(status.get("succeeded") or 0) + len(new_succeeded) + len(ctx.uncounted_succeeded)
        ctx.failed = int(status.get("failed") or 0) + len(counted_failed) + len(ctx.uncounted_failed)
        now = self.clock.now()
        now_s = rfc3339(now)
        if not status.get("startTime") and not is_suspended(job):
            status["startTime"] = now_s
        ctx.backoff = self.backoff_records.get(key, policy.BackoffRecord()).with_new_pods(new_succeeded, new_failed)

        ctx.finished = copy.deepcopy(condition(job, SUCCESS_CRITERIA_MET))
        if ctx.finished is None:
            target = condition(job, FAILURE_TARGET)
            if target is not None:
                ctx.finished = new_condition(FAILED, target.get("reason", ""), target.get("message", ""), now_s)
            elif pfp is not None:
                message = fail_job_message(job, pods)
                if message is not None:
                    ctx.finished = new_condition(FAILURE_TARGET, REASON_POD_FAILURE_POLICY, message, now_s)
        if ctx.finished is None:
            if ctx.failed > backoff_limit(job) or past_backoff_limit_on_failure(job, pods):
                ctx.finished = new_condition(FAILURE_TARGET, REASON_BACKOFF_LIMIT,
                                              "Job has reached the specified backoff limit", now_s)
            elif self.past_active_deadline(job):
                ctx.finished = new_condition(FAILURE_TARGET, REASON_DEADLINE,
                                              "Job was active longer than specified deadline", now_s)
            elif spec_value(job, "activeDeadlineSeconds") is not None and not is_suspended(job):
                start = parse_time(status["startTime"])
                left = int(spec_value(job, "activeDeadlineSeconds")) - (now - start).total_seconds()
                self.enqueue_after(key, max(0.0, left))
        if is_indexed(job):
            n = completions(job) or 0
            ctx.prev_succeeded_indexes = indexed.parse_indexes(status.get("completedIndexes"), n)
            ctx.succeeded_indexes = ctx.prev_succeeded_indexes | {
                indexed.completion_index(p) for p in pods
                if phase(p) == "Succeeded" and has_finalizer(p) and 0 <= indexed.completion_index(p) < n}
            ctx.succeeded = len(ctx.succeeded_indexes)
            if ctx.finished is None:
                message, met = policy.match_success_policy(spec_value(job, "successPolicy"), n, ctx.succeeded_indexes)
                if met:
                    ctx.finished = new_condition(SUCCESS_CRITERIA_MET, REASON_SUCCESS_POLICY, message, now_s)

        manage_error: BaseException | None = None
        suspend_changed = False
        if ctx.finished is not None:
            deleted, deleted_ready, manage_error = await self.delete_active_pods(job, ctx.active, False)
            if deleted != active or not satisfied:
                ctx.finished = None
            active -= deleted
            ctx.terminating += deleted
            ctx.ready -= deleted_ready
        else:
            managed = False
            if satisfied and not is_terminating(job):
                active, manage_error = await self.manage_job(job, ctx)
                managed = True
            want = completions(job)
            complete = (ctx.succeeded > 0 if want is None else ctx.succeeded >= want) and active == 0
            if complete:
                ctx.finished = new_condition(SUCCESS_CRITERIA_MET, REASON_COMPLETIONS_REACHED,
                                              "Reached expected number of succeeded pods", now_s)
            elif managed:
                conditions = status.setdefault("conditions", [])
                if is_suspended(job):
                    if ensure_condition(conditions, SUSPENDED, "True", "JobSuspended", "Job suspended", now_s):
                        suspend_changed = True
                        self.event(cached, "Normal", "Suspended", "Job suspended")
                elif ensure_condition(conditions, SUSPENDED, "False", "JobResumed", "Job resumed", now_s):
                    suspend_changed = True
                    self.event(cached, "Normal", "Resumed", "Job resumed")
                    status["startTime"] = now_s
                if not conditions:
                    del status["conditions"]
        old = cached.get("status") or {}
        needs_update = suspend_changed or active != int(old.get("active") or 0) \
            or ctx.ready != old.get("ready") or ctx.terminating != old.get("terminating") \
            or status.get("startTime") != old.get("startTime")
        status["active"] = active
        status["ready"] = ctx.ready
        status["terminating"] = ctx.terminating
        await self.track_status_and_remove_finalizers(key, cached, ctx, needs_update)
        if manage_error is not None:
            raise manage_error

    # ----- decisions

    def past_active_deadline(self, job: dict) -> bool:
        deadline = spec_value(job, "activeDeadlineSeconds")
        start = parse_time((job.get("status") or {}).get("startTime"))
        if deadline is None or start is None or is_suspended(job):
            return False
        return (self.clock.now() - start).total_seconds() >= int(deadline)

    # ----- pods

    async def manage_job(self, job: dict, ctx: SyncContext) -> tuple[int, BaseException | None]:
        """Create or delete pods toward the wanted number of active pods; returns `(active, error)`."""
        key = meta_namespace_key(job)
        active = len(ctx.active)
        if is_suspended(job):
            removed, removed_ready, err = await self.delete_active_pods(job, pods_for_removal(job, ctx, active),
                                                                        True)
            ctx.terminating += removed
            ctx.ready -= removed_ready
            return active - removed, err
        want_completions = completions(job)
        if want_completions is None:
            want = active if ctx.succeeded > 0 else parallelism(job)
        else:
            want = max(0, min(want_completions - ctx.succeeded, parallelism(job)))
        to_delete = pods_for_removal(job, ctx, max(0, active - want))[:MAX_POD_CREATE_DELETE_PER_SYNC]
        if to_delete:
            removed, removed_ready, err = await self.delete_active_pods(job, to_delete, True)
            ctx.terminating += removed
            ctx.ready -= removed_ready
            return active - removed, err
        diff = want - (ctx.terminating if only_replace_failed(job) else 0) - active
        if diff <= 0:
            return active, None
        wait = ctx.backoff.remaining(self.clock.now())
        if wait > 0:
            self.enqueue_after(key, wait)
            return active, None
        diff = min(diff, MAX_POD_CREATE_DELETE_PER_SYNC)
        indexes: list[int | None] = [None] * diff
        if is_indexed(job):
            indexes = list(indexed.first_pending_indexes(ctx.active, ctx.succeeded_indexes, diff,
                                                         want_completions or 0))
        self.expectations.expect(key, adds=len(indexes))
        template = pod_template(job)
        created = 0
        errors: list[BaseException] = []
        batch = min(len(indexes), SLOW_START_INITIAL_BATCH)
        pending = list(indexes)
        while pending:
            chunk, pending = pending[:batch], pending[batch:]
            results = await asyncio.gather(*(self.create_pod(job, template, ix) for ix in chunk),
                                           return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            created += len(chunk) - len(failed)
            if failed:
                errors.extend(failed)
                for _ in pending:
                    self.expectations.creation_observed(key)
                break
            batch = min(2 * batch, len(pending))
        return active + created, errors[0] if errors else None

    async def create_pod(self, job: dict, template: dict, index: int | None) -> None:
        pod = pod_from_template(template, job, new_controller_ref(job, API_VERSION, KIND))
        name = job["metadata"]["name"]
        if index is not None:
            pod["metadata"].setdefault("annotations", {})[indexed.COMPLETION_INDEX] = str(index)
            pod["metadata"].setdefault("labels", {})[indexed.COMPLETION_INDEX] = str(index)
            pod["metadata"]["generateName"] = f"{name}-{index}-"
            pod["spec"]["hostname"] = f"{name}-{index}"
        try:
            created = await self.client.create("pods", pod, job["metadata"]["namespace"])
        except StatusError as e:
            self.expectations.creation_observed(meta_namespace_key(job))
            if any(c.get("reason") == "NamespaceTerminating" for c in (e.details or {}).get("causes") or []):
                return
            self.event(job, "Warning", "FailedCreate", f"Error creating: {e}")
            raise
        self.event(job, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")

    async def delete_active_pods(self, job: dict, pods: list[dict], remove_finalizer: bool
                                 ) -> tuple[int, int, BaseException | None]:
        """Delete pods; `(deleted, of which were ready, first error)`. Pods the Job gives up on
        lose their finalizer first (scale down, suspend); pods of a finished Job keep it until
        they are counted."""
        key = meta_namespace_key(job)
        if remove_finalizer:
            self.expectations.expect(key, deleted_keys=[meta_namespace_key(p) for p in pods])

        async def one(pod: dict) -> None:
            if remove_finalizer and has_finalizer(pod):
                await self._patch_pod(pod, remove_finalizer_patch(pod))
            try:
                await self.client.delete("pods", pod["metadata"]["name"], pod["metadata"]["namespace"])
            except StatusError as e:
                if not is_not_found(e):
                    self.expectations.deletion_observed(key, meta_namespace_key(pod))
                    self.event(job, "Warning", "FailedDelete", f"Error deleting: {e}")
                    raise
                return
            self.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")

        results = await asyncio.gather(*(one(p) for p in pods), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        deleted = ready = 0
        for pod, r in zip(pods, results):
            if not isinstance(r, BaseException):
                deleted += 1
                ready += is_pod_ready(pod)
        return deleted, ready, errors[0] if errors else None

    # ----- status and finalizers

    async def track_status_and_remove_finalizers(self, key: str, cached: dict, ctx: SyncContext,
                                                 needs_flush: bool) -> None:
        plan = plan_tracking(ctx, needs_flush, rfc3339(self.clock.now()))
        job = ctx.job
        # Step 1: record the newly finished pods, then drop their finalizers.
        if plan.needs_flush:
            job = await self._write_status(job)
            self.backoff_records[key] = ctx.backoff
        needs_flush = False
        removed: set[str] = set()
        remove_error: BaseException | None = None
        if plan.remove_finalizers:
            uids = [p["metadata"]["uid"] for p in plan.remove_finalizers]
            self.finalizer_expectations.setdefault(key, set()).update(uids)
            results = await asyncio.gather(*(self._patch_pod(p, remove_finalizer_patch(p))
                                             for p in plan.remove_finalizers), return_exceptions=True)
            for uid, r in zip(uids, results):
                if isinstance(r, BaseException):
                    self.finalizer_expectations[key].discard(uid)
                    remove_error = remove_error or r
                else:
                    removed.add(uid)
        # Step 2: count the pods whose finalizer is gone.
        if count_uncounted(job["status"], plan.with_finalizer - removed):
            needs_flush = True
        if remove_error is not None:
            if needs_flush:
                await self._write_status(job)
            raise remove_error
        finished = not plan.reached_max and enact_finished(job, ctx)
        if finished or needs_flush:
            job = await self._write_status(job)
        if finished:
            self._record_finished(job, ctx.finished)

    def _record_finished(self, job: dict, finished: dict | None) -> None:
        if finished is None:
            return
        if finished["type"] == COMPLETE:
            want = completions(job)
            if want is not None and int(job["status"].get("succeeded") or 0) > want:
                self.event(job, "Warning", "TooManySucceededPods",
                           "Too many succeeded pods running after completion count reached")
            self.event(job, "Normal", "Completed", "Job completed")
        else:
            self.event(job, "Warning", finished.get("reason", ""), finished.get("message", ""))

    async def _write_status(self, job: dict) -> dict:
        status = job["status"]
        if not status.get("uncountedTerminatedPods"):
            status["uncountedTerminatedPods"] = {}
        written = await self.client.update_status("jobs.batch", job)
        written["status"] = written.get("status") or {}
        return written
