"""Pure Deployment helpers (Kubernetes' `pkg/controller/deployment/util/deployment_util.go`):
annotations, surge and unavailability fenceposts, finding the new and old ReplicaSets,
orderings, conditions and progress predicates. No I/O here.

Deployments are read with the apps/v1 defaults applied, in case the stored object lacks them:
replicas 1, strategy RollingUpdate with maxSurge and maxUnavailable 25%, revisionHistoryLimit
10, progressDeadlineSeconds 600, minReadySeconds 0.
"""

from __future__ import annotations

import copy
import functools
import math
from datetime import datetime, timedelta
from typing import Any

from kubelite.machinery.timeutil import parse_time, rfc3339

from ..util.hashing import canonical
from ..util.ownerrefs import get_controller_of

# Annotations.
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO_ANNOTATION = "deprecated.deployment.rollback.to"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"
ANNOTATIONS_TO_SKIP = frozenset({LAST_APPLIED_ANNOTATION, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION,
                                 DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, ROLLBACK_TO_ANNOTATION})
DEFAULT_UNIQUE_LABEL_KEY = "pod-template-hash"

# Condition types and reasons.
AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
REPLICA_SET_UPDATED_REASON = "ReplicaSetUpdated"
FAILED_RS_CREATE_REASON = "ReplicaSetCreateError"
NEW_REPLICA_SET_REASON = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
PAUSED_DEPLOY_REASON = "DeploymentPaused"
RESUMED_DEPLOY_REASON = "DeploymentResumed"

ROLLING_UPDATE = "RollingUpdate"
RECREATE = "Recreate"
MAX_INT32 = 2 ** 31 - 1
# Keep the revision-history annotation under this many characters.
MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000


# -- spec accessors, defaulted ------------------------------------------------------------------
def spec(obj: dict) -> dict:
    return obj.get("spec") or {}


def replicas(obj: dict) -> int:
    r = spec(obj).get("replicas")
    return 1 if r is None else int(r)


def strategy_type(d: dict) -> str:
    return (spec(d).get("strategy") or {}).get("type") or ROLLING_UPDATE


def is_rolling_update(d: dict) -> bool:
    return strategy_type(d) == ROLLING_UPDATE


def revision_history_limit(d: dict) -> int | None:
    v = spec(d).get("revisionHistoryLimit", 10)
    return None if v is None or int(v) == MAX_INT32 else int(v)


def progress_deadline_seconds(d: dict) -> int | None:
    v = spec(d).get("progressDeadlineSeconds", 600)
    return None if v is None or int(v) == MAX_INT32 else int(v)


def has_progress_deadline(d: dict) -> bool:
    return progress_deadline_seconds(d) is not None


def min_ready_seconds(obj: dict) -> int:
    return int(spec(obj).get("minReadySeconds") or 0)


def is_paused(d: dict) -> bool:
    return bool(spec(d).get("paused"))


