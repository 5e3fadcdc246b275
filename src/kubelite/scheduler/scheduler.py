"""`Scheduler`: the I/O around the pure core. Watches pods and nodes, feeds the cache and the
queue, schedules one pod at a time, and writes what was decided.

    scheduler = Scheduler(client)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(scheduler.run())
        await scheduler.wait_ready()

The loop: pop a pod, decide synchronously (`schedule_one.schedule_pod` on the cache's
snapshot), then
- success: assume the pod on the node in the cache and bind it through `pods/binding` in a
  task of its own (the next pod is scheduled meanwhile); a `Scheduled` event on success; on
  failure the assumption is dropped and the pod retried with backoff;
- no node fits: run PostFilter (preemption); requeue the pod; write the `PodScheduled=False`
  condition (reason `Unschedulable`, the FitError message) and `status.nominatedNodeName` if a
  node was nominated; a `FailedScheduling` warning event; delete the victims with a
  `Preempted` event each.

Only pods whose `spec.schedulerName` is ours are scheduled; every bound pod counts in the
cache. Pods reach us through one informer on non-terminal pods (as kube-scheduler's); nodes,
namespaces, PodDisruptionBudgets, PriorityClasses and the owners PodTopologySpread's default
constraints look at have informers too. A pod without `spec.priority` gets its PriorityClass's
value (the global default class, else 0).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ..client import Client, EventRecorder, InformerFactory
from ..client.events import NORMAL, WARNING
from ..client.transport import TransportError
from ..machinery.clock import REAL_CLOCK, Clock
from ..machinery.errors import StatusError, is_conflict, is_not_found
from ..machinery.timeutil import rfc3339
from .cache import Cache
from .framework import ActionType, ClusterEvent, EventResource, Framework, PodInfo, PostFilterResult
from .plugins import DEFAULT_WEIGHTS, default_plugins
from .queue import QueuedPodInfo, QueueClosed, SchedulingQueue
from .reasons import (
    DEFAULT_SCHEDULER_NAME,
    DISRUPTION_TARGET,
    FAILED_SCHEDULING,
    POD_SCHEDULED,
    PREEMPTED,
    REASON_PREEMPTION_BY_SCHEDULER,
    REASON_SCHEDULER_ERROR,
    SCHEDULED,
)
from .schedule_one import schedule_one

log = logging.getLogger(__name__)

NOTE_LENGTH_LIMIT = 1024
POD_FIELD_SELECTOR = "status.phase!=Succeeded,status.phase!=Failed"

# What plugins read through `Handle.listers`: name -> resource.
LISTED_RESOURCES = {
    "namespaces": "namespaces",
    "poddisruptionbudgets": "poddisruptionbudgets.policy",
    "priorityclasses": "priorityclasses.scheduling.k8s.io",
    "services": "services",
    "replicationcontrollers": "replicationcontrollers",
    "replicasets": "replicasets.apps",
    "statefulsets": "statefulsets.apps",
}

ASSIGNED_POD_ADD = ClusterEvent(EventResource.ASSIGNED_POD, ActionType.ADD, "AssignedPodAdd")
ASSIGNED_POD_DELETE = ClusterEvent(EventResource.ASSIGNED_POD, ActionType.DELETE, "AssignedPodDelete")
NODE_ADD = ClusterEvent(EventResource.NODE, ActionType.ADD, "NodeAdd")


class InformerListers:
    """`Listers` over shared informers; resources the API does not serve list as empty."""

    def __init__(self, factory: InformerFactory, resources: Mapping[str, str]) -> None:
        self._listers = {}
        for name, spec in resources.items():
            try:
                self._listers[name] = factory.lister_for(spec)
            except ValueError:
                continue

    def list(self, resource: str, namespace: str | None = None) -> list[dict]:
        lister = self._listers.get(resource)
        return lister.list(namespace) if lister is not None else []

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict | None:
        lister = self._listers.get(resource)
        if lister is None:
            return None
        return lister.indexer.get_by_key(f"{namespace}/{name}" if namespace and lister.resource.namespaced else name)


def truncate_message(message: str, limit: int = NOTE_LENGTH_LIMIT) -> str:
    if len(message) <= limit:
        return message
    return message[:limit - 4] + " ..."


def resolve_priority(pod: Mapping, listers: Any) -> int:
    """`spec.priority`, else the value of its PriorityClass, else the global default's, else 0."""
    spec = pod.get("spec") or {}
    if spec.get("priority") is not None:
        return int(spec["priority"])
    name = spec.get("priorityClassName")
    if name:
        pc = listers.get("priorityclasses", name)
        if pc is not None:
            return int(pc.get("value") or 0)
    for pc in listers.list("priorityclasses"):
        if pc.get("globalDefault"):
            return int(pc.get("value") or 0)
    return 0


