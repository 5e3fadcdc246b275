"""What the EndpointSlices of one Service should become (pure), as Kubernetes' reconciler plans it.

Desired endpoints are grouped by address type and port set (named ports can resolve to other
numbers on other pods). Existing slices keep the endpoints still wanted (updated in place when
they changed), lose the others, and are deleted when empty; the remaining wanted endpoints first
fill slices being updated, then an unchanged slice with room for all of them, then slices that
were to be deleted (reused), then new slices of at most `max_per_slice`. A Service with no
endpoints keeps one empty placeholder slice.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ..util.endpoint import (
    HEADLESS_LABEL,
    LAST_CHANGE_TRIGGER_TIME,
    find_port,
    is_headless,
    pod_ip_for_family,
    service_family,
    should_pod_be_in_endpoints,
    should_set_hostname,
    target_ref,
)
from ..util.pods import is_pod_ready, is_terminating

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
ZONE_LABEL = "topology.kubernetes.io/zone"
MAX_ENDPOINTS_PER_SLICE = 100

PortsKey = tuple


@dataclass
class Plan:
    create: list[dict] = field(default_factory=list)
    update: list[dict] = field(default_factory=list)
    delete: list[dict] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def address_types(service: dict) -> list[str]:
    return list((service.get("spec") or {}).get("ipFamilies") or [service_family(service)])


def endpoint_for_pod(pod: dict, service: dict, address_type: str, nodes: dict[str, dict]) -> dict | None:
    ip = pod_ip_for_family(pod, address_type)
    if ip is None:
        return None
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    serving = publish or is_pod_ready(pod)
    terminating = is_terminating(pod)
    ep: dict = {"addresses": [ip],
                "conditions": {"ready": publish or (serving and not terminating), "serving": serving,
                               "terminating": terminating}}
    if should_set_hostname(pod, service):
        ep["hostname"] = pod["spec"]["hostname"]
    ep["targetRef"] = target_ref(pod)
    node_name = (pod.get("spec") or {}).get("nodeName")
    if node_name:
        ep["nodeName"] = node_name
        zone = (((nodes.get(node_name) or {}).get("metadata") or {}).get("labels") or {}).get(ZONE_LABEL)
        if zone:
            ep["zone"] = zone
    return ep


def endpoint_ports(pod: dict, service: dict) -> list[dict]:
    out = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        number = find_port(pod, sp)
        if number is None:
            continue
        p = {"name": sp.get("name") or "", "port": number, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("appProtocol"):
            p["appProtocol"] = sp["appProtocol"]
        out.append(p)
    return out


def ports_key(address_type: str, ports: list[dict] | None) -> PortsKey:
    return (address_type, tuple(sorted((p.get("name") or "", p.get("port") or 0, p.get("protocol") or "TCP",
                                        p.get("appProtocol") or "") for p in ports or [])))


def endpoint_key(ep: dict) -> tuple[str, str]:
    return (ep.get("targetRef") or {}).get("uid", ""), (ep.get("addresses") or [""])[0]


def desired_endpoints(service: dict, pods: list[dict], nodes: dict[str, dict]
                      ) -> dict[PortsKey, tuple[list[dict], dict[tuple, dict]]]:
    """`{(address type, ports): (ports, {endpoint key: endpoint})}`, in pod order."""
    out: dict[PortsKey, tuple[list[dict], dict[tuple, dict]]] = {}
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, True):
            continue
        ports = endpoint_ports(pod, service)
        for address_type in address_types(service):
            ep = endpoint_for_pod(pod, service, address_type, nodes)
            if ep is None:
                continue
            pk = ports_key(address_type, ports)
            out.setdefault(pk, (ports, {}))[1][endpoint_key(ep)] = ep
    return out


def slice_labels(service: dict) -> dict[str, str]:
    out = {k: v for k, v in (service["metadata"].get("labels") or {}).items()
           if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL)}
    out[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    out[MANAGED_BY_LABEL] = CONTROLLER_NAME
    if is_headless(service):
        out[HEADLESS_LABEL] = ""
    return out


def new_slice(service: dict, address_type: str, ports: list[dict] | None, endpoints: list[dict]) -> dict:
    md = service["metadata"]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": f"{md['name']}-", "namespace": md["namespace"],
                         "labels": slice_labels(service),
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": md["name"],
                                              "uid": md["uid"], "controller": True, "blockOwnerDeletion": True}]},
            "addressType": address_type, "endpoints": endpoints, "ports": ports}


def reconcile(service: dict, desired: dict[PortsKey, tuple[list[dict], dict[tuple, dict]]],
              existing: list[dict], max_per_slice: int = MAX_ENDPOINTS_PER_SLICE,
              trigger_time: str | None = None) -> Plan:
    plan = Plan()
    want_labels = slice_labels(service)
    unchanged: dict[PortsKey, list[dict]] = {}
    updating: dict[PortsKey, list[dict]] = {}
    remaining = {pk: dict(eps) for pk, (_, eps) in desired.items()}
    ports_of = {pk: ports for pk, (ports, _) in desired.items()}
    placeholders: list[dict] = []
    for s in existing:
        pk = ports_key(s.get("addressType") or "IPv4", s.get("ports"))
        want = remaining.get(pk, {})
        kept: list[dict] = []
        changed = (s["metadata"].get("labels") or {}) != want_labels
        for ep in s.get("endpoints") or []:
            d = want.pop(endpoint_key(ep), None)
            if d is None:
                changed = True
                continue
            changed = changed or d != ep
            kept.append(d)
        if not kept:
            (placeholders if not s.get("endpoints") else plan.delete).append(s)
        elif changed:
            new = copy.deepcopy(s)
            new["endpoints"] = kept
            new["metadata"]["labels"] = dict(want_labels)
            updating.setdefault(pk, []).append(new)
        else:
            unchanged.setdefault(pk, []).append(s)
    reusable = plan.delete + placeholders
    plan.delete = []
    for pk, eps in remaining.items():
        todo = list(eps.values())
        for s in updating.get(pk, []):
            room = max_per_slice - len(s["endpoints"])
            s["endpoints"].extend(todo[:max(0, room)])
            todo = todo[max(0, room):]
        if todo and len(todo) < max_per_slice:
            for s in sorted(unchanged.get(pk, []), key=lambda x: -len(x.get("endpoints") or [])):
                if len(s.get("endpoints") or []) + len(todo) <= max_per_slice:
                    unchanged[pk].remove(s)
                    new = copy.deepcopy(s)
                    new["endpoints"] = list(s.get("endpoints") or []) + todo
                    updating.setdefault(pk, []).append(new)
                    todo = []
                    break
        while todo:
            chunk, todo = todo[:max_per_slice], todo[max_per_slice:]
            reuse = next((r for r in reusable if (r.get("addressType") or "IPv4") == pk[0]), None)
            if reuse is not None:
                reusable.remove(reuse)
                new = copy.deepcopy(reuse)
                new.update({"endpoints": chunk, "ports": ports_of[pk]})
                new["metadata"]["labels"] = dict(want_labels)
                updating.setdefault(pk, []).append(new)
            else:
                plan.create.append(new_slice(service, pk[0], ports_of[pk], chunk))
    plan.update = [s for slices in updating.values() for s in slices]
    has_slices = plan.create or plan.update or any(unchanged.values())
    if not has_slices:
        # Keep (or make) one empty placeholder slice.
        family = address_types(service)[0]
        keep = next((r for r in reusable if not r.get("endpoints") and (r.get("addressType") or "IPv4") == family
                     and not r.get("ports") and (r["metadata"].get("labels") or {}) == want_labels), None)
        if keep is not None:
            reusable.remove(keep)
        else:
            plan.create.append(new_slice(service, family, None, []))
    plan.delete = reusable
    if trigger_time:
        for s in plan.create + plan.update:
            s["metadata"]["annotations"] = {**(s["metadata"].get("annotations") or {}),
                                            LAST_CHANGE_TRIGGER_TIME: trigger_time}
    return plan
