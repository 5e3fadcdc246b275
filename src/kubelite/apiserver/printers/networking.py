"""Printers for networking.k8s.io/v1: Ingress, IngressClass, NetworkPolicy."""

from __future__ import annotations

from datetime import datetime

from .columns import AGE, NAME, Column, Printer
from .core import load_balancer_addresses
from .format import NONE, created, format_label_selector, meta

INGRESS_COLUMNS = (
    NAME,
    Column("Class", "string", "The IngressClass that handles the ingress."),
    Column("Hosts", "string", "Host names the rules match."),
    Column("Address", "string", "Addresses of the load balancer serving the ingress."),
    Column("Ports", "string", "Ports the ingress serves: 80, and 443 with TLS."),
    AGE,
)
HOSTS_SHOWN = 3


def ingress_hosts(rules: list | None) -> str:
    """The first three rule hosts; `*` when no rule names one.

    Any rule after the list is full (host or not) adds a "+ N more..." counted over all rules.
    """
    rules = rules or []
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == HOSTS_SHOWN:
            more = True
            break
        if rule.get("host"):
            hosts.append(rule["host"])
    if not hosts:
        return "*"
    if more:
        return f"{','.join(hosts)} + {len(rules) - HOSTS_SHOWN} more..."
    return ",".join(hosts)


def ingress_cells(ing: dict, now: datetime) -> list:
    spec = ing.get("spec") or {}
    class_name = spec.get("ingressClassName")
    address = load_balancer_addresses((ing.get("status") or {}).get("loadBalancer"))
    ports = "80, 443" if spec.get("tls") else "80"
    return [meta(ing).get("name", ""), NONE if class_name is None else class_name,
            ingress_hosts(spec.get("rules")), address, ports, created(ing, now)]


INGRESSCLASS_COLUMNS = (
    NAME,
    Column("Controller", "string", "The controller that implements the class."),
    Column("Parameters", "string", "The resource holding the class's parameters, as kind.group/name."),
    AGE,
)


def ingressclass_cells(ic: dict, now: datetime) -> list:
    spec = ic.get("spec") or {}
    params = spec.get("parameters")
    parameters = NONE
    if params is not None:
        parameters = params.get("kind", "")
        if params.get("apiGroup") is not None:
            parameters += "." + params["apiGroup"]
        parameters += "/" + params.get("name", "")
    return [meta(ic).get("name", ""), spec.get("controller", ""), parameters, created(ic, now)]


NETWORKPOLICY_COLUMNS = (NAME, Column("Pod-Selector", "string", "Labels of the pods the policy applies to."), AGE)


def networkpolicy_cells(np: dict, now: datetime) -> list:
    selector = (np.get("spec") or {}).get("podSelector") or {}
    return [meta(np).get("name", ""), format_label_selector(selector), created(np, now)]


PRINTERS = {
    ("networking.k8s.io", "Ingress"): Printer(INGRESS_COLUMNS, ingress_cells),
    ("networking.k8s.io", "IngressClass"): Printer(INGRESSCLASS_COLUMNS, ingressclass_cells),
    ("networking.k8s.io", "NetworkPolicy"): Printer(NETWORKPOLICY_COLUMNS, networkpolicy_cells),
}
