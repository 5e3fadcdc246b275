"""`RuncRuntime`: the `RuntimeService` over runc + conmon, a thin facade over its parts."""

from __future__ import annotations

import asyncio
import os
import shutil
import time

import kubelite

from ..interface import (
    Container,
    ContainerConfig,
    ContainerFilter,
    ContainerStats,
    ContainerStatus,
    ExecSyncResult,
    LinuxContainerResources,
    PodSandbox,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxStats,
    PodSandboxStatus,
    ProcessHandle,
    RuntimeCondition,
    RuntimeStatus,
    VersionInfo,
)
from ...network.interface import NetworkPlugin
from .containers import ContainerManager
from .context import RuncOptions, RuntimeContext
from .sandboxes import SandboxManager
from .streaming import Streaming

RUNTIME_NAME = "kubelite-runc"
CRI_VERSION = "0.1.0"
RUNTIME_API_VERSION = "v1"


class RuncRuntime:
    """One instance per node agent. Everything lives under `options.root`; a new instance over
    the same root adopts the sandboxes and containers it finds there."""

    def __init__(self, options: RuncOptions, network: NetworkPlugin):
        self.ctx = RuntimeContext(options, network)
        self._containers = ContainerManager(self.ctx)
        self._sandboxes = SandboxManager(self.ctx, self._containers)
        self._streaming = Streaming(self.ctx, self._containers)

    # --- sandboxes -------------------------------------------------------------------------
    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        await self.ctx.ensure_loaded()
        return await self._sandboxes.run(config)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await self.ctx.ensure_loaded()
        await self._sandboxes.stop(sandbox_id)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self.ctx.ensure_loaded()
        await self._sandboxes.remove(sandbox_id)

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        await self.ctx.ensure_loaded()
        return await self._sandboxes.status(sandbox_id)

    async def list_pod_sandbox(self, filter: PodSandboxFilter | None = None) -> list[PodSandbox]:
        await self.ctx.ensure_loaded()
        return await self._sandboxes.list(filter)

    # --- containers ------------------------------------------------------------------------
    async def create_container(
        self, sandbox_id: str, config: ContainerConfig, sandbox_config: PodSandboxConfig
    ) -> str:
        await self.ctx.ensure_loaded()
        return await self._containers.create(sandbox_id, config, sandbox_config)

    async def start_container(self, container_id: str) -> None:
        await self.ctx.ensure_loaded()
        await self._containers.start(container_id)

    async def stop_container(self, container_id: str, timeout: float) -> None:
        await self.ctx.ensure_loaded()
        await self._containers.stop(container_id, timeout)

    async def remove_container(self, container_id: str) -> None:
        await self.ctx.ensure_loaded()
        await self._containers.remove(container_id)

    async def list_containers(self, filter: ContainerFilter | None = None) -> list[Container]:
        await self.ctx.ensure_loaded()
        return await self._containers.list(filter)

    async def container_status(self, container_id: str) -> ContainerStatus:
        await self.ctx.ensure_loaded()
        return await self._containers.status(container_id)

    async def update_container_resources(self, container_id: str, resources: LinuxContainerResources) -> None:
        await self.ctx.ensure_loaded()
        await self._containers.update_resources(container_id, resources)

    async def reopen_container_log(self, container_id: str) -> None:
        await self.ctx.ensure_loaded()
        await self._containers.reopen_log(container_id)

    # --- streaming -------------------------------------------------------------------------
    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float = 0) -> ExecSyncResult:
        await self.ctx.ensure_loaded()
        return await self._streaming.exec_sync(container_id, cmd, timeout)

    async def exec(
        self, container_id: str, cmd: list[str], *, tty: bool = False, stdin: bool = False
    ) -> ProcessHandle:
        await self.ctx.ensure_loaded()
        return await self._streaming.exec(container_id, cmd, tty=tty, stdin=stdin)

    async def attach(self, container_id: str, *, stdin: bool = False) -> ProcessHandle:
        await self.ctx.ensure_loaded()
        return await self._streaming.attach(container_id, stdin=stdin)

    # --- stats -----------------------------------------------------------------------------
    def _cgroup_stats(self, path: str) -> tuple[int, int, int, int, int]:
        cg = self.ctx.cgroups
        usage, working_set, rss = cg.memory(path)
        return cg.cpu_usage_ns(path), usage, working_set, rss, cg.pids_current(path)

    async def container_stats(self, container_id: str) -> ContainerStats:
        await self.ctx.ensure_loaded()
        rec = self._containers.get(container_id)
        await self._containers.refresh(rec)
        stats = ContainerStats(container_id=rec.id, name=rec.config.name, timestamp=time.time_ns())
        if rec.state == "running":
            cpu, usage, ws, rss, pids = await asyncio.to_thread(self._cgroup_stats, rec.cgroups_path)
            stats.cpu_usage_core_nano_seconds, stats.memory_usage_bytes = cpu, usage
            stats.memory_working_set_bytes, stats.memory_rss_bytes, stats.pids = ws, rss, pids
        return stats

    async def pod_stats(self, sandbox_id: str) -> PodSandboxStats:
        await self.ctx.ensure_loaded()
        rec = self._sandboxes.get(sandbox_id)
        cpu, usage, ws, _, pids = await asyncio.to_thread(self._cgroup_stats, rec.cgroup_parent)
        running = [c.id for c in self.ctx.containers.values() if c.sandbox_id == sandbox_id and c.state == "running"]
        return PodSandboxStats(
            pod_sandbox_id=sandbox_id, timestamp=time.time_ns(), cpu_usage_core_nano_seconds=cpu,
            memory_usage_bytes=usage, memory_working_set_bytes=ws, pids=pids,
            containers=[await self.container_stats(cid) for cid in running],
        )

    # --- runtime ---------------------------------------------------------------------------
    async def status(self) -> RuntimeStatus:
        await self.ctx.ensure_loaded()
        missing = [
            b for b in (self.ctx.runc.binary, self.ctx.conmon.binary, self.ctx.options.pause_binary)
            if not (os.path.isfile(b) or shutil.which(b))
        ]
        runtime_ready = RuntimeCondition(
            "RuntimeReady", not missing,
            *(("MissingBinaries", f"not found: {', '.join(missing)}") if missing else ()),
        )
        net = await self.ctx.network.status()
        network_ready = RuntimeCondition("NetworkReady", net.ready, net.reason, net.message)
        return RuntimeStatus([runtime_ready, network_ready])

    async def version(self) -> VersionInfo:
        return VersionInfo(
            version=CRI_VERSION, runtime_name=RUNTIME_NAME,
            runtime_version=f"{kubelite.__version__}+runc{await self.ctx.runc.version()}",
            runtime_api_version=RUNTIME_API_VERSION,
        )
