"""What objects in a namespace use against a ResourceQuota (pure), as Kubernetes' evaluators count.

- Pods that are not terminal (and not stuck terminating past their grace period) count as
  `pods`/`count/pods` and with their requests and limits (`requests.cpu` = `cpu`,
  `requests.memory` = `memory`, `limits.*`, ephemeral storage, extended resources): the larger of
  the sum over containers (and sidecars) and the largest init container, plus the pod overhead.
- Services count as `services`, `services.loadbalancers`, `services.nodeports`.
- Any resource counts as `count/<resource>[.<group>]`; configmaps, secrets and resourcequotas also
  by their plain names.
- A quota with scopes (`Terminating`, `NotTerminating`, `BestEffort`, `NotBestEffort`,
  `PriorityClass` through `scopeSelector`) counts only the pods in scope.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

from kubelite.machinery import quantity
from kubelite.machinery.timeutil import parse_time

COMPUTE = ("cpu", "memory", "ephemeral-storage")
PLAIN_COUNTS = {"configmaps": "configmaps", "secrets": "secrets", "resourcequotas": "resourcequotas",
                "persistentvolumeclaims": "persistentvolumeclaims",
                "replicationcontrollers": "replicationcontrollers"}


def counts_pod(pod: dict, now: datetime) -> bool:
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    md = pod.get("metadata") or {}
    deleted = parse_time(md.get("deletionTimestamp"))
    grace = md.get("deletionGracePeriodSeconds")
    if deleted is not None and grace is not None and now > deleted + timedelta(seconds=int(grace)):
        return False
    return True


def _container_amounts(container: dict, field_: str) -> dict[str, Fraction]:
    out: dict[str, Fraction] = {}
    for name, value in ((container.get("resources") or {}).get(field_) or {}).items():
        try:
            out[name] = quantity.parse(value)
        except (quantity.QuantityError, ValueError):
            continue
    return out


def _add(a: dict[str, Fraction], b: dict[str, Fraction]) -> dict[str, Fraction]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, Fraction(0)) + v
    return out


def _max(a: dict[str, Fraction], b: dict[str, Fraction]) -> dict[str, Fraction]:
    out = dict(a)
    for k, v in b.items():
        out[k] = max(out.get(k, Fraction(0)), v)
    return out


def pod_amounts(pod: dict, field_: str) -> dict[str, Fraction]:
    """A pod's effective requests or limits (`field_` is "requests" or "limits")."""
    spec = pod.get("spec") or {}
    total: dict[str, Fraction] = {}
    for c in spec.get("containers") or []:
        total = _add(total, _container_amounts(c, field_))
    sidecars: dict[str, Fraction] = {}
    init_max: dict[str, Fraction] = {}
    for c in spec.get("initContainers") or []:
        amounts = _container_amounts(c, field_)
        if c.get("restartPolicy") == "Always":
            sidecars = _add(sidecars, amounts)
        else:
            init_max = _max(init_max, _add(sidecars, amounts))
    total = _max(_add(total, sidecars), init_max)
    for k, v in (spec.get("overhead") or {}).items():
        if k in total or field_ == "requests":
            total[k] = total.get(k, Fraction(0)) + quantity.parse(v)
    return total


def is_best_effort(pod: dict) -> bool:
    spec = pod.get("spec") or {}
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        res = c.get("resources") or {}
        for field_ in ("requests", "limits"):
            if any(k in ("cpu", "memory") for k in (res.get(field_) or {})):
                return False
    return True


def _cross_namespace(spec: dict) -> bool:
    affinity = spec.get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        a = affinity.get(kind) or {}
        terms = list(a.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
        preferred = a.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        terms += [w.get("podAffinityTerm") or {} for w in preferred]
        if any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in terms):
            return True
    return False


