"""Time in Kubernetes' wire formats, and kubectl's human-readable durations.

- `metav1.Time`: RFC 3339, seconds precision, `Z` (`2026-11-25T21:44:32Z`).
- `metav1.MicroTime`: six fractional digits (`2026-11-25T21:44:32.123456Z`).
- `human_duration`: apimachinery's `HumanDuration`, used for the AGE column.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(dt: datetime | None = None) -> str:
    dt = dt or now()
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(dt: datetime | None = None) -> str:
    dt = dt or now()
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_nano(ns: int | None = None) -> str:
    """Go's RFC3339Nano from epoch nanoseconds (trailing zeros of the fraction trimmed)."""
    ns = time.time_ns() if ns is None else ns
    sec, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    if frac:
        return f"{base}.{frac:09d}".rstrip("0") + "Z"
    return base + "Z"


def parse_time(s: str | None) -> datetime | None:
    """Parse RFC 3339 (with `Z`, offsets, or fractional seconds of any length)."""
    if not s:
        return None
    s = s.strip()
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    # Python's fromisoformat in 3.11 accepts at most 6 fractional digits; trim nanoseconds.
    if "." in s:
        head, _, rest = s.partition(".")
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        tz = rest[i:]
        s = f"{head}.{(digits + '000000')[:6]}{tz}"
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def is_valid_time(s: object) -> bool:
    if not isinstance(s, str):
        return False
    try:
        parse_time(s)
        return True
    except ValueError:
        return False


def human_duration(seconds: float) -> str:
    """apimachinery `duration.HumanDuration`."""
    s = int(seconds)  # truncates toward zero, as Go's int(d.Seconds())
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        sec = s % 60
        return f"{minutes}m" if sec == 0 else f"{minutes}m{sec}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def age(ts: str | None, at: datetime | None = None) -> str:
    """The AGE cell for a timestamp string: `<unknown>` when absent."""
    if not ts:
        return "<unknown>"
    try:
        t = parse_time(ts)
    except ValueError:
        return "<unknown>"
    at = at or now()
    return human_duration((at - t).total_seconds())
