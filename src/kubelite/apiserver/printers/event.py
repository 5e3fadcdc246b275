"""The Event printer, shared by core/v1 and events.k8s.io/v1 Events.

Kubernetes prints both versions from the one internal Event; events.k8s.io/v1 names the
fields differently (`regarding`, `note`, `deprecated*`), so `as_core_event` maps them first.
"""

from __future__ import annotations

from datetime import datetime

from .columns import Column, Printer, wide
from .format import age, meta

COLUMNS = (
    Column("Last Seen", "string", "Time since the event was last observed."),
    Column("Type", "string", "Normal or Warning."),
    Column("Reason", "string", "Why the event happened, in CamelCase."),
    Column("Object", "string", "The object the event is about, as kind/name."),
    wide("Subobject", "The part of the object the event is about (a field path)."),
    wide("Source", "The component, and host, that reported the event."),
    Column("Message", "string", "A human-readable description of the event."),
    wide("First Seen", "Time since the event was first observed."),
    wide("Count", "How many times the event occurred."),
    Column("Name", "string", "Name of the Event object.", "name", priority=1),
)


def as_core_event(ev: dict) -> dict:
    """An events.k8s.io/v1 Event with its fields renamed as in core/v1."""
    return {
        "metadata": ev.get("metadata") or {},
        "involvedObject": ev.get("regarding") or {},
        "reason": ev.get("reason", ""),
        "message": ev.get("note", ""),
        "source": ev.get("deprecatedSource") or {},
        "firstTimestamp": ev.get("deprecatedFirstTimestamp"),
        "lastTimestamp": ev.get("deprecatedLastTimestamp"),
        "count": ev.get("deprecatedCount") or 0,
        "type": ev.get("type", ""),
        "eventTime": ev.get("eventTime"),
        "series": ev.get("series"),
        "reportingController": ev.get("reportingController", ""),
        "reportingInstance": ev.get("reportingInstance", ""),
    }


def event_source(ev: dict) -> str:
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingController") or ""
    host = source.get("host") or ev.get("reportingInstance") or ""
    return f"{component}, {host}" if host else component


def event_cells(ev: dict, now: datetime) -> list:
    first_seen = age(ev.get("firstTimestamp") or ev.get("eventTime"), now)
    last_seen = age(ev["lastTimestamp"], now) if ev.get("lastTimestamp") else first_seen
    count = ev.get("count") or 0
    series = ev.get("series")
    if series is not None:
        last_seen = age(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif count == 0:
        count = 1  # singleton events of the new API carry no count
    involved = ev.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [last_seen, ev.get("type", ""), ev.get("reason", ""), target, involved.get("fieldPath", ""),
            event_source(ev), (ev.get("message") or "").strip(), first_seen, count, meta(ev).get("name", "")]


def events_v1_cells(ev: dict, now: datetime) -> list:
    return event_cells(as_core_event(ev), now)


PRINTERS = {
    ("", "Event"): Printer(COLUMNS, event_cells),
    ("events.k8s.io", "Event"): Printer(COLUMNS, events_v1_cells),
}
