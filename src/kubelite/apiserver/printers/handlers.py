"""The printer table: which printer each (group, kind) gets, and the three public functions."""

from __future__ import annotations

from datetime import datetime, timezone

from . import (apps, autoscaling, batch, certificates, coordination, core, discovery, event, meta, networking, pod,
               policy, rbac, scheduling)
from .columns import Printer

PRINTERS: dict[tuple[str, str], Printer] = {
    **pod.PRINTERS, **core.PRINTERS, **event.PRINTERS, **apps.PRINTERS, **batch.PRINTERS,
    **autoscaling.PRINTERS, **networking.PRINTERS, **discovery.PRINTERS, **policy.PRINTERS,
    **rbac.PRINTERS, **scheduling.PRINTERS, **coordination.PRINTERS, **certificates.PRINTERS,
    **meta.PRINTERS,
}


def printer_for(group: str, kind: str) -> Printer:
    return PRINTERS.get((group, kind), meta.DEFAULT)


def has_printer(group: str, kind: str) -> bool:
    """Whether the kind has a dedicated printer (otherwise it gets Name and Created At)."""
    return (group, kind) in PRINTERS


def column_definitions(group: str, kind: str) -> list[dict]:
    return [c.to_dict() for c in printer_for(group, kind).columns]


def row_cells(group: str, kind: str, obj: dict, now: datetime) -> list:
    """One cell per column definition, as the real server prints with `Wide: true`."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return printer_for(group, kind).cells(obj, now)


def row_conditions(group: str, kind: str, obj: dict) -> list[dict] | None:
    conditions = printer_for(group, kind).conditions
    return conditions(obj) if conditions else None
