"""What the runtime keeps on disk under its root, so a restarted agent finds everything again.

Layout (`<root>` is per node agent, e.g. `/run/kubelite/<node>`)::

    runc/                       runc --root (runc's own state)
    sandboxes/<id>/sandbox.json SandboxRecord; hostname, hosts, resolv.conf; shm/ (tmpfs)
                  /bundle/      the pause container's config.json (conmon's ctl fifo too)
    containers/<id>/container.json  ContainerRecord
                   /bundle/     config.json, rootfs/ (overlay), conmon's ctl/winsz fifos
                   /upper/ /work/   overlay upper and work dirs
    exits/<id>                  conmon exit files: the exit code, written when the process ends
    s/<id> -> bundle            conmon attach socket links (short paths)
    pause/rootfs/pause          catatonit, shared read-only by every pause container
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ..codec import from_dict, to_dict
from ..interface import ContainerConfig, PodSandboxConfig

T = TypeVar("T")


@dataclass
class SandboxRecord:
    id: str
    config: PodSandboxConfig
    created_at: int
    state: str = "creating"  # creating | ready | notready
    cgroup_parent: str = ""  # absolute pod cgroup path
    netns: str = ""
    ip: str = ""
    ips: list[str] = field(default_factory=list)
    network_setup: bool = False  # setup_pod was called: teardown_pod is owed
    shm_mounted: bool = False
    pause_pid: int = 0
    conmon_pid: int = 0


@dataclass
class ContainerRecord:
    id: str
    sandbox_id: str
    config: ContainerConfig
    created_at: int
    state: str = "creating"  # creating | created | running | exited
    log_path: str = ""
    cgroups_path: str = ""
    shared_pid: bool = False  # the PID namespace belongs to the pause (kill --all on stop)
    rootfs_mounted: bool = False
    termination_log: str = ""
    pid: int = 0
    conmon_pid: int = 0
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""


class Layout:
    def __init__(self, root: Path):
        self.root = root
        self.runc_root = root / "runc"
        self.sandboxes = root / "sandboxes"
        self.containers = root / "containers"
        self.exits = root / "exits"
        self.sockets = root / "s"
        self.pause_rootfs = root / "pause" / "rootfs"

    def make(self) -> None:
        for d in (self.runc_root, self.sandboxes, self.containers, self.exits, self.sockets):
            d.mkdir(parents=True, exist_ok=True)

    def sandbox_dir(self, sandbox_id: str) -> Path:
        return self.sandboxes / sandbox_id

    def container_dir(self, container_id: str) -> Path:
        return self.containers / container_id

    def bundle(self, kind_dir: Path) -> Path:
        return kind_dir / "bundle"

    def exit_file(self, cid: str) -> Path:
        return self.exits / cid


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


async def save(path: Path, record: object) -> None:
    data = json.dumps(to_dict(record), indent=1).encode()
    await asyncio.to_thread(_write_atomic, path, data)


def _load_all(parent: Path, name: str, cls: type[T]) -> list[T]:
    out = []
    if not parent.is_dir():
        return out
    for d in sorted(parent.iterdir()):
        try:
            out.append(from_dict(cls, json.loads((d / name).read_text())))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # half-written or foreign directory: ignored
    return out


async def load_all(parent: Path, name: str, cls: type[T]) -> list[T]:
    return await asyncio.to_thread(_load_all, parent, name, cls)