def node_update_actions(old: Mapping, new: Mapping) -> ActionType:
    """Which kinds of node change happened (for moving unschedulable pods)."""
    action = ActionType(0)
    os_, ns_ = old.get("status") or {}, new.get("status") or {}
    if os_.get("allocatable") != ns_.get("allocatable"):
        action |= ActionType.UPDATE_NODE_ALLOCATABLE
    if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels"):
        action |= ActionType.UPDATE_NODE_LABEL
    ospec, nspec = old.get("spec") or {}, new.get("spec") or {}
    if ospec.get("taints") != nspec.get("taints") or ospec.get("unschedulable") != nspec.get("unschedulable"):
        action |= ActionType.UPDATE_NODE_TAINT

    def conds(s: Mapping) -> dict:
        return {c.get("type"): c.get("status") for c in s.get("conditions") or []}
    if conds(os_) != conds(ns_):
        action |= ActionType.UPDATE_NODE_CONDITION
    return action


@dataclass
class SchedulerStatistics:
    scheduled: int = 0
    attempts: int = 0
    unschedulable: int = 0
    errors: int = 0
    bind_errors: int = 0
    preemptions: int = 0
    cycle_seconds: float = 0.0
    bind_seconds: float = 0.0
    binds: int = 0


class Scheduler:
    def __init__(self, client: Client, *, scheduler_name: str = DEFAULT_SCHEDULER_NAME,
                 informers: InformerFactory | None = None, recorder: EventRecorder | None = None,
                 clock: Clock = REAL_CLOCK, rng: random.Random | None = None,
                 percentage_of_nodes_to_score: int = 0, plugins: Sequence[Callable[..., Any]] | None = None,
                 weights: Mapping[str, int] | None = None, pod_initial_backoff: float = 1.0,
                 pod_max_backoff: float = 10.0) -> None:
        self.client = client
        self.scheduler_name = scheduler_name
        self.clock = clock
        self.rng = rng or random.Random()
        self._own_informers = informers is None
        self.informers = informers or InformerFactory(client, clock=clock)
        self._own_recorder = recorder is None
        self.recorder = recorder or EventRecorder(client, scheduler_name, clock=clock)
        self.cache = Cache()
        self.listers = InformerListers(self.informers, LISTED_RESOURCES)
        self.queue = SchedulingQueue(clock=clock, initial_backoff=pod_initial_backoff, max_backoff=pod_max_backoff)
        self.framework = Framework(plugins if plugins is not None else default_plugins(rng=self.rng),
                                   weights=weights if weights is not None else DEFAULT_WEIGHTS,
                                   scheduler_name=scheduler_name, listers=self.listers, nominator=self.queue,
                                   percentage_of_nodes_to_score=percentage_of_nodes_to_score)
        self.queue.register_events(self.framework.events_to_register())
        self.stats = SchedulerStatistics()
        self.next_start_node_index = 0
        self._status_updates: dict[str, asyncio.Task] = {}
        self._tg: asyncio.TaskGroup | None = None
        self._ready = asyncio.Event()
        self.pods = self.informers.informer_for("pods", field_selector=POD_FIELD_SELECTOR)
        self.nodes = self.informers.informer_for("nodes")
        self.pods.add_event_handler(self.add_pod, self.update_pod, self.delete_pod)
        self.nodes.add_event_handler(self.add_node, self.update_node, self.delete_node)

    # ----- lifecycle

    async def run(self) -> None:
        """Schedule until cancelled."""
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                if self._own_informers:
                    tg.create_task(self.informers.run())
                if self._own_recorder:
                    tg.create_task(self.recorder.run())
                await self.informers.wait_for_cache_sync()
                tg.create_task(self.queue.run())
                self._ready.set()
                await self._schedule_loop()
        finally:
            self._tg = None
            self._ready.clear()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def _schedule_loop(self) -> None:
        while True:
            try:
                qpi = await self.queue.pop()
            except QueueClosed:
                return
            try:
                self.schedule_one(qpi)
            except Exception:       # a bug in a plugin must not stop scheduling
                log.exception("scheduling %s failed", qpi.key)
                self.queue.add_unschedulable_if_not_present(qpi, error=True)
            # Let binds, status writes and informers run between pods.
            await asyncio.sleep(0)

    # ----- informer handlers (fast, no awaits)

    def _responsible(self, pod: Mapping) -> bool:
        return ((pod.get("spec") or {}).get("schedulerName") or DEFAULT_SCHEDULER_NAME) == self.scheduler_name

    def _pod_info(self, pod: Mapping) -> PodInfo:
        return PodInfo(pod, resolve_priority(pod, self.listers))

    def add_pod(self, pod: dict) -> None:
        if (pod.get("spec") or {}).get("nodeName"):
            self.cache.add_pod(self._pod_info(pod))
            self.queue.move_all_to_active_or_backoff(ASSIGNED_POD_ADD)
        elif self._responsible(pod) and not (pod.get("metadata") or {}).get("deletionTimestamp"):
            self.queue.add(self._pod_info(pod))

    def update_pod(self, old: dict, new: dict) -> None:
        uid = (new.get("metadata") or {}).get("uid", "")
        was_bound = bool((old.get("spec") or {}).get("nodeName"))
        bound = bool((new.get("spec") or {}).get("nodeName"))
        if bound:
            if not was_bound:
                self.queue.delete(uid)
                assumed = self.cache.get_pod(uid)
                if assumed is not None and assumed.node_name == new["spec"]["nodeName"] \
                        and _same_for_scheduling(old, new, ignore_node_name=True):
                    assumed.pod = new          # our own binding, confirmed: nothing to parse again
                    self.cache.add_pod(assumed)
                else:
                    self.cache.add_pod(self._pod_info(new))
                self.queue.move_all_to_active_or_backoff(ASSIGNED_POD_ADD)
                return
            prev = self.cache.get_pod(uid)
            if prev is not None and _same_for_scheduling(old, new):
                prev.pod = new
                prev.start_time = (new.get("status") or {}).get("startTime") or prev.start_time
                return
            self.cache.update_pod(self._pod_info(new))
            action = ActionType.UPDATE_OTHER
            if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels"):
                action |= ActionType.UPDATE_POD_LABEL
            if (old.get("spec") or {}).get("containers") != (new.get("spec") or {}).get("containers"):
                action |= ActionType.UPDATE_POD_SCALE_DOWN
            self.queue.move_all_to_active_or_backoff(ClusterEvent(EventResource.ASSIGNED_POD, action))
            return
        if not self._responsible(new):
            return
        if (new.get("metadata") or {}).get("deletionTimestamp"):
            self.queue.delete(uid)
            return
        self.queue.update(self._pod_info(new))

    def delete_pod(self, pod: dict) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        if (pod.get("spec") or {}).get("nodeName"):
            self.cache.remove_pod(uid)
            self.queue.move_all_to_active_or_backoff(ASSIGNED_POD_DELETE)
        else:
            self.queue.delete(uid)

    def add_node(self, node: dict) -> None:
        self.cache.add_node(node)
        self.queue.move_all_to_active_or_backoff(NODE_ADD)

    def update_node(self, old: dict, new: dict) -> None:
        self.cache.update_node(new)
        action = node_update_actions(old, new)
        if action:
            self.queue.move_all_to_active_or_backoff(ClusterEvent(EventResource.NODE, action))

    def delete_node(self, node: dict) -> None:
        self.cache.remove_node((node.get("metadata") or {}).get("name", ""))

    # ----- one scheduling cycle (synchronous)

    def schedule_one(self, qpi: QueuedPodInfo) -> None:
        pod = qpi.pod_info
        if pod.deleting or self.cache.get_pod(pod.uid) is not None:
            self.queue.done(pod.uid)
            return
        self.stats.attempts += 1
        t0 = time.perf_counter()
        snapshot = self.cache.snapshot()
        self.framework.set_snapshot(snapshot)
        d = schedule_one(self.framework, pod, rng=self.rng, start_index=self.next_start_node_index)
        if snapshot.num_nodes():
            self.next_start_node_index = (self.next_start_node_index + d.processed_nodes) % snapshot.num_nodes()
        if d.scheduled:
            self.cache.assume(pod, d.node_name)
            self.queue.delete_nominated_pod_if_exists(pod.uid)
            self.stats.cycle_seconds += time.perf_counter() - t0
            self._spawn(self._bind(qpi, d.node_name))
            return
        self.stats.cycle_seconds += time.perf_counter() - t0
        qpi.unschedulable_plugins = d.unschedulable_plugins
        nominated = None
        if d.post_filter is not None:
            nominated = d.post_filter.nominated_node_name
            self.stats.preemptions += 1
            self.queue.add_nominated_pod(pod, nominated)
            self._spawn(self._prepare_candidate(pod, d.post_filter))
        self._failure(qpi, d.reason, d.message, unschedulable=not d.is_error, nominated_node=nominated)

    def _spawn(self, coro: Any) -> None:
        if self._tg is None:
            coro.close()
            raise RuntimeError("the scheduler is not running")
        self._tg.create_task(coro)

    # ----- binding

    async def _bind(self, qpi: QueuedPodInfo, node: str) -> None:
        pod = qpi.pod_info
        pending = self._status_updates.get(pod.uid)
        if pending is not None:
            await asyncio.wait([pending])
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        t0 = time.perf_counter()
        try:
            await self.client.create_subresource("pods", pod.name, "binding", body, pod.namespace)
        except (StatusError, TransportError) as e:
            self._bind_time(t0)
            self.stats.bind_errors += 1
            self.cache.forget(pod.uid)
            self.queue.move_all_to_active_or_backoff(ASSIGNED_POD_DELETE)
            if isinstance(e, StatusError) and (is_not_found(e) or is_conflict(e)):
                # Deleted meanwhile, or bound by someone else: nothing to retry.
                log.info("binding %s to %s: %s", pod.key, node, e)
                self.queue.done(pod.uid)
                return
            self._failure(qpi, REASON_SCHEDULER_ERROR,
                          f'binding rejected: running Bind plugin "DefaultBinder": {e}', unschedulable=False)
            return
        except Exception:
            self.cache.forget(pod.uid)
            self.queue.done(pod.uid)
            log.exception("binding %s to %s", pod.key, node)
            return
        self._bind_time(t0)
        self.cache.finish_binding(pod.uid)
        self.queue.done(pod.uid)
        self.stats.scheduled += 1
        self.recorder.event(pod.pod, NORMAL, SCHEDULED, f"Successfully assigned {pod.namespace}/{pod.name} to {node}")

    def _bind_time(self, t0: float) -> None:
        dt = time.perf_counter() - t0
        self.stats.bind_seconds += dt
        self.stats.binds += 1

    # ----- failures

    def _failure(self, qpi: QueuedPodInfo, reason: str, message: str, *, unschedulable: bool,
                 nominated_node: str | None = None) -> None:
        pod = qpi.pod_info
        if unschedulable:
            self.stats.unschedulable += 1
        else:
            self.stats.errors += 1
        self.queue.add_unschedulable_if_not_present(qpi, error=not unschedulable)
        message = truncate_message(message)
        self.recorder.event(pod.pod, WARNING, FAILED_SCHEDULING, message)
        cond = {"type": POD_SCHEDULED, "status": "False", "reason": reason, "message": message}
        if _condition_unchanged(pod.pod, cond) and (nominated_node is None or nominated_node == (
                (pod.pod.get("status") or {}).get("nominatedNodeName") or "")):
            return
        task_holder: list[asyncio.Task] = []

        async def update() -> None:
            try:
                await self._update_pod_status(pod, cond, nominated_node)
            finally:
                if task_holder and self._status_updates.get(pod.uid) is task_holder[0]:
                    del self._status_updates[pod.uid]

        if self._tg is None:
            return
        task = self._tg.create_task(update())
        task_holder.append(task)
        self._status_updates[pod.uid] = task

    async def _update_pod_status(self, pod: PodInfo, cond: dict, nominated_node: str | None) -> None:
        status: dict[str, Any] = {"conditions": [{**cond, "lastProbeTime": None,
                                                  "lastTransitionTime": rfc3339(self.clock.now())}]}
        if nominated_node is not None:
            status["nominatedNodeName"] = nominated_node or None
        try:
            await self.client.patch("pods", pod.name, {"status": status}, pod.namespace, patch_type="strategic",
                                    subresource="status")
        except (StatusError, TransportError) as e:
            if not (isinstance(e, StatusError) and is_not_found(e)):
                log.warning("updating the status of pod %s: %s", pod.key, e)

    # ----- preemption

    async def _prepare_candidate(self, preemptor: PodInfo, result: PostFilterResult) -> None:
        node = result.nominated_node_name
        for victim in result.victims:
            await self._preempt_victim(preemptor, victim, node)
        for p in result.lower_priority_nominated:
            self.queue.delete_nominated_pod_if_exists(p.uid)
            try:
                await self.client.patch("pods", p.name, {"status": {"nominatedNodeName": None}}, p.namespace,
                                        subresource="status")
            except (StatusError, TransportError) as e:
                log.info("clearing the nominated node of %s: %s", p.key, e)

    async def _preempt_victim(self, preemptor: PodInfo, victim: PodInfo, node: str) -> None:
        cond = {"type": DISRUPTION_TARGET, "status": "True", "reason": REASON_PREEMPTION_BY_SCHEDULER,
                "message": f"{self.scheduler_name}: preempting to accommodate a higher priority pod",
                "lastTransitionTime": rfc3339(self.clock.now())}
        try:
            await self.client.patch("pods", victim.name, {"status": {"conditions": [cond]}}, victim.namespace,
                                    patch_type="strategic", subresource="status")
            await self.client.delete("pods", victim.name, victim.namespace)
        except StatusError as e:
            if not is_not_found(e):
                log.warning("preempting %s: %s", victim.key, e)
            return
        except TransportError as e:
            log.warning("preempting %s: %s", victim.key, e)
            return
        self.recorder.event(victim.pod, NORMAL, PREEMPTED, f"Preempted by pod {preemptor.uid} on node {node}")

    # ----- introspection

    def statistics(self) -> dict[str, Any]:
        return {"queue": self.queue.statistics(), "cache": self.cache.statistics(), **self.stats.__dict__}


def _condition_unchanged(pod: Mapping, cond: Mapping) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == cond["type"]:
            return (c.get("status") == cond["status"] and c.get("reason") == cond.get("reason")
                    and c.get("message") == cond.get("message"))
    return False


def _same_for_scheduling(old: Mapping, new: Mapping, *, ignore_node_name: bool = False) -> bool:
    """An update that changes nothing the plugins look at (a status update, or the binding)."""
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    ospec, nspec = old.get("spec") or {}, new.get("spec") or {}
    if ignore_node_name:
        ospec = {k: v for k, v in ospec.items() if k != "nodeName"}
        nspec = {k: v for k, v in nspec.items() if k != "nodeName"}
    return (ospec == nspec and om.get("labels") == nm.get("labels")
            and om.get("deletionTimestamp") == nm.get("deletionTimestamp"))


async def run_scheduler(client: Client, *, scheduler_name: str = DEFAULT_SCHEDULER_NAME,
                        informers: InformerFactory | None = None, **kwargs: Any) -> None:
    """Run a scheduler until cancelled (the control plane's entry point)."""
    await Scheduler(client, scheduler_name=scheduler_name, informers=informers, **kwargs).run()
