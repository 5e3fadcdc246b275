"""Pure helpers over Pods (and the Job selector rule, and tolerations), as Kubernetes computes them.

- `pod_qos_class`: `ComputePodQOS` (Guaranteed / Burstable / BestEffort) from cpu and memory
  requests and limits of containers and init containers.
- `is_pod_ready`: the `Ready` condition is `True`.
- `pod_requests`: `resource.PodRequests`: the sum over containers, the maximum with each init
  container's needs (sidecars, i.e. restartable init containers, add up), plus the pod overhead.
  cpu in millicores, every other resource in whole units (memory in bytes).
- `generate_job_selector`: what Kubernetes' Job strategy does on create when the selector is not
  manual (selector on the controller uid, labels on the template).
- `tolerates`, `tolerates_any`, `find_untolerated_taint`: taints and tolerations
  (`Toleration.ToleratesTaint`, `FindMatchingUntoleratedTaint`), for the scheduler, the
  DaemonSet controller and taint-based eviction.

Pure: no I/O. May import: `kubelite.machinery`.
"""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any, Collection, Iterable, Mapping

from kubelite.machinery import quantity

QOS_RESOURCES = ("cpu", "memory")


def _q(v: Any) -> Fraction:
    try:
        return quantity.parse(v)
    except (quantity.QuantityError, ValueError, TypeError, ZeroDivisionError):
        return Fraction(0)


def _containers(pod: dict, group: str) -> list[dict]:
    spec = pod.get("spec")
    items = spec.get(group) if isinstance(spec, dict) else None
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


def _resources(c: dict, which: str) -> dict:
    res = c.get("resources") or {}
    v = res.get(which) if isinstance(res, dict) else None
    return v if isinstance(v, dict) else {}


def pod_qos_class(pod: dict) -> str:
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for c in _containers(pod, "containers") + _containers(pod, "initContainers"):
        for name, q in _resources(c, "requests").items():
            v = _q(q)
            if name in QOS_RESOURCES and v > 0:
                requests[name] = requests.get(name, Fraction(0)) + v
        found: set[str] = set()
        for name, q in _resources(c, "limits").items():
            v = _q(q)
            if name in QOS_RESOURCES and v > 0:
                found.add(name)
                limits[name] = limits.get(name, Fraction(0)) + v
        if not found.issuperset(QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        for name, req in requests.items():
            if limits.get(name) != req:
                guaranteed = False
                break
    if guaranteed and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def is_pod_ready(pod: dict) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _as_units(name: str, q: Any) -> int:
    try:
        return quantity.milli(q) if name == "cpu" else quantity.value(q)
    except (quantity.QuantityError, ValueError, TypeError, ZeroDivisionError):
        return 0


def _add(total: dict[str, int], items: dict[str, Any] | dict[str, int], *, converted: bool = False) -> None:
    for name, q in items.items():
        total[name] = total.get(name, 0) + (q if converted else _as_units(name, q))


def _max_into(total: dict[str, int], other: dict[str, int]) -> None:
    for name, v in other.items():
        if v > total.get(name, 0):
            total[name] = v


def pod_requests(pod: dict, *, exclude_overhead: bool = False) -> dict[str, int]:
    """Effective requests of a pod: cpu in millicores, other resources in units (memory: bytes)."""
    reqs: dict[str, int] = {}
    for c in _containers(pod, "containers"):
        _add(reqs, _resources(c, "requests"))
    sidecars: dict[str, int] = {}
    init_max: dict[str, int] = {}
    for c in _containers(pod, "initContainers"):
        own: dict[str, int] = {}
        _add(own, _resources(c, "requests"))
        if c.get("restartPolicy") == "Always":
            _add(reqs, own, converted=True)
            _add(sidecars, own, converted=True)
            need = dict(sidecars)
        else:
            need = dict(own)
            _add(need, sidecars, converted=True)
        _max_into(init_max, need)
    _max_into(reqs, init_max)
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    overhead = spec.get("overhead")
    if not exclude_overhead and isinstance(overhead, dict):
        _add(reqs, overhead)
    return reqs


def pod_limits(pod: dict) -> dict[str, int]:
    """Effective limits, by the same rule as requests (a container without a limit adds nothing)."""
    as_requests = copy.deepcopy(pod)
    for group in ("containers", "initContainers"):
        for c in _containers(as_requests, group):
            res = c.get("resources") if isinstance(c.get("resources"), dict) else {}
            c["resources"] = {"requests": res.get("limits") or {}}
    return pod_requests(as_requests)


def _object(parent: dict, key: str) -> dict | None:
    v = parent.get(key)
    if v is None:
        v = parent[key] = {}
    return v if isinstance(v, dict) else None


# -- Job selectors -----------------------------------------------------------------------------------

JOB_LABELS = ("batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name", "controller-uid", "job-name")


def generate_job_selector(job: dict) -> None:
    """Kubernetes' Job strategy on create (unless `spec.manualSelector`): label the template with
    the job's uid and name and select on the uid. Needs `metadata.uid` already set."""
    spec = _object(job, "spec")
    if spec is None or spec.get("manualSelector") is True:
        return
    md = job.get("metadata") if isinstance(job.get("metadata"), dict) else {}
    uid, name = str(md.get("uid") or ""), str(md.get("name") or "")
    tpl = _object(spec, "template")
    tmd = _object(tpl, "metadata") if tpl is not None else None
    if tmd is None:
        return
    labels = tmd.get("labels") if isinstance(tmd.get("labels"), dict) else {}
    for key, value in zip(JOB_LABELS, (uid, name, uid, name)):
        labels.setdefault(key, value)
    tmd["labels"] = labels
    sel = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
    match = sel.get("matchLabels") if isinstance(sel.get("matchLabels"), dict) else {}
    match.setdefault("batch.kubernetes.io/controller-uid", uid)
    sel["matchLabels"] = match
    spec["selector"] = sel


# -- Taints and tolerations --------------------------------------------------------------------------


def tolerates(toleration: Mapping, taint: Mapping) -> bool:
    """Whether one toleration tolerates one taint: an empty effect or key matches any, then the
    operator `Exists`, or `Equal` (the default) with the same value."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerates_any(tolerations: Iterable[Mapping], taint: Mapping) -> bool:
    for t in tolerations:
        if tolerates(t, taint):
            return True
    return False


def find_untolerated_taint(taints: Iterable[Mapping], tolerations: Iterable[Mapping],
                           effects: Collection[str] | None = None) -> Mapping | None:
    """The first taint (of `effects`, when given) that no toleration tolerates."""
    for taint in taints:
        if effects is not None and taint.get("effect") not in effects:
            continue
        if not tolerates_any(tolerations, taint):
            return taint
    return None
