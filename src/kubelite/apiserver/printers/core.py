"""Printers for core/v1 kinds other than Pod and Event."""

from __future__ import annotations

from datetime import datetime

from .columns import AGE, NAME, Column, Printer, wide
from .format import (NONE, canonical_quantity, container_cells, created, format_labels, join_host_port,
                     list_with_more, meta)

ROLE_LABEL_PREFIX = "node-role.kubernetes.io/"
ROLE_LABEL = "kubernetes.io/role"


# Services

SERVICE_COLUMNS = (
    NAME,
    Column("Type", "string", "How the service is exposed (ClusterIP, NodePort, LoadBalancer, ExternalName)."),
    Column("Cluster-IP", "string", "The service's primary cluster IP."),
    Column("External-IP", "string", "Addresses the service is reachable at from outside the cluster."),
    Column("Port(s)", "string", "The service's ports, with node ports."),
    AGE,
    wide("Selector", "Labels of the pods that back the service."),
)


def load_balancer_addresses(lb_status: dict | None) -> str:
    """Ingress IPs (or hostnames) of a load balancer, sorted and de-duplicated, comma-joined."""
    found = set()
    for ing in (lb_status or {}).get("ingress") or []:
        if ing.get("ip"):
            found.add(ing["ip"])
        elif ing.get("hostname"):
            found.add(ing["hostname"])
    return ",".join(sorted(found))


def service_external_ip(svc: dict) -> str:
    spec = svc.get("spec") or {}
    external = spec.get("externalIPs") or []
    type_ = spec.get("type")
    if type_ in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else NONE
    if type_ == "LoadBalancer":
        lb = load_balancer_addresses((svc.get("status") or {}).get("loadBalancer"))
        if external:
            return ",".join((lb.split(",") if lb else []) + external)
        return lb or "<pending>"
    if type_ == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def service_ports(ports: list | None) -> str:
    pieces = []
    for p in ports or []:
        protocol = p.get("protocol") or "TCP"
        if (p.get("nodePort") or 0) > 0:
            pieces.append(f"{p.get('port', 0)}:{p['nodePort']}/{protocol}")
        else:
            pieces.append(f"{p.get('port', 0)}/{protocol}")
    return ",".join(pieces) or NONE


def service_cells(svc: dict, now: datetime) -> list:
    spec = svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or []
    return [meta(svc).get("name", ""), spec.get("type", ""), cluster_ips[0] if cluster_ips else NONE,
            service_external_ip(svc), service_ports(spec.get("ports")), created(svc, now),
            format_labels(spec.get("selector"))]


# Nodes

NODE_COLUMNS = (
    NAME,
    Column("Status", "string", "Ready, NotReady or Unknown, and SchedulingDisabled when cordoned."),
    Column("Roles", "string", "Roles taken from the node's role labels."),
    AGE,
    Column("Version", "string", "The kubelet version the node reports."),
    wide("Internal-IP", "The node's first internal IP address."),
    wide("External-IP", "The node's first external IP address."),
    wide("OS-Image", "The operating system the node reports."),
    wide("Kernel-Version", "The kernel version the node reports."),
    wide("Container-Runtime", "The container runtime and version the node reports."),
)


def node_roles(labels: dict | None) -> list[str]:
    roles = set()
    for key, value in (labels or {}).items():
        if key.startswith(ROLE_LABEL_PREFIX):
            if role := key[len(ROLE_LABEL_PREFIX):]:
                roles.add(role)
        elif key == ROLE_LABEL and value:
            roles.add(value)
    return sorted(roles)


