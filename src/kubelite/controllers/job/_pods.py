"""Pod helpers the Job controller needs until `kubelite.controllers.util` has them: pod state
predicates, controller references, expectations, the claim (adopt/release) of pods by selector,
and the ranking of active pods for deletion (Kubernetes' `controller.ActivePods`). Merge into
`controllers/util` (podutil, expectations, controller_ref_manager, pod ranking).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from kubelite.client import Client
from kubelite.machinery import labels
from kubelite.machinery.timeutil import parse_time

EXPECTATIONS_TIMEOUT = 300.0     # client-go's ExpectationsTimeout: 5 minutes


# ----- pod state


def pod_condition(pod: dict, type_: str) -> dict | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c
    return None


def is_pod_ready(pod: dict) -> bool:
    c = pod_condition(pod, "Ready")
    return c is not None and c.get("status") == "True"


def is_pod_available(pod: dict, min_ready_seconds: int, now: datetime) -> bool:
    """Ready for at least `min_ready_seconds`."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = parse_time((pod_condition(pod, "Ready") or {}).get("lastTransitionTime"))
    return since is not None and since + timedelta(seconds=min_ready_seconds) <= now


def is_terminating(obj: dict) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def is_terminal(pod: dict) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def creation_key(pod: dict) -> tuple[str, str]:
    md = pod.get("metadata") or {}
    return (md.get("creationTimestamp") or "", md.get("name") or "")


# ----- owners


def controller_of(obj: dict) -> dict | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def controller_ref(owner: dict) -> dict:
    md = owner["metadata"]
    return {"apiVersion": owner.get("apiVersion") or "apps/v1", "kind": owner.get("kind") or "Job",
            "name": md["name"], "uid": md["uid"], "controller": True, "blockOwnerDeletion": True}


def selector_of(owner: dict) -> labels.Selector:
    try:
        return labels.selector_from_label_selector((owner.get("spec") or {}).get("selector"))
    except labels.SelectorError:
        return labels.Selector.nothing()


def pod_from_template(template: dict, owner: dict) -> dict:
    """A new pod (no name) from a pod template, controlled by `owner`."""
    tmeta = template.get("metadata") or {}
    meta: dict[str, Any] = {"labels": dict(tmeta.get("labels") or {}),
                            "ownerReferences": [controller_ref(owner)]}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


# ----- expectations


@dataclass
class _Expectation:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    at: float = 0.0


class Expectations:
    """What a controller expects its informer to report after its own writes, per owner key.

    A sync that acts on a cache that has not seen the controller's last creations or deletions
    would act twice; `satisfied(key)` is False until the informer caught up (or 5 minutes passed).
    """

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._by_key: dict[str, _Expectation] = {}

    def satisfied(self, key: str) -> bool:
        e = self._by_key.get(key)
        if e is None:
            return True
        if e.adds <= 0 and not e.deletes:
            return True
        return self._monotonic() - e.at > EXPECTATIONS_TIMEOUT

    def expect(self, key: str, adds: int = 0, deletes: list[str] | None = None) -> None:
        self._by_key[key] = _Expectation(adds, set(deletes or ()), self._monotonic())

    def creation_observed(self, key: str) -> None:
        e = self._by_key.get(key)
        if e is not None:
            e.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        e = self._by_key.get(key)
        if e is not None:
            e.deletes.discard(pod_key)

    def forget(self, key: str) -> None:
        self._by_key.pop(key, None)


# ----- claiming


async def claim_pods(client: Client, owner: dict, selector: labels.Selector, pods: list[dict],
                     can_adopt: Callable[[], Any], release_finalizer: str = "") -> list[dict]:
    """The pods `owner` controls after adopting matching orphans and releasing non-matching ones
    (client-go's PodControllerRefManager.ClaimPods). `can_adopt` is awaited once, before the
    first adoption, and raises if the owner may not adopt (gone, replaced or being deleted).
    A released pod also loses `release_finalizer`."""
    uid = owner["metadata"]["uid"]
    deleting = is_terminating(owner)
    claimed: list[dict] = []
    checked = False
    for pod in pods:
        md = pod["metadata"]
        ref = controller_of(pod)
        match = selector.matches(md.get("labels"))
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if match:
                claimed.append(pod)
            elif not deleting and not is_terminating(pod):
                refs = [r for r in md.get("ownerReferences") or [] if r.get("uid") != uid]
                await _patch_owners(client, pod, refs, release_finalizer)
            continue
        if deleting or not match or is_terminating(pod):
            continue
        if not checked:
            await can_adopt()
            checked = True
        refs = list(md.get("ownerReferences") or []) + [controller_ref(owner)]
        claimed.append(await _patch_owners(client, pod, refs))
    return claimed


async def _patch_owners(client: Client, pod: dict, refs: list[dict], drop_finalizer: str = "") -> dict:
    md = pod["metadata"]
    patch: dict[str, Any] = {"metadata": {"ownerReferences": refs or None, "resourceVersion": md["resourceVersion"]}}
    if drop_finalizer and drop_finalizer in (md.get("finalizers") or []):
        patch["metadata"]["finalizers"] = [f for f in md["finalizers"] if f != drop_finalizer] or None
    return await client.patch("pods", md["name"], patch, md["namespace"])


# ----- ranking


_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def _max_restarts(pod: dict) -> int:
    return max((c.get("restartCount") or 0 for c in (pod.get("status") or {}).get("containerStatuses") or []),
               default=0)


def _recent_first(value: str | None) -> float:
    """Sort key: a missing time first, then the most recent."""
    t = parse_time(value)
    return -t.timestamp() if t is not None else float("-inf")


def deletion_rank(pod: dict) -> tuple:
    """Sort key: pods earlier in the order are better to delete (unscheduled < scheduled,
    Pending < Unknown < Running, not ready < ready, ready for less time, more restarts, newer)."""
    ready = is_pod_ready(pod)
    ready_since = _recent_first((pod_condition(pod, "Ready") or {}).get("lastTransitionTime")) if ready else 0.0
    return (bool((pod.get("spec") or {}).get("nodeName")), _PHASE_ORDER.get(phase(pod), 0), ready, ready_since,
            -_max_restarts(pod), _recent_first((pod.get("metadata") or {}).get("creationTimestamp")))
