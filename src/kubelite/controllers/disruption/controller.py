"""`DisruptionController`: the status of every PodDisruptionBudget.

`sync_pdb(key)` finds the pods the budget selects, the number expected (the pods themselves for
an integer `minAvailable`; else the scale of their controllers: Deployment through its
ReplicaSet, ReplicaSet, StatefulSet, or any resource with a `scale` subresource), the number
desired healthy, and the number healthy (Ready, not being deleted, not recently evicted: the
`disruptedPods` an eviction recorded, kept for 2 minutes), and writes `currentHealthy`,
`desiredHealthy`, `expectedPods`, `disruptionsAllowed`, `disruptedPods`, `observedGeneration` and
the `DisruptionAllowed` condition through `/status`. If that fails (a pod without a controller
for a percentage budget, a controller without scale), the budget fails safe: no disruptions
allowed, condition reason `SyncFailed`.
"""

from __future__ import annotations

import copy
import logging
import math
from datetime import datetime, timedelta

from kubelite.client import split_meta_namespace_key
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery import labels
from kubelite.machinery.errors import StatusError, is_conflict, is_not_found
from kubelite.machinery.timeutil import parse_time, rfc3339

log = logging.getLogger(__name__)

DELETION_TIMEOUT = 120.0
DISRUPTION_ALLOWED = "DisruptionAllowed"
SUFFICIENT_PODS, INSUFFICIENT_PODS, SYNC_FAILED = "SufficientPods", "InsufficientPods", "SyncFailed"

_CONTROLLER_RESOURCES = {("apps", "ReplicaSet"): "replicasets.apps", ("apps", "Deployment"): "deployments.apps",
                         ("apps", "StatefulSet"): "statefulsets.apps"}


class ExpectedCountError(Exception):
    pass


def _controller_of(obj: dict) -> dict | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def _group(ref: dict) -> str:
    api_version = ref.get("apiVersion") or ""
    return api_version.split("/")[0] if "/" in api_version else ""


