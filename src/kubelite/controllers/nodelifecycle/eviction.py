"""Taint-based eviction (Kubernetes' taint manager): pods on nodes with NoExecute taints are
deleted once their tolerations run out.

Each pod is a key on its own queue. `sync_pod` compares the node's NoExecute taints with the
pod's tolerations (`taints.eviction_delay`): a pod that does not tolerate one is deleted now; one
that tolerates them for a while is deleted that long after the controller first saw it exposed
(`TaintManagerEviction` "Marking for deletion Pod ns/name"); a pod whose taints go away before
then is spared ("Cancelling deletion of Pod ns/name"). Before the deletion the pod gets the
`DisruptionTarget` condition (reason `DeletionByTaintManager`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from kubelite.client import WorkQueue, split_meta_namespace_key
from kubelite.client.informers import NODE_NAME_INDEX, meta_namespace_key
from kubelite.client.workqueue import default_controller_rate_limiter
from kubelite.machinery.errors import StatusError, is_not_found
from kubelite.machinery.timeutil import rfc3339

from .taints import NO_EXECUTE, eviction_delay, taints_of

if TYPE_CHECKING:
    from .controller import NodeLifecycleController

log = logging.getLogger(__name__)

TAINT_MANAGER_EVICTION = "TaintManagerEviction"


class NoExecuteTaintManager:
    workers = 2

    def __init__(self, controller: NodeLifecycleController) -> None:
        self.c = controller
        self.queue: WorkQueue[str] = WorkQueue("taint-eviction", clock=controller.clock,
                                               rate_limiter=default_controller_rate_limiter(controller.clock))
        self.scheduled: dict[str, float] = {}     # pod key -> when its eviction countdown started

    def enqueue_pod(self, pod: dict) -> None:
        if (pod.get("spec") or {}).get("nodeName"):
            self.queue.add(meta_namespace_key(pod))

    def enqueue_node_pods(self, node_name: str) -> None:
        for pod in self.c.pods.indexer.by_index(NODE_NAME_INDEX, node_name):
            self.queue.add(meta_namespace_key(pod))

    def forget_pod(self, pod: dict) -> None:
        self.scheduled.pop(meta_namespace_key(pod), None)

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(self.workers):
                    tg.create_task(self._worker())
        finally:
            self.queue.shut_down()

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self.sync_pod(key)
                self.queue.forget(key)
            except StatusError as e:
                log.info("taint eviction of %s failed: %s", key, e)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    def _cancel(self, key: str, pod: dict) -> None:
        if self.scheduled.pop(key, None) is not None:
            self.c.event(_pod_ref(pod), "Normal", TAINT_MANAGER_EVICTION, f"Cancelling deletion of Pod {key}")

    async def sync_pod(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        try:
            pod = self.c.pod_lister.get(name, ns)
        except StatusError as e:
            if is_not_found(e):
                self.scheduled.pop(key, None)
                return
            raise
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name or pod["metadata"].get("deletionTimestamp"):
            self.scheduled.pop(key, None)
            return
        try:
            node = self.c.node_lister.get(node_name)
        except StatusError:
            self._cancel(key, pod)
            return
        no_execute = [t for t in taints_of(node) if t.get("effect") == NO_EXECUTE]
        delay = eviction_delay(no_execute, (pod.get("spec") or {}).get("tolerations") or [])
        if not no_execute or delay is None:
            self._cancel(key, pod)
            return
        now = self.c.clock.monotonic()
        started = self.scheduled.setdefault(key, now) if delay > 0 else now
        wait = started + delay - now
        if wait > 0:
            self.queue.add_after(key, wait)
            return
        await self.evict(pod)
        self.scheduled.pop(key, None)

    async def evict(self, pod: dict) -> None:
        md = pod["metadata"]
        key = meta_namespace_key(pod)
        self.c.event(_pod_ref(pod), "Normal", TAINT_MANAGER_EVICTION, f"Marking for deletion Pod {key}")
        conditions = [c for c in (pod.get("status") or {}).get("conditions") or []
                      if c.get("type") != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                           "message": "Taint manager: deleting due to NoExecute taint",
                           "lastTransitionTime": rfc3339(self.c.clock.now())})
        try:
            await self.c.client.patch("pods", md["name"], {"metadata": {"resourceVersion": md["resourceVersion"]},
                                                          "status": {"conditions": conditions}},
                                      md["namespace"], subresource="status")
            await self.c.client.delete("pods", md["name"], md["namespace"])
        except StatusError as e:
            if not is_not_found(e):
                raise


def _pod_ref(pod: dict) -> dict:
    md = pod["metadata"]
    return {"kind": "Pod", "apiVersion": "v1", "namespace": md.get("namespace", ""), "name": md["name"],
            "uid": md.get("uid", "")}