def _scope_matches(scope: str, op: str, values: list[str], pod: dict) -> bool:
    spec = pod.get("spec") or {}
    if scope == "Terminating":
        return spec.get("activeDeadlineSeconds") is not None
    if scope == "NotTerminating":
        return spec.get("activeDeadlineSeconds") is None
    if scope == "BestEffort":
        return is_best_effort(pod)
    if scope == "NotBestEffort":
        return not is_best_effort(pod)
    if scope == "PriorityClass":
        name = spec.get("priorityClassName")
        if op == "Exists":
            return bool(name)
        if op == "DoesNotExist":
            return not name
        if op == "In":
            return name in values
        if op == "NotIn":
            return name not in values
        return False
    if scope == "CrossNamespacePodAffinity":
        return _cross_namespace(spec)
    return False


def scopes_of(quota: dict) -> list[tuple[str, str, list[str]]]:
    spec = quota.get("spec") or {}
    out = [(s, "Exists", []) for s in spec.get("scopes") or []]
    for e in (spec.get("scopeSelector") or {}).get("matchExpressions") or []:
        out.append((e.get("scopeName", ""), e.get("operator", ""), list(e.get("values") or [])))
    return out


def pod_in_scope(quota: dict, pod: dict) -> bool:
    return all(_scope_matches(s, op, values, pod) for s, op, values in scopes_of(quota))


def usage(quota: dict, objects: dict[str, list[dict]], now: datetime) -> dict[str, Fraction]:
    """Usage of every resource named in `spec.hard`; `objects` maps a resource (`pods`,
    `services`, `deployments.apps`, ...) to the namespace's objects of that kind."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    scoped = bool(scopes_of(quota))
    pods = [p for p in objects.get("pods") or [] if counts_pod(p, now) and pod_in_scope(quota, p)]
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    for p in pods:
        requests = _add(requests, pod_amounts(p, "requests"))
        limits = _add(limits, pod_amounts(p, "limits"))
    services = [] if scoped else objects.get("services") or []
    out: dict[str, Fraction] = {}
    for name in hard:
        if name in ("pods", "count/pods"):
            v = Fraction(len(pods))
        elif name.startswith("requests."):
            v = requests.get(name[len("requests."):], Fraction(0))
        elif name.startswith("limits."):
            v = limits.get(name[len("limits."):], Fraction(0))
        elif name in COMPUTE:
            v = requests.get(name, Fraction(0))
        elif name in ("services", "count/services"):
            v = Fraction(len(services))
        elif name == "services.loadbalancers":
            v = Fraction(sum(1 for s in services if (s.get("spec") or {}).get("type") == "LoadBalancer"))
        elif name == "services.nodeports":
            v = Fraction(sum(len((s.get("spec") or {}).get("ports") or []) for s in services
                             if (s.get("spec") or {}).get("type") in ("NodePort", "LoadBalancer")
                             and (s.get("spec") or {}).get("allocateLoadBalancerNodePorts") is not False))
        elif scoped:
            v = Fraction(0)
        elif name in PLAIN_COUNTS:
            v = Fraction(len(objects.get(PLAIN_COUNTS[name]) or []))
        elif name.startswith("count/"):
            v = Fraction(len(objects.get(name[len("count/"):]) or []))
        else:
            v = requests.get(name, Fraction(0))          # an extended resource named bare
        out[name] = v
    return out


def format_quantity(name: str, value: Fraction) -> str:
    """Kubernetes' canonical form: millicores for cpu, binary suffixes for bytes, else integers."""
    base = name.split(".", 1)[1] if name.startswith(("requests.", "limits.")) else name
    if base == "cpu" or (value.denominator != 1 and base not in ("memory", "ephemeral-storage", "storage")):
        return quantity.format_milli_cpu(int(value * 1000))
    if base in ("memory", "ephemeral-storage", "storage"):
        return quantity.format_bytes(int(value))
    return str(int(value))


def resources_counted(quota: dict) -> set[str]:
    """The resources (informer names) a quota's usage needs."""
    out = {"pods"}
    for name in (quota.get("spec") or {}).get("hard") or {}:
        if name.startswith("services") or name == "count/services":
            out.add("services")
        elif name in PLAIN_COUNTS:
            out.add(PLAIN_COUNTS[name])
        elif name.startswith("count/"):
            out.add(name[len("count/"):])
    return out
