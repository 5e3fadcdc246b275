"""Per-key exponential backoff measured from an event time (client-go's `flowcontrol.Backoff`).

Used for CrashLoopBackOff (key = pod + container + spec hash, event = the container's finish
time) and for image pulls. `in_backoff_since(key, t)` is true while less than the current delay
has passed since `t`; `next(key, t)` doubles the delay (initial on first use, capped at `max`).
An entry not updated for `2 * max` is forgotten, so a container that ran for 10 minutes (with
the 5 minute cap) starts again from the initial delay.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Entry:
    backoff: float
    last_update: float


class Backoff:
    def __init__(self, initial: float, maximum: float, now):
        """`now()` returns seconds (wall time, comparable with the event times given)."""
        self.initial = initial
        self.maximum = maximum
        self._now = now
        self._entries: dict[str, _Entry] = {}

    def _expired(self, event_time: float, entry: _Entry) -> bool:
        return event_time - entry.last_update > 2 * self.maximum

    def get(self, key: str) -> float:
        e = self._entries.get(key)
        return e.backoff if e else 0.0

    def in_backoff_since(self, key: str, event_time: float) -> bool:
        e = self._entries.get(key)
        if e is None or self._expired(event_time, e):
            return False
        return self._now() - event_time < e.backoff

    def in_backoff_since_update(self, key: str) -> bool:
        """In backoff measured from the last `next` (image pulls)."""
        e = self._entries.get(key)
        if e is None or self._expired(self._now(), e):
            return False
        return self._now() - e.last_update < e.backoff

    def remaining(self, key: str, event_time: float) -> float:
        """Seconds until the backoff since `event_time` ends (0 when not in backoff)."""
        if not self.in_backoff_since(key, event_time):
            return 0.0
        return max(0.0, self._entries[key].backoff - (self._now() - event_time))

    def next(self, key: str, event_time: float) -> None:
        e = self._entries.get(key)
        if e is None or self._expired(event_time, e):
            e = _Entry(self.initial, self._now())
        else:
            e = _Entry(min(e.backoff * 2, self.maximum), self._now())
        self._entries[key] = e

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def gc(self) -> None:
        now = self._now()
        for k, e in list(self._entries.items()):
            if now - e.last_update > 2 * self.maximum:
                del self._entries[k]

    def __len__(self) -> int:
        return len(self._entries)
