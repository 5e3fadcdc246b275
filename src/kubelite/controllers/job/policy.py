"""Job policies (pure): the pod failure policy, the success policy, and the backoff between
retries after failed pods.

Backoff: after `n` failures since the last success, new pods wait `10 s * 2**(n-1)` (at most
10 minutes) from the last failure. A record per Job remembers `n` and the time of that failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kubelite.machinery.timeutil import parse_time

from ..util.pods import get_pod_condition
from .indexed import parse_indexes

DEFAULT_BACKOFF = 10.0
MAX_BACKOFF = 600.0

IGNORE, COUNT, FAIL_JOB, FAIL_INDEX = "Ignore", "Count", "FailJob", "FailIndex"


# ----- pod failure policy


def _exit_code_matches(code: int, req: dict) -> bool:
    values = req.get("values") or []
    return code in values if req.get("operator") == "In" else code not in values


def _matching_container(pod: dict, req: dict) -> dict | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or []:
            term = (cs.get("state") or {}).get("terminated")
            if term is None:
                continue
            if req.get("containerName") and req["containerName"] != cs.get("name"):
                continue
            code = int(term.get("exitCode") or 0)
            if code != 0 and _exit_code_matches(code, req):
                return cs
    return None


def match_pod_failure_policy(policy: dict | None, pod: dict) -> tuple[str | None, bool, str | None]:
    """`(job failure message, count the failure, action)` for a failed pod."""
    ns, name = pod["metadata"].get("namespace", ""), pod["metadata"]["name"]
    for index, rule in enumerate((policy or {}).get("rules") or []):
        action = rule.get("action")
        if rule.get("onExitCodes") is not None:
            cs = _matching_container(pod, rule["onExitCodes"])
            if cs is None:
                continue
            if action == FAIL_JOB:
                code = cs["state"]["terminated"].get("exitCode")
                return (f"Container {cs.get('name')} for pod {ns}/{name} failed with exit code {code} matching "
                        f"{action} rule at index {index}", True, action)
        elif rule.get("onPodConditions") is not None:
            cond = next((c for c in (pod.get("status") or {}).get("conditions") or []
                         for want in rule["onPodConditions"]
                         if c.get("type") == want.get("type") and c.get("status") == (want.get("status") or "True")),
                        None)
            if cond is None:
                continue
            if action == FAIL_JOB:
                return (f"Pod {ns}/{name} has condition {cond['type']} matching {action} rule at index {index}",
                        True, action)
        else:
            continue
        if action == IGNORE:
            return None, False, action
        return None, True, action
    return None, True, None


# ----- success policy


def match_success_policy(policy: dict | None, completions: int, succeeded: set[int]) -> tuple[str, bool]:
    for index, rule in enumerate((policy or {}).get("rules") or []):
        count = rule.get("succeededCount")
        if rule.get("succeededIndexes") is not None:
            wanted = parse_indexes(rule["succeededIndexes"], completions)
            have = len(wanted & succeeded)
            ok = have >= count if count is not None else bool(wanted) and have == len(wanted)
        elif count is not None:
            ok = len(succeeded) >= count
        else:
            ok = False
        if ok:
            return f"Matched rules at index {index}", True
    return "", False


# ----- backoff


def finished_time(pod: dict) -> datetime | None:
    """When a pod finished: its last container termination, else its Ready=False transition,
    else its deletion, else its creation."""
    latest = None
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or []:
            t = parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
            if t is not None and (latest is None or t > latest):
                latest = t
    if latest is not None:
        return latest
    ready = get_pod_condition(pod, "Ready")
    if ready is not None and ready.get("status") == "False":
        t = parse_time(ready.get("lastTransitionTime"))
        if t is not None:
            return t
    md = pod.get("metadata") or {}
    return parse_time(md.get("deletionTimestamp")) or parse_time(md.get("creationTimestamp"))


@dataclass(frozen=True)
class BackoffRecord:
    failures_after_last_success: int = 0
    last_failure_time: datetime | None = None

    def with_new_pods(self, succeeded: list[dict], failed: list[dict]) -> BackoffRecord:
        if not succeeded and not failed:
            return self
        fail_times = sorted(t for t in (finished_time(p) for p in failed) if t is not None)
        if not succeeded:
            return BackoffRecord(self.failures_after_last_success + len(failed),
                                 fail_times[-1] if fail_times else self.last_failure_time)
        last_success = max((t for t in (finished_time(p) for p in succeeded) if t is not None), default=None)
        after = [t for t in fail_times if last_success is None or t > last_success]
        return BackoffRecord(len(after), after[-1] if after else None)

    def remaining(self, now: datetime) -> float:
        if self.failures_after_last_success == 0 or self.last_failure_time is None:
            return 0.0
        delay = min(DEFAULT_BACKOFF * 2 ** (self.failures_after_last_success - 1), MAX_BACKOFF)
        elapsed = (now - self.last_failure_time).total_seconds()
        return max(0.0, delay - elapsed)
