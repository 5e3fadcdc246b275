"""LimitRanger admission: LimitRange defaults for containers' requests and limits, and its
min / max / maxLimitRequestRatio checks, for containers and whole pods (Kubernetes' wording).
"""

from __future__ import annotations

from typing import Callable, Iterable

from kubelite.machinery import errors, quantity
from kubelite.registry.generic.store import AdmissionAttributes

Ranges = Callable[[str], Iterable[dict]]


def _q(v) -> float:
    return float(quantity.parse(v))


class LimitRanger:
    def __init__(self, limit_ranges: Ranges):
        self.ranges = limit_ranges

    def _items(self, ns: str, type_: str) -> list[dict]:
        out = []
        for lr in self.ranges(ns):
            for item in (lr.get("spec") or {}).get("limits") or []:
                if item.get("type") == type_:
                    out.append(item)
        return out

    async def admit(self, a: AdmissionAttributes) -> None:
        if a.operation != "CREATE" or a.resource.kind != "Pod" or a.resource.group or a.subresource:
            return
        items = self._items(a.namespace, "Container")
        if not items:
            return
        spec = (a.obj or {}).setdefault("spec", {})
        notes = []
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            res = c.setdefault("resources", {})
            set_req, set_lim = [], []
            for item in items:
                for name, v in (item.get("default") or {}).items():
                    if name not in (res.get("limits") or {}):
                        res.setdefault("limits", {})[name] = v
                        set_lim.append(name)
                for name, v in (item.get("defaultRequest") or {}).items():
                    if name not in (res.get("requests") or {}):
                        # an explicit limit without request defaults the request to the limit
                        res.setdefault("requests", {})[name] = (res.get("limits") or {}).get(name, v)
                        set_req.append(name)
            parts = []
            if set_req:
                parts.append(f"{', '.join(sorted(set_req))} request")
            if set_lim:
                parts.append(f"{', '.join(sorted(set_lim))} limit")
            if parts:
                notes.append(f"{'; '.join(parts)} for container {c.get('name', '')}")
        if notes:
            md = (a.obj or {}).setdefault("metadata", {})
            md.setdefault("annotations", {})["kubernetes.io/limit-ranger"] = \
                "LimitRanger plugin set: " + "; ".join(notes)

    async def validate(self, a: AdmissionAttributes) -> None:
        if a.operation != "CREATE" or a.resource.kind != "Pod" or a.resource.group or a.subresource:
            return
        spec = (a.obj or {}).get("spec") or {}
        errs: list[str] = []
        containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        for item in self._items(a.namespace, "Container"):
            for c in containers:
                res = c.get("resources") or {}
                self._check(item, res.get("requests") or {}, res.get("limits") or {}, "Container", errs)
        for item in self._items(a.namespace, "Pod"):
            req: dict[str, float] = {}
            lim: dict[str, float] = {}
            for c in spec.get("containers") or []:
                res = c.get("resources") or {}
                for k, v in (res.get("requests") or {}).items():
                    req[k] = req.get(k, 0) + _q(v)
                for k, v in (res.get("limits") or {}).items():
                    lim[k] = lim.get(k, 0) + _q(v)
            self._check(item, req, lim, "Pod", errs)
        if errs:
            raise errors.new_forbidden("", "pods", (a.obj or {}).get("metadata", {}).get("name", ""),
                                       "[" + ", ".join(errs) + "]")

    @staticmethod
    def _check(item: dict, requests: dict, limits: dict, kind: str, errs: list[str]) -> None:
        for name, mn in (item.get("min") or {}).items():
            r = requests.get(name)
            if r is None:
                errs.append(f"minimum {name} usage per {kind} is {mn}.  No request is specified")
            elif _q(r) < _q(mn):
                errs.append(f"minimum {name} usage per {kind} is {mn}, but request is {r}")
        for name, mx in (item.get("max") or {}).items():
            lv = limits.get(name)
            if lv is None:
                errs.append(f"maximum {name} usage per {kind} is {mx}.  No limit is specified")
            elif _q(lv) > _q(mx):
                errs.append(f"maximum {name} usage per {kind} is {mx}, but limit is {lv}")
        for name, ratio in (item.get("maxLimitRequestRatio") or {}).items():
            lv, rv = limits.get(name), requests.get(name)
            if lv is not None and rv is not None and _q(rv) > 0 and _q(lv) / _q(rv) > _q(ratio):
                errs.append(f"{name} max limit to request ratio per {kind} is {ratio}, but provided ratio is "
                            f"{_q(lv) / _q(rv):.6f}")
