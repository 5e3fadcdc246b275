"""Resource statistics the kubelet serves: `/stats/summary` (the Summary API metrics-server and
the API server's metrics.k8s.io read) and `/metrics/resource` (Prometheus text).

CPU rates (`usageNanoCores`) come from two cumulative samples at least `MIN_WINDOW` apart: a
`StatsSampler` keeps recent samples (its `run()` takes one every interval, as cAdvisor's
housekeeping does) and each request adds a fresh one. Node figures come from a
`NodeStatsSource`: `ProcNodeStats` (real, /proc) or `FixedNodeStats` (fake).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from kubelite.kubelet.runtime import ContainerState, PodSandboxState, RuntimeService, RuntimeServiceError
from kubelite.kubelet.runtime import crilog

log = logging.getLogger(__name__)

MIN_WINDOW_NS = 1_000_000_000
KEEP_NS = 60_000_000_000


@dataclass
class NodeStats:
    timestamp: int  # ns
    cpu_usage_core_nano_seconds: int
    memory_working_set_bytes: int
    memory_usage_bytes: int
    memory_available_bytes: int
    memory_rss_bytes: int = 0


class NodeStatsSource(Protocol):
    async def node_stats(self) -> NodeStats: ...


class ProcNodeStats:
    """The host's CPU time (/proc/stat) and memory (/proc/meminfo)."""

    def _read(self) -> NodeStats:
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in (fields + ["0"] * 8)[:8])
        busy = user + nice + system + irq + softirq + steal
        mem: dict[str, int] = {}
        with open("/proc/meminfo") as f:
            for line in f:
                k, _, rest = line.partition(":")
                mem[k] = int(rest.split()[0]) * 1024
        total, available = mem.get("MemTotal", 0), mem.get("MemAvailable", 0)
        usage = total - mem.get("MemFree", 0)
        working_set = total - available
        return NodeStats(time.time_ns(), busy * 1_000_000_000 // ticks, working_set, usage, available,
                         mem.get("AnonPages", 0))

    async def node_stats(self) -> NodeStats:
        return await asyncio.to_thread(self._read)


class FixedNodeStats:
    def __init__(self, cpu_nano_cores: int = 250_000_000, memory_bytes: int = 1 << 30):
        self.cpu_nano_cores = cpu_nano_cores
        self.memory_bytes = memory_bytes
        self._start = time.time_ns()

    async def node_stats(self) -> NodeStats:
        now = time.time_ns()
        cpu = (now - self._start) * self.cpu_nano_cores // 1_000_000_000
        return NodeStats(now, cpu, self.memory_bytes, self.memory_bytes, 4 * self.memory_bytes)


class RateTracker:
    """Cumulative CPU samples per key -> usage in nanocores."""

    def __init__(self) -> None:
        self._samples: dict[str, deque[tuple[int, int]]] = {}

    def add(self, key: str, ts: int, cumulative: int) -> None:
        q = self._samples.setdefault(key, deque())
        if q and ts <= q[-1][0]:
            return
        q.append((ts, cumulative))
        while len(q) > 2 and ts - q[1][0] >= KEEP_NS:
            q.popleft()

    def rate(self, key: str, ts: int, cumulative: int) -> int | None:
        """Nanocores between the oldest retained sample and (ts, cumulative); None if too close."""
        q = self._samples.get(key)
        if not q:
            return None
        for t0, c0 in q:
            if ts - t0 >= MIN_WINDOW_NS:
                if cumulative < c0:  # restarted
                    return None
                return (cumulative - c0) * 1_000_000_000 // (ts - t0)
        return None

    def forget_missing(self, keep: set[str]) -> None:
        for k in list(self._samples):
            if k not in keep:
                del self._samples[k]


def _rfc3339(ns: int) -> str:
    return crilog.format_timestamp(ns)


def _cpu(ts: int, cumulative: int, rate: int | None) -> dict:
    out = {"time": _rfc3339(ts), "usageCoreNanoSeconds": cumulative}
    if rate is not None:
        out["usageNanoCores"] = rate
    return out


