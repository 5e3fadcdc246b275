"""The Status printer (watch ERROR events) and the default table for kinds without a printer."""

from __future__ import annotations

from datetime import datetime, timezone

from .columns import Column, Printer
from .format import meta, parse_time

STATUS_COLUMNS = (
    Column("Status", "string", "Success or Failure."),
    Column("Reason", "string", "Why the operation failed, in CamelCase."),
    Column("Message", "string", "A human-readable description of the failure."),
)


def status_cells(status: dict, now: datetime) -> list:
    return [_text(status.get("status")), _text(status.get("reason")), _text(status.get("message"))]


def _text(v: object) -> str:
    return v if isinstance(v, str) else ""


DEFAULT_COLUMNS = (
    Column("Name", "string", "Name of the object, unique within its namespace or the cluster.", "name"),
    Column("Created At", "date", "When the object was created."),
)
ZERO_TIME = "0001-01-01T00:00:00Z"


def created_at(obj: dict) -> str:
    """creationTimestamp in RFC 3339, UTC; Go's zero time when absent."""
    t = parse_time(meta(obj).get("creationTimestamp"))
    if t is None:
        return ZERO_TIME
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_cells(obj: dict, now: datetime) -> list:
    return [meta(obj).get("name", ""), created_at(obj)]


DEFAULT = Printer(DEFAULT_COLUMNS, default_cells)

PRINTERS = {
    ("", "Status"): Printer(STATUS_COLUMNS, status_cells),
    ("meta.k8s.io", "Status"): Printer(STATUS_COLUMNS, status_cells),
}
