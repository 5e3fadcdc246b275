"""What the Endpoints and EndpointSlice controllers share (Kubernetes' `controller/util/endpoint`
and `endpointslice/util`): which pods back a Service, their address and named ports, and the
time of the change an update reflects.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubelite.machinery import labels
from kubelite.machinery.timeutil import parse_time, rfc3339_nano

from .pods import get_pod_ready_condition, is_pod_terminal, is_terminating

LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
HEADLESS_LABEL = "service.kubernetes.io/headless"


def service_selector(service: dict) -> labels.Selector:
    """The Service's `spec.selector` (a plain map) as a selector."""
    return labels.Selector([labels.Requirement(k, "=", (v,))
                            for k, v in sorted(((service.get("spec") or {}).get("selector") or {}).items())])


def services_selecting(service_lister: Any, pod: dict) -> list[dict]:
    """The Services in the pod's namespace whose selector matches it (`GetPodServiceMemberships`)."""
    md = pod["metadata"]
    return [svc for svc in service_lister.list(md.get("namespace"))
            if (svc.get("spec") or {}).get("selector") and service_selector(svc).matches(md.get("labels"))]


def is_headless(service: dict) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def should_pod_be_in_endpoints(pod: dict, include_terminating: bool) -> bool:
    status = pod.get("status") or {}
    if is_pod_terminal(pod):
        return False
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not is_terminating(pod)


def should_set_hostname(pod: dict, service: dict) -> bool:
    spec = pod.get("spec") or {}
    return bool(spec.get("hostname")) and spec.get("subdomain") == service["metadata"]["name"] \
        and pod["metadata"].get("namespace") == service["metadata"].get("namespace")


def service_family(service: dict) -> str:
    families = (service.get("spec") or {}).get("ipFamilies") or []
    if families:
        return families[0]
    ip = (service.get("spec") or {}).get("clusterIP")
    try:
        return "IPv6" if ip and ip != "None" and ipaddress.ip_address(ip).version == 6 else "IPv4"
    except ValueError:
        return "IPv4"


def pod_ips(pod: dict) -> list[str]:
    status = pod.get("status") or {}
    ips = [p.get("ip") for p in status.get("podIPs") or [] if p.get("ip")]
    if not ips and status.get("podIP"):
        ips = [status["podIP"]]
    return ips


def pod_ip_for_family(pod: dict, family: str) -> str | None:
    for ip in pod_ips(pod):
        try:
            v = ipaddress.ip_address(ip).version
        except ValueError:
            continue
        if (v == 6) == (family == "IPv6"):
            return ip
    return None


def find_port(pod: dict, service_port: dict) -> int | None:
    """The container port a Service port targets on this pod (a named targetPort is looked up in
    the pod's containers, with the same protocol); None when the pod has no such named port."""
    target = service_port.get("targetPort")
    if target is None or target == "" or target == 0:
        return int(service_port.get("port") or 0)
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target and (p.get("protocol") or "TCP") == protocol:
                return int(p["containerPort"])
    return None


def target_ref(pod: dict) -> dict:
    md = pod["metadata"]
    return {"kind": "Pod", "namespace": md.get("namespace", ""), "name": md["name"], "uid": md.get("uid", "")}


# ----- the last-change-trigger-time


@dataclass
class _ServiceState:
    service_time: datetime | None
    pod_times: dict[str, datetime] = field(default_factory=dict)


def pod_trigger_time(pod: dict) -> datetime | None:
    c = get_pod_ready_condition(pod)
    return parse_time(c.get("lastTransitionTime")) if c is not None else None


class TriggerTimeTracker:
    """The earliest pod or Service change since the last sync of a Service (Kubernetes'
    TriggerTimeTracker): a Service seen for the first time reports its creation time."""

    def __init__(self) -> None:
        self._states: dict[str, _ServiceState] = {}

    def compute(self, key: str, service: dict, pods: list[dict]) -> datetime | None:
        new = _ServiceState(parse_time(service["metadata"].get("creationTimestamp")))
        for pod in pods:
            t = pod_trigger_time(pod)
            if t is not None:
                new.pod_times[pod["metadata"]["name"]] = t
        old = self._states.get(key)
        self._states[key] = new
        if old is None:
            return new.service_time
        changed = [t for name, t in new.pod_times.items() if name not in old.pod_times or old.pod_times[name] < t]
        if new.service_time and (old.service_time is None or old.service_time < new.service_time):
            changed.append(new.service_time)
        return min(changed) if changed else None

    def forget(self, key: str) -> None:
        self._states.pop(key, None)


def format_trigger_time(t: datetime) -> str:
    return rfc3339_nano(int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000)
