"""`SchedulingQueue`: the pods waiting to be scheduled (Kubernetes' `PriorityQueue`).

Three places a pending pod can be:

- **activeQ**: ready now, popped highest priority first, then oldest (the PrioritySort plugin).
- **backoffQ**: failed recently; waits `1 s * 2^(attempts-1)`, at most 10 s, after its last
  attempt, then moves to activeQ (checked every second, and on every cluster event).
- **unschedulable pool**: rejected by some plugins; stays until a cluster event one of those
  plugins registered for happens (a node added, a pod deleted, ...), then goes to backoffQ or,
  if its backoff is over, activeQ. Pods left there for 5 minutes are retried anyway. A pod that
  failed with an error (not a rejection), or one for which a relevant event arrived while it
  was being scheduled, goes straight to backoffQ.

Pods with `spec.schedulingGates` wait in the pool, gated, until the gates are removed.

The queue is also the `Nominator`: it remembers pods nominated to nodes by preemption (from
`status.nominatedNodeName`, or set locally right after preempting) so filters count them.

Synchronous except for `pop()`, which waits for a pod; `run()` does the periodic flushes.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from ..machinery.clock import REAL_CLOCK, Clock
from .framework import ActionType, ClusterEvent, EventResource, PodInfo

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_IN_UNSCHEDULABLE = 300.0
BACKOFF_FLUSH_INTERVAL = 1.0
UNSCHEDULABLE_FLUSH_INTERVAL = 30.0

UNSCHEDULABLE_TIMEOUT = ClusterEvent(EventResource.WILDCARD, ActionType.ALL, "UnschedulableTimeout")
FORCE_ACTIVATE = ClusterEvent(EventResource.WILDCARD, ActionType.ALL, "ForceActivate")


class QueueClosed(Exception):
    pass


@dataclass(eq=False)
class QueuedPodInfo:
    pod_info: PodInfo
    timestamp: float
    initial_attempt_timestamp: float | None = None
    attempts: int = 0
    unschedulable_plugins: set[str] = field(default_factory=set)
    gated: bool = False
    scheduling_cycle: int = 0
    seq: int = 0

    @property
    def uid(self) -> str:
        return self.pod_info.uid

    @property
    def key(self) -> str:
        return self.pod_info.key


def is_gated(pod: PodInfo) -> bool:
    return bool((pod.pod.get("spec") or {}).get("schedulingGates"))


class SchedulingQueue:
    def __init__(self, *, clock: Clock = REAL_CLOCK,
                 events_to_register: Mapping[str, Iterable[ClusterEvent]] | None = None,
                 initial_backoff: float = INITIAL_BACKOFF, max_backoff: float = MAX_BACKOFF,
                 max_in_unschedulable: float = MAX_IN_UNSCHEDULABLE) -> None:
        self._clock = clock
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_in_unschedulable = max_in_unschedulable
        self._interest: dict[str, list[ClusterEvent]] = {k: list(v) for k, v in (events_to_register or {}).items()}
        self._seq = itertools.count()
        self._active: dict[str, QueuedPodInfo] = {}
        self._active_heap: list[tuple[int, float, int, str]] = []
        self._backoff: dict[str, QueuedPodInfo] = {}
        self._backoff_heap: list[tuple[float, int, str]] = []
        self._unschedulable: dict[str, QueuedPodInfo] = {}
        self._in_flight: dict[str, QueuedPodInfo] = {}
        self._nominated: dict[str, dict[str, PodInfo]] = {}       # node -> uid -> pod
        self._nominated_node: dict[str, str] = {}                  # uid -> node
        self.scheduling_cycle = 0
        self.move_request_cycle = -1
        self._wakeup = asyncio.Event()
        self._closed = False

    def register_events(self, events: Mapping[str, Iterable[ClusterEvent]]) -> None:
        """Per plugin, the cluster events that may make pods it rejected schedulable."""
        self._interest = {k: list(v) for k, v in events.items()}

    # ----- adding pods

    def add(self, pod: PodInfo) -> None:
        """A new pending pod (from the informer)."""
        uid = pod.uid
        if uid in self._active or uid in self._backoff or uid in self._unschedulable or uid in self._in_flight:
            self.update(pod)
            return
        qpi = QueuedPodInfo(pod, self._clock.monotonic())
        self._add_nominated(pod)
        if is_gated(pod):
            qpi.gated = True
            self._unschedulable[uid] = qpi
            return
        self._push_active(qpi)

    def update(self, pod: PodInfo) -> None:
        """A pending pod changed (from the informer)."""
        uid = pod.uid
        self._add_nominated(pod)
        if uid in self._in_flight:
            self._in_flight[uid].pod_info = pod
            return
        if uid in self._active:
            qpi = self._active[uid]
            old_priority = qpi.pod_info.priority
            qpi.pod_info = pod
            if pod.priority != old_priority:
                self._push_active(qpi)
            return
        if uid in self._backoff:
            self._backoff[uid].pod_info = pod
            return
        qpi = self._unschedulable.get(uid)
        if qpi is None:
            self.add(pod)
            return
        old = qpi.pod_info
        qpi.pod_info = pod
        if qpi.gated:
            if not is_gated(pod):
                qpi.gated = False
                del self._unschedulable[uid]
                self._push_active(qpi)
            return
        if _spec_changed(old.pod, pod.pod):
            del self._unschedulable[uid]
            if self._is_backing_off(qpi):
                self._push_backoff(qpi)
            else:
                self._push_active(qpi)

    def delete(self, uid: str) -> None:
        self._active.pop(uid, None)
        self._backoff.pop(uid, None)
        self._unschedulable.pop(uid, None)
        self._delete_nominated(uid)

    def activate(self, uids: Iterable[str]) -> None:
        """Move these pods to activeQ now (when something outside the queue knows they can go)."""
        for uid in uids:
            qpi = self._unschedulable.pop(uid, None) or self._backoff.pop(uid, None)
            if qpi is not None and not qpi.gated:
                self._push_active(qpi)

    # ----- popping and returning

    async def pop(self) -> QueuedPodInfo:
        """The next pod to schedule (waits for one). It is in flight until `done()`."""
        while True:
            if self._closed:
                raise QueueClosed()
            qpi = self.pop_nowait()
            if qpi is not None:
                return qpi
            self._wakeup.clear()
            await self._wakeup.wait()

    def pop_nowait(self) -> QueuedPodInfo | None:
        while self._active_heap:
            _, _, seq, uid = heapq.heappop(self._active_heap)
            qpi = self._active.get(uid)
            if qpi is None or qpi.seq != seq:
                continue
            del self._active[uid]
            self.scheduling_cycle += 1
            qpi.scheduling_cycle = self.scheduling_cycle
            qpi.attempts += 1
            if qpi.initial_attempt_timestamp is None:
                qpi.initial_attempt_timestamp = self._clock.monotonic()
            self._in_flight[uid] = qpi
            return qpi
        return None

    def done(self, uid: str) -> None:
        """The scheduling attempt for this pod is over (bound, or requeued)."""
        self._in_flight.pop(uid, None)

    def add_unschedulable_if_not_present(self, qpi: QueuedPodInfo, *, error: bool = False) -> None:
        """Requeue a pod whose attempt failed: rejected (with `unschedulable_plugins` set) or errored."""
        uid = qpi.uid
        self._in_flight.pop(uid, None)
        if uid in self._active or uid in self._backoff or uid in self._unschedulable:
            return
        qpi.timestamp = self._clock.monotonic()
        if error or not qpi.unschedulable_plugins or self.move_request_cycle >= qpi.scheduling_cycle:
            self._push_backoff(qpi)
        else:
            self._unschedulable[uid] = qpi

    # ----- cluster events

    def move_all_to_active_or_backoff(self, event: ClusterEvent,
                                      pre_check: Callable[[QueuedPodInfo], bool] | None = None) -> int:
        """Move unschedulable pods a plugin that rejected them cares about this event for."""
        moved = 0
        if self._unschedulable:
            for uid, qpi in list(self._unschedulable.items()):
                if qpi.gated or not self._interested(qpi, event):
                    continue
                if pre_check is not None and not pre_check(qpi):
                    continue
                del self._unschedulable[uid]
                if self._is_backing_off(qpi):
                    self._push_backoff(qpi)
                else:
                    self._push_active(qpi)
                moved += 1
        self.move_request_cycle = self.scheduling_cycle
        return moved

    def _interested(self, qpi: QueuedPodInfo, event: ClusterEvent) -> bool:
        if event.resource == EventResource.WILDCARD:
            return True
        for plugin in qpi.unschedulable_plugins:
            for registered in self._interest.get(plugin, ()):
                if registered.matches(event):
                    return True
        # A rejecting plugin that registered nothing: any event may help.
        return any(p not in self._interest for p in qpi.unschedulable_plugins)

    # ----- timers

    def flush_backoff_completed(self) -> int:
        now = self._clock.monotonic()
        moved = 0
        while self._backoff_heap and self._backoff_heap[0][0] <= now:
            _, seq, uid = heapq.heappop(self._backoff_heap)
            qpi = self._backoff.get(uid)
            if qpi is None or qpi.seq != seq:
                continue
            del self._backoff[uid]
            self._push_active(qpi)
            moved += 1
        return moved

    def flush_unschedulable_left_over(self) -> int:
        now = self._clock.monotonic()
        stale = [qpi for qpi in self._unschedulable.values()
                 if not qpi.gated and now - qpi.timestamp > self.max_in_unschedulable]
        for qpi in stale:
            del self._unschedulable[qpi.uid]
            if self._is_backing_off(qpi):
                self._push_backoff(qpi)
            else:
                self._push_active(qpi)
        return len(stale)

    async def run(self) -> None:
        """Flush backoffQ every second and the unschedulable pool every 30 s, until cancelled."""
        last_unschedulable = self._clock.monotonic()
        while True:
            await self._clock.sleep(BACKOFF_FLUSH_INTERVAL)
            self.flush_backoff_completed()
            if self._clock.monotonic() - last_unschedulable >= UNSCHEDULABLE_FLUSH_INTERVAL:
                last_unschedulable = self._clock.monotonic()
                self.flush_unschedulable_left_over()

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()

    # ----- backoff

    def backoff_duration(self, qpi: QueuedPodInfo) -> float:
        d = self.initial_backoff
        for _ in range(1, qpi.attempts):
            d *= 2
            if d >= self.max_backoff:
                return self.max_backoff
        return min(d, self.max_backoff)

    def backoff_expiry(self, qpi: QueuedPodInfo) -> float:
        return qpi.timestamp + self.backoff_duration(qpi)

    def _is_backing_off(self, qpi: QueuedPodInfo) -> bool:
        return qpi.attempts > 0 and self.backoff_expiry(qpi) > self._clock.monotonic()

    # ----- internals

    def _push_active(self, qpi: QueuedPodInfo) -> None:
        qpi.seq = next(self._seq)
        self._active[qpi.uid] = qpi
        heapq.heappush(self._active_heap, (-qpi.pod_info.priority, qpi.timestamp, qpi.seq, qpi.uid))
        self._wakeup.set()

    def _push_backoff(self, qpi: QueuedPodInfo) -> None:
        qpi.seq = next(self._seq)
        self._backoff[qpi.uid] = qpi
        heapq.heappush(self._backoff_heap, (self.backoff_expiry(qpi), qpi.seq, qpi.uid))

    # ----- nominator

    def _add_nominated(self, pod: PodInfo, node_name: str | None = None) -> None:
        node = node_name if node_name is not None else (pod.pod.get("status") or {}).get("nominatedNodeName") or ""
        prev = self._nominated_node.get(pod.uid)
        if prev is not None and (prev != node or not node):
            self._delete_nominated(pod.uid)
        if node:
            self._nominated.setdefault(node, {})[pod.uid] = pod
            self._nominated_node[pod.uid] = node

    def add_nominated_pod(self, pod: PodInfo, node_name: str) -> None:
        self._add_nominated(pod, node_name)

    def _delete_nominated(self, uid: str) -> None:
        node = self._nominated_node.pop(uid, None)
        if node is not None:
            pods = self._nominated.get(node)
            if pods is not None:
                pods.pop(uid, None)
                if not pods:
                    del self._nominated[node]

    delete_nominated_pod_if_exists = _delete_nominated

    def nominated_pods_for_node(self, node_name: str) -> list[PodInfo]:
        return list(self._nominated.get(node_name, {}).values())

    def nominated_node_names(self) -> Iterable[str]:
        return self._nominated.keys()

    # ----- introspection

    def statistics(self) -> dict[str, int]:
        return {"active": len(self._active), "backoff": len(self._backoff),
                "unschedulable": len(self._unschedulable), "in_flight": len(self._in_flight),
                "nominated": len(self._nominated_node)}

    def where(self, uid: str) -> str | None:
        """"active", "backoff", "unschedulable", "in_flight" or None (for tests and debugging)."""
        for name, d in (("active", self._active), ("backoff", self._backoff),
                        ("unschedulable", self._unschedulable), ("in_flight", self._in_flight)):
            if uid in d:
                return name
        return None

    def pending_pods(self) -> list[QueuedPodInfo]:
        return [*self._active.values(), *self._backoff.values(), *self._unschedulable.values()]


def _spec_changed(old: Mapping, new: Mapping) -> bool:
    """Whether an update could change the outcome (anything but status and bookkeeping)."""
    def strip(p: Mapping) -> tuple:
        meta = dict(p.get("metadata") or {})
        for k in ("resourceVersion", "generation", "managedFields", "creationTimestamp"):
            meta.pop(k, None)
        return meta, p.get("spec")
    return strip(old) != strip(new)