class StatsSampler:
    def __init__(self, runtime: RuntimeService, node: NodeStatsSource, node_name: str, interval: float = 10.0):
        self.runtime = runtime
        self.node = node
        self.node_name = node_name
        self.interval = interval
        self.rates = RateTracker()
        self.started_at = time.time_ns()

    async def run(self) -> None:
        while True:
            try:
                await self.summary()
            except (RuntimeServiceError, OSError) as e:
                log.debug("stats sample failed: %s", e)
            await asyncio.sleep(self.interval)

    async def summary(self) -> dict:
        """The Summary API document (`stats/v1alpha1` Summary), sampling now."""
        rt = self.runtime
        ns_ = await self.node.node_stats()
        node_rate = self.rates.rate("node", ns_.timestamp, ns_.cpu_usage_core_nano_seconds)
        self.rates.add("node", ns_.timestamp, ns_.cpu_usage_core_nano_seconds)
        node = {
            "nodeName": self.node_name,
            "startTime": _rfc3339(self.started_at),
            "cpu": _cpu(ns_.timestamp, ns_.cpu_usage_core_nano_seconds, node_rate),
            "memory": {"time": _rfc3339(ns_.timestamp), "availableBytes": ns_.memory_available_bytes,
                       "usageBytes": ns_.memory_usage_bytes, "workingSetBytes": ns_.memory_working_set_bytes,
                       "rssBytes": ns_.memory_rss_bytes, "pageFaults": 0, "majorPageFaults": 0},
            "systemContainers": [],
        }
        keep = {"node"}
        pods = []
        running_all = {c.id: c for c in await rt.list_containers() if c.state == ContainerState.RUNNING}
        for sb in await rt.list_pod_sandbox():
            if sb.state != PodSandboxState.READY:
                continue
            try:
                ps = await rt.pod_stats(sb.id)
            except RuntimeServiceError:
                continue
            running = {cid: c for cid, c in running_all.items() if c.pod_sandbox_id == sb.id}
            containers = []
            for cs in ps.containers:
                if cs.container_id not in running:
                    continue
                key = f"c/{cs.container_id}"
                keep.add(key)
                rate = self.rates.rate(key, cs.timestamp, cs.cpu_usage_core_nano_seconds)
                self.rates.add(key, cs.timestamp, cs.cpu_usage_core_nano_seconds)
                try:
                    started = (await rt.container_status(cs.container_id)).started_at
                except RuntimeServiceError:
                    started = running[cs.container_id].created_at
                containers.append({
                    "name": cs.name, "startTime": _rfc3339(started),
                    "cpu": _cpu(cs.timestamp, cs.cpu_usage_core_nano_seconds, rate),
                    "memory": {"time": _rfc3339(cs.timestamp), "usageBytes": cs.memory_usage_bytes,
                               "workingSetBytes": cs.memory_working_set_bytes, "rssBytes": cs.memory_rss_bytes,
                               "pageFaults": 0, "majorPageFaults": 0},
                })
            pkey = f"p/{sb.id}"
            keep.add(pkey)
            prate = self.rates.rate(pkey, ps.timestamp, ps.cpu_usage_core_nano_seconds)
            self.rates.add(pkey, ps.timestamp, ps.cpu_usage_core_nano_seconds)
            pods.append({
                "podRef": {"name": sb.name, "namespace": sb.namespace, "uid": sb.uid},
                "startTime": _rfc3339(sb.created_at),
                "containers": containers,
                "cpu": _cpu(ps.timestamp, ps.cpu_usage_core_nano_seconds, prate),
                "memory": {"time": _rfc3339(ps.timestamp), "usageBytes": ps.memory_usage_bytes,
                           "workingSetBytes": ps.memory_working_set_bytes},
                "process_stats": {"process_count": ps.pids},
            })
        self.rates.forget_missing(keep)
        return {"node": node, "pods": pods}


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_resource_metrics(summary: dict) -> str:
    """`/metrics/resource` in the Prometheus text format, from a summary."""
    out: list[str] = []

    def family(name: str, kind: str, help_: str, samples: list[tuple[dict, float, str]]) -> None:
        out.append(f"# HELP {name} [STABLE] {help_}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value, ts in samples:
            lbl = ",".join(f'{k}="{_esc(v)}"' for k, v in sorted(labels.items()))
            ms = crilog.parse_timestamp(ts) // 1_000_000 if ts else None
            num = repr(float(value)) if isinstance(value, float) else str(value)
            out.append(f"{name}{{{lbl}}} {num}" if lbl else f"{name} {num}")
            if ms is not None:
                out[-1] += f" {ms}"

    node = summary["node"]
    cpu_c, mem_c, start_c, cpu_p, mem_p = [], [], [], [], []
    for p in summary["pods"]:
        ref = p["podRef"]
        pl = {"namespace": ref["namespace"], "pod": ref["name"]}
        for c in p["containers"]:
            cl = {**pl, "container": c["name"]}
            cpu_c.append((cl, c["cpu"]["usageCoreNanoSeconds"] / 1e9, c["cpu"]["time"]))
            mem_c.append((cl, c["memory"]["workingSetBytes"], c["memory"]["time"]))
            start_c.append((cl, crilog.parse_timestamp(c["startTime"]) / 1e9, ""))
        cpu_p.append((pl, p["cpu"]["usageCoreNanoSeconds"] / 1e9, p["cpu"]["time"]))
        mem_p.append((pl, p["memory"]["workingSetBytes"], p["memory"]["time"]))
    family("container_cpu_usage_seconds_total", "counter",
           "Cumulative cpu time consumed by the container in core-seconds", cpu_c)
    family("container_memory_working_set_bytes", "gauge", "Current working set of the container in bytes", mem_c)
    family("container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds",
           start_c)
    family("node_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the node in core-seconds",
           [({}, node["cpu"]["usageCoreNanoSeconds"] / 1e9, node["cpu"]["time"])])
    family("node_memory_working_set_bytes", "gauge", "Current working set of the node in bytes",
           [({}, node["memory"]["workingSetBytes"], node["memory"]["time"])])
    family("pod_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the pod in core-seconds", cpu_p)
    family("pod_memory_working_set_bytes", "gauge", "Current working set of the pod in bytes", mem_p)
    out.append("# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, "
               "0 otherwise")
    out.append("# TYPE resource_scrape_error gauge")
    out.append("resource_scrape_error 0")
    return "\n".join(out) + "\n"
