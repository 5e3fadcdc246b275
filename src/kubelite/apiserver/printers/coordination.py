"""The Lease printer (coordination.k8s.io/v1)."""

from __future__ import annotations

from datetime import datetime

from .columns import AGE, NAME, Column, Printer
from .format import created, meta

COLUMNS = (NAME, Column("Holder", "string", "The identity holding the lease."), AGE)


def lease_cells(lease: dict, now: datetime) -> list:
    return [meta(lease).get("name", ""), (lease.get("spec") or {}).get("holderIdentity") or "", created(lease, now)]


PRINTERS = {("coordination.k8s.io", "Lease"): Printer(COLUMNS, lease_cells)}
