"""DefaultTolerationSeconds and Priority admission for pods.

- Pods that do not tolerate `node.kubernetes.io/not-ready` / `unreachable` NoExecute taints get
  tolerations for 300 seconds (`--default-not-ready-toleration-seconds`), so they are evicted
  from a lost node after five minutes.
- `priorityClassName` resolves to `priority` (and `preemptionPolicy`); a missing class is refused;
  without one, the global default class (if any) or priority 0 applies.
"""

from __future__ import annotations

from typing import Callable, Iterable

from kubelite.machinery import errors
from kubelite.registry.generic.store import AdmissionAttributes

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
SYSTEM_PRIORITIES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}


def _is_pod_create(a: AdmissionAttributes) -> bool:
    return a.operation == "CREATE" and a.resource.kind == "Pod" and not a.resource.group and not a.subresource


class DefaultTolerationSeconds:
    def __init__(self, seconds: int = 300):
        self.seconds = seconds

    async def admit(self, a: AdmissionAttributes) -> None:
        if not _is_pod_create(a):
            return
        spec = (a.obj or {}).setdefault("spec", {})
        tols = spec.get("tolerations") or []

        def tolerates(key: str) -> bool:
            for t in tols:
                if t.get("operator") == "Exists" and not t.get("key") and t.get("effect") in (None, "", "NoExecute"):
                    return True
                if t.get("key") == key and t.get("effect") in (None, "", "NoExecute"):
                    return True
            return False

        for key in (NOT_READY, UNREACHABLE):
            if not tolerates(key):
                tols.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": self.seconds})
        spec["tolerations"] = tols

    async def validate(self, a: AdmissionAttributes) -> None:
        return None


class PriorityAdmission:
    def __init__(self, priority_classes: Callable[[], Iterable[dict]]):
        self.classes = priority_classes

    async def admit(self, a: AdmissionAttributes) -> None:
        if not _is_pod_create(a):
            return
        pod = a.obj or {}
        spec = pod.setdefault("spec", {})
        name = spec.get("priorityClassName")
        classes = {c["metadata"]["name"]: c for c in self.classes()}
        if name:
            if name in SYSTEM_PRIORITIES and name not in classes:
                value, policy = SYSTEM_PRIORITIES[name], "PreemptLowerPriority"
            elif name in classes:
                value = classes[name].get("value", 0)
                policy = classes[name].get("preemptionPolicy", "PreemptLowerPriority")
            else:
                raise errors.new_forbidden("", "pods", (pod.get("metadata") or {}).get("name", ""),
                                           f"no PriorityClass with name {name} was found")
        else:
            default = next((c for c in classes.values() if c.get("globalDefault")), None)
            if default is not None:
                spec["priorityClassName"] = default["metadata"]["name"]
                value, policy = default.get("value", 0), default.get("preemptionPolicy", "PreemptLowerPriority")
            else:
                value, policy = 0, "PreemptLowerPriority"
        if spec.get("priority") is not None and spec["priority"] != value:
            raise errors.new_forbidden("", "pods", (pod.get("metadata") or {}).get("name", ""),
                                       "the integer value of priority must not be provided in pod spec; priority "
                                       "admission controller computed the value from the given PriorityClass name")
        spec["priority"] = value
        spec.setdefault("preemptionPolicy", policy)

    async def validate(self, a: AdmissionAttributes) -> None:
        return None
