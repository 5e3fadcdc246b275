"""The CertificateSigningRequest printer (certificates.k8s.io/v1)."""

from __future__ import annotations

from datetime import datetime

from .columns import AGE, NAME, Column, Printer
from .format import NONE, created, human_duration, meta

COLUMNS = (
    NAME,
    AGE,
    Column("SignerName", "string", "The signer asked to sign the request."),
    Column("Requestor", "string", "The user who created the request."),
    Column("RequestedDuration", "string", "The certificate lifetime asked for."),
    Column("Condition", "string", "Pending, Approved or Denied, then Failed and Issued when they apply."),
)


def csr_condition(csr: dict) -> str:
    status = csr.get("status") or {}
    types = {c.get("type") for c in status.get("conditions") or []}
    text = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        text += ",Failed"
    if status.get("certificate"):
        text += ",Issued"
    return text


def csr_cells(csr: dict, now: datetime) -> list:
    spec = csr.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    return [meta(csr).get("name", ""), created(csr, now), spec.get("signerName") or NONE, spec.get("username", ""),
            NONE if seconds is None else human_duration(seconds), csr_condition(csr)]


PRINTERS = {("certificates.k8s.io", "CertificateSigningRequest"): Printer(COLUMNS, csr_cells)}
