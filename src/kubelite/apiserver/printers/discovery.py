"""The EndpointSlice printer (discovery.k8s.io/v1)."""

from __future__ import annotations

from datetime import datetime

from .columns import AGE, NAME, Column, Printer
from .format import created, list_with_more, meta

COLUMNS = (
    NAME,
    Column("AddressType", "string", "IPv4, IPv6 or FQDN."),
    Column("Ports", "string", "The first few port numbers (or names)."),
    Column("Endpoints", "string", "The first few endpoint addresses."),
    AGE,
)


def slice_ports(ports: list | None) -> str:
    shown = []
    for p in ports or []:
        if p.get("port") is not None:
            shown.append(str(p["port"]))
        elif p.get("name") is not None:
            shown.append(p["name"])
        else:
            shown.append("*")
    return list_with_more(shown, len(shown))


def slice_endpoints(endpoints: list | None) -> str:
    addresses = [a for ep in endpoints or [] for a in ep.get("addresses") or []]
    return list_with_more(addresses, len(addresses))


def endpointslice_cells(es: dict, now: datetime) -> list:
    return [meta(es).get("name", ""), es.get("addressType", ""), slice_ports(es.get("ports")),
            slice_endpoints(es.get("endpoints")), created(es, now)]


PRINTERS = {("discovery.k8s.io", "EndpointSlice"): Printer(COLUMNS, endpointslice_cells)}
