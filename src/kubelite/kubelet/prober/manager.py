"""`ProbeManager`: probe workers per container and probe type, and their results."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kubelite.client import Clock, RealClock

from .. import events as ev
from ..kuberuntime.actions import ProbeState
from ..podutil import containers, init_containers, is_restartable_init
from ..runtime.interface import RuntimeService
from .probe import run_probe

log = logging.getLogger(__name__)

LIVENESS, READINESS, STARTUP = "liveness", "readiness", "startup"
_FIELD = {LIVENESS: "livenessProbe", READINESS: "readinessProbe", STARTUP: "startupProbe"}


class ProbeResult(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


_INITIAL = {LIVENESS: ProbeResult.SUCCESS, READINESS: ProbeResult.FAILURE, STARTUP: ProbeResult.UNKNOWN}

# (pod uid) -> (pod, API status) as the status manager last computed them
StatusProvider = Callable[[str], "tuple[dict, dict] | None"]
Recorder = Callable[[dict, dict, str, str, str], None]  # pod, container, type, reason, message


def _running_since(cs: dict) -> str | None:
    running = (cs.get("state") or {}).get("running")
    return running.get("startedAt") if running else None


@dataclass
class Worker:
    uid: str
    container_name: str
    kind: str
    probe: dict
    container_id: str = ""
    on_hold: bool = False
    last_result: ProbeResult | None = None
    result_run: int = 0
    kick: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None


class ProbeManager:
    def __init__(self, runtime: RuntimeService, status: StatusProvider, record: Recorder,
                 on_change: Callable[[str, str, str, ProbeResult], None], *, clock: Clock | None = None,
                 netns: str = ""):
        self.runtime = runtime
        self.status = status
        self.record = record
        self.on_change = on_change
        self.clock = clock or RealClock()
        self.netns = netns
        self._workers: dict[tuple[str, str, str], Worker] = {}
        self._results: dict[tuple[str, str], ProbeResult] = {}  # (container id, kind)
        self._tg: asyncio.TaskGroup | None = None
        self._pending: list[Worker] = []

    # --- lifecycle -----------------------------------------------------------------------------
    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            for w in self._pending:
                w.task = tg.create_task(self._work(w), name=f"probe-{w.kind}-{w.container_name}")
            self._pending.clear()
            try:
                await asyncio.Event().wait()
            finally:
                self._tg = None

    def add_pod(self, pod: dict) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        specs = [c for c in init_containers(pod) if is_restartable_init(c)] + containers(pod)
        if not any(k[0] == uid for k in self._workers):
            self._seed(pod)
        for c in specs:
            for kind, fieldname in _FIELD.items():
                probe = c.get(fieldname)
                key = (uid, c.get("name", ""), kind)
                if not probe or key in self._workers:
                    continue
                w = Worker(uid, c.get("name", ""), kind, probe)
                self._workers[key] = w
                if self._tg is not None:
                    w.task = self._tg.create_task(self._work(w), name=f"probe-{kind}-{w.container_name}")
                else:
                    self._pending.append(w)

    def _seed(self, pod: dict) -> None:
        """Results a previous agent reported (the pod's status in the API) stand until the next
        probe: restarting the agent does not flip running containers to not ready."""
        status = pod.get("status") or {}
        for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
            cid = str(cs.get("containerID") or "").partition("://")[2]
            if not cid or not (cs.get("state") or {}).get("running"):
                continue
            if cs.get("ready"):
                self._results.setdefault((cid, READINESS), ProbeResult.SUCCESS)
            if cs.get("started"):
                self._results.setdefault((cid, STARTUP), ProbeResult.SUCCESS)

    def remove_pod(self, uid: str) -> None:
        for key in [k for k in self._workers if k[0] == uid]:
            w = self._workers.pop(key)
            if w.task is not None:
                w.task.cancel()
            if w.container_id:
                self._results.pop((w.container_id, w.kind), None)

    def kick(self, uid: str) -> None:
        """The pod's status changed: workers look again now (a new container is probed at once)."""
        for (u, _, _), w in self._workers.items():
            if u == uid:
                w.kick.set()

    def has_worker(self, uid: str, container_name: str, kind: str) -> bool:
        return (uid, container_name, kind) in self._workers

    # --- results for the kubelet ---------------------------------------------------------------
    def result(self, container_id: str, kind: str) -> ProbeResult | None:
        return self._results.get((container_id, kind))

    def started(self, uid: str, name: str, container_id: str, running: bool) -> bool:
        if not running:
            return False
        r = self.result(container_id, STARTUP)
        if r is not None:
            return r == ProbeResult.SUCCESS
        return not self.has_worker(uid, name, STARTUP)

    def ready(self, uid: str, name: str, container_id: str, running: bool) -> bool:
        if not running or not self.started(uid, name, container_id, running):
            return False
        r = self.result(container_id, READINESS)
        if r == ProbeResult.SUCCESS:
            return True
        w = self._workers.get((uid, name, READINESS))
        if w is None:
            return True
        w.kick.set()
        return False

    def probe_state(self, uid: str, running: dict[str, str]) -> ProbeState:
        """For `compute_pod_actions`; `running` maps container name -> running container ID."""
        st = ProbeState()
        for name, cid in running.items():
            if self.result(cid, LIVENESS) == ProbeResult.FAILURE:
                st.liveness_failed.add(cid)
            if self.result(cid, STARTUP) == ProbeResult.FAILURE:
                st.startup_failed.add(cid)
            if self.started(uid, name, cid, True):
                st.started.add(cid)
        return st

    # --- the worker ----------------------------------------------------------------------------
    async def _work(self, w: Worker) -> None:
        period = float(w.probe.get("periodSeconds") or 10)
        next_due = self.clock.monotonic()
        try:
            while True:
                delay = max(0.0, next_due - self.clock.monotonic())
                if delay > 0:
                    timer = self.clock.after(delay)
                    kicked = asyncio.ensure_future(w.kick.wait())
                    try:
                        await asyncio.wait([timer, kicked], return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        timer.cancel()
                        kicked.cancel()
                w.kick.clear()
                due = self.clock.monotonic() >= next_due
                probed, keep = await self._do_probe(w, due=due)
                if not keep:
                    return
                if probed or due:
                    next_due = self.clock.monotonic() + period
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("probe worker %s/%s/%s failed", w.uid, w.container_name, w.kind)

    def _set(self, w: Worker, result: ProbeResult) -> None:
        key = (w.container_id, w.kind)
        old = self._results.get(key)
        self._results[key] = result
        if old != result:
            self.on_change(w.uid, w.container_name, w.kind, result)

    async def _do_probe(self, w: Worker, *, due: bool) -> tuple[bool, bool]:
        """(probed, keep going) — Kubernetes' worker.doProbe."""
        got = self.status(w.uid)
        if got is None:
            return False, True
        pod, status = got
        if status.get("phase") in ("Succeeded", "Failed"):
            return False, False
        all_cs = (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
        cs = next((c for c in all_cs if c.get("name") == w.container_name), None)
        if cs is None or not cs.get("containerID"):
            return False, True
        cid = str(cs["containerID"]).partition("://")[2]
        new_container = cid != w.container_id
        if new_container:
            if w.container_id:
                self._results.pop((w.container_id, w.kind), None)
            w.container_id = cid
            w.on_hold = False
            w.last_result, w.result_run = None, 0
            seeded = self._results.get((cid, w.kind))
            self._set(w, seeded if seeded is not None else _INITIAL[w.kind])
        if w.on_hold:
            return False, True
        if _running_since(cs) is None:
            self._set(w, ProbeResult.FAILURE)
            terminated = (cs.get("state") or {}).get("terminated")
            return False, terminated is None or (pod.get("spec") or {}).get("restartPolicy") != "Never"
        if (pod.get("metadata") or {}).get("deletionTimestamp") and w.kind in (LIVENESS, STARTUP):
            self._set(w, ProbeResult.SUCCESS)
            return False, False
        if not due and not new_container:
            return False, True
        started_at = self._parse(_running_since(cs))
        delay = int(w.probe.get("initialDelaySeconds") or 0)
        if started_at is not None and (self.clock.now() - started_at).total_seconds() < delay:
            return False, True
        if cs.get("started"):
            if w.kind == STARTUP:
                return False, True
        elif w.kind != STARTUP:
            return False, True
        container = next((c for c in (pod.get("spec") or {}).get("containers") or []
                          + (pod.get("spec") or {}).get("initContainers") or []
                          if c.get("name") == w.container_name), {})
        outcome = await run_probe(w.probe, runtime=self.runtime, container=container, container_id=cid,
                                  pod_ip=status.get("podIP", ""), netns=self.netns)
        if w.container_id != cid:
            return True, True
        result = ProbeResult.SUCCESS if outcome.success else ProbeResult.FAILURE
        if not outcome.success:
            label = w.kind.capitalize()
            msg = (f"{label} probe errored: {outcome.output}" if outcome.error
                   else f"{label} probe failed: {outcome.output}")
            self.record(pod, container, "Warning", ev.CONTAINER_UNHEALTHY, msg)
        if w.last_result == result:
            w.result_run += 1
        else:
            w.last_result, w.result_run = result, 1
        failure_threshold = int(w.probe.get("failureThreshold") or 3)
        success_threshold = int(w.probe.get("successThreshold") or 1)
        if (result == ProbeResult.FAILURE and w.result_run < failure_threshold) or (
                result == ProbeResult.SUCCESS and w.result_run < success_threshold):
            return True, True
        self._set(w, result)
        if w.kind in (LIVENESS, STARTUP) and result == ProbeResult.FAILURE:
            w.on_hold = True
            w.result_run = 0
        return True, True

    @staticmethod
    def _parse(text: Any):
        from kubelite.machinery.timeutil import parse_time

        return parse_time(text) if text else None
