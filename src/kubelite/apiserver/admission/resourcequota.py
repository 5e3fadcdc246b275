"""ResourceQuota admission: refuse a create that would push a namespace over any quota's `hard`
limits, counting live objects from the watch caches (object counts, `count/<resource>`, and pods'
requests/limits), with Kubernetes' messages.
"""

from __future__ import annotations

from typing import Callable, Iterable

from kubelite.api import helpers
from kubelite.machinery import errors, quantity
from kubelite.registry.generic.store import AdmissionAttributes

Objects = Callable[[str, str], Iterable[dict]]  # (plural, group) -> cached objects

_COUNTED = {("", "pods"): "pods", ("", "services"): "services", ("", "configmaps"): "configmaps",
            ("", "secrets"): "secrets", ("", "persistentvolumeclaims"): "persistentvolumeclaims",
            ("", "replicationcontrollers"): "replicationcontrollers", ("", "resourcequotas"): "resourcequotas"}
_COMPUTE = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory")


def _terminal(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") or \
        bool(pod["metadata"].get("deletionTimestamp"))


def pod_usage(pod: dict) -> dict[str, float]:
    req = helpers.pod_requests(pod)
    lim = helpers.pod_limits(pod) if hasattr(helpers, "pod_limits") else {}
    out = {"requests.cpu": req.get("cpu", 0) / 1000, "requests.memory": float(req.get("memory", 0)),
           "limits.cpu": lim.get("cpu", 0) / 1000, "limits.memory": float(lim.get("memory", 0))}
    out["cpu"] = out["requests.cpu"]
    out["memory"] = out["requests.memory"]
    return out


def _fmt(name: str, v: float) -> str:
    if name.endswith("cpu"):
        m = round(v * 1000)
        return quantity.format_milli_cpu(m)
    if name.endswith("memory"):
        return quantity.format_bytes(int(v))
    return str(int(v))


class ResourceQuotaAdmission:
    def __init__(self, objects: Objects):
        self.objects = objects

    async def admit(self, a: AdmissionAttributes) -> None:
        return None

    def _usage(self, ns: str, name: str) -> float:
        if name in _COMPUTE:
            total = 0.0
            for p in self.objects("pods", ""):
                if p["metadata"].get("namespace") == ns and not _terminal(p):
                    total += pod_usage(p)[name]
            return total
        plural, _, group = name.removeprefix("count/").partition(".")
        n = 0
        for o in self.objects(plural, group):
            if o["metadata"].get("namespace") == ns and not (plural == "pods" and _terminal(o)):
                n += 1
        return float(n)

    async def validate(self, a: AdmissionAttributes) -> None:
        if a.operation != "CREATE" or a.subresource or not a.resource.namespaced:
            return
        quotas = [q for q in self.objects("resourcequotas", "") if q["metadata"].get("namespace") == a.namespace]
        if not quotas:
            return
        r = a.resource
        delta: dict[str, float] = {f"count/{r.plural}{'.' + r.group if r.group else ''}": 1.0}
        short = _COUNTED.get((r.group, r.plural))
        if short:
            delta[short] = 1.0
        if r.kind == "Service" and not r.group:
            stype = ((a.obj or {}).get("spec") or {}).get("type", "ClusterIP")
            if stype in ("NodePort", "LoadBalancer"):
                delta["services.nodeports"] = float(len(((a.obj or {}).get("spec") or {}).get("ports") or []))
            if stype == "LoadBalancer":
                delta["services.loadbalancers"] = 1.0
        if r.kind == "Pod" and not r.group:
            delta.update(pod_usage(a.obj or {}))
        name = (a.obj or {}).get("metadata", {}).get("name", "")
        for q in quotas:
            hard = (q.get("spec") or {}).get("hard") or {}
            over_req, over_used, over_lim = [], [], []
            if r.kind == "Pod" and not r.group:
                missing = _missing_compute(a.obj or {}, hard)
                if missing:
                    raise errors.new_forbidden(r.group, r.plural, name,
                                               f"failed quota: {q['metadata']['name']}: must specify "
                                               + "; ".join(missing))
            for res, limit in sorted(hard.items()):
                if res not in delta or delta[res] == 0:
                    continue
                used = self._usage(a.namespace, res)
                if used + delta[res] > float(quantity.parse(limit)) + 1e-9:
                    over_req.append(f"{res}={_fmt(res, delta[res])}")
                    over_used.append(f"{res}={_fmt(res, used)}")
                    over_lim.append(f"{res}={limit}")
            if over_req:
                raise errors.new_forbidden(r.group, r.plural, name,
                                           f"exceeded quota: {q['metadata']['name']}, requested: "
                                           f"{','.join(over_req)}, used: {','.join(over_used)}, limited: "
                                           f"{','.join(over_lim)}")


def _missing_compute(pod: dict, hard: dict) -> list[str]:
    """Quotas on compute resources require every container to state them (Kubernetes' rule)."""
    out = []
    containers = ((pod.get("spec") or {}).get("containers") or [])
    for res in sorted(hard):
        if res not in _COMPUTE:
            continue
        kind, _, what = res.rpartition(".")
        section = "limits" if kind == "limits" else "requests"
        lacking = [c.get("name", "") for c in containers
                   if what not in ((c.get("resources") or {}).get(section) or {})]
        if lacking:
            key = res if kind else f"requests.{res}"
            out.append(f"{key} for: {','.join(lacking)}")
    return out
