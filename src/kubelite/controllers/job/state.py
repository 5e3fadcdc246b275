"""The Job controller's pure core: the Job's spec with Kubernetes' defaults, its conditions, its
pods' states, and the plan of each sync's status tracking (which finished pods to record, which
finalizers to remove, which condition to set).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from kubelite.machinery import labels

from ..util.pods import is_pod_ready, is_terminating, phase
from ..util.ranking import active_pods_rank
from . import indexed, policy

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
CONTROLLER_NAME = "kubernetes.io/job-controller"

MAX_UNCOUNTED_PODS = 500
MAX_POD_CREATE_DELETE_PER_SYNC = 500
SLOW_START_INITIAL_BATCH = 1

# Condition types and reasons.
COMPLETE, FAILED, SUSPENDED = "Complete", "Failed", "Suspended"
FAILURE_TARGET, SUCCESS_CRITERIA_MET = "FailureTarget", "SuccessCriteriaMet"
REASON_BACKOFF_LIMIT = "BackoffLimitExceeded"
REASON_DEADLINE = "DeadlineExceeded"
REASON_POD_FAILURE_POLICY = "PodFailurePolicy"
REASON_SUCCESS_POLICY = "SuccessPolicy"
REASON_COMPLETIONS_REACHED = "CompletionsReached"


# ----- the Job's spec with Kubernetes' defaults


def spec_value(job: dict, name: str, default: Any = None) -> Any:
    v = (job.get("spec") or {}).get(name)
    return default if v is None else v


def parallelism(job: dict) -> int:
    return int(spec_value(job, "parallelism", 1))


def completions(job: dict) -> int | None:
    c = spec_value(job, "completions")
    if c is None and spec_value(job, "parallelism") is None:
        return 1
    return None if c is None else int(c)


def backoff_limit(job: dict) -> int:
    return int(spec_value(job, "backoffLimit", 6))


def is_indexed(job: dict) -> bool:
    return spec_value(job, "completionMode") == "Indexed" and completions(job) is not None


def is_suspended(job: dict) -> bool:
    return bool(spec_value(job, "suspend", False))


def only_replace_failed(job: dict) -> bool:
    p = spec_value(job, "podReplacementPolicy")
    if p is None:
        p = "Failed" if spec_value(job, "podFailurePolicy") else "TerminatingOrFailed"
    return p == "Failed"


def job_selector(job: dict) -> labels.Selector:
    sel = spec_value(job, "selector")
    if sel is None:
        return labels.selector_from_label_selector({"matchLabels": {CONTROLLER_UID_LABEL: job["metadata"]["uid"]}})
    try:
        return labels.selector_from_label_selector(sel)
    except labels.SelectorError:
        return labels.Selector.nothing()


def condition(job: dict, type_: str) -> dict | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_ and c.get("status") == "True":
            return c
    return None


def is_finished(job: dict) -> bool:
    return condition(job, COMPLETE) is not None or condition(job, FAILED) is not None


def has_finalizer(pod: dict) -> bool:
    return TRACKING_FINALIZER in ((pod.get("metadata") or {}).get("finalizers") or [])


def is_pod_failed(pod: dict, job: dict) -> bool:
    if phase(pod) == "Failed":
        return True
    if only_replace_failed(job):
        return False
    return is_terminating(pod) and phase(pod) != "Succeeded"


def is_active(pod: dict) -> bool:
    return phase(pod) not in ("Succeeded", "Failed") and not is_terminating(pod)


def remove_finalizer_patch(pod: dict) -> list[dict]:
    i = pod["metadata"]["finalizers"].index(TRACKING_FINALIZER)
    return [{"op": "test", "path": f"/metadata/finalizers/{i}", "value": TRACKING_FINALIZER},
            {"op": "remove", "path": f"/metadata/finalizers/{i}"}]


def new_condition(type_: str, reason: str, message: str, now: str) -> dict:
    return {"type": type_, "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
            "reason": reason, "message": message}


def ensure_condition(conditions: list[dict], type_: str, status: str, reason: str, message: str,
                     now: str) -> bool:
    """Set a condition in place; a missing condition is not added as False. True if changed."""
    for c in conditions:
        if c.get("type") == type_:
            if (c.get("status"), c.get("reason"), c.get("message")) != (status, reason, message):
                c.update({"status": status, "reason": reason, "message": message,
                          "lastProbeTime": now, "lastTransitionTime": now})
                return True
            return False
    if status == "False":
        return False
    conditions.append({"type": type_, "status": status, "lastProbeTime": now, "lastTransitionTime": now,
                       "reason": reason, "message": message})
    return True


class SyncContext:
    """What one sync of one Job works with."""

    def __init__(self, job: dict, pods: list[dict], expected_rm: set[str]):
        self.job = job
        self.pods = pods
        self.active = [p for p in pods if is_active(p)]
        self.expected_rm = expected_rm
        uncounted = (job.get("status") or {}).get("uncountedTerminatedPods") or {}
        self.uncounted_succeeded = set(uncounted.get("succeeded") or [])
        self.uncounted_failed = set(uncounted.get("failed") or [])
        self.terminating = sum(1 for p in pods if is_terminating(p) and phase(p) not in ("Succeeded", "Failed"))
        self.ready = sum(1 for p in self.active if is_pod_ready(p))
        self.succeeded = 0
        self.failed = 0
        self.finished: dict | None = None
        self.prev_succeeded_indexes: set[int] = set()
        self.succeeded_indexes: set[int] = set()
        self.backoff = policy.BackoffRecord()

    def _valid(self, pod: dict) -> bool:
        uid = pod["metadata"].get("uid")
        if not has_finalizer(pod) or uid in self.expected_rm:
            return False
        if is_indexed(self.job):
            ix = indexed.completion_index(pod)
            return ix != indexed.UNKNOWN and ix < (completions(self.job) or 0)
        return True

    def new_finished_pods(self) -> tuple[list[dict], list[dict]]:
        succeeded = [p for p in self.pods if self._valid(p) and p["metadata"]["uid"] not in self.uncounted_succeeded
                     and phase(p) == "Succeeded"]
        failed = [p for p in self.pods if self._valid(p) and p["metadata"]["uid"] not in self.uncounted_failed
                  and is_pod_failed(p, self.job)]
        return succeeded, failed


def count_uncounted(status: dict, with_finalizer: set[str]) -> bool:
    """Move uncounted UIDs whose pods lost their finalizer into the counters."""
    uncounted = status.get("uncountedTerminatedPods") or {}
    changed = False
    for field_, counter in (("succeeded", "succeeded"), ("failed", "failed")):
        uids = list(uncounted.get(field_) or [])
        keep = [u for u in uids if u in with_finalizer]
        if len(keep) != len(uids):
            changed = True
            status[counter] = int(status.get(counter) or 0) + len(uids) - len(keep)
            if keep:
                uncounted[field_] = keep
            else:
                uncounted.pop(field_, None)
    status["uncountedTerminatedPods"] = uncounted
    return changed


def enact_finished(job: dict, ctx: SyncContext) -> bool:
    if ctx.finished is None:
        return False
    uncounted = job["status"].get("uncountedTerminatedPods") or {}
    if uncounted.get("succeeded") or uncounted.get("failed") or ctx.terminating > 0:
        return False
    f = ctx.finished
    conditions = job["status"].setdefault("conditions", [])
    ensure_condition(conditions, f["type"], "True", f.get("reason", ""), f.get("message", ""),
                     f["lastTransitionTime"])
    if f["type"] == COMPLETE:
        job["status"]["completionTime"] = f["lastTransitionTime"]
    return True


def fail_job_message(job: dict, pods: list[dict]) -> str | None:
    for pod in pods:
        if is_pod_failed(pod, job):
            message, _, _ = policy.match_pod_failure_policy(spec_value(job, "podFailurePolicy"), pod)
            if message is not None:
                return message
    return None

def past_backoff_limit_on_failure(job: dict, pods: list[dict]) -> bool:
    template_spec = (spec_value(job, "template", {}) or {}).get("spec") or {}
    if template_spec.get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        if phase(pod) in ("Running", "Pending"):
            st = pod.get("status") or {}
            for cs in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
                restarts += int(cs.get("restartCount") or 0)
    limit = backoff_limit(job)
    return restarts > 0 if limit == 0 else restarts >= limit


def pods_for_removal(job: dict, ctx: SyncContext, at_least: int) -> list[dict]:
    remove: list[dict] = []
    left = ctx.active
    if is_indexed(job):
        remove, left = indexed.duplicated_index_pods(ctx.active, completions(job) or 0)
    if len(remove) < at_least:
        remove += sorted(left, key=active_pods_rank)[:at_least - len(remove)]
    return remove

def pod_template(job: dict) -> dict:
    template = copy.deepcopy(spec_value(job, "template", {}) or {})
    tmeta = template.setdefault("metadata", {})
    if spec_value(job, "selector") is None:
        uid, name = job["metadata"]["uid"], job["metadata"]["name"]
        tmeta["labels"] = {**(tmeta.get("labels") or {}), CONTROLLER_UID_LABEL: uid, JOB_NAME_LABEL: name,
                           LEGACY_CONTROLLER_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: name}
    if is_indexed(job):
        indexed.add_index_env(template.setdefault("spec", {}))
    finalizers = list(tmeta.get("finalizers") or [])
    if TRACKING_FINALIZER not in finalizers:
        finalizers.append(TRACKING_FINALIZER)
    tmeta["finalizers"] = finalizers
    return template


@dataclass
class TrackingPlan:
    """What step 1 of the counting dance writes and which finalizers then go."""

    remove_finalizers: list[dict]
    with_finalizer: set[str]
    needs_flush: bool
    reached_max: bool


def plan_tracking(ctx: SyncContext, needs_flush: bool, now: str) -> TrackingPlan:
    """Record newly finished pods in `ctx.job`'s status (uncounted UIDs, completed indexes, the
    interim FailureTarget/SuccessCriteriaMet condition); `ctx.finished` becomes the terminal
    condition to set once nothing is left to count."""
    job = ctx.job
    status = job["status"]
    pods = ctx.pods
    is_idx = is_indexed(job)
    n = completions(job) or 0
    if is_idx:
        pods = sorted(pods, key=indexed.completion_index)
    with_finalizer = {p["metadata"]["uid"] for p in pods
                      if has_finalizer(p) and p["metadata"]["uid"] not in ctx.expected_rm}
    if count_uncounted(status, with_finalizer):
        needs_flush = True
    uncounted = status.get("uncountedTerminatedPods") or {}
    uncounted_succeeded = list(uncounted.get("succeeded") or [])
    uncounted_failed = list(uncounted.get("failed") or [])
    pfp = spec_value(job, "podFailurePolicy")
    to_remove: list[dict] = []
    new_indexes: list[int] = []
    reached_max = False
    fails_job = ctx.finished is not None and ctx.finished["type"] != SUCCESS_CRITERIA_MET
    for pod in pods:
        uid = pod["metadata"]["uid"]
        if not has_finalizer(pod) or uid in ctx.expected_rm:
            continue
        failed = is_pod_failed(pod, job)
        if not (is_terminating(job) or ctx.finished is not None or phase(pod) == "Succeeded" or failed):
            continue
        to_remove.append(pod)
        if phase(pod) == "Succeeded" and uid not in uncounted_failed:
            if is_idx:
                ix = indexed.completion_index(pod)
                if 0 <= ix < n and ix not in ctx.prev_succeeded_indexes and ix not in new_indexes:
                    new_indexes.append(ix)
                    needs_flush = True
            elif uid not in uncounted_succeeded:
                uncounted_succeeded.append(uid)
                needs_flush = True
        elif failed or fails_job:
            ix = indexed.completion_index(pod)
            if uid not in uncounted_failed and (not is_idx or 0 <= ix < n):
                if pfp is None or policy.match_pod_failure_policy(pfp, pod)[1]:
                    uncounted_failed.append(uid)
                    needs_flush = True
        if len(new_indexes) + len(uncounted_succeeded) + len(uncounted_failed) >= MAX_UNCOUNTED_PODS:
            reached_max = True
            break
    status["uncountedTerminatedPods"] = {k: v for k, v in (("succeeded", uncounted_succeeded),
                                                           ("failed", uncounted_failed)) if v}
    if is_idx:
        ctx.succeeded_indexes = ctx.prev_succeeded_indexes | set(new_indexes)
        text = indexed.format_indexes(ctx.succeeded_indexes)
        if text != (status.get("completedIndexes") or ""):
            needs_flush = True
        status["succeeded"] = len(ctx.succeeded_indexes)
        status["completedIndexes"] = text
    conditions = status.setdefault("conditions", [])
    if ctx.finished is not None and ctx.finished["type"] == FAILURE_TARGET:
        conditions.append(ctx.finished)
        needs_flush = True
        ctx.finished = new_condition(FAILED, ctx.finished["reason"], ctx.finished["message"], now)
    if ctx.finished is not None and ctx.finished["type"] == SUCCESS_CRITERIA_MET:
        if condition(job, SUCCESS_CRITERIA_MET) is None:
            conditions.append(ctx.finished)
            needs_flush = True
        ctx.finished = new_condition(COMPLETE, ctx.finished.get("reason", ""), ctx.finished.get("message", ""), now)
    if not conditions:
        del status["conditions"]
    return TrackingPlan(to_remove, with_finalizer, needs_flush, reached_max)

