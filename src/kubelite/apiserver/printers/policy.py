"""The PodDisruptionBudget printer (policy/v1)."""

from __future__ import annotations

from datetime import datetime

from .columns import AGE, NAME, Column, Printer
from .format import created, meta

NOT_SET = "N/A"

COLUMNS = (
    NAME,
    Column("Min Available", "string", "Pods that must stay available, as a number or a percentage."),
    Column("Max Unavailable", "string", "Pods that may be unavailable, as a number or a percentage."),
    Column("Allowed Disruptions", "integer", "Pods that may be evicted right now."),
    AGE,
)


def pdb_cells(pdb: dict, now: datetime) -> list:
    spec = pdb.get("spec") or {}
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    return [meta(pdb).get("name", ""), NOT_SET if min_available is None else str(min_available),
            NOT_SET if max_unavailable is None else str(max_unavailable),
            (pdb.get("status") or {}).get("disruptionsAllowed") or 0, created(pdb, now)]


PRINTERS = {("policy", "PodDisruptionBudget"): Printer(COLUMNS, pdb_cells)}
