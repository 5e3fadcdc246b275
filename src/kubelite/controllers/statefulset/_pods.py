"""Pod helpers the StatefulSet controller needs until `kubelite.controllers.util` has them: pod
state predicates, controller references and the claim (adopt/release) of pods by selector. Merge
into `controllers/util` (podutil, controller_ref_manager); the same code serves the DaemonSet.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any, Callable

from kubelite.client import Client
from kubelite.machinery import labels
from kubelite.machinery.timeutil import parse_time

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
    return {"apiVersion": owner.get("apiVersion") or "apps/v1", "kind": owner.get("kind") or "StatefulSet",
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


# ----- claiming


async def claim_pods(client: Client, owner: dict, selector: labels.Selector, pods: list[dict],
                     can_adopt: Callable[[], Any], member: Callable[[dict], bool] = lambda pod: True) -> list[dict]:
    """The pods `owner` controls after adopting matching orphans and releasing non-matching ones
    (client-go's PodControllerRefManager.ClaimPods). `can_adopt` is awaited once, before the
    first adoption, and raises if the owner may not adopt (gone, replaced or being deleted);
    `member` narrows the selector (a StatefulSet claims only pods named after it)."""
    uid = owner["metadata"]["uid"]
    deleting = is_terminating(owner)
    claimed: list[dict] = []
    checked = False
    for pod in pods:
        md = pod["metadata"]
        ref = controller_of(pod)
        match = selector.matches(md.get("labels")) and member(pod)
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if match:
                claimed.append(pod)
            elif not deleting and not is_terminating(pod):
                refs = [r for r in md.get("ownerReferences") or [] if r.get("uid") != uid]
                await _patch_owners(client, pod, refs)
            continue
        if deleting or not match or is_terminating(pod):
            continue
        if not checked:
            await can_adopt()
            checked = True
        refs = list(md.get("ownerReferences") or []) + [controller_ref(owner)]
        claimed.append(await _patch_owners(client, pod, refs))
    return claimed


async def _patch_owners(client: Client, pod: dict, refs: list[dict]) -> dict:
    md = pod["metadata"]
    patch = {"metadata": {"ownerReferences": refs or None, "resourceVersion": md["resourceVersion"]}}
    return await client.patch("pods", md["name"], patch, md["namespace"])
