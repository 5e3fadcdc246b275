"""What the listeners of one load balancer share at run time: target group states, the
connection pool, counters, timeouts, weighted choosers and the access log hook.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Callable

from .metrics import Counters
from .model import Forward, Timeouts
from .pool import UpstreamPool
from .targets import SmoothWeighted, TargetEntry, TargetGroupState


@dataclass(frozen=True, slots=True)
class AccessLogEntry:
    """One line of the access log (after ELB's fields)."""

    time: float                 # wall clock, seconds
    listener: str
    client: str
    method: str
    host: str
    path: str
    status: int
    target: str                 # "ip:port", or "-" when the load balancer answered
    target_status: int | None
    duration: float             # seconds from the request head to the end of the response
    sent_bytes: int


AccessLog = Callable[[AccessLogEntry], None]


class Runtime:
    def __init__(self, *, pool: UpstreamPool, timeouts: Timeouts, access_log: AccessLog | None = None) -> None:
        self.groups: dict[str, TargetGroupState] = {}
        self.retired: list[TargetGroupState] = []    # removed groups still draining
        self.pool = pool
        self.timeouts = timeouts
        self.metrics = Counters()
        self.access_log = access_log
        self._choosers: dict[Forward, SmoothWeighted] = {}
        self.wake: Callable[[], None] = lambda: None   # the maintenance loop has something to do

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    def choose_group(self, action: Forward) -> TargetGroupState | None:
        tgs = action.target_groups
        if len(tgs) == 1:
            return self.groups.get(tgs[0].name)
        chooser = self._choosers.get(action)
        if chooser is None:
            chooser = self._choosers[action] = SmoothWeighted(tgs)
        if not chooser.groups:
            return None
        return self.groups.get(chooser.next())

    def reset_choosers(self) -> None:
        self._choosers.clear()

    def release(self, group: TargetGroupState, entry: TargetEntry) -> None:
        if group.release(entry):   # that finished its draining
            self.pool.close_idle(entry.target)
            self.wake()