def annotations(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("annotations") or {}


def status(obj: dict) -> dict:
    return obj.get("status") or {}


def status_int(obj: dict, field: str) -> int:
    return int(status(obj).get(field) or 0)


# -- surge and unavailability ---------------------------------------------------------------------
def scaled_value_from_int_or_percent(value: Any, total: int, round_up: bool) -> int:
    """An absolute count from an int or a "N%" string (`intstr.GetScaledValueFromIntOrPercent`)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    s = str(value)
    if not s.endswith("%"):
        try:
            return int(s)
        except ValueError:
            raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage") from None
    try:
        pct = int(s[:-1])
    except ValueError:
        raise ValueError(f'invalid value "{s}": {s[:-1]!r} is not an integer') from None
    if round_up:
        return math.ceil(pct * total / 100)
    return math.floor(pct * total / 100)


def _rolling(d: dict) -> dict:
    return (spec(d).get("strategy") or {}).get("rollingUpdate") or {}


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """(surge, unavailable): surge rounds up, unavailable rounds down; never both zero."""
    surge = scaled_value_from_int_or_percent(max_surge, desired, True)
    unavailable = scaled_value_from_int_or_percent(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _fenceposts(d: dict) -> tuple[int, int]:
    ru = _rolling(d)
    return resolve_fenceposts(ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%"), replicas(d))


def max_surge(d: dict) -> int:
    if not is_rolling_update(d):
        return 0
    return _fenceposts(d)[0]


def max_unavailable(d: dict) -> int:
    if not is_rolling_update(d) or replicas(d) == 0:
        return 0
    unavailable = _fenceposts(d)[1]
    return min(unavailable, replicas(d))


def min_available(d: dict) -> int:
    return replicas(d) - max_unavailable(d)


# -- revisions and annotations ---------------------------------------------------------------
def revision(obj: dict) -> int:
    try:
        return int(annotations(obj).get(REVISION_ANNOTATION) or 0)
    except ValueError:
        return 0


def max_revision(rss: list[dict]) -> int:
    return max((revision(rs) for rs in rss if rs is not None), default=0)


def _ensure_annotations(obj: dict) -> dict:
    md = obj.setdefault("metadata", {})
    if md.get("annotations") is None:
        md["annotations"] = {}
    return md["annotations"]


def copy_deployment_annotations_to_replica_set(d: dict, rs: dict) -> bool:
    ann = _ensure_annotations(rs)
    changed = False
    for k, v in annotations(d).items():
        if k in ANNOTATIONS_TO_SKIP or ann.get(k) == v:
            continue
        ann[k] = v
        changed = True
    return changed


def set_replicas_annotations(rs: dict, desired: int, max_replicas: int) -> bool:
    ann = _ensure_annotations(rs)
    changed = False
    for k, v in ((DESIRED_REPLICAS_ANNOTATION, str(desired)), (MAX_REPLICAS_ANNOTATION, str(max_replicas))):
        if ann.get(k) != v:
            ann[k] = v
            changed = True
    return changed


def replicas_annotations_need_update(rs: dict, desired: int, max_replicas: int) -> bool:
    ann = annotations(rs)
    return ann.get(DESIRED_REPLICAS_ANNOTATION) != str(desired) or ann.get(MAX_REPLICAS_ANNOTATION) != str(max_replicas)


def set_new_replica_set_annotations(d: dict, rs: dict, new_revision: str, exists: bool,
                                    history_limit_chars: int = MAX_REV_HISTORY_LENGTH_IN_CHARS) -> bool:
    """Copy the deployment's annotations, move the revision forward (recording the old one in the
    revision history), and for a new ReplicaSet set desired/max replicas."""
    changed = copy_deployment_annotations_to_replica_set(d, rs)
    ann = _ensure_annotations(rs)
    old_revision = ann.get(REVISION_ANNOTATION, "")
    try:
        old_int = int(old_revision) if old_revision else 0
        new_int = int(new_revision)
    except ValueError:
        return False
    if old_int < new_int:
        ann[REVISION_ANNOTATION] = new_revision
        changed = True
    if old_revision and old_int < new_int:
        history = ann.get(REVISION_HISTORY_ANNOTATION, "")
        old_revisions = history.split(",")
        if not old_revisions[0]:
            ann[REVISION_HISTORY_ANNOTATION] = old_revision
        else:
            total = len(history) + len(old_revision) + 1
            start = 0
            while total > history_limit_chars and start < len(old_revisions):
                total -= len(old_revisions[start]) + 1
                start += 1
            if total <= history_limit_chars:
                ann[REVISION_HISTORY_ANNOTATION] = ",".join(old_revisions[start:] + [old_revision])
    if not exists and set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


def set_deployment_revision(d: dict, rev: str) -> bool:
    ann = _ensure_annotations(d)
    if ann.get(REVISION_ANNOTATION) != rev:
        ann[REVISION_ANNOTATION] = rev
        return True
    return False


def desired_replicas_annotation(rs: dict) -> int | None:
    try:
        return int(annotations(rs)[DESIRED_REPLICAS_ANNOTATION])
    except (KeyError, ValueError):
        return None


def max_replicas_annotation(rs: dict) -> int | None:
    try:
        return int(annotations(rs)[MAX_REPLICAS_ANNOTATION])
    except (KeyError, ValueError):
        return None


# -- templates and finding ReplicaSets -----------------------------------------------------------
def template_without_hash(template: dict) -> dict:
    t = copy.deepcopy(template or {})
    lbl = (t.get("metadata") or {}).get("labels")
    if lbl and DEFAULT_UNIQUE_LABEL_KEY in lbl:
        del lbl[DEFAULT_UNIQUE_LABEL_KEY]
    return canonical(t)


def equal_ignore_hash(t1: dict, t2: dict) -> bool:
    """Templates equal apart from the pod-template-hash label (empty values count as absent)."""
    return template_without_hash(t1) == template_without_hash(t2)


def creation_time(obj: dict) -> datetime | None:
    return parse_time((obj.get("metadata") or {}).get("creationTimestamp"))


def _by_creation(a: dict, b: dict) -> int:
    ta, tb = creation_time(a), creation_time(b)
    if ta == tb:
        na, nb = a["metadata"]["name"], b["metadata"]["name"]
        return (na > nb) - (na < nb)
    if ta is None:
        return -1
    if tb is None:
        return 1
    return -1 if ta < tb else 1


def sort_by_creation(rss: list[dict], reverse: bool = False) -> list[dict]:
    """Oldest first (ties by name); `reverse` for newest first."""
    return sorted(rss, key=functools.cmp_to_key(_by_creation), reverse=reverse)


def sort_by_revision(rss: list[dict]) -> list[dict]:
    def cmp(a: dict, b: dict) -> int:
        ra, rb = revision(a), revision(b)
        if ra == rb:
            return _by_creation(a, b)
        return -1 if ra < rb else 1
    return sorted(rss, key=functools.cmp_to_key(cmp))


def sort_by_size_newer(rss: list[dict]) -> list[dict]:
    """Larger first; equal sizes, newer first."""
    def cmp(a: dict, b: dict) -> int:
        if replicas(a) == replicas(b):
            return -_by_creation(a, b)
        return -1 if replicas(a) > replicas(b) else 1
    return sorted(rss, key=functools.cmp_to_key(cmp))


def sort_by_size_older(rss: list[dict]) -> list[dict]:
    """Larger first; equal sizes, older first."""
    def cmp(a: dict, b: dict) -> int:
        if replicas(a) == replicas(b):
            return _by_creation(a, b)
        return -1 if replicas(a) > replicas(b) else 1
    return sorted(rss, key=functools.cmp_to_key(cmp))


def find_new_replica_set(d: dict, rss: list[dict]) -> dict | None:
    """The oldest ReplicaSet whose template equals the deployment's (ignoring the hash label)."""
    template = spec(d).get("template") or {}
    for rs in sort_by_creation(rss):
        if equal_ignore_hash(spec(rs).get("template") or {}, template):
            return rs
    return None


