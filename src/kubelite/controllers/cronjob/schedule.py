"""Cron schedules in time (pure): the next activation after an instant, as the cron library
Kubernetes uses computes it, in the schedule's time zone (`spec.timeZone`, or a `TZ=`/`CRON_TZ=`
prefix; UTC otherwise), across daylight-saving changes; and the CronJob's most recent missed
activation.

Parsing and its error messages are the API's (`kubelite.api.validation.cron`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kubelite.api.validation.cron import CronError, Schedule, parse
from kubelite.machinery.timeutil import parse_time

UTC = timezone.utc
MANY_MISSED = 100


class UnknownTimeZone(ValueError):
    pass


def load_location(name: str) -> tzinfo:
    """A time zone by IANA name, as Go's `time.LoadLocation` (empty and "UTC" are UTC)."""
    if name in ("", "UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise UnknownTimeZone(f"unknown time zone {name}") from e


@dataclass(frozen=True)
class CronSchedule:
    spec: Schedule
    location: tzinfo = UTC

    def next(self, t: datetime) -> datetime | None:
        if self.spec.every_seconds:
            return t.replace(microsecond=0) + timedelta(seconds=self.spec.every_seconds)
        return _next(self.spec, self.location, t)


def parse_schedule(text: str) -> CronSchedule:
    """Parse a schedule, with an optional `TZ=<zone> ` or `CRON_TZ=<zone> ` prefix."""
    location: tzinfo = UTC
    if text.startswith(("TZ=", "CRON_TZ=")):
        space = text.find(" ")
        name = text[text.find("=") + 1:space if space >= 0 else None]
        try:
            location = load_location(name)
        except UnknownTimeZone as e:
            raise CronError(f"provided bad location {name}: {e}") from None
    return CronSchedule(parse(text), location)


# ----- the next activation (robfig/cron's SpecSchedule.Next, in absolute time)


def _weekday(t: datetime) -> int:
    return (t.weekday() + 1) % 7        # Sunday is 0


def _day_matches(s: Schedule, t: datetime) -> bool:
    dom, dow = t.day in s.days_of_month, _weekday(t) in s.days_of_week
    if s.dom_star or s.dow_star:
        return dom and dow
    return dom or dow


def _wall(loc: tzinfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """A wall-clock time in `loc`, normalized like Go's time.Date (overflowing days roll on)."""
    y += (mo - 1) // 12
    mo = (mo - 1) % 12 + 1
    day = date(y, mo, 1) + timedelta(days=d - 1)
    return datetime(day.year, day.month, day.day, h, mi, tzinfo=loc).astimezone(UTC).astimezone(loc)


def _add(t: datetime, seconds: float, loc: tzinfo) -> datetime:
    return (t.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(loc)


def _next(s: Schedule, loc: tzinfo, t: datetime) -> datetime | None:
    orig = t.tzinfo or UTC
    t = _add(t.astimezone(loc).replace(microsecond=0), 1, loc)
    added = False
    year_limit = t.year + 5
    while True:                                     # WRAP
        if t.year > year_limit:
            return None
        wrapped = False
        while t.month not in s.months:
            if not added:
                added = True
                t = _wall(loc, t.year, t.month, 1)
            t = _wall(loc, t.year, t.month + 1, t.day, t.hour, t.minute)
            if t.month == 1:
                wrapped = True
                break
        if wrapped:
            continue
        while not _day_matches(s, t):
            if not added:
                added = True
                t = _wall(loc, t.year, t.month, t.day)
            t = _wall(loc, t.year, t.month, t.day + 1, t.hour, t.minute)
            if t.hour != 0:                         # a daylight-saving change moved midnight
                t = _add(t, (24 - t.hour) * 3600 if t.hour > 12 else -t.hour * 3600, loc)
            if t.day == 1:
                wrapped = True
                break
        if wrapped:
            continue
        while t.hour not in s.hours:
            if not added:
                added = True
                t = _wall(loc, t.year, t.month, t.day, t.hour)
            t = _add(t, 3600, loc)
            if t.hour == 0:
                wrapped = True
                break
        if wrapped:
            continue
        while t.minute not in s.minutes:
            if not added:
                added = True
                t = t.replace(second=0)
            t = _add(t, 60, loc)
            if t.minute == 0:
                wrapped = True
                break
        if wrapped:
            continue
        if t.second != 0:
            added = True
            t = _add(t, 60 - t.second, loc)
            continue
        return t.astimezone(orig)


# ----- a CronJob's activations


def _creation(cj: dict) -> datetime:
    return parse_time((cj.get("metadata") or {}).get("creationTimestamp")) or datetime(1970, 1, 1, tzinfo=UTC)


def most_recent_schedule_time(cj: dict, now: datetime, sched: CronSchedule, include_deadline: bool
                              ) -> tuple[datetime, datetime | None, int]:
    """`(earliest, most recent unmet activation or None, number missed)`; raises ValueError for a
    schedule that never fires twice a second apart (`59 23 31 2 *`)."""
    earliest = _creation(cj)
    last = parse_time((cj.get("status") or {}).get("lastScheduleTime"))
    if last is not None:
        earliest = last
    deadline = (cj.get("spec") or {}).get("startingDeadlineSeconds")
    if include_deadline and deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=int(deadline)))
    t1 = sched.next(earliest)
    if t1 is None or now < t1:
        return earliest, None, 0
    t2 = sched.next(t1)
    if t2 is None or now < t2:
        return earliest, t1, 1
    between = round((t2 - t1).total_seconds())
    if between < 1:
        raise ValueError("time difference between two schedules is less than 1 second")
    missed = int((now - t1).total_seconds()) // between + 1
    most_recent = None
    t: datetime | None = sched.next(t1 + timedelta(seconds=(missed - 2) * between))
    while t is not None and t <= now:
        most_recent = t
        t = sched.next(t)
    return earliest, most_recent, missed


def next_schedule_delay(cj: dict, now: datetime, sched: CronSchedule) -> float | None:
    """Seconds until the next activation after the last one, plus 100 ms."""
    try:
        earliest, recent, missed = most_recent_schedule_time(cj, now, sched, False)
    except ValueError:
        return None
    base = recent or (earliest if missed == 0 else now)
    nxt = sched.next(base)
    return None if nxt is None else (nxt - now).total_seconds() + 0.1


def job_name(cj: dict, scheduled: datetime) -> str:
    return f"{cj['metadata']['name']}-{calendar.timegm(scheduled.astimezone(UTC).timetuple()) // 60}"
