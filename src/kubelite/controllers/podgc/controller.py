"""`PodGCController`: deletes pods nobody else will.

Every `pod_gc_period` (20 s) `gc()` runs four passes:

- terminated pods (Succeeded or Failed) beyond `terminated_pod_gc_threshold` (12500; 0 turns
  this pass off), evicted ones first, then the oldest;
- terminating pods on a node that is not Ready and carries the
  `node.kubernetes.io/out-of-service` taint;
- orphaned pods, bound to a node that has been missing for the 40 s quarantine (and a fresh
  read from the API server confirms it is gone): these get the `DisruptionTarget` condition
  (reason `DeletionByPodGC`) and phase Failed first;
- terminating pods that were never scheduled.

Deletions are forced (grace period 0): no kubelet is left to finish them.
"""

from __future__ import annotations

import logging

from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.errors import StatusError, is_not_found
from kubelite.machinery.timeutil import rfc3339

log = logging.getLogger(__name__)

QUARANTINE = 40.0
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"


def is_terminated(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def terminated_to_delete(pods: list[dict], threshold: int) -> list[dict]:
    """The terminated pods beyond `threshold`: evicted ones first, then the oldest."""
    terminated = [p for p in pods if is_terminated(p)]
    excess = len(terminated) - threshold
    if threshold <= 0 or excess <= 0:
        return []
    terminated.sort(key=lambda p: ((p.get("status") or {}).get("reason") != "Evicted",
                                   p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"]))
    return terminated[:excess]


def _ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def out_of_service(node: dict) -> bool:
    return not _ready(node) and any(t.get("key") == OUT_OF_SERVICE and t.get("effect") == "NoExecute"
                                    for t in (node.get("spec") or {}).get("taints") or [])


class PodGCController(Controller):
    name = "pod-garbage-collector"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        self.pods = ctx.informers.informer_for("pods")
        self.nodes = ctx.informers.informer_for("nodes")
        self.pod_lister = self.pods.lister()
        self.node_lister = self.nodes.lister()
        self.threshold = int(ctx.option("terminated_pod_gc_threshold", 12500))
        self.period = float(ctx.option("pod_gc_period", 20.0))
        self.quarantine = float(ctx.option("pod_gc_quarantine", QUARANTINE))
        self.missing_since: dict[str, float] = {}

    async def run(self) -> None:
        await self.informers.wait_for_cache_sync()
        while True:
            try:
                await self.gc()
            except StatusError as e:
                log.warning("%s: %s", self.name, e)
            await self.clock.sleep(self.period)

    async def gc(self) -> None:
        pods = self.pod_lister.list()
        nodes = {n["metadata"]["name"]: n for n in self.node_lister.list()}
        for pod in terminated_to_delete(pods, self.threshold):
            await self.delete_pod(pod)
        for pod in pods:
            node = nodes.get((pod.get("spec") or {}).get("nodeName") or "")
            if pod["metadata"].get("deletionTimestamp") and node is not None and out_of_service(node):
                await self.delete_pod(pod)
        await self.gc_orphaned(pods, nodes)
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp") and not (pod.get("spec") or {}).get("nodeName"):
                await self.delete_pod(pod)

    async def gc_orphaned(self, pods: list[dict], nodes: dict[str, dict]) -> None:
        now = self.clock.monotonic()
        missing = {(p.get("spec") or {}).get("nodeName") for p in pods} - set(nodes) - {None, ""}
        self.missing_since = {n: self.missing_since.get(n, now) for n in missing}
        gone: set[str] = set()
        for name, since in self.missing_since.items():
            if now - since < self.quarantine:
                continue
            try:
                await self.client.get("nodes", name)
            except StatusError as e:
                if not is_not_found(e):
                    raise
                gone.add(name)
        for pod in pods:
            if (pod.get("spec") or {}).get("nodeName") in gone:
                await self.delete_pod(pod, {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                                            "message": "PodGC: node no longer exists"})

    async def delete_pod(self, pod: dict, condition: dict | None = None) -> None:
        """Mark a live pod Failed (with `condition`), then delete it at once."""
        md = pod["metadata"]
        try:
            if condition is not None or not is_terminated(pod):
                status: dict = {}
                if not is_terminated(pod):
                    status["phase"] = "Failed"
                if condition is not None:
                    conditions = [c for c in (pod.get("status") or {}).get("conditions") or []
                                  if c.get("type") != condition["type"]]
                    status["conditions"] = conditions + [{**condition,
                                                          "lastTransitionTime": rfc3339(self.clock.now())}]
                await self.client.patch("pods", md["name"], {"status": status}, md["namespace"], subresource="status")
            await self.client.delete("pods", md["name"], md["namespace"], grace_period_seconds=0)
        except StatusError as e:
            if not is_not_found(e):
                raise