def find_old_replica_sets(d: dict, rss: list[dict]) -> tuple[list[dict], list[dict]]:
    """(old ReplicaSets with pods, all old ReplicaSets)."""
    new = find_new_replica_set(d, rss)
    required, all_old = [], []
    for rs in rss:
        if new is not None and rs["metadata"].get("uid") == new["metadata"].get("uid"):
            continue
        all_old.append(rs)
        if replicas(rs) != 0:
            required.append(rs)
    return required, all_old


def filter_active_replica_sets(rss: list[dict | None]) -> list[dict]:
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def replica_count(rss: list[dict | None]) -> int:
    """Sum of spec.replicas."""
    return sum(replicas(rs) for rs in rss if rs is not None)


def actual_replica_count(rss: list[dict | None]) -> int:
    return sum(status_int(rs, "replicas") for rs in rss if rs is not None)


def ready_replica_count(rss: list[dict | None]) -> int:
    return sum(status_int(rs, "readyReplicas") for rs in rss if rs is not None)


def available_replica_count(rss: list[dict | None]) -> int:
    return sum(status_int(rs, "availableReplicas") for rs in rss if rs is not None)


def find_active_or_latest(new_rs: dict | None, old_rss: list[dict]) -> dict | None:
    """The one active ReplicaSet, or the newest when none is active; None when several are."""
    if new_rs is None and not old_rss:
        return None
    old_sorted = sort_by_creation(old_rss, reverse=True)
    active = filter_active_replica_sets(old_sorted + [new_rs])
    if not active:
        return new_rs if new_rs is not None else old_sorted[0]
    if len(active) == 1:
        return active[0]
    return None


def is_saturated(d: dict, rs: dict | None) -> bool:
    if rs is None:
        return False
    desired = desired_replicas_annotation(rs)
    if desired is None:
        return False
    return replicas(rs) == replicas(d) and desired == replicas(d) and status_int(rs, "availableReplicas") == replicas(d)


