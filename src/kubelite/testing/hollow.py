"""Hollow nodes: simulated nodes for tests and benchmarks (Kubernetes' kubemark, KWOK).

A hollow node registers a Ready Node with the capacity you give it, keeps its Lease in
`kube-node-lease` renewed, and pretends to run the pods bound to it: they become Running and
Ready (container statuses, a pod IP from the node's /24) without any container, and pods being
deleted are finished off (grace period 0), as a kubelet would. No root, no processes.

    async with InProcessAPIServer() as api:
        cluster = HollowCluster(api.client, 3)                 # hollow-0 .. hollow-2
        async with asyncio.TaskGroup() as tg:
            tg.create_task(cluster.run())
            await cluster.wait_ready()
            ...                                                # pods get scheduled and "run"
            node = await cluster.add_node("big", cpu="64")     # more nodes at any time

- `HollowNode(client, name, cpu="4", memory="8Gi", pods=110, labels=..., taints=...)`: one
  node; `await node.run()` registers it and runs it with its own pod watch.
- `HollowCluster(client, n, ...)`: many nodes sharing one pod informer, one lease renewer and
  a few status writers, so 1,000 nodes cost little. `zones=k` spreads nodes over zones
  `zone-0..k-1` (`topology.kubernetes.io/zone`); `run_pods=False` leaves bound pods Pending
  (scheduler benchmarks that measure binding only).

Addresses follow the address plan: node i gets 198.18.0.0/20's (i+1)th address and pod CIDR
198.19.i.0/24 (smaller blocks when a cluster has more than 256 nodes; see `pod_cidr_for`).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import itertools
import logging
from typing import Any, Callable, Iterable, Mapping

from kubelite.client import Client, InformerFactory
from kubelite.client.transport import TransportError
from kubelite.machinery.addressplan import DEFAULT as ADDRESS_PLAN
from kubelite.machinery.clock import REAL_CLOCK, Clock
from kubelite.machinery.errors import StatusError, is_already_exists, is_conflict, is_not_found
from kubelite.machinery.timeutil import rfc3339, rfc3339_micro

log = logging.getLogger(__name__)

KUBELET_VERSION = "v1.32.4"
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40
LEASE_RENEW_INTERVAL = 10.0
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_REGION = "topology.kubernetes.io/region"

_indexes = itertools.count()


def node_address(index: int) -> str:
    net = ipaddress.ip_network(ADDRESS_PLAN.node_cidr)
    if index + 1 >= net.num_addresses - 1:
        raise ValueError("node address range exhausted")
    return str(net[index + 1])


def pod_cidr_for(index: int, num_nodes: int = 256) -> str:
    """Node `index`'s pod CIDR: its /24 of 198.19.0.0/16 while there are at most 256 nodes; for
    larger hollow clusters the blocks shrink (/25 up to 512 nodes, /26 up to 1,024, ...)."""
    cluster = ipaddress.ip_network(ADDRESS_PLAN.cluster_cidr)
    prefix = ADDRESS_PLAN.node_pod_prefix
    while num_nodes > 2 ** (prefix - cluster.prefixlen) and prefix < 30:
        prefix += 1
    if index >= 2 ** (prefix - cluster.prefixlen):
        raise ValueError(f"no pod CIDR for node {index}: the cluster CIDR is exhausted")
    size = 2 ** (32 - prefix)
    return str(ipaddress.ip_network((int(cluster.network_address) + index * size, prefix)))


class HollowNode:
    def __init__(self, client: Client, name: str, *, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
                 ephemeral_storage: str = "100Gi", labels: Mapping[str, str] | None = None,
                 taints: Iterable[Mapping] | None = None, extended: Mapping[str, str] | None = None,
                 images: Iterable[Mapping] | None = None, index: int | None = None, run_pods: bool = True,
                 pod_cidr: str | None = None, lease_interval: float = LEASE_RENEW_INTERVAL,
                 clock: Clock = REAL_CLOCK) -> None:
        self.client = client
        self.name = name
        self.index = next(_indexes) % 4000 if index is None else index
        self.capacity = {"cpu": cpu, "memory": memory, "pods": str(pods), "ephemeral-storage": ephemeral_storage,
                         **(extended or {})}
        self.labels = dict(labels or {})
        self.taints = [dict(t) for t in taints or ()]
        self.images = [dict(i) for i in images or ()]
        self.run_pods = run_pods
        self.lease_interval = lease_interval
        self.clock = clock
        self.address = node_address(self.index)
        self.pod_cidr = pod_cidr or pod_cidr_for(self.index)
        self._net = ipaddress.ip_network(self.pod_cidr)
        self._ips: dict[str, str] = {}            # pod uid -> ip
        self._next_ip = 2
        self._released: list[int] = []
        self.uid = ""
        self.registered = asyncio.Event()

    # ----- the Node and its Lease

    def node_object(self) -> dict:
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64", **self.labels}
        now = rfc3339(self.clock.now())
        digest = hashlib.sha256(self.name.encode()).hexdigest()

        def cond(type_: str, status: str, reason: str, message: str) -> dict:
            return {"type": type_, "status": status, "lastHeartbeatTime": now, "lastTransitionTime": now,
                    "reason": reason, "message": message}

        return {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": self.name, "labels": labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kubelite.io/hollow": "true"}},
            "spec": {"podCIDR": self.pod_cidr, "podCIDRs": [self.pod_cidr],
                     **({"taints": self.taints} if self.taints else {})},
            "status": {
                "capacity": dict(self.capacity), "allocatable": dict(self.capacity),
                "conditions": [
                    cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
                ],
                "addresses": [{"type": "InternalIP", "address": self.address}, {"type": "Hostname", "address": self.name}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {"machineID": digest[:32], "systemUUID": digest[32:64], "bootID": digest[:32],
                             "kernelVersion": "6.1.0-hollow", "osImage": "Debian GNU/Linux 12 (bookworm)",
                             "containerRuntimeVersion": "hollow://1.0.0", "kubeletVersion": KUBELET_VERSION,
                             "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux", "architecture": "amd64"},
                **({"images": self.images} if self.images else {}),
            },
        }

    async def register(self) -> None:
        """Create (or refresh) the Node with its status, and its Lease."""
        body = self.node_object()
        try:
            created = await self.client.create("nodes", body)
        except StatusError as e:
            if not is_already_exists(e):
                raise
            created = await self.client.get("nodes", self.name)
        self.uid = created["metadata"].get("uid", "")
        if (created.get("status") or {}).get("allocatable") != body["status"]["allocatable"] or \
                not (created.get("status") or {}).get("conditions"):
            live = {**created, "status": body["status"]}
            await self.client.update_status("nodes", live)
        await self.renew_lease()
        self.registered.set()

    def lease_object(self) -> dict:
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": LEASE_NAMESPACE,
                             "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": self.name,
                                                  "uid": self.uid}] if self.uid else []},
                "spec": {"holderIdentity": self.name, "leaseDurationSeconds": LEASE_DURATION_SECONDS,
                         "renewTime": rfc3339_micro(self.clock.now())}}

    async def renew_lease(self) -> None:
        lease = self.lease_object()
        try:
            await self.client.patch("leases.coordination.k8s.io", self.name,
                                    {"spec": {"renewTime": lease["spec"]["renewTime"],
                                              "holderIdentity": self.name}}, LEASE_NAMESPACE)
        except StatusError as e:
            if not is_not_found(e):
                raise
            try:
                await self.client.create("leases.coordination.k8s.io", lease, LEASE_NAMESPACE)
            except StatusError as e2:
                if not is_already_exists(e2):
                    raise

    # ----- pods

    def _allocate_ip(self, uid: str) -> str:
        ip = self._ips.get(uid)
        if ip is None:
            if self._released:
                n = self._released.pop()
            else:
                n = self._next_ip
                # Past the end of the range: wrap (hollow pods share addresses; nothing routes them).
                self._next_ip = self._next_ip + 1 if self._next_ip + 1 < self._net.num_addresses - 1 else 2
            ip = self._ips[uid] = str(self._net[n])
        return ip

    def release_ip(self, uid: str) -> None:
        ip = self._ips.pop(uid, None)
        if ip is not None:
            self._released.append(int(ipaddress.ip_address(ip)) - int(self._net.network_address))

    def wants(self, pod: Mapping) -> bool:
        """Whether this pod needs something from us (start it, or finish deleting it)."""
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            return True
        status = pod.get("status") or {}
        return self.run_pods and status.get("phase", "Pending") == "Pending" and not status.get("podIP")

    def running_status(self, pod: Mapping) -> dict:
        now = rfc3339(self.clock.now())
        ip = self._allocate_ip(pod["metadata"]["uid"])
        spec = pod.get("spec") or {}

        def cstatus(c: Mapping) -> dict:
            return {"name": c["name"], "ready": True, "started": True, "restartCount": 0, "image": c.get("image", ""),
                    "imageID": f"hollow://{c.get('image', '')}",
                    "containerID": f"hollow://{pod['metadata']['uid']}-{c['name']}",
                    "state": {"running": {"startedAt": now}}}

        def cond(type_: str) -> dict:
            return {"type": type_, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}

        return {"phase": "Running", "hostIP": self.address, "hostIPs": [{"ip": self.address}],
                "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now,
                "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"),
                               cond("ContainersReady"), cond("PodScheduled")],
                "containerStatuses": [cstatus(c) for c in spec.get("containers") or []],
                "qosClass": (pod.get("status") or {}).get("qosClass") or "BestEffort"}

    async def sync_pod(self, pod: Mapping) -> None:
        """Do what a kubelet would for this pod now: finish its deletion, or start it."""
        meta = pod.get("metadata") or {}
        name, ns, uid = meta.get("name", ""), meta.get("namespace", ""), meta.get("uid", "")
        try:
            if meta.get("deletionTimestamp"):
                await self.client.delete("pods", name, ns, grace_period_seconds=0, preconditions={"uid": uid})
                self.release_ip(uid)
                return
            await self.client.patch("pods", name, {"status": self.running_status(pod)}, ns, subresource="status")
        except StatusError as e:
            if not (is_not_found(e) or is_conflict(e)):
                log.warning("hollow node %s: pod %s/%s: %s", self.name, ns, name, e)
        except TransportError as e:
            log.warning("hollow node %s: pod %s/%s: %s", self.name, ns, name, e)

    # ----- standalone

    async def run(self) -> None:
        """Register and run this one node with its own pod watch, until cancelled."""
        await self.register()
        informers = InformerFactory(self.client)
        worker = _PodWorkers({self.name: self})
        inf = informers.informer_for("pods", field_selector=f"spec.nodeName={self.name}")
        inf.add_event_handler(worker.offer, lambda _o, n: worker.offer(n), worker.gone)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(informers.run())
            tg.create_task(worker.run(2))
            while True:
                await self.clock.sleep(self.lease_interval)
                await _quietly(self.renew_lease(), self.name)


class _PodWorkers:
    """Latest-wins queue of pods to sync, shared by the nodes of a cluster."""

    def __init__(self, nodes: Mapping[str, HollowNode]) -> None:
        self.nodes = nodes
        self._latest: dict[str, dict] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    def offer(self, pod: dict) -> None:
        node = self.nodes.get((pod.get("spec") or {}).get("nodeName") or "")
        if node is None or not node.wants(pod):
            return
        uid = pod["metadata"]["uid"]
        if uid not in self._latest:
            self._queue.put_nowait(uid)
        self._latest[uid] = pod

    def gone(self, pod: dict) -> None:
        node = self.nodes.get((pod.get("spec") or {}).get("nodeName") or "")
        if node is not None:
            node.release_ip((pod.get("metadata") or {}).get("uid", ""))

    async def run(self, workers: int) -> None:
        async with asyncio.TaskGroup() as tg:
            for _ in range(workers):
                tg.create_task(self._work())

    async def _work(self) -> None:
        while True:
            uid = await self._queue.get()
            pod = self._latest.pop(uid, None)
            if pod is None:
                continue
            node = self.nodes.get((pod.get("spec") or {}).get("nodeName") or "")
            if node is not None:
                await node.sync_pod(pod)


async def _quietly(coro: Any, what: str) -> None:
    try:
        await coro
    except (StatusError, TransportError) as e:
        log.warning("hollow node %s: %s", what, e)


class HollowCluster:
    def __init__(self, client: Client, n: int = 0, *, name_prefix: str = "hollow-", cpu: str = "4",
                 memory: str = "8Gi", pods: int = 110, labels: Mapping[str, str] | Callable[[int], Mapping] | None = None,
                 taints: Iterable[Mapping] | None = None, zones: int = 0, run_pods: bool = True,
                 lease_interval: float = LEASE_RENEW_INTERVAL, status_workers: int = 4,
                 register_concurrency: int = 16, clock: Clock = REAL_CLOCK) -> None:
        self.client = client
        self.run_pods = run_pods
        self.lease_interval = lease_interval
        self.status_workers = status_workers
        self.register_concurrency = register_concurrency
        self.clock = clock
        self.nodes: dict[str, HollowNode] = {}
        self._next_index = 0
        self._ready = asyncio.Event()
        self._defaults = {"cpu": cpu, "memory": memory, "pods": pods}
        self._pending: list[HollowNode] = []
        self._size = n
        for i in range(n):
            node_labels = dict(labels(i) if callable(labels) else labels or {})
            if zones:
                node_labels.setdefault(LABEL_ZONE, f"zone-{i % zones}")
                node_labels.setdefault(LABEL_REGION, "region-0")
            self._pending.append(self._new_node(f"{name_prefix}{i}", labels=node_labels, taints=taints))
        self._workers = _PodWorkers(self.nodes)

    def _new_node(self, name: str, **kw: Any) -> HollowNode:
        opts = {**self._defaults, **{k: v for k, v in kw.items() if v is not None}}
        node = HollowNode(self.client, name, index=self._next_index, run_pods=self.run_pods,
                          pod_cidr=pod_cidr_for(self._next_index, max(self._size, self._next_index + 1)),
                          lease_interval=self.lease_interval, clock=self.clock, **opts)
        self._next_index += 1
        self.nodes[name] = node
        return node

    async def add_node(self, name: str, **kw: Any) -> HollowNode:
        """Add and register another node (HollowNode keyword arguments: cpu, memory, labels, ...)."""
        node = self._new_node(name, **kw)
        await node.register()
        return node

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def run(self) -> None:
        """Register the nodes, then keep leases fresh and run pods, until cancelled."""
        sem = asyncio.Semaphore(self.register_concurrency)

        async def register(node: HollowNode) -> None:
            async with sem:
                await node.register()

        await asyncio.gather(*(register(n) for n in self._pending))
        self._pending = []
        informers = InformerFactory(self.client)
        inf = informers.informer_for("pods", field_selector="spec.nodeName!=")
        w = self._workers
        inf.add_event_handler(w.offer, lambda _old, new: w.offer(new), w.gone)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(informers.run())
            tg.create_task(w.run(self.status_workers))
            await informers.wait_for_cache_sync()
            self._ready.set()
            await self._renew_leases()

    async def _renew_leases(self) -> None:
        """Renew every node's lease once per interval, spread evenly over it."""
        while True:
            nodes = list(self.nodes.values())
            if not nodes:
                await self.clock.sleep(self.lease_interval)
                continue
            step = self.lease_interval / len(nodes)
            for node in nodes:
                await self.clock.sleep(step)
                await _quietly(node.renew_lease(), node.name)
