"""core/v1 strategies: pods, namespaces, services, nodes, events, secrets, service accounts."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field
from typing import Callable, Iterable

from kubelite.api.scheme import Resource
from kubelite.registry.generic.strategy import Strategy, deep_get
from kubelite.machinery import errors
from kubelite.machinery.addressplan import DEFAULT, AddressPlan

from kubelite.api import helpers as _helpers
from kubelite.api.defaults import core as _core_defaults


@dataclass
class Env:
    """What strategies may consult: the address plan and read access to cached objects."""

    plan: AddressPlan = DEFAULT
    objects: Callable[[str], Iterable[dict]] = lambda resource: ()
    reserved_ips: set[str] = field(default_factory=set)
    reserved_ports: set[int] = field(default_factory=set)


class PodStrategy(Strategy):
    def __init__(self, resource: Resource, env: Env):
        super().__init__(resource)

    def initial_status(self, obj: dict) -> dict | None:
        status: dict = {"phase": "Pending"}
        status["qosClass"] = _helpers.pod_qos_class(obj)
        return status

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        f = super().selectable_fields(obj)
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        f.update({
            "spec.nodeName": spec.get("nodeName", ""),
            "spec.restartPolicy": spec.get("restartPolicy", ""),
            "spec.schedulerName": spec.get("schedulerName", ""),
            "spec.serviceAccountName": spec.get("serviceAccountName", ""),
            "spec.hostNetwork": "true" if spec.get("hostNetwork") else "false",
            "status.phase": status.get("phase", ""),
            "status.podIP": status.get("podIP", ""),
            "status.podIPs": ",".join(p.get("ip", "") for p in status.get("podIPs") or []),
            "status.nominatedNodeName": status.get("nominatedNodeName", ""),
        })
        return f

    def graceful_delete_seconds(self, obj: dict, requested: int | None) -> int:
        spec = obj.get("spec") or {}
        phase = deep_get(obj, "status", "phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        if requested is not None:
            return max(0, requested)
        g = spec.get("terminationGracePeriodSeconds")
        return 30 if g is None else max(0, int(g))

    def ready_to_delete(self, obj: dict) -> bool:
        return not obj["metadata"].get("deletionGracePeriodSeconds")

    def return_deleted_object(self) -> bool:
        return True


class NamespaceStrategy(Strategy):
    def __init__(self, resource: Resource, env: Env):
        super().__init__(resource)

    def initial_status(self, obj: dict) -> dict | None:
        return {"phase": "Active"}

    def prepare_for_create(self, obj: dict) -> None:
        super().prepare_for_create(obj)
        obj.setdefault("spec", {})
        _core_defaults.namespace_finalizers_on_create(obj)

    def prepare_for_update(self, new: dict, old: dict) -> None:
        super().prepare_for_update(new, old)
        # spec.finalizers only change through /finalize.
        if "spec" in old:
            new["spec"] = dict(old["spec"])
        else:
            new.pop("spec", None)

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        f = super().selectable_fields(obj)
        f["status.phase"] = deep_get(obj, "status", "phase", default="")
        return f

    def on_mark_deleted(self, obj: dict) -> None:
        obj.setdefault("status", {})["phase"] = "Terminating"

    def ready_to_delete(self, obj: dict) -> bool:
        return not deep_get(obj, "spec", "finalizers")


class NodeStrategy(Strategy):
    def __init__(self, resource: Resource, env: Env):
        super().__init__(resource)

    def initial_status(self, obj: dict) -> dict | None:
        # Nodes are registered with their status (the kubelet creates them whole).
        return obj.get("status") or {}

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        f = super().selectable_fields(obj)
        f["spec.unschedulable"] = "true" if deep_get(obj, "spec", "unschedulable") else "false"
        return f


class ServiceStrategy(Strategy):
    """Allocates ClusterIPs and NodePorts (a fuller allocator with repair comes with the proxy)."""

    def __init__(self, resource: Resource, env: Env):
        super().__init__(resource)
        self.env = env

    def initial_status(self, obj: dict) -> dict | None:
        return {"loadBalancer": {}}

    def _used(self) -> tuple[set[str], set[int]]:
        ips, ports = set(self.env.reserved_ips), set(self.env.reserved_ports)
        for s in self.env.objects("services"):
            spec = s.get("spec") or {}
            for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
                if ip:
                    ips.add(ip)
            for p in spec.get("ports") or []:
                if p.get("nodePort"):
                    ports.add(int(p["nodePort"]))
        return ips, ports

    def prepare_for_create(self, obj: dict) -> None:
        super().prepare_for_create(obj)
        spec = obj.setdefault("spec", {})
        used_ips, used_ports = self._used()
        stype = spec.get("type", "ClusterIP")
        net = ipaddress.ip_network(self.env.plan.service_cidr)
        if stype != "ExternalName":
            ip = spec.get("clusterIP")
            if ip in (None, ""):
                for cand in net.hosts():
                    c = str(cand)
                    if c not in used_ips:
                        ip = c
                        break
                else:
                    raise errors.StatusError(500, errors.StatusReason.INTERNAL_ERROR,
                                             "failed to allocate a serviceIP: range is full")
            elif ip != "None":
                try:
                    addr = ipaddress.ip_address(ip)
                except ValueError:
                    addr = None
                if addr is None or addr not in net:
                    raise errors.new_invalid("", "Service", obj["metadata"].get("name", ""), [errors.invalid(
                        "spec.clusterIPs", [ip], f"failed to allocate IP {ip}: the provided IP ({ip}) is not in "
                                                 f"the valid range. The range of valid IPs is {net}")])
                if ip in used_ips:
                    raise errors.new_invalid("", "Service", obj["metadata"].get("name", ""), [errors.invalid(
                        "spec.clusterIPs", [ip], f"failed to allocate IP {ip}: provided IP is already allocated")])
            spec["clusterIP"] = ip
            spec["clusterIPs"] = [ip]
            if ip != "None":
                self.env.reserved_ips.add(ip)
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        if stype in ("NodePort", "LoadBalancer") and spec.get("allocateLoadBalancerNodePorts", True) is not False \
                or stype == "NodePort":
            lo, hi = self.env.plan.node_port_range
            for p in spec.get("ports") or []:
                np_ = p.get("nodePort")
                if np_:
                    if np_ in used_ports:
                        raise errors.new_invalid("", "Service", obj["metadata"].get("name", ""), [errors.invalid(
                            "spec.ports[0].nodePort", np_, "provided port is already allocated")])
                    used_ports.add(np_)
                    continue
                free = [x for x in range(lo, hi + 1) if x not in used_ports]
                if not free:
                    raise errors.StatusError(500, errors.StatusReason.INTERNAL_ERROR,
                                             "failed to allocate a nodePort: range is full")
                np_ = random.choice(free)
                p["nodePort"] = np_
                used_ports.add(np_)
                self.env.reserved_ports.add(np_)
        self._health_check_port(spec, used_ports)

    def _health_check_port(self, spec: dict, used_ports: set[int]) -> None:
        if spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local" \
                and not spec.get("healthCheckNodePort"):
            lo, hi = self.env.plan.node_port_range
            free = [x for x in range(lo, hi + 1) if x not in used_ports]
            if free:
                spec["healthCheckNodePort"] = random.choice(free)
                self.env.reserved_ports.add(spec["healthCheckNodePort"])

    @staticmethod
    def drop_type_dependent_fields(nspec: dict, ospec: dict) -> None:
        """Changing a Service's type drops the fields only the old type used, unless the client also
        changed them (Kubernetes' dropTypeDependentFields)."""
        ntype, otype = nspec.get("type", "ClusterIP"), ospec.get("type", "ClusterIP")
        external = ("NodePort", "LoadBalancer")
        if ntype not in external and otype in external:
            oports = [p.get("nodePort") for p in ospec.get("ports") or []]
            nports = [p.get("nodePort") for p in nspec.get("ports") or []]
            if nports == oports or not any(nports):
                for p in nspec.get("ports") or []:
                    p.pop("nodePort", None)
            if nspec.get("externalTrafficPolicy") == ospec.get("externalTrafficPolicy"):
                nspec.pop("externalTrafficPolicy", None)
        if ntype != "LoadBalancer" and otype == "LoadBalancer":
            for f in ("allocateLoadBalancerNodePorts", "loadBalancerClass", "healthCheckNodePort"):
                if nspec.get(f) == ospec.get(f):
                    nspec.pop(f, None)

    def prepare_for_update(self, new: dict, old: dict) -> None:
        super().prepare_for_update(new, old)
        ospec, nspec = old.get("spec") or {}, new.setdefault("spec", {})
        self.drop_type_dependent_fields(nspec, ospec)
        for k in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if k in ospec and not nspec.get(k):
                nspec[k] = ospec[k]
        if ospec.get("healthCheckNodePort") and not nspec.get("healthCheckNodePort") and \
                nspec.get("type") == "LoadBalancer" and nspec.get("externalTrafficPolicy") == "Local":
            nspec["healthCheckNodePort"] = ospec["healthCheckNodePort"]
        oports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in ospec.get("ports") or []}
        for p in nspec.get("ports") or []:
            if not p.get("nodePort") and oports.get((p.get("port"), p.get("protocol", "TCP"))) and \
                    nspec.get("type") in ("NodePort", "LoadBalancer"):
                p["nodePort"] = oports[(p.get("port"), p.get("protocol", "TCP"))]

    def return_deleted_object(self) -> bool:
        return True


