"""Pod lifecycle event generator (Kubernetes' generic PLEG): relist the runtime every second,
compare sandbox and container states with the previous listing, and report the pods whose
containers started, died or disappeared, so their workers sync them. Also the view of "which
pods does the runtime hold" that housekeeping uses to find orphans."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from kubelite.client import Clock, RealClock

from .kuberuntime import labels as lb
from .runtime.interface import RuntimeService

log = logging.getLogger(__name__)

RELIST_THRESHOLD = 180.0  # seconds without a successful relist: "PLEG is not healthy"


class PLEG:
    def __init__(self, runtime: RuntimeService, on_event: Callable[[str], None], *, period: float = 1.0,
                 clock: Clock | None = None):
        self.runtime = runtime
        self.on_event = on_event
        self.period = period
        self.clock = clock or RealClock()
        self._last: dict[str, tuple[str, str]] = {}  # id -> (pod uid, state)
        self._last_relist: float | None = None
        self.relisted = asyncio.Event()
        self.relists = 0

    def pod_uids(self) -> set[str]:
        return {uid for uid, _ in self._last.values() if uid}

    def healthy(self) -> tuple[bool, str]:
        if self._last_relist is None:
            return True, ""
        elapsed = self.clock.monotonic() - self._last_relist
        if elapsed > RELIST_THRESHOLD:
            return False, f"PLEG is not healthy: pleg was last seen active {elapsed:.0f}s ago; threshold is 3m0s"
        return True, ""

    async def relist(self) -> set[str]:
        sandboxes = await self.runtime.list_pod_sandbox()
        containers = await self.runtime.list_containers()
        current: dict[str, tuple[str, str]] = {}
        for sb in sandboxes:
            current["sandbox:" + sb.id] = (sb.labels.get(lb.POD_UID, sb.uid), str(sb.state))
        for c in containers:
            current[c.id] = (c.labels.get(lb.POD_UID, ""), str(c.state))
        changed = set()
        for key in set(current) | set(self._last):
            if current.get(key) != self._last.get(key):
                uid = (current.get(key) or self._last.get(key) or ("", ""))[0]
                if uid:
                    changed.add(uid)
        self._last = current
        self._last_relist = self.clock.monotonic()
        self.relists += 1
        self.relisted.set()
        for uid in changed:
            self.on_event(uid)
        return changed

    async def run(self) -> None:
        while True:
            try:
                await self.relist()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("PLEG relist failed")
            await self.clock.sleep(self.period)