def scaled_value(value: int | str, total: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    s = str(value)
    if not s.endswith("%"):
        return int(s)
    v = int(s[:-1]) * total / 100
    return math.ceil(v) if round_up else math.floor(v)


def is_pod_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def count_healthy(pods: list[dict], disrupted: dict[str, str], now: datetime) -> int:
    healthy = 0
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        t = parse_time(disrupted.get(pod["metadata"]["name"]))
        if t is not None and t + timedelta(seconds=DELETION_TIMEOUT) > now:
            continue
        healthy += is_pod_ready(pod)
    return healthy


def set_condition(conditions: list[dict], new: dict, now: str) -> list[dict]:
    """meta.SetStatusCondition: the transition time moves only when the status changes."""
    out = [dict(c) for c in conditions]
    for c in out:
        if c.get("type") == new["type"]:
            if c.get("status") != new["status"]:
                c["lastTransitionTime"] = now
            c.update({k: v for k, v in new.items() if k != "lastTransitionTime"})
            return out
    out.append({**new, "lastTransitionTime": now})
    return out


class DisruptionController(Controller):
    name = "disruption-controller"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        inf = ctx.informers
        self.pdbs = inf.informer_for("poddisruptionbudgets.policy")
        self.pods = inf.informer_for("pods")
        self.pdb_lister = self.pdbs.lister()
        self.pod_lister = self.pods.lister()
        self.listers = {k: inf.informer_for(r).lister() for k, r in _CONTROLLER_RESOURCES.items()}
        for r in _CONTROLLER_RESOURCES.values():
            inf.informer_for(r).add_event_handler(None, lambda old, new: self.enqueue_namespace(new), None)
        self.pdbs.add_event_handler(self.enqueue, lambda old, new: self.enqueue(new), None)
        self.pods.add_event_handler(self.enqueue_pod, self.update_pod, self.enqueue_pod)

    # ----- handlers

    def _pdbs_for(self, pod: dict) -> list[dict]:
        md = pod["metadata"]
        out = []
        for pdb in self.pdb_lister.list(md.get("namespace")):
            try:
                sel = labels.selector_from_label_selector((pdb.get("spec") or {}).get("selector"))
            except labels.SelectorError:
                continue
            if sel.matches(md.get("labels")):
                out.append(pdb)
        return out

    def enqueue_pod(self, pod: dict) -> None:
        for pdb in self._pdbs_for(pod):
            self.enqueue(pdb)

    def update_pod(self, old: dict, new: dict) -> None:
        self.enqueue_pod(new)
        if (old["metadata"].get("labels") or {}) != (new["metadata"].get("labels") or {}):
            self.enqueue_pod(old)

    def enqueue_namespace(self, obj: dict) -> None:
        for pdb in self.pdb_lister.list(obj["metadata"].get("namespace")):
            self.enqueue(pdb)

    # ----- sync

    async def sync(self, key: str) -> None:
        await self.sync_pdb(key)

    async def sync_pdb(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        try:
            pdb = self.pdb_lister.get(name, ns)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        try:
            await self.try_sync(pdb)
        except StatusError as e:
            if is_conflict(e):
                raise
            await self.fail_safe(pdb, e)
        except ExpectedCountError as e:
            await self.fail_safe(pdb, e)

    async def try_sync(self, pdb: dict) -> None:
        ns = pdb["metadata"]["namespace"]
        try:
            sel = labels.selector_from_label_selector((pdb.get("spec") or {}).get("selector"))
        except labels.SelectorError as e:
            self.event(pdb, "Warning", "NoPods", f"Failed to get pods: {e}")
            raise ExpectedCountError(str(e)) from e
        pods = self.pod_lister.list(ns, sel)
        if not pods:
            self.event(pdb, "Normal", "NoPods", "No matching pods found")
        try:
            expected, desired, unmanaged = await self.expected_pod_count(pdb, pods)
        except (ExpectedCountError, StatusError) as e:
            self.event(pdb, "Warning", "CalculateExpectedPodCountFailed",
                       f"Failed to calculate the number of expected pods: {e}")
            raise
        if unmanaged:
            selector = labels.format_label_selector((pdb.get("spec") or {}).get("selector"))
            self.event(pdb, "Warning", "UnmanagedPods",
                       f"Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be "
                       "unmanaged. As a result, the "
                       "status of the PDB cannot be calculated correctly, which may result in undefined behavior. "
                       'To account for these pods please set ".spec.minAvailable" field of the PDB to an integer '
                       "value.")
        now = self.clock.now()
        disrupted, recheck = self.disrupted_pods(pdb, pods, now)
        healthy = count_healthy(pods, disrupted, now)
        await self.update_status(pdb, healthy, desired, expected, disrupted)
        if recheck is not None:
            self.enqueue_after(pdb, max(0.0, (recheck - now).total_seconds()))

    async def expected_pod_count(self, pdb: dict, pods: list[dict]) -> tuple[int, int, list[str]]:
        spec = pdb.get("spec") or {}
        if spec.get("maxUnavailable") is not None:
            expected, unmanaged = await self.expected_scale(pods)
            desired = max(0, expected - scaled_value(spec["maxUnavailable"], expected, True))
            return expected, desired, unmanaged
        min_available = spec.get("minAvailable")
        if isinstance(min_available, int):
            return len(pods), min_available, []
        if min_available is not None:
            expected, unmanaged = await self.expected_scale(pods)
            return expected, scaled_value(min_available, expected, True), unmanaged
        return 0, 0, []

    async def expected_scale(self, pods: list[dict]) -> tuple[int, list[str]]:
        """The sum of the scales of the pods' controllers (each counted once)."""
        scales: dict[str, int] = {}
        unmanaged: list[str] = []
        for pod in pods:
            ref = _controller_of(pod)
            if ref is None:
                unmanaged.append(pod["metadata"]["name"])
                continue
            if ref.get("uid") in scales:
                continue
            found = await self.find_controller_scale(ref, pod["metadata"]["namespace"])
            if found is None:
                raise ExpectedCountError(f'found no controllers for pod "{pod["metadata"]["name"]}"')
            scales[found[0]] = found[1]
        return sum(scales.values()), unmanaged

    async def find_controller_scale(self, ref: dict, namespace: str) -> tuple[str, int] | None:
        """`(controller uid, replicas)` for a pod's controller reference."""
        kind, group = ref.get("kind"), _group(ref)
        if (group, kind) == ("apps", "ReplicaSet"):
            try:
                rs = self.listers[("apps", "ReplicaSet")].get(ref["name"], namespace)
            except StatusError:
                return None
            if rs["metadata"].get("uid") != ref.get("uid"):
                return None
            owner = _controller_of(rs)
            if owner is not None and owner.get("kind") == "Deployment":
                try:
                    dep = self.listers[("apps", "Deployment")].get(owner["name"], namespace)
                except StatusError:
                    return None
                if dep["metadata"].get("uid") != owner.get("uid"):
                    return None
                return dep["metadata"]["uid"], _replicas(dep)
            return rs["metadata"]["uid"], _replicas(rs)
        if (group, kind) in _CONTROLLER_RESOURCES:
            try:
                obj = self.listers[(group, kind)].get(ref["name"], namespace)
            except StatusError:
                return None
            return (obj["metadata"]["uid"], _replicas(obj)) if obj["metadata"].get("uid") == ref.get("uid") else None
        resource = self.client.scheme.by_api_version_kind(ref.get("apiVersion") or "", kind or "")
        if resource is None:
            return None
        if resource.subresource("scale") is None:
            raise ExpectedCountError(f"{resource.plural}{'.' + resource.group if resource.group else ''} does not "
                                     "implement the scale subresource")
        scale = await self.client.get_scale(resource, ref["name"], namespace)
        if (scale.get("metadata") or {}).get("uid") not in (None, ref.get("uid")):
            return None
        return ref.get("uid", ""), int((scale.get("spec") or {}).get("replicas") or 0)

    def disrupted_pods(self, pdb: dict, pods: list[dict], now: datetime) -> tuple[dict[str, str], datetime | None]:
        """The recorded evictions still pending (at most 2 minutes old), and when to look again."""
        recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
        out: dict[str, str] = {}
        recheck = None
        for pod in pods:
            name = pod["metadata"]["name"]
            if pod["metadata"].get("deletionTimestamp") or name not in recorded:
                continue
            t = parse_time(recorded[name])
            if t is None:
                continue
            expected = t + timedelta(seconds=DELETION_TIMEOUT)
            if expected < now:
                self.event(pod, "Warning", "NotDeleted",
                           f"Pod was expected by PDB {pdb['metadata']['namespace']}/{pdb['metadata']['name']} to be "
                           "deleted but it wasn't")
                continue
            out[name] = recorded[name]
            recheck = expected if recheck is None or expected < recheck else recheck
        return out, recheck

    async def update_status(self, pdb: dict, healthy: int, desired: int, expected: int,
                            disrupted: dict[str, str]) -> None:
        allowed = healthy - desired
        if expected <= 0 or allowed <= 0:
            allowed = 0
        old = pdb.get("status") or {}
        generation = pdb["metadata"].get("generation", 0)
        status = {"currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
                  "disruptionsAllowed": allowed, "observedGeneration": generation}
        if disrupted:
            status["disruptedPods"] = disrupted
        cond = {"type": DISRUPTION_ALLOWED, "status": "True" if allowed > 0 else "False",
                "reason": SUFFICIENT_PODS if allowed > 0 else INSUFFICIENT_PODS, "message": "",
                "observedGeneration": generation}
        status["conditions"] = set_condition(old.get("conditions") or [], cond, rfc3339(self.clock.now()))
        if status == old:
            return
        await self.client.update_status("poddisruptionbudgets.policy", {**pdb, "status": status})

    async def fail_safe(self, pdb: dict, err: BaseException) -> None:
        status = copy.deepcopy(pdb.get("status") or {})
        status["disruptionsAllowed"] = 0
        status["conditions"] = set_condition(status.get("conditions") or [], {
            "type": DISRUPTION_ALLOWED, "status": "False", "reason": SYNC_FAILED, "message": str(err),
            "observedGeneration": status.get("observedGeneration", 0)}, rfc3339(self.clock.now()))
        if status != (pdb.get("status") or {}):
            await self.client.update_status("poddisruptionbudgets.policy", {**pdb, "status": status})


def _replicas(obj: dict) -> int:
    r = (obj.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)
