"""Test tools for the scheduler (Kubernetes' `pkg/scheduler/testing` and Nomad's `Harness`).

- `make_node(...)`, `make_pod(...)`: objects as the informers would deliver them.
- `StaticListers`: `Listers` over plain lists (namespaces, PDBs, Services, ...).
- `Harness`: the pure scheduler (cache, queue as nominator, framework, `schedule_one`) without a
  server. `schedule(pod)` returns the `Decision`; `bind(pod)` also assumes the pod on the chosen
  node and records the binding, as the scheduler would after a successful bind.
"""

from __future__ import annotations

import itertools
import random
from typing import Any, Callable, Iterable, Mapping, Sequence

from .cache import Cache
from .framework import Framework, PodInfo
from .plugins import DEFAULT_WEIGHTS, default_plugins
from .queue import SchedulingQueue
from .schedule_one import Decision, schedule_one

_uids = itertools.count(1)


def make_node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
              labels: Mapping[str, str] | None = None, taints: Sequence[Mapping] | None = None,
              unschedulable: bool = False, images: Sequence[Mapping] | None = None,
              extended: Mapping[str, str] | None = None, zone: str | None = None) -> dict:
    lab = {"kubernetes.io/hostname": name, **(labels or {})}
    if zone is not None:
        lab["topology.kubernetes.io/zone"] = zone
    alloc = {"cpu": cpu, "memory": memory, "pods": str(pods), **(extended or {})}
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = [dict(t) for t in taints]
    if unschedulable:
        spec["unschedulable"] = True
    status: dict[str, Any] = {"capacity": dict(alloc), "allocatable": dict(alloc)}
    if images:
        status["images"] = [dict(i) for i in images]
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": f"node-{name}", "labels": lab},
            "spec": spec, "status": status}


def make_pod(name: str, *, namespace: str = "default", cpu: str | None = None, memory: str | None = None,
             uid: str | None = None, labels: Mapping[str, str] | None = None, node_name: str = "",
             priority: int | None = None, tolerations: Sequence[Mapping] | None = None,
             node_selector: Mapping[str, str] | None = None, affinity: Mapping | None = None,
             host_ports: Sequence[int] = (), spread: Sequence[Mapping] | None = None,
             init_containers: Sequence[Mapping] | None = None, overhead: Mapping[str, str] | None = None,
             scheduler_name: str | None = None, owner: Mapping | None = None, start_time: str | None = None,
             nominated_node: str | None = None, preemption_policy: str | None = None, image: str = "pause",
             containers: Sequence[Mapping] | None = None, deleting: bool = False) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    if containers is None:
        c: dict[str, Any] = {"name": "c", "image": image}
        if requests:
            c["resources"] = {"requests": requests}
        if host_ports:
            c["ports"] = [{"containerPort": p, "hostPort": p, "protocol": "TCP"} for p in host_ports]
        containers = [c]
    spec: dict[str, Any] = {"containers": [dict(x) for x in containers]}
    for key, value in (("nodeName", node_name), ("priority", priority), ("tolerations", tolerations),
                       ("nodeSelector", node_selector), ("affinity", affinity),
                       ("topologySpreadConstraints", spread), ("initContainers", init_containers),
                       ("overhead", overhead), ("schedulerName", scheduler_name),
                       ("preemptionPolicy", preemption_policy)):
        if value:
            spec[key] = value if not isinstance(value, (list, tuple)) else [dict(v) for v in value]
        elif value == 0 and key == "priority":
            spec[key] = 0
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": uid or f"uid-{name}-{next(_uids)}",
                            "labels": dict(labels or {}), "creationTimestamp": "2025-01-01T00:00:00Z"}
    if owner:
        meta["ownerReferences"] = [{"controller": True, **owner}]
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    status: dict[str, Any] = {"phase": "Running" if node_name else "Pending"}
    if start_time:
        status["startTime"] = start_time
    if nominated_node:
        status["nominatedNodeName"] = nominated_node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


class StaticListers:
    """`Listers` over fixed objects: `StaticListers(poddisruptionbudgets=[...], services=[...])`."""

    def __init__(self, **objects: Iterable[dict]) -> None:
        self.objects = {k: list(v) for k, v in objects.items()}

    def list(self, resource: str, namespace: str | None = None) -> list[dict]:
        items = self.objects.get(resource, [])
        if namespace is None:
            return list(items)
        return [o for o in items if (o.get("metadata") or {}).get("namespace") == namespace]

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict | None:
        for o in self.objects.get(resource, []):
            meta = o.get("metadata") or {}
            if meta.get("name") == name and (namespace is None or meta.get("namespace") in (None, namespace)):
                return o
        return None


class Harness:
    """Schedule pods against nodes and bound pods without an API server."""

    def __init__(self, nodes: Iterable[dict] = (), pods: Iterable[dict] = (), *, seed: int = 0,
                 listers: Any = None, plugins: Sequence[Callable[..., Any]] | None = None,
                 weights: Mapping[str, int] | None = None, percentage_of_nodes_to_score: int = 0) -> None:
        self.rng = random.Random(seed)
        self.cache = Cache()
        self.queue = SchedulingQueue()
        self.framework = Framework(plugins if plugins is not None else default_plugins(rng=self.rng),
                                   weights=weights if weights is not None else DEFAULT_WEIGHTS,
                                   listers=listers or StaticListers(), nominator=self.queue,
                                   percentage_of_nodes_to_score=percentage_of_nodes_to_score)
        self.bindings: list[tuple[str, str]] = []
        self.next_start_node_index = 0
        for n in nodes:
            self.cache.add_node(n)
        for p in pods:
            self.add_pod(p)

    def add_node(self, node: dict) -> None:
        self.cache.add_node(node)

    def add_pod(self, pod: dict) -> PodInfo:
        """A pod already bound (`spec.nodeName` set) or nominated (`status.nominatedNodeName`)."""
        pi = PodInfo(pod)
        if pi.node_name:
            self.cache.add_pod(pi)
        elif (pod.get("status") or {}).get("nominatedNodeName"):
            self.queue.add_nominated_pod(pi, pod["status"]["nominatedNodeName"])
        return pi

    def remove_pod(self, pod: dict) -> None:
        self.cache.remove_pod(pod["metadata"]["uid"])

    def schedule(self, pod: dict | PodInfo) -> Decision:
        pi = pod if isinstance(pod, PodInfo) else PodInfo(pod)
        snapshot = self.cache.snapshot()
        self.framework.set_snapshot(snapshot)
        d = schedule_one(self.framework, pi, rng=self.rng, start_index=self.next_start_node_index)
        if snapshot.num_nodes():
            self.next_start_node_index = (self.next_start_node_index + d.processed_nodes) % snapshot.num_nodes()
        return d

    def bind(self, pod: dict | PodInfo) -> str:
        """Schedule and, if a node was chosen, place the pod there; returns the node ("" if none)."""
        pi = pod if isinstance(pod, PodInfo) else PodInfo(pod)
        d = self.schedule(pi)
        if d.node_name:
            self.cache.assume(pi, d.node_name)
            self.cache.finish_binding(pi.uid)
            self.bindings.append((pi.key, d.node_name))
        return d.node_name

    def pods_on(self, node: str) -> list[str]:
        ni = self.cache.node_info(node)
        return sorted(p.name for p in ni.pods.values()) if ni is not None else []
