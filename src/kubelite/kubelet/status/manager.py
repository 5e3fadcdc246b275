"""`StatusManager`: the latest status of each pod, written to the API server when it changes."""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from kubelite.client import Clock, RealClock
from kubelite.machinery.errors import StatusError, is_conflict, is_not_found
from kubelite.machinery.timeutil import rfc3339

from .generate import KUBELET_CONDITIONS

log = logging.getLogger(__name__)

OWNED_FIELDS = ("phase", "conditions", "message", "reason", "hostIP", "hostIPs", "podIP", "podIPs", "startTime",
                "qosClass", "containerStatuses", "initContainerStatuses")
RETRY_DELAY = 1.0


def _rv(obj: dict) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def canonical(value):
    """A value as the API server stores it: keys whose value is null are dropped (so that a
    `lastProbeTime: null` we send does not look like a difference forever)."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def _is_terminal(status: dict) -> bool:
    return status.get("phase") in ("Succeeded", "Failed")


class StatusManager:
    def __init__(self, client: Any, *, clock: Clock | None = None):
        self.client = client
        self.clock = clock or RealClock()
        self._pods: dict[str, dict] = {}  # uid -> the newest pod object seen from the API
        self._statuses: dict[str, dict] = {}  # uid -> the status we want
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._flushed: dict[str, asyncio.Event] = {}
        self.writes = 0

    # --- inputs --------------------------------------------------------------------------------
    def pod_updated(self, pod: dict) -> None:
        """The API's copy of a pod (from the informer, or a patch response)."""
        uid = (pod.get("metadata") or {}).get("uid", "")
        old = self._pods.get(uid)
        if old is not None and _rv(old) > _rv(pod):
            return
        self._pods[uid] = pod
        if uid in self._statuses and self._differs(uid):
            self._mark(uid)

    def get(self, uid: str) -> tuple[dict, dict] | None:
        pod = self._pods.get(uid)
        status = self._statuses.get(uid)
        if pod is None or status is None:
            return None
        return pod, status

    def status_of(self, uid: str) -> dict:
        """The latest status we know: ours, else the API's."""
        if uid in self._statuses:
            return self._statuses[uid]
        return (self._pods.get(uid) or {}).get("status") or {}

    def set_pod_status(self, pod: dict, status: dict) -> bool:
        """Record the status the kubelet generated; returns True if it changed anything."""
        uid = (pod.get("metadata") or {}).get("uid", "")
        if uid not in self._pods or _rv(pod) > _rv(self._pods[uid]):
            self._pods[uid] = pod
        old = self._statuses.get(uid) or (self._pods[uid].get("status") or {})
        new = copy.deepcopy(status)
        now = rfc3339(self.clock.now())
        old_conds = {c.get("type"): c for c in old.get("conditions") or []}
        api_conds = {c.get("type"): c for c in (self._pods[uid].get("status") or {}).get("conditions") or []}
        for c in new.get("conditions") or []:
            if c.get("type") not in KUBELET_CONDITIONS:
                continue
            prev = old_conds.get(c["type"]) or api_conds.get(c["type"])
            c["lastProbeTime"] = None
            if prev is not None and prev.get("status") == c.get("status") and prev.get("lastTransitionTime"):
                c["lastTransitionTime"] = prev["lastTransitionTime"]
            else:
                c["lastTransitionTime"] = now
        start = old.get("startTime") or (self._pods[uid].get("status") or {}).get("startTime")
        new["startTime"] = start or now
        if _is_terminal(old) and not _is_terminal(new):
            log.warning("pod %s: refusing to move phase %s back to %s", uid, old.get("phase"), new.get("phase"))
            new["phase"] = old["phase"]
        if self._statuses.get(uid) == new:
            return False
        self._statuses[uid] = new
        if self._differs(uid):
            self._mark(uid)
        return True

    def remove(self, uid: str) -> None:
        self._pods.pop(uid, None)
        self._statuses.pop(uid, None)
        self._dirty.discard(uid)
        ev = self._flushed.pop(uid, None)
        if ev is not None:
            ev.set()

    def _mark(self, uid: str) -> None:
        self._dirty.add(uid)
        self._wake.set()

    # --- writing -------------------------------------------------------------------------------
    def _patch_for(self, uid: str) -> dict:
        pod = self._pods[uid]
        current = pod.get("status") or {}
        desired = self._statuses[uid]
        patch: dict = {}
        for key in OWNED_FIELDS:
            want = desired.get(key)
            if key == "conditions" and want is not None:
                foreign = [c for c in current.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
                want = foreign + [c for c in want if c.get("type") in KUBELET_CONDITIONS]
            if canonical(current.get(key)) != canonical(want):
                patch[key] = want
        return patch

    def _differs(self, uid: str) -> bool:
        return uid in self._pods and uid in self._statuses and bool(self._patch_for(uid))

    async def sync_pod(self, uid: str) -> bool:
        """Write the pod's status if it differs; False if it should be retried."""
        if uid not in self._pods or uid not in self._statuses:
            return True
        patch = self._patch_for(uid)
        if not patch:
            return True
        pod = self._pods[uid]
        md = pod.get("metadata") or {}
        body = {"metadata": {"uid": uid}, "status": patch}
        try:
            out = await self.client.patch("pods", md.get("name"), body, md.get("namespace"), patch_type="merge",
                                          subresource="status")
        except StatusError as e:
            if is_not_found(e) or is_conflict(e):
                log.debug("pod %s/%s: status not written: %s", md.get("namespace"), md.get("name"), e)
                return True
            log.warning("pod %s/%s: status update failed: %s", md.get("namespace"), md.get("name"), e)
            return False
        except (OSError, asyncio.TimeoutError) as e:
            log.warning("pod %s/%s: status update failed: %s", md.get("namespace"), md.get("name"), e)
            return False
        except Exception as e:  # transport errors of any kind: retry
            log.warning("pod %s/%s: status update failed: %r", md.get("namespace"), md.get("name"), e)
            return False
        self.writes += 1
        if uid in self._pods:
            self.pod_updated(out)
        return True

    async def flush(self, uid: str) -> None:
        """Write now (used before deleting a pod)."""
        for _ in range(5):
            if await self.sync_pod(uid):
                self._dirty.discard(uid)
                return
            await self.clock.sleep(RETRY_DELAY)

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = list(self._dirty)
            self._dirty.clear()
            results = await asyncio.gather(*(self.sync_pod(uid) for uid in batch))
            failed = [uid for uid, ok in zip(batch, results) if not ok and uid in self._statuses]
            if failed:
                await self.clock.sleep(RETRY_DELAY)
                for uid in failed:
                    self._mark(uid)

    async def delete_pod(self, pod: dict) -> None:
        """`DELETE` with `gracePeriodSeconds=0` once the kubelet is done with a deleted pod."""
        md = pod.get("metadata") or {}
        try:
            await self.client.delete("pods", md.get("name"), md.get("namespace"), grace_period_seconds=0,
                                     preconditions={"uid": md.get("uid")})
        except StatusError as e:
            if not (is_not_found(e) or is_conflict(e)):
                raise
