"""The PriorityClass printer (scheduling.k8s.io/v1)."""

from __future__ import annotations

from datetime import datetime

from .columns import AGE, NAME, Column, Printer
from .format import created, meta

COLUMNS = (
    NAME,
    Column("Value", "integer", "The priority pods of this class get."),
    Column("Global-Default", "boolean", "Whether pods without a class get this one."),
    AGE,
    Column("PreemptionPolicy", "string", "Whether pods of this class may preempt lower-priority pods."),
)


def priorityclass_cells(pc: dict, now: datetime) -> list:
    return [meta(pc).get("name", ""), pc.get("value") or 0, bool(pc.get("globalDefault")), created(pc, now),
            pc.get("preemptionPolicy") or ""]


PRINTERS = {("scheduling.k8s.io", "PriorityClass"): Printer(COLUMNS, priorityclass_cells)}
