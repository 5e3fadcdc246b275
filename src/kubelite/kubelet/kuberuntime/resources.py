"""Requests and limits -> cgroup values, QoS and OOM score (Kubernetes' `pkg/kubelet/cm` helpers)."""

from __future__ import annotations

from kubelite.api.helpers import pod_qos_class
from kubelite.machinery import quantity

from ..runtime.interface import LinuxContainerResources

MIN_SHARES = 2
MAX_SHARES = 262144
SHARES_PER_CPU = 1024
QUOTA_PERIOD = 100_000
MIN_QUOTA = 1000
GUARANTEED_OOM_SCORE_ADJ = -997
BESTEFFORT_OOM_SCORE_ADJ = 1000


def _q(value, cpu: bool) -> int:
    try:
        return quantity.milli(value) if cpu else quantity.value(value)
    except (ValueError, TypeError, ZeroDivisionError):
        return 0


def requests_of(container: dict) -> dict:
    res = container.get("resources") or {}
    req = dict(res.get("requests") or {})
    for k, v in (res.get("limits") or {}).items():
        req.setdefault(k, v)  # a limit without a request requests the limit (API defaulting)
    return req


def limits_of(container: dict) -> dict:
    return dict((container.get("resources") or {}).get("limits") or {})


def milli_cpu_to_shares(milli: int) -> int:
    if milli == 0:
        return MIN_SHARES
    shares = milli * SHARES_PER_CPU // 1000
    return max(MIN_SHARES, min(MAX_SHARES, shares))


def milli_cpu_to_quota(milli: int, period: int = QUOTA_PERIOD) -> int:
    if milli == 0:
        return 0
    return max(MIN_QUOTA, milli * period // 1000)


def oom_score_adj(pod: dict, container: dict, memory_capacity: int) -> int:
    """Kubernetes' policy, never below 0 on this machine (no CAP_SYS_RESOURCE)."""
    qos = pod_qos_class(pod)
    if qos == "Guaranteed":
        value = GUARANTEED_OOM_SCORE_ADJ
    elif qos == "BestEffort":
        value = BESTEFFORT_OOM_SCORE_ADJ
    else:
        request = _q(requests_of(container).get("memory"), False)
        value = 1000 - (1000 * request) // max(memory_capacity, 1) if memory_capacity else 1000
        if value < 1000 + GUARANTEED_OOM_SCORE_ADJ:
            value = 1000 + GUARANTEED_OOM_SCORE_ADJ
        if value >= BESTEFFORT_OOM_SCORE_ADJ:
            value = BESTEFFORT_OOM_SCORE_ADJ - 1
    return max(0, value)


def container_resources(pod: dict, container: dict, *, memory_capacity: int, cfs_quota: bool = True,
                        period: int = QUOTA_PERIOD) -> LinuxContainerResources:
    req, lim = requests_of(container), limits_of(container)
    cpu_req = _q(req.get("cpu"), True)
    cpu_lim = _q(lim.get("cpu"), True)
    r = LinuxContainerResources(cpu_shares=milli_cpu_to_shares(cpu_req),
                                memory_limit_in_bytes=_q(lim.get("memory"), False),
                                oom_score_adj=oom_score_adj(pod, container, memory_capacity))
    if cfs_quota and cpu_lim:
        r.cpu_quota = milli_cpu_to_quota(cpu_lim, period)
        r.cpu_period = period
    return r


def pod_resources(pod: dict, *, pids_limit: int, cfs_quota: bool = True,
                  period: int = QUOTA_PERIOD) -> LinuxContainerResources:
    """The pod cgroup: shares = sum of requests; memory and quota = sums of limits when every
    container has one; the pod's pids limit."""
    spec = pod.get("spec") or {}
    regular = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    sidecars = [c for c in inits if c.get("restartPolicy") == "Always"]
    plain_inits = [c for c in inits if c.get("restartPolicy") != "Always"]
    long_running = regular + sidecars

    def total(items: list[dict], kind: str, name: str) -> int | None:
        values = []
        for c in items:
            src = requests_of(c) if kind == "requests" else limits_of(c)
            if name not in src:
                return None
            values.append(_q(src[name], name == "cpu"))
        return sum(values)

    cpu_req = sum(_q(requests_of(c).get("cpu"), True) for c in long_running)
    for c in plain_inits:
        cpu_req = max(cpu_req, _q(requests_of(c).get("cpu"), True))
    r = LinuxContainerResources(cpu_shares=milli_cpu_to_shares(cpu_req),
                                pids_limit=pids_limit if pids_limit > 0 else 0)
    mem = total(long_running, "limits", "memory")
    if mem is not None and all("memory" in limits_of(c) for c in plain_inits):
        mem = max([mem] + [_q(limits_of(c)["memory"], False) for c in plain_inits])
        r.memory_limit_in_bytes = mem
    cpu = total(long_running, "limits", "cpu")
    if cfs_quota and cpu is not None and all("cpu" in limits_of(c) for c in plain_inits):
        cpu = max([cpu] + [_q(limits_of(c)["cpu"], True) for c in plain_inits])
        r.cpu_quota = milli_cpu_to_quota(cpu, period)
        r.cpu_period = period
    return r
