"""The Node object (Kubernetes' `kubelet_node_status.go` and `nodestatus` setters): registration,
the pod CIDR, and status updates (addresses, capacity and allocatable, nodeInfo, conditions
Ready / MemoryPressure / DiskPressure / PIDPressure, daemon endpoints, images).

Status is computed every `node_status_update_frequency` (10 s) and patched when it changed, or
at least every `node_status_report_frequency` (5 min); the Lease carries the heartbeat."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kubelite.client import Clock, RealClock
from kubelite.machinery import quantity
from kubelite.machinery.errors import StatusError, is_already_exists, is_not_found
from kubelite.machinery.timeutil import rfc3339

from . import events as ev
from . import sysinfo
from .config import KubeletConfig

log = logging.getLogger(__name__)

Recorder = Callable[[dict, str, str, str], None]  # node, type, reason, message


@dataclass
class Health:
    """What Ready depends on: "" = fine, else the error text."""

    runtime: str = ""
    network: str = ""
    pleg: str = ""

    def errors(self) -> list[str]:
        return [e for e in (self.runtime, self.network, self.pleg) if e]


_CONDITION_EVENTS = {
    "MemoryPressure": {False: ev.NODE_HAS_SUFFICIENT_MEMORY, True: "NodeHasInsufficientMemory"},
    "DiskPressure": {False: ev.NODE_HAS_NO_DISK_PRESSURE, True: "NodeHasDiskPressure"},
    "PIDPressure": {False: ev.NODE_HAS_SUFFICIENT_PID, True: "NodeHasInsufficientPID"},
}


def _ki(n: int) -> str:
    return f"{n // 1024}Ki"


def capacity(cfg: KubeletConfig, m: sysinfo.MachineInfo) -> dict[str, str]:
    return {"cpu": str(m.cpus), "ephemeral-storage": _ki(m.disk_bytes), "hugepages-1Gi": "0",
            "hugepages-2Mi": "0", "memory": _ki(m.memory_bytes), "pods": str(cfg.max_pods)}


def allocatable(cfg: KubeletConfig, m: sysinfo.MachineInfo) -> dict[str, str]:
    reserved_cpu = quantity.milli(cfg.system_reserved.get("cpu", 0) or 0)
    reserved_mem = quantity.value(cfg.system_reserved.get("memory", 0) or 0)
    cpu_m = max(0, m.cpus * 1000 - reserved_cpu)
    mem = max(0, m.memory_bytes - reserved_mem - quantity.value(cfg.eviction_hard_memory))
    disk = m.disk_bytes - m.disk_bytes * cfg.eviction_hard_nodefs_percent // 100
    return {"cpu": quantity.format_milli_cpu(cpu_m), "ephemeral-storage": str(disk), "hugepages-1Gi": "0",
            "hugepages-2Mi": "0", "memory": _ki(mem), "pods": str(cfg.max_pods)}


def node_object(cfg: KubeletConfig, m: sysinfo.MachineInfo) -> dict:
    labels = {
        "beta.kubernetes.io/arch": m.architecture, "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": m.architecture, "kubernetes.io/hostname": cfg.hostname or cfg.node_name,
        "kubernetes.io/os": "linux", **cfg.node_labels,
    }
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": cfg.node_name, "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                     "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": {},
    }


class NodeStatusManager:
    def __init__(self, client: Any, cfg: KubeletConfig, *, runtime_version: Callable[[], Awaitable[str]],
                 health: Callable[[], Awaitable[Health]], images: Callable[[], Awaitable[list[dict]]] | None = None,
                 record: Recorder | None = None, clock: Clock | None = None):
        self.client = client
        self.cfg = cfg
        self.runtime_version = runtime_version
        self.health = health
        self.images = images
        self.record = record or (lambda *a: None)
        self.clock = clock or RealClock()
        self.machine = sysinfo.machine_info(cfg.root_dir)
        self.node: dict | None = None
        self.registered = asyncio.Event()
        self._last_posted: dict | None = None
        self._last_post_time = 0.0
        self._conditions: dict[str, dict] = {}
        self.posts = 0

    @property
    def allocatable(self) -> dict[str, str]:
        return allocatable(self.cfg, self.machine)

    # --- registration --------------------------------------------------------------------------
    async def register(self) -> dict:
        """Create the Node (or adopt the existing one); retried until it works."""
        delay = 0.1
        while True:
            try:
                node = node_object(self.cfg, self.machine)
                node["status"] = await self._status()
                try:
                    self.node = await self.client.create("nodes", node)
                    self.record(self.node, "Normal", ev.STARTING_KUBELET, "Starting kubelet.")
                except StatusError as e:
                    if not is_already_exists(e):
                        raise
                    existing = await self.client.get("nodes", self.cfg.node_name)
                    labels = {**((existing.get("metadata") or {}).get("labels") or {}),
                              **node["metadata"]["labels"]}
                    self.node = await self.client.patch("nodes", self.cfg.node_name,
                                                        {"metadata": {"labels": labels}})
                    self.record(self.node, "Normal", ev.STARTING_KUBELET, "Starting kubelet.")
                self.registered.set()
                return self.node
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("node %s: registration failed: %s", self.cfg.node_name, e)
                await self.clock.sleep(delay)
                delay = min(delay * 2, 7.0)

    async def wait_pod_cidr(self, timeout: float | None = None) -> str:
        """The node's pod CIDR; after `timeout` (default `pod_cidr_timeout`) without one, the
        fallback CIDR is patched in when configured (single-node servers)."""
        timeout = self.cfg.pod_cidr_timeout if timeout is None else timeout
        start = self.clock.monotonic()
        while True:
            try:
                node = await self.client.get("nodes", self.cfg.node_name)
                self.node = node
                cidr = (node.get("spec") or {}).get("podCIDR")
                if cidr:
                    return cidr
                if self.cfg.fallback_pod_cidr and self.clock.monotonic() - start >= timeout:
                    c = self.cfg.fallback_pod_cidr
                    self.node = await self.client.patch("nodes", self.cfg.node_name,
                                                        {"spec": {"podCIDR": c, "podCIDRs": [c]}})
                    log.info("node %s: no pod CIDR allocated, took %s", self.cfg.node_name, c)
                    return c
            except StatusError as e:
                log.warning("node %s: reading the pod CIDR: %s", self.cfg.node_name, e)
            await self.clock.sleep(0.2)

    # --- status --------------------------------------------------------------------------------
    def _condition(self, type_: str, status: bool, reason: str, message: str, now: str) -> dict:
        s = "True" if status else "False"
        prev = self._conditions.get(type_)
        transition = prev["lastTransitionTime"] if prev and prev["status"] == s else now
        c = {"type": type_, "status": s, "lastHeartbeatTime": now, "lastTransitionTime": transition,
             "reason": reason, "message": message}
        if self.node is not None and (prev is None or prev["status"] != s):
            if type_ == "Ready":
                name = ev.NODE_READY if status else ev.NODE_NOT_READY
            else:
                name = _CONDITION_EVENTS[type_][status]
            self.record(self.node, "Normal", name, f"Node {self.cfg.node_name} status is now: {name}")
        self._conditions[type_] = c
        return c

    async def _status(self) -> dict:
        m = self.machine
        now = rfc3339(self.clock.now())
        health = await self.health()
        mem = await asyncio.to_thread(sysinfo.meminfo)
        avail_disk, total_disk = await asyncio.to_thread(sysinfo.disk_available, self.cfg.root_dir)
        pids = await asyncio.to_thread(sysinfo.running_pids)
        mem_pressure = mem.get("MemAvailable", m.memory_bytes) < quantity.value(self.cfg.eviction_hard_memory)
        disk_pressure = total_disk > 0 and avail_disk * 100 < total_disk * self.cfg.eviction_hard_nodefs_percent
        pid_pressure = pids * 10 > m.pid_max * 9
        errors = health.errors()
        conditions = [
            self._condition("MemoryPressure", mem_pressure,
                            "KubeletHasInsufficientMemory" if mem_pressure else "KubeletHasSufficientMemory",
                            "kubelet has insufficient memory available" if mem_pressure
                            else "kubelet has sufficient memory available", now),
            self._condition("DiskPressure", disk_pressure,
                            "KubeletHasDiskPressure" if disk_pressure else "KubeletHasNoDiskPressure",
                            "kubelet has disk pressure" if disk_pressure else "kubelet has no disk pressure", now),
            self._condition("PIDPressure", pid_pressure,
                            "KubeletHasInsufficientPID" if pid_pressure else "KubeletHasSufficientPID",
                            "kubelet has insufficient PID available" if pid_pressure
                            else "kubelet has sufficient PID available", now),
            self._condition("Ready", not errors, "KubeletNotReady" if errors else "KubeletReady",
                            (errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]") if errors
                            else "kubelet is posting ready status", now),
        ]
        addresses = [{"type": "InternalIP", "address": ip} for ip in self.cfg.node_ips]
        addresses.append({"type": "Hostname", "address": self.cfg.hostname or self.cfg.node_name})
        status: dict = {
            "capacity": capacity(self.cfg, m),
            "allocatable": allocatable(self.cfg, m),
            "conditions": conditions,
            "addresses": addresses,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.cfg.kubelet_port}},
            "nodeInfo": {
                "machineID": m.machine_id, "systemUUID": m.system_uuid, "bootID": m.boot_id,
                "kernelVersion": m.kernel, "osImage": m.os_image,
                "containerRuntimeVersion": await self.runtime_version(),
                "kubeletVersion": self.cfg.kubelet_version, "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": m.architecture,
            },
        }
        if self.images is not None:
            try:
                status["images"] = await self.images()
            except Exception as e:  # a broken image store must not stop heartbeats
                log.warning("listing images for node status: %s", e)
        return status

    @staticmethod
    def _comparable(status: dict) -> dict:
        s = copy.deepcopy(status)
        for c in s.get("conditions") or []:
            c.pop("lastHeartbeatTime", None)
        return s

    async def update_status(self, *, force: bool = False) -> bool:
        """Patch the node's status if it changed (or is due); True if it was written."""
        status = await self._status()
        due = self.clock.monotonic() - self._last_post_time >= self.cfg.node_status_report_frequency
        if not force and not due and self._last_posted is not None and \
                self._comparable(status) == self._comparable(self._last_posted):
            return False
        try:
            self.node = await self.client.patch("nodes", self.cfg.node_name, {"status": status},
                                                subresource="status")
        except StatusError as e:
            if is_not_found(e):
                log.warning("node %s was deleted: registering it again", self.cfg.node_name)
                self.registered.clear()
                await self.register()
                return True
            raise
        self._last_posted = status
        self._last_post_time = self.clock.monotonic()
        self.posts += 1
        return True

    async def run(self) -> None:
        await self.registered.wait()
        while True:
            try:
                await self.update_status()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("node %s: status update failed: %s", self.cfg.node_name, e)
            await self.clock.sleep(self.cfg.node_status_update_frequency)