def new_rs_new_replicas(d: dict, all_rss: list[dict | None], new_rs: dict) -> int:
    """How many replicas the new ReplicaSet may have now."""
    if is_rolling_update(d):
        current = replica_count(all_rss)
        max_total = replicas(d) + max_surge(d)
        if current >= max_total:
            return replicas(new_rs)
        scale_up = min(max_total - current, replicas(d) - replicas(new_rs))
        return replicas(new_rs) + scale_up
    return replicas(d)


def replica_set_fraction(rs: dict, d: dict) -> int:
    """How much `rs` should grow (or shrink) for the deployment's new size, proportionally."""
    if replicas(d) == 0:
        return -replicas(rs)
    deployment_replicas = replicas(d) + max_surge(d)
    annotated = max_replicas_annotation(rs)
    if annotated is None:
        annotated = status_int(d, "replicas")
    if annotated == 0:
        return 0
    new_size = replicas(rs) * deployment_replicas / annotated
    rounded = int(math.floor(new_size + 0.5)) if new_size >= 0 else -int(math.floor(-new_size + 0.5))
    return rounded - replicas(rs)


def get_proportion(rs: dict | None, d: dict, to_add: int, added: int) -> int:
    if rs is None or replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = replica_set_fraction(rs, d)
    allowed = to_add - added
    if to_add > 0:
        return min(fraction, allowed)
    return max(fraction, allowed)


# -- conditions ------------------------------------------------------------------------------
def new_condition(ctype: str, cstatus: str, reason: str, message: str, now: datetime) -> dict:
    ts = rfc3339(now)
    return {"type": ctype, "status": cstatus, "lastUpdateTime": ts, "lastTransitionTime": ts, "reason": reason,
            "message": message}


def get_condition(st: dict, ctype: str) -> dict | None:
    for c in st.get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def set_condition(st: dict, cond: dict) -> None:
    """Add or replace a condition; same status and reason: keep the current one; same status:
    keep its lastTransitionTime."""
    cur = get_condition(st, cond["type"])
    if cur is not None and cur.get("status") == cond["status"] and cur.get("reason") == cond.get("reason"):
        return
    if cur is not None and cur.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": cur.get("lastTransitionTime")}
    st["conditions"] = [c for c in st.get("conditions") or [] if c.get("type") != cond["type"]] + [cond]


def remove_condition(st: dict, ctype: str) -> None:
    conds = [c for c in st.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        st["conditions"] = conds
    else:
        st.pop("conditions", None)


def replica_set_to_deployment_condition(c: dict) -> dict:
    return {"type": c.get("type"), "status": c.get("status"), "lastUpdateTime": c.get("lastTransitionTime"),
            "lastTransitionTime": c.get("lastTransitionTime"), "reason": c.get("reason"),
            "message": c.get("message")}


# -- progress --------------------------------------------------------------------------------
def deployment_complete(d: dict, new_status: dict) -> bool:
    n = replicas(d)
    return (int(new_status.get("updatedReplicas") or 0) == n and int(new_status.get("replicas") or 0) == n
            and int(new_status.get("availableReplicas") or 0) == n
            and int(new_status.get("observedGeneration") or 0) >= int(d["metadata"].get("generation") or 0))


def deployment_progressing(d: dict, new_status: dict) -> bool:
    old = status(d)
    g = lambda s, k: int(s.get(k) or 0)  # noqa: E731
    old_old = g(old, "replicas") - g(old, "updatedReplicas")
    new_old = g(new_status, "replicas") - g(new_status, "updatedReplicas")
    return (g(new_status, "updatedReplicas") > g(old, "updatedReplicas") or new_old < old_old
            or g(new_status, "readyReplicas") > g(old, "readyReplicas")
            or g(new_status, "availableReplicas") > g(old, "availableReplicas"))


def deployment_timed_out(d: dict, new_status: dict, now: datetime) -> bool:
    deadline = progress_deadline_seconds(d)
    if deadline is None:
        return False
    cond = get_condition(new_status, PROGRESSING)
    if cond is None:
        return False
    if cond.get("reason") == NEW_RS_AVAILABLE_REASON:
        return False
    if cond.get("reason") == TIMED_OUT_REASON:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    return since is not None and since + timedelta(seconds=deadline) < now


def get_replica_set_owner_uid(rs: dict) -> str | None:
    ref = get_controller_of(rs)
    return ref.get("uid") if ref else None


def normalized_status(st: dict) -> dict:
    """A status with zero counts and empty lists dropped (Go's omitempty), for comparisons."""
    return {k: v for k, v in st.items() if v not in (0, None, [], {})}