def node_status(node: dict) -> str:
    ready = None
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            ready = cond
    parts = ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if (node.get("spec") or {}).get("unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def _node_address(node: dict, type_: str) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == type_:
            return addr.get("address", "")
    return NONE


def node_cells(node: dict, now: datetime) -> list:
    info = (node.get("status") or {}).get("nodeInfo") or {}
    return [meta(node).get("name", ""), node_status(node), ",".join(node_roles(meta(node).get("labels"))) or NONE,
            created(node, now), info.get("kubeletVersion", ""),
            _node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


# Namespaces, config and identity

NAMESPACE_COLUMNS = (NAME, Column("Status", "string", "The namespace phase: Active or Terminating."), AGE)
CONFIGMAP_COLUMNS = (NAME, Column("Data", "string", "Number of keys in data and binaryData."), AGE)
SECRET_COLUMNS = (NAME, Column("Type", "string", "The secret type."),
                  Column("Data", "string", "Number of keys in data."), AGE)
SERVICEACCOUNT_COLUMNS = (NAME, Column("Secrets", "string", "Number of secrets listed on the account."), AGE)


def namespace_cells(ns: dict, now: datetime) -> list:
    return [meta(ns).get("name", ""), (ns.get("status") or {}).get("phase", ""), created(ns, now)]


def configmap_cells(cm: dict, now: datetime) -> list:
    return [meta(cm).get("name", ""), len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), created(cm, now)]


def secret_cells(secret: dict, now: datetime) -> list:
    return [meta(secret).get("name", ""), secret.get("type", ""), len(secret.get("data") or {}),
            created(secret, now)]


def serviceaccount_cells(sa: dict, now: datetime) -> list:
    return [meta(sa).get("name", ""), len(sa.get("secrets") or []), created(sa, now)]


# Endpoints

ENDPOINTS_COLUMNS = (NAME, Column("Endpoints", "string", "The first few ready addresses, as ip:port."), AGE)
ENDPOINTS_SHOWN = 3


def format_endpoints(ep: dict) -> str:
    subsets = ep.get("subsets") or []
    if not subsets:
        return NONE
    shown: list[str] = []
    count = 0
    for ss in subsets:
        addresses = ss.get("addresses") or []
        ports = ss.get("ports") or []
        if not ports:  # headless services may have no ports
            count += len(addresses)
            shown += [a.get("ip", "") for a in addresses][:ENDPOINTS_SHOWN - len(shown)]
            continue
        for port in ports:
            count += len(addresses)
            shown += [join_host_port(a.get("ip", ""), port.get("port", 0))
                      for a in addresses][:ENDPOINTS_SHOWN - len(shown)]
    return list_with_more(shown, count, ENDPOINTS_SHOWN, empty="")


def endpoints_cells(ep: dict, now: datetime) -> list:
    return [meta(ep).get("name", ""), format_endpoints(ep), created(ep, now)]


# Pod templates

PODTEMPLATE_COLUMNS = (
    NAME,
    Column("Containers", "string", "Names of the containers in the template."),
    Column("Images", "string", "Images of the containers in the template."),
    Column("Pod Labels", "string", "Labels of the template's pods."),
)


def podtemplate_cells(pt: dict, now: datetime) -> list:
    template = pt.get("template") or {}
    names, images = container_cells((template.get("spec") or {}).get("containers"))
    return [meta(pt).get("name", ""), names, images, format_labels((template.get("metadata") or {}).get("labels"))]


# Resource quotas

RESOURCEQUOTA_COLUMNS = (
    NAME,
    Column("Request", "string", "Used and hard amounts of the non-limit resources."),
    Column("Limit", "string", "Used and hard amounts of the limits.* resources."),
    AGE,
)


def resourcequota_cells(rq: dict, now: datetime) -> list:
    status = rq.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    requests, limits = [], []
    for resource in sorted(hard):
        column = limits if resource.split(".")[0] == "limits" and "." in resource else requests
        column.append(f"{resource}: {canonical_quantity(used.get(resource))}/{canonical_quantity(hard[resource])}")
    return [meta(rq).get("name", ""), ", ".join(requests), ", ".join(limits), created(rq, now)]


PRINTERS = {
    ("", "Service"): Printer(SERVICE_COLUMNS, service_cells),
    ("", "Node"): Printer(NODE_COLUMNS, node_cells),
    ("", "Namespace"): Printer(NAMESPACE_COLUMNS, namespace_cells),
    ("", "ConfigMap"): Printer(CONFIGMAP_COLUMNS, configmap_cells),
    ("", "Secret"): Printer(SECRET_COLUMNS, secret_cells),
    ("", "ServiceAccount"): Printer(SERVICEACCOUNT_COLUMNS, serviceaccount_cells),
    ("", "Endpoints"): Printer(ENDPOINTS_COLUMNS, endpoints_cells),
    ("", "PodTemplate"): Printer(PODTEMPLATE_COLUMNS, podtemplate_cells),
    ("", "ResourceQuota"): Printer(RESOURCEQUOTA_COLUMNS, resourcequota_cells),
}
