"""Resource usage for `kubectl top` (Kubernetes' stats provider / Summary API, the cpu and memory
parts): the node from /proc and the root memory cgroup, pods and containers from the runtime's
cgroup statistics. CPU is reported as cumulative core-nanoseconds and as a rate (nanocores)
computed from the previous sample of the same object."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from kubelite.machinery.timeutil import rfc3339

from . import sysinfo
from .kuberuntime import labels as lb
from .runtime.errors import RuntimeServiceError
from .runtime.interface import ContainerState, PodSandboxState, RuntimeService

_CLK_TCK = 100


def _node_cpu_ns() -> int:
    with open("/proc/stat") as f:
        parts = f.readline().split()
    # user nice system idle iowait irq softirq steal
    busy = sum(int(x) for i, x in enumerate(parts[1:9]) if i not in (3, 4))
    return busy * (1_000_000_000 // _CLK_TCK)


def _node_memory() -> tuple[int, int, int]:
    """(usage, working set, available) bytes."""
    info = sysinfo.meminfo()
    total = info.get("MemTotal", 0)
    available = info.get("MemAvailable", 0)
    root = Path("/sys/fs/cgroup/memory")
    try:
        usage = int((root / "memory.usage_in_bytes").read_text())
        inactive = 0
        for line in (root / "memory.stat").read_text().splitlines():
            k, _, v = line.partition(" ")
            if k == "total_inactive_file":
                inactive = int(v)
        working = max(0, usage - inactive)
    except (OSError, ValueError):
        usage = working = total - available
    return usage, working, available


class StatsProvider:
    def __init__(self, runtime: RuntimeService, node_name: str, pods: Callable[[], list[dict]] | None = None):
        self.runtime = runtime
        self.node_name = node_name
        self.pods = pods
        self._prev: dict[str, tuple[int, int]] = {}  # id -> (cpu ns, wall ns)

    def _rate(self, key: str, cpu_ns: int, now_ns: int) -> int | None:
        prev = self._prev.get(key)
        self._prev[key] = (cpu_ns, now_ns)
        if prev is None or now_ns <= prev[1] or cpu_ns < prev[0]:
            return None
        return (cpu_ns - prev[0]) * 1_000_000_000 // (now_ns - prev[1])

    def _cpu(self, key: str, cpu_ns: int, now_ns: int) -> dict:
        out: dict = {"time": rfc3339(), "usageCoreNanoSeconds": cpu_ns}
        rate = self._rate(key, cpu_ns, now_ns)
        if rate is not None:
            out["usageNanoCores"] = rate
        return out

    async def node_stats(self) -> dict:
        now = time.time_ns()
        cpu = await asyncio.to_thread(_node_cpu_ns)
        usage, working, available = await asyncio.to_thread(_node_memory)
        return {"nodeName": self.node_name, "cpu": self._cpu("node", cpu, now),
                "memory": {"time": rfc3339(), "usageBytes": usage, "workingSetBytes": working,
                           "availableBytes": available}}

    async def pod_stats(self) -> list[dict]:
        out = []
        for sb in await self.runtime.list_pod_sandbox():
            if sb.state != PodSandboxState.READY:
                continue
            try:
                ps = await self.runtime.pod_stats(sb.id)
            except RuntimeServiceError:
                continue
            now = time.time_ns()
            containers = []
            for cs in ps.containers:
                containers.append({
                    "name": cs.name, "cpu": self._cpu("c:" + cs.container_id, cs.cpu_usage_core_nano_seconds, now),
                    "memory": {"time": rfc3339(), "usageBytes": cs.memory_usage_bytes,
                               "workingSetBytes": cs.memory_working_set_bytes, "rssBytes": cs.memory_rss_bytes},
                })
            out.append({
                "podRef": {"name": sb.labels.get(lb.POD_NAME, sb.name),
                           "namespace": sb.labels.get(lb.POD_NAMESPACE, sb.namespace),
                           "uid": sb.labels.get(lb.POD_UID, sb.uid)},
                "cpu": self._cpu("p:" + sb.id, ps.cpu_usage_core_nano_seconds, now),
                "memory": {"time": rfc3339(), "usageBytes": ps.memory_usage_bytes,
                           "workingSetBytes": ps.memory_working_set_bytes},
                "containers": containers,
            })
        if len(self._prev) > 4096:  # objects that went away: start over
            self._prev = {k: v for k, v in self._prev.items() if k == "node"}
        return out

    async def summary(self) -> dict:
        """The Summary API's shape (`/stats/summary`), cpu and memory only."""
        return {"node": await self.node_stats(), "pods": await self.pod_stats()}

    async def running_containers(self) -> int:
        return len([c for c in await self.runtime.list_containers() if c.state == ContainerState.RUNNING])
