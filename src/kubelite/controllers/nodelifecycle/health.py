"""Node health (pure): when a node's kubelet was last heard from, what its conditions become when
it has been silent too long, and the disruption state of a zone.

The kubelet is heard from when the Ready condition's `lastHeartbeatTime` changes or its Lease in
`kube-node-lease` is renewed. After the grace period (`node-monitor-grace-period`, or the startup
grace period for a node that never posted a Ready condition) Ready, MemoryPressure, DiskPressure
and PIDPressure become Unknown.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from kubelite.machinery.timeutil import parse_time

MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"

NORMAL, PARTIAL_DISRUPTION, FULL_DISRUPTION = "Normal", "PartialDisruption", "FullDisruption"


@dataclass
class NodeHealth:
    """What the controller last saw of a node (monotonic seconds)."""

    probe_time: float
    ready_transition_time: float
    heartbeat: str | None = None
    ready_status: str | None = None
    lease_renew: str | None = None


def condition(node: dict, type_: str) -> dict | None:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c
    return None


def ready_status(node: dict) -> str | None:
    c = condition(node, "Ready")
    return c.get("status") if c is not None else None


def lease_renew_time(lease: dict | None) -> str | None:
    return ((lease or {}).get("spec") or {}).get("renewTime")


def renewed(saved: str | None, observed: str | None) -> bool:
    if observed is None:
        return False
    if saved is None:
        return True
    a, b = parse_time(saved), parse_time(observed)
    return a is not None and b is not None and a < b


def mark_unknown(node: dict, now: str) -> dict:
    """A copy of the node with its monitored conditions Unknown (Kubernetes' wording)."""
    out = copy.deepcopy(node)
    conditions = out.setdefault("status", {}).setdefault("conditions", [])
    for type_ in MONITORED_CONDITIONS:
        c = next((c for c in conditions if c.get("type") == type_), None)
        if c is None:
            conditions.append({"type": type_, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                               "message": "Kubelet never posted node status.",
                               "lastHeartbeatTime": out["metadata"].get("creationTimestamp"),
                               "lastTransitionTime": now})
        elif c.get("status") != "Unknown":
            c.update({"status": "Unknown", "reason": "NodeStatusUnknown",
                      "message": "Kubelet stopped posting node status.", "lastTransitionTime": now})
    return out


def zone_of(node: dict) -> str:
    lbls = (node.get("metadata") or {}).get("labels") or {}
    region = lbls.get(REGION_LABEL) or lbls.get("failure-domain.beta.kubernetes.io/region", "")
    zone = lbls.get(ZONE_LABEL) or lbls.get("failure-domain.beta.kubernetes.io/zone", "")
    return f"{region}:\x00:{zone}" if region or zone else ""


def zone_state(ready: list[str | None], unhealthy_threshold: float) -> str:
    """FullDisruption when no node is Ready, PartialDisruption when more than two and at least the
    threshold's share are not."""
    good = sum(1 for r in ready if r == "True")
    bad = len(ready) - good
    if good == 0 and bad > 0:
        return FULL_DISRUPTION
    if bad > 2 and bad / (bad + good) >= unhealthy_threshold:
        return PARTIAL_DISRUPTION
    return NORMAL
