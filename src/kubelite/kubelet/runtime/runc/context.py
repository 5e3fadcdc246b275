"""Options and the state shared by the runc runtime's parts (sandboxes, containers, streaming)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..interface import PodSandboxConfig
from . import seccomp, state
from .cgroups import Cgroups, current_oom_score_adj
from .conmon import Conmon, process_alive
from .runc import Runc
from .spec import Host, capabilities_from_mask
from .state import ContainerRecord, Layout, SandboxRecord
from ...network.interface import NetworkPlugin

log = logging.getLogger(__name__)

_QOS_DIRS = {"Guaranteed": "", "Burstable": "burstable", "BestEffort": "besteffort"}


@dataclass
class RuncOptions:
    root: Path  # runtime state directory, one per node agent
    cgroup_root: str = "kubelite"  # top-level cgroup name; distinct per node/test run
    runc: str = "runc"
    conmon: str = "conmon"
    pause_binary: str = "/usr/bin/catatonit"
    seccomp_profile: str = seccomp.DEFAULT_PROFILE  # Docker-format profile for RuntimeDefault
    node_netns: str = ""  # hostNetwork pods join this netns ("" = the agent's own)
    command_timeout: float = 30.0
    id_generator: Callable[[], str] = field(default=lambda: secrets.token_hex(32))


def _capability_mask() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    return 0


class KeyedLocks:
    """One asyncio.Lock per ID: never two operations on one sandbox or container at once."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            yield

    def forget(self, key: str) -> None:
        lock = self._locks.get(key)
        if lock is not None and not lock.locked():
            del self._locks[key]


def sandbox_name_key(config: PodSandboxConfig) -> str:
    return f"{config.name}_{config.namespace}_{config.uid}_{config.attempt}"


class RuntimeContext:
    def __init__(self, options: RuncOptions, network: NetworkPlugin):
        self.options = options
        self.network = network
        self.layout = Layout(Path(options.root))
        runc_bin = shutil.which(options.runc) or options.runc
        self.runc = Runc(runc_bin, str(self.layout.runc_root), timeout=options.command_timeout)
        self.conmon = Conmon(
            binary=shutil.which(options.conmon) or options.conmon,
            runc_binary=runc_bin,
            runc_root=str(self.layout.runc_root),
            exits_dir=self.layout.exits,
            sockets_dir=self.layout.sockets,
            timeout=options.command_timeout,
        )
        self.cgroups = Cgroups()
        self.host = Host(
            capabilities=capabilities_from_mask(_capability_mask()),
            oom_score_adj_floor=current_oom_score_adj(),
            has_memsw=self.cgroups.has_memsw,
            node_netns=options.node_netns,
        )
        self.seccomp_profile: dict[str, Any] | None = None
        self.sandboxes: dict[str, SandboxRecord] = {}
        self.containers: dict[str, ContainerRecord] = {}
        self.names: dict[str, str] = {}  # reserved name -> sandbox/container ID
        self.locks = KeyedLocks()
        self._loaded = False
        self._load_lock = asyncio.Lock()

    def new_id(self) -> str:
        return self.options.id_generator()

    async def ensure_loaded(self) -> None:
        """Read the records a previous agent left (adoption: nothing is killed or restarted)."""
        if self._loaded:
            return
        async with self._load_lock:
            if self._loaded:
                return
            await asyncio.to_thread(self.layout.make)
            if self.options.seccomp_profile:
                self.seccomp_profile = await asyncio.to_thread(seccomp.load, self.options.seccomp_profile)
            for s in await state.load_all(self.layout.sandboxes, "sandbox.json", SandboxRecord):
                self.sandboxes[s.id] = s
                self.names[sandbox_name_key(s.config)] = s.id
            for c in await state.load_all(self.layout.containers, "container.json", ContainerRecord):
                self.containers[c.id] = c
                sb = self.sandboxes.get(c.sandbox_id)
                if sb is not None:
                    self.names[container_name_key(c.config.name, c.config.attempt, sb.config)] = c.id
            self._loaded = True

    # --- paths -----------------------------------------------------------------------------
    def pod_cgroup(self, config: PodSandboxConfig) -> str:
        root = "/" + self.options.cgroup_root.strip("/")
        if config.cgroup_parent:
            return f"{root}/{config.cgroup_parent.strip('/')}"
        qos = _QOS_DIRS.get(config.qos_class, "besteffort")
        return f"{root}/{qos}/pod{config.uid}" if qos else f"{root}/pod{config.uid}"

    @property
    def cgroup_root(self) -> str:
        return "/" + self.options.cgroup_root.strip("/")

    async def save_sandbox(self, rec: SandboxRecord) -> None:
        await state.save(self.layout.sandbox_dir(rec.id) / "sandbox.json", rec)

    async def save_container(self, rec: ContainerRecord) -> None:
        await state.save(self.layout.container_dir(rec.id) / "container.json", rec)

    # --- exits -----------------------------------------------------------------------------
    def read_exit(self, cid: str) -> tuple[int, int] | None:
        """(exit code, finish time ns) from conmon's exit file, or None while it runs."""
        path = self.layout.exit_file(cid)
        try:
            text = path.read_text().strip()
            mtime = path.stat().st_mtime_ns
        except OSError:
            return None
        try:
            return int(text), mtime
        except ValueError:
            return None  # being written

    def monitor_alive(self, conmon_pid: int, cid: str) -> bool:
        return process_alive(conmon_pid, cid.encode())

    async def wait_monitor_gone(self, conmon_pid: int, cid: str, timeout: float = 2.0) -> None:
        """conmon exits just after writing the exit file; removal waits for it to be gone."""
        deadline = time.monotonic() + timeout
        while await asyncio.to_thread(self.monitor_alive, conmon_pid, cid):
            if time.monotonic() > deadline:
                log.warning("conmon %d of %s still running", conmon_pid, cid)
                return
            await asyncio.sleep(0.01)

    async def wait_exit_file(self, cid: str, timeout: float | None) -> bool:
        """Poll for conmon's exit file (5 ms doubling to 50 ms); True once it exists."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.005
        while True:
            if await asyncio.to_thread(self.layout.exit_file(cid).exists):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay if deadline is None else min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.05)


def container_name_key(name: str, attempt: int, sandbox: PodSandboxConfig) -> str:
    return f"{name}_{sandbox.name}_{sandbox.namespace}_{sandbox.uid}_{attempt}"


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


async def remove_cgroup(ctx: RuntimeContext, path: str, *, up_to: str) -> None:
    """rmdir in every hierarchy, retrying while the last processes leave (up to ~2 s)."""
    for attempt in range(40):
        busy = await asyncio.to_thread(ctx.cgroups.remove, path, up_to=up_to)
        if not busy:
            return
        await asyncio.sleep(0.05)
    log.warning("cgroup %s still busy: %s", path, busy)


def write_bundle(bundle: Path, spec: dict) -> None:
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "config.json").write_text(json.dumps(spec, indent=1))
