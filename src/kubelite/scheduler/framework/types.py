"""`PodInfo` and `NodeInfo`: pods and nodes as the plugins see them, parsed once.

- `PodInfo` wraps a pod dict with what plugins ask for over and over: its requests (plain and
  non-zero), priority, host ports, tolerations and parsed inter-pod affinity terms.
- `NodeInfo` aggregates a node and the pods on it (assumed pods included): allocatable,
  requested and non-zero requested resources, used host ports, images, and the subsets of pods
  with affinity and with required anti-affinity. The cache keeps one per node and updates it in
  place; plugins only read it. Preemption works on `clone()`s.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from ...machinery import labels as labelsel
from .corev1 import NO_EXECUTE, NO_SCHEDULE, PREFER_NO_SCHEDULE
from .resources import Resource, node_allocatable, pod_non_zero_requests, pod_requests

DEFAULT_BIND_ALL_HOST_IP = "0.0.0.0"

_generation = itertools.count(1)


def next_generation() -> int:
    return next(_generation)


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """A parsed `PodAffinityTerm`: which pods (namespaces and labels) and the topology key."""

    namespaces: frozenset[str]
    selector: labelsel.Selector
    topology_key: str
    namespace_selector: labelsel.Selector

    def matches(self, pod: PodInfo, namespace_labels: Mapping[str, str] | None) -> bool:
        if pod.namespace in self.namespaces or self.namespace_selector.matches(namespace_labels):
            return self.selector.matches(pod.labels)
        return False


@dataclass(frozen=True, slots=True)
class WeightedAffinityTerm:
    term: AffinityTerm
    weight: int


def _selector(ls: Mapping | None) -> labelsel.Selector:
    try:
        return labelsel.selector_from_label_selector(ls)
    except labelsel.SelectorError:
        return labelsel.Selector.nothing()


def affinity_term(pod_namespace: str, term: Mapping) -> AffinityTerm:
    ns_sel = term.get("namespaceSelector")
    namespaces = frozenset(term.get("namespaces") or ())
    if not namespaces and ns_sel is None:
        namespaces = frozenset((pod_namespace,))
    return AffinityTerm(namespaces, _selector(term.get("labelSelector")), term.get("topologyKey", ""),
                        _selector(ns_sel))


def _terms(ns: str, terms: list | None) -> tuple[AffinityTerm, ...]:
    return tuple(affinity_term(ns, t) for t in terms or ())


def _weighted(ns: str, terms: list | None) -> tuple[WeightedAffinityTerm, ...]:
    return tuple(WeightedAffinityTerm(affinity_term(ns, t.get("podAffinityTerm") or {}), int(t.get("weight") or 0))
                 for t in terms or ())


@dataclass(frozen=True, slots=True)
class HostPort:
    ip: str
    protocol: str
    port: int


def pod_host_ports(pod: Mapping) -> tuple[HostPort, ...]:
    spec = pod.get("spec") or {}
    out = []
    containers = list(spec.get("containers") or [])
    containers += [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for c in containers:
        for p in c.get("ports") or []:
            hp = p.get("hostPort") or 0
            if hp > 0:
                out.append(HostPort(p.get("hostIP") or DEFAULT_BIND_ALL_HOST_IP, p.get("protocol") or "TCP", hp))
    return tuple(out)


class PodInfo:
    __slots__ = ("pod", "uid", "namespace", "name", "key", "labels", "node_name", "priority", "requests",
                 "non_zero_cpu", "non_zero_mem", "host_ports", "tolerations", "required_affinity_terms",
                 "required_anti_affinity_terms", "preferred_affinity_terms", "preferred_anti_affinity_terms",
                 "deleting", "start_time", "scheduler_name", "resource_version", "request_key")

    def __init__(self, pod: Mapping, priority: int | None = None) -> None:
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        self.pod = pod
        self.uid: str = meta.get("uid") or ""
        self.namespace: str = meta.get("namespace") or ""
        self.name: str = meta.get("name") or ""
        self.key = f"{self.namespace}/{self.name}"
        self.labels: Mapping[str, str] = meta.get("labels") or {}
        self.resource_version: str = meta.get("resourceVersion") or ""
        self.node_name: str = spec.get("nodeName") or ""
        self.scheduler_name: str = spec.get("schedulerName") or "default-scheduler"
        self.priority: int = priority if priority is not None else int(spec.get("priority") or 0)
        self.requests: Resource = pod_requests(pod)
        self.non_zero_cpu, self.non_zero_mem = pod_non_zero_requests(pod)
        r = self.requests
        # Everything a resource score depends on from the pod, as one hashable (see framework.memo).
        self.request_key = (self.non_zero_cpu, self.non_zero_mem, r.milli_cpu, r.memory, r.ephemeral_storage,
                            r.scalar_key())
        self.host_ports = pod_host_ports(pod)
        self.tolerations: tuple[Mapping, ...] = tuple(spec.get("tolerations") or ())
        self.deleting: bool = bool(meta.get("deletionTimestamp"))
        self.start_time: str = (pod.get("status") or {}).get("startTime") or meta.get("creationTimestamp") or ""
        aff = spec.get("affinity") or {}
        pa = aff.get("podAffinity") or {}
        paa = aff.get("podAntiAffinity") or {}
        ns = self.namespace
        self.required_affinity_terms = _terms(ns, pa.get("requiredDuringSchedulingIgnoredDuringExecution"))
        self.required_anti_affinity_terms = _terms(ns, paa.get("requiredDuringSchedulingIgnoredDuringExecution"))
        self.preferred_affinity_terms = _weighted(ns, pa.get("preferredDuringSchedulingIgnoredDuringExecution"))
        self.preferred_anti_affinity_terms = _weighted(ns, paa.get("preferredDuringSchedulingIgnoredDuringExecution"))

    @property
    def has_affinity(self) -> bool:
        return bool(self.required_affinity_terms or self.required_anti_affinity_terms
                    or self.preferred_affinity_terms or self.preferred_anti_affinity_terms)

    @property
    def has_required_anti_affinity(self) -> bool:
        return bool(self.required_anti_affinity_terms)

    def __repr__(self) -> str:
        return f"PodInfo({self.key}, priority={self.priority}, node={self.node_name or '-'})"


@dataclass(slots=True)
class ImageState:
    """An image on a node; `nodes` is shared by every node holding it (so its size is the count)."""

    size: int
    nodes: set[str] = field(default_factory=set)

    @property
    def num_nodes(self) -> int:
        return len(self.nodes)


class NodeInfo:
    __slots__ = ("node", "name", "labels", "unschedulable", "taints", "filter_taints", "prefer_no_schedule_taints",
                 "allocatable", "requested", "non_zero_cpu", "non_zero_mem", "pods", "pods_with_affinity",
                 "pods_with_required_anti_affinity", "used_ports", "image_states", "generation")

    def __init__(self, node: Mapping | None = None, name: str = "") -> None:
        self.node: Mapping | None = None
        self.name = name
        self.labels: Mapping[str, str] = {}
        self.unschedulable = False
        self.taints: tuple[Mapping, ...] = ()
        self.filter_taints: tuple[Mapping, ...] = ()
        self.prefer_no_schedule_taints: tuple[Mapping, ...] = ()
        self.allocatable = Resource()
        self.requested = Resource()
        self.non_zero_cpu = 0
        self.non_zero_mem = 0
        self.pods: dict[str, PodInfo] = {}
        self.pods_with_affinity: dict[str, PodInfo] = {}
        self.pods_with_required_anti_affinity: dict[str, PodInfo] = {}
        self.used_ports: dict[tuple[str, int], dict[str, int]] = {}
        self.image_states: dict[str, ImageState] = {}
        self.generation = next_generation()
        if node is not None:
            self.set_node(node)

    # ----- writes (the cache and preemption dry runs)

    def set_node(self, node: Mapping) -> None:
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        self.node = node
        self.name = meta.get("name", self.name)
        self.labels = meta.get("labels") or {}
        self.unschedulable = bool(spec.get("unschedulable"))
        self.taints = tuple(spec.get("taints") or ())
        self.filter_taints = tuple(t for t in self.taints if t.get("effect") in (NO_SCHEDULE, NO_EXECUTE))
        self.prefer_no_schedule_taints = tuple(t for t in self.taints if t.get("effect") == PREFER_NO_SCHEDULE)
        self.allocatable = node_allocatable(node)
        self.generation = next_generation()

    def add_pod(self, pi: PodInfo) -> None:
        self.pods[pi.uid] = pi
        if pi.has_affinity:
            self.pods_with_affinity[pi.uid] = pi
        if pi.required_anti_affinity_terms:
            self.pods_with_required_anti_affinity[pi.uid] = pi
        self._account(pi, 1)

    def remove_pod(self, uid: str) -> PodInfo | None:
        pi = self.pods.pop(uid, None)
        if pi is None:
            return None
        self.pods_with_affinity.pop(uid, None)
        self.pods_with_required_anti_affinity.pop(uid, None)
        self._account(pi, -1)
        return pi

    def _account(self, pi: PodInfo, sign: int) -> None:
        self.requested.add(pi.requests, sign)
        self.non_zero_cpu += sign * pi.non_zero_cpu
        self.non_zero_mem += sign * pi.non_zero_mem
        for hp in pi.host_ports:
            k = (hp.protocol, hp.port)
            ips = self.used_ports.setdefault(k, {})
            n = ips.get(hp.ip, 0) + sign
            if n > 0:
                ips[hp.ip] = n
            else:
                ips.pop(hp.ip, None)
                if not ips:
                    del self.used_ports[k]
        self.generation = next_generation()

    def clone(self) -> NodeInfo:
        c = NodeInfo.__new__(NodeInfo)
        c.node, c.name, c.labels, c.unschedulable = self.node, self.name, self.labels, self.unschedulable
        c.taints, c.filter_taints = self.taints, self.filter_taints
        c.prefer_no_schedule_taints = self.prefer_no_schedule_taints
        c.allocatable = self.allocatable
        c.requested = self.requested.clone()
        c.non_zero_cpu, c.non_zero_mem = self.non_zero_cpu, self.non_zero_mem
        c.pods = dict(self.pods)
        c.pods_with_affinity = dict(self.pods_with_affinity)
        c.pods_with_required_anti_affinity = dict(self.pods_with_required_anti_affinity)
        c.used_ports = {k: dict(v) for k, v in self.used_ports.items()}
        c.image_states = self.image_states
        c.generation = self.generation
        return c

    # ----- reads

    def port_conflict(self, hp: HostPort) -> bool:
        ips = self.used_ports.get((hp.protocol, hp.port))
        if not ips:
            return False
        if hp.ip == DEFAULT_BIND_ALL_HOST_IP:
            return True
        return hp.ip in ips or DEFAULT_BIND_ALL_HOST_IP in ips

    def pod_infos(self) -> Iterator[PodInfo]:
        return iter(self.pods.values())

    def __repr__(self) -> str:
        return f"NodeInfo({self.name}, pods={len(self.pods)}, requested={self.requested})"


def node_info(node: Mapping, *pods: Any) -> NodeInfo:
    """A NodeInfo for a node and pods (dicts or PodInfos); for tests and tools."""
    ni = NodeInfo(node)
    for p in pods:
        ni.add_pod(p if isinstance(p, PodInfo) else PodInfo(p))
    return ni
