"""Resource arithmetic for scheduling: what a pod requests and what a node can give.

A pod's request for a resource is the larger of
- the sum over its app containers plus its sidecars (init containers with `restartPolicy: Always`),
- for each ordinary init container, its own request plus the sidecars started before it,
plus `spec.overhead`. A container with a limit but no request requests its limit (what API
defaulting would have written).

The "non-zero" request, used only for scoring, counts a container that requests no cpu as 100m
and one that requests no memory as 200Mi, so that many request-less pods do not pile onto one
node (Kubernetes' `DefaultMilliCPURequest` and `DefaultMemoryRequest`).

Units: cpu in millicores; memory, ephemeral-storage and everything else in plain units (bytes).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Mapping

from ...machinery import quantity

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"

DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


@lru_cache(maxsize=4096)
def _amount(name: str, q: str | int | float) -> int:
    try:
        return quantity.milli(q) if name == CPU else quantity.value(q)
    except (quantity.QuantityError, ValueError, ZeroDivisionError):
        return 0


def amount(name: str, q: object) -> int:
    """The integer amount of a quantity: millicores for cpu, plain units otherwise."""
    if q is None or q == "":
        return 0
    if isinstance(q, (str, int, float)) and not isinstance(q, bool):
        return _amount(name, q)
    return 0


class Resource:
    """Amounts of resources (Kubernetes' `framework.Resource`): fixed slots for the common ones,
    a dict for extended resources and hugepages."""

    __slots__ = ("milli_cpu", "memory", "ephemeral_storage", "allowed_pod_number", "scalar")

    def __init__(self, milli_cpu: int = 0, memory: int = 0, ephemeral_storage: int = 0,
                 allowed_pod_number: int = 0, scalar: dict[str, int] | None = None) -> None:
        self.milli_cpu = milli_cpu
        self.memory = memory
        self.ephemeral_storage = ephemeral_storage
        self.allowed_pod_number = allowed_pod_number
        self.scalar: dict[str, int] = scalar if scalar is not None else {}

    @classmethod
    def from_list(cls, rl: Mapping[str, object] | None) -> Resource:
        r = cls()
        for name, q in (rl or {}).items():
            r.set(name, amount(name, q))
        return r

    def get(self, name: str) -> int:
        if name == CPU:
            return self.milli_cpu
        if name == MEMORY:
            return self.memory
        if name == EPHEMERAL_STORAGE:
            return self.ephemeral_storage
        if name == PODS:
            return self.allowed_pod_number
        return self.scalar.get(name, 0)

    def set(self, name: str, v: int) -> None:
        if name == CPU:
            self.milli_cpu = v
        elif name == MEMORY:
            self.memory = v
        elif name == EPHEMERAL_STORAGE:
            self.ephemeral_storage = v
        elif name == PODS:
            self.allowed_pod_number = v
        else:
            self.scalar[name] = v

    def add(self, other: Resource, sign: int = 1) -> None:
        self.milli_cpu += sign * other.milli_cpu
        self.memory += sign * other.memory
        self.ephemeral_storage += sign * other.ephemeral_storage
        for k, v in other.scalar.items():
            self.scalar[k] = self.scalar.get(k, 0) + sign * v

    def set_max(self, other: Resource) -> None:
        self.milli_cpu = max(self.milli_cpu, other.milli_cpu)
        self.memory = max(self.memory, other.memory)
        self.ephemeral_storage = max(self.ephemeral_storage, other.ephemeral_storage)
        for k, v in other.scalar.items():
            self.scalar[k] = max(self.scalar.get(k, 0), v)

    def clone(self) -> Resource:
        return Resource(self.milli_cpu, self.memory, self.ephemeral_storage, self.allowed_pod_number,
                        dict(self.scalar))

    def scalar_key(self) -> tuple:
        """The extended resources as a hashable value (empty tuple when there are none)."""
        return tuple(sorted(self.scalar.items())) if self.scalar else ()

    def is_zero(self) -> bool:
        return not (self.milli_cpu or self.memory or self.ephemeral_storage or any(self.scalar.values()))

    def names(self) -> Iterable[str]:
        yield CPU
        yield MEMORY
        yield EPHEMERAL_STORAGE
        yield from self.scalar

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resource):
            return NotImplemented
        return (self.milli_cpu, self.memory, self.ephemeral_storage, self.allowed_pod_number,
                {k: v for k, v in self.scalar.items() if v}) == \
            (other.milli_cpu, other.memory, other.ephemeral_storage, other.allowed_pod_number,
             {k: v for k, v in other.scalar.items() if v})

    def __repr__(self) -> str:
        return (f"Resource(cpu={self.milli_cpu}m, memory={self.memory}, ephemeral={self.ephemeral_storage}, "
                f"pods={self.allowed_pod_number}, scalar={self.scalar})")


def _container_requests(c: Mapping) -> Resource:
    res = c.get("resources") or {}
    reqs = dict(res.get("limits") or {})       # a limit without a request is the request
    reqs.update(res.get("requests") or {})
    reqs.pop(PODS, None)
    return Resource.from_list(reqs)


def _container_non_zero(c: Mapping) -> tuple[int, int]:
    res = c.get("resources") or {}
    reqs = {**(res.get("limits") or {}), **(res.get("requests") or {})}
    cpu = amount(CPU, reqs[CPU]) if CPU in reqs else DEFAULT_MILLI_CPU_REQUEST
    mem = amount(MEMORY, reqs[MEMORY]) if MEMORY in reqs else DEFAULT_MEMORY_REQUEST
    return cpu, mem


def _is_sidecar(c: Mapping) -> bool:
    return c.get("restartPolicy") == "Always"


def pod_requests(pod: Mapping) -> Resource:
    """What the pod requests of a node (see the module docstring)."""
    spec = pod.get("spec") or {}
    total = Resource()
    for c in spec.get("containers") or []:
        total.add(_container_requests(c))
    sidecars = Resource()
    init_max = Resource()
    for c in spec.get("initContainers") or []:
        r = _container_requests(c)
        if _is_sidecar(c):
            total.add(r)
            sidecars.add(r)
            need = sidecars.clone()
        else:
            need = r
            need.add(sidecars)
        init_max.set_max(need)
    total.set_max(init_max)
    total.add(Resource.from_list(spec.get("overhead")))
    return total


def pod_non_zero_requests(pod: Mapping) -> tuple[int, int]:
    """(milli cpu, memory) with request-less containers counted at the defaults; for scoring."""
    spec = pod.get("spec") or {}
    cpu = mem = 0
    for c in spec.get("containers") or []:
        a, b = _container_non_zero(c)
        cpu += a
        mem += b
    side_cpu = side_mem = init_cpu = init_mem = 0
    for c in spec.get("initContainers") or []:
        a, b = _container_non_zero(c)
        if _is_sidecar(c):
            cpu += a
            mem += b
            side_cpu += a
            side_mem += b
            a, b = side_cpu, side_mem
        else:
            a, b = a + side_cpu, b + side_mem
        init_cpu, init_mem = max(init_cpu, a), max(init_mem, b)
    over = Resource.from_list(spec.get("overhead"))
    return max(cpu, init_cpu) + over.milli_cpu, max(mem, init_mem) + over.memory


def node_allocatable(node: Mapping) -> Resource:
    """`status.allocatable`, falling back to `status.capacity` (as the kubelet reports both)."""
    status = node.get("status") or {}
    return Resource.from_list(status.get("allocatable") or status.get("capacity"))
