"""Cron schedules as CronJobs accept them (the standard 5-field parser Kubernetes uses).

`parse(spec)` returns a `Schedule` (sets of allowed minutes, hours, days of month, months, days
of week, or a fixed `@every` interval) or raises `CronError` whose text is the parser's own
message (`expected exactly 5 fields, found 1: [foo]`), which Kubernetes shows after
`spec.schedule: Invalid value: "...":`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class Bounds:
    min: int
    max: int
    names: dict[str, int] | None = None


MINUTES = Bounds(0, 59)
HOURS = Bounds(0, 23)
DOM = Bounds(1, 31)
MONTHS = Bounds(1, 12, {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))})
DOW = Bounds(0, 6, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))})

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days_of_month: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    days_of_week: frozenset[int] = frozenset()
    dom_star: bool = False
    dow_star: bool = False
    every_seconds: int = 0          # for `@every <duration>`


def _go_list(fields: list[str]) -> str:
    return "[" + " ".join(fields) + "]"


def _atoi(expr: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", expr):
        raise CronError(f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": invalid syntax')
    n = int(expr)
    if n < 0:
        raise CronError(f"negative number ({n}) not allowed: {expr}")
    if n > 2**63 - 1:
        raise CronError(f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": value out of range')
    return n


def _int_or_name(expr: str, b: Bounds) -> int:
    if b.names and expr.lower() in b.names:
        return b.names[expr.lower()]
    return _atoi(expr)


def _range(expr: str, b: Bounds) -> tuple[set[int], bool]:
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    single = len(low_high) == 1
    star = False
    if low_high[0] in ("*", "?"):
        start, end, star = b.min, b.max, True
    else:
        start = _int_or_name(low_high[0], b)
        if len(low_high) == 1:
            end = start
        elif len(low_high) == 2:
            end = _int_or_name(low_high[1], b)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _atoi(range_and_step[1])
        if single:
            end = b.max
        if step > 1:
            star = False
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < b.min:
        raise CronError(f"beginning of range ({start}) below minimum ({b.min}): {expr}")
    if end > b.max:
        raise CronError(f"end of range ({end}) above maximum ({b.max}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return set(range(start, end + 1, step)), star


def _field(text: str, b: Bounds) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for expr in (e for e in text.split(",") if e):
        v, s = _range(expr, b)
        values |= v
        star = star or s
    return frozenset(values), star


_DURATION_PART = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h)"
_DURATION_RE = re.compile(r"(?:" + _DURATION_PART + r")+")
_PART_RE = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_go_duration(s: str) -> float:
    """Seconds in a Go duration string (`1h30m`, `90s`); errors worded as Go's ParseDuration."""
    body = s[1:] if s[:1] in ("+", "-") else s
    sign = -1 if s[:1] == "-" else 1
    if body == "0":
        return 0.0
    if re.fullmatch(r"[0-9]+(?:\.[0-9]*)?", body):
        raise CronError(f'time: missing unit in duration "{s}"')
    if not body or not _DURATION_RE.fullmatch(body):
        raise CronError(f'time: invalid duration "{s}"')
    return sign * sum(float(n) * _UNITS[u] for n, u in _PART_RE.findall(body))


def parse(spec: str) -> Schedule:
    if not spec:
        raise CronError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        i = spec.find(" ")
        eq = spec.find("=")
        if i < 0:
            raise CronError(f"provided bad location {spec[eq + 1:]}: unknown time zone {spec[eq + 1:]}")
        spec = spec[i:].strip()
    if spec.startswith("@"):
        if spec.startswith("@every "):
            try:
                secs = parse_go_duration(spec[len("@every "):])
            except CronError as e:
                raise CronError(f"failed to parse duration {spec}: {e}") from None
            return Schedule(every_seconds=max(1, int(secs)))
        if spec not in DESCRIPTORS:
            raise CronError(f"unrecognized descriptor: {spec}")
        spec = DESCRIPTORS[spec]
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: {_go_list(fields)}")
    minutes, _ = _field(fields[0], MINUTES)
    hours, _ = _field(fields[1], HOURS)
    dom, dom_star = _field(fields[2], DOM)
    months, _ = _field(fields[3], MONTHS)
    dow, dow_star = _field(fields[4], DOW)
    return Schedule(minutes, hours, dom, months, dow, dom_star, dow_star)


def validate(spec: str) -> str | None:
    """The parser's error message, or None when the schedule is valid."""
    try:
        parse(spec)
    except CronError as e:
        return str(e)
    return None
