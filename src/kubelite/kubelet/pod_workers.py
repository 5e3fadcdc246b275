"""One worker per pod UID (Kubernetes' `pod_workers.go`): updates for a pod never run
concurrently, and only the latest pending update is applied ("latest update wins").

A worker walks a pod through sync -> terminating -> terminated -> finished:

- sync: `PodSyncer.sync_pod` until the pod is deleted (deletionTimestamp), gone from the API,
  or terminal (Succeeded/Failed); requeued at the time the syncer asks for (a backoff expiry,
  a mount still waiting) and at least every `sync_frequency`.
- terminating: kill the containers with the grace period (preStop hooks first).
- terminated: final status, volumes unmounted; a deleted pod is then removed from the API
  (`DELETE` with `gracePeriodSeconds=0`). A terminal pod still in the API waits here.
- finished: the pod left the API: everything the runtime, volumes and logs hold is removed and
  the worker ends.

Orphans (pods the runtime runs that the API no longer has, e.g. deleted while the agent was
down) get a worker that goes straight to terminating.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from kubelite.client import Clock, RealClock

from .podutil import is_deleted, is_terminal_phase, termination_grace_period
from .sync import PodSyncer

log = logging.getLogger(__name__)

SYNC, TERMINATING, TERMINATED, FINISHED = "sync", "terminating", "terminated", "finished"


@dataclass
class PodWork:
    uid: str
    pod: dict | None  # latest object from the API (None for an orphan)
    phase: str = SYNC
    removed: bool = False  # gone from the API
    grace: int | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    syncs: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


class PodWorkers:
    def __init__(self, syncer: PodSyncer, *, clock: Clock | None = None, sync_frequency: float = 60.0,
                 error_backoff: float = 2.0):
        self.syncer = syncer
        self.clock = clock or RealClock()
        self.sync_frequency = sync_frequency
        self.error_backoff = error_backoff
        self.work: dict[str, PodWork] = {}
        self._tg: asyncio.TaskGroup | None = None
        self._pending: list[PodWork] = []

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            for w in self._pending:
                self._start(w)
            self._pending.clear()
            try:
                await asyncio.Event().wait()
            finally:
                self._tg = None

    def _start(self, w: PodWork) -> None:
        if self._tg is None:
            self._pending.append(w)
            return
        w.task = self._tg.create_task(self._loop(w), name=f"pod-worker-{w.uid[:8]}")

    # --- updates -------------------------------------------------------------------------------
    def update_pod(self, pod: dict) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        w = self.work.get(uid)
        if w is None:
            w = self.work[uid] = PodWork(uid, pod)
            self._start(w)
        else:
            w.pod = pod
        if is_deleted(pod) and w.phase == SYNC:
            w.phase = TERMINATING
            w.grace = termination_grace_period(pod)
        elif is_deleted(pod) and w.phase == TERMINATING:
            g = termination_grace_period(pod)
            w.grace = g if w.grace is None else min(w.grace, g)
        w.wake.set()

    def remove_pod(self, pod: dict) -> None:
        """The pod left the API (deleted, possibly with grace 0)."""
        uid = (pod.get("metadata") or {}).get("uid", "")
        w = self.work.get(uid)
        if w is None:
            w = self.work[uid] = PodWork(uid, pod, phase=TERMINATING, grace=termination_grace_period(pod))
            self._start(w)
        w.removed = True
        if w.phase == SYNC:
            w.phase = TERMINATING
            w.grace = termination_grace_period(pod)
        w.wake.set()

    def kill_orphan(self, uid: str) -> None:
        if uid in self.work:
            return
        w = self.work[uid] = PodWork(uid, None, phase=TERMINATING, removed=True)
        self._start(w)
        w.wake.set()

    def is_known(self, uid: str) -> bool:
        return uid in self.work

    def phase_of(self, uid: str) -> str | None:
        w = self.work.get(uid)
        return w.phase if w else None

    async def wait_finished(self, uid: str) -> None:
        w = self.work.get(uid)
        if w is not None:
            await w.done.wait()

    # --- the worker ----------------------------------------------------------------------------
    async def _wait(self, w: PodWork, delay: float | None) -> None:
        if w.wake.is_set():
            return
        waiters = [asyncio.ensure_future(w.wake.wait())]
        if delay is not None:
            waiters.append(self.clock.after(delay))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for f in waiters:
                f.cancel()

    async def _loop(self, w: PodWork) -> None:
        delay: float | None = 0.0
        try:
            while w.phase != FINISHED:
                await self._wait(w, delay)
                w.wake.clear()
                try:
                    delay = await self._step(w)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("pod %s: %s step failed", w.uid, w.phase)
                    delay = self.error_backoff
        finally:
            if self.work.get(w.uid) is w and w.phase == FINISHED:
                del self.work[w.uid]
            w.done.set()

    async def _step(self, w: PodWork) -> float | None:
        """One pass; returns when to run again (None = on the next update)."""
        w.syncs += 1
        if w.phase == SYNC:
            assert w.pod is not None
            if is_terminal_phase(w.pod):
                w.phase = TERMINATING
                w.grace = termination_grace_period(w.pod)
                return 0.0
            out = await self.syncer.sync_pod(w.pod)
            if out.terminal:
                w.phase = TERMINATING
                w.grace = termination_grace_period(w.pod)
                return 0.0
            delay = self.sync_frequency if out.requeue_after is None else min(out.requeue_after,
                                                                               self.sync_frequency)
            return delay
        if w.phase == TERMINATING:
            if w.pod is None:
                await self.syncer.kill_orphan(w.uid)
            else:
                await self.syncer.sync_terminating_pod(w.pod, w.grace)
            w.phase = TERMINATED
            return 0.0
        if w.phase == TERMINATED:
            if w.pod is not None and not w.removed:
                await self.syncer.sync_terminated_pod(w.pod)
                return None  # wait until the pod leaves the API
            await self.syncer.cleanup_pod(w.uid, w.pod)
            w.phase = FINISHED
            return None
        return None
