"""events.k8s.io/v1: Event.
"""

from __future__ import annotations

from kubelite.api.schema import F, INT32, MICRO_TIME, STRING, TIME, define, type_meta_fields

from .common import CORE, EVENTS, META


define(EVENTS + "Event", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "eventTime", MICRO_TIME, required=True),
    F(3, "series", EVENTS + "EventSeries"),
    F(4, "reportingController", STRING),
    F(5, "reportingInstance", STRING),
    F(6, "action", STRING),
    F(7, "reason", STRING),
    F(8, "regarding", CORE + "ObjectReference"),
    F(9, "related", CORE + "ObjectReference"),
    F(10, "note", STRING),
    F(11, "type", STRING),
    F(12, "deprecatedSource", CORE + "EventSource"),
    F(13, "deprecatedFirstTimestamp", TIME),
    F(14, "deprecatedLastTimestamp", TIME),
    F(15, "deprecatedCount", INT32),
])

define(EVENTS + "EventList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", EVENTS + "Event", repeated=True, required=True),
])

define(EVENTS + "EventSeries", [
    F(1, "count", INT32, required=True),
    F(2, "lastObservedTime", MICRO_TIME, required=True),
])
