"""networking.k8s.io/v1 and discovery.k8s.io/v1 defaults."""

from __future__ import annotations

from .core import dict_items, field_dict


def network_policy(obj: dict) -> None:
    spec = field_dict(obj, "spec")
    if spec is None:
        return
    for direction in ("ingress", "egress"):
        for rule in dict_items(spec, direction):
            for port in dict_items(rule, "ports"):
                if port.get("protocol") is None:
                    port["protocol"] = "TCP"
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def ingress_class(obj: dict) -> None:
    spec = obj.get("spec")
    params = spec.get("parameters") if isinstance(spec, dict) else None
    if isinstance(params, dict) and params.get("scope") is None:
        params["scope"] = "Cluster"


def endpoint_slice(obj: dict) -> None:
    for port in dict_items(obj, "ports"):
        if port.get("name") is None:
            port["name"] = ""
        if port.get("protocol") is None:
            port["protocol"] = "TCP"