class EventStrategy(Strategy):
    def __init__(self, resource: Resource, env: Env):
        super().__init__(resource)

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        f = super().selectable_fields(obj)
        io = obj.get("involvedObject") or {}
        src = obj.get("source") or {}
        f.update({
            "involvedObject.kind": io.get("kind", ""),
            "involvedObject.namespace": io.get("namespace", ""),
            "involvedObject.name": io.get("name", ""),
            "involvedObject.uid": io.get("uid", ""),
            "involvedObject.apiVersion": io.get("apiVersion", ""),
            "involvedObject.resourceVersion": io.get("resourceVersion", ""),
            "involvedObject.fieldPath": io.get("fieldPath", ""),
            "reason": obj.get("reason", ""),
            "reportingComponent": obj.get("reportingComponent", ""),
            "source": src.get("component", "") or obj.get("reportingComponent", ""),
            "type": obj.get("type", ""),
        })
        return f


class SecretStrategy(Strategy):
    def __init__(self, resource: Resource, env: Env):
        super().__init__(resource)

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        f = super().selectable_fields(obj)
        f["type"] = obj.get("type", "")
        return f


class ReturnObjectStrategy(Strategy):
    def __init__(self, resource: Resource, env: Env):
        super().__init__(resource)

    def return_deleted_object(self) -> bool:
        return True


STRATEGIES = {
    ("", "Pod"): PodStrategy,
    ("", "Namespace"): NamespaceStrategy,
    ("", "Node"): NodeStrategy,
    ("", "Service"): ServiceStrategy,
    ("", "Event"): EventStrategy,
    ("", "Secret"): SecretStrategy,
    ("", "ServiceAccount"): ReturnObjectStrategy,
    ("", "ResourceQuota"): ReturnObjectStrategy,
    ("", "PodTemplate"): ReturnObjectStrategy,
}
