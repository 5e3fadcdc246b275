"""cgroup v1 (hybrid) directories: pod cgroups created and removed in every hierarchy, limits,
and the counters behind stats and OOM detection.

runc creates a container's leaf cgroup in every hierarchy but never removes the parents it made
(contract M4), so the runtime creates the pod level itself and removes it, and any now-empty
parent up to its cgroup root, on teardown. All methods block (small cgroupfs I/O): call them
through `asyncio.to_thread`.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from ..interface import LinuxContainerResources

log = logging.getLogger(__name__)


_CONTROLLERS = {
    "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "misc",
    "net_cls", "net_prio", "perf_event", "pids", "rdma",
}


def _mounts(mountinfo: str) -> dict[str, Path]:
    """Hierarchy name (controllers joined by `,`, `name=systemd`, or `unified`) -> mount point."""
    out: dict[str, Path] = {}
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3 or fields[3] != "/":
            continue
        fstype, superopts = rfields[0], rfields[2].split(",")
        if fstype == "cgroup2":
            out.setdefault("unified", Path(fields[4]))
        elif fstype == "cgroup":
            names = sorted(o for o in superopts if o in _CONTROLLERS or o.startswith("name="))
            if names:
                out.setdefault(",".join(names), Path(fields[4]))
    return out


class Cgroups:
    def __init__(self, mountinfo_path: str = "/proc/self/mountinfo"):
        with open(mountinfo_path) as f:
            self.hierarchies = _mounts(f.read())
        self._by_controller: dict[str, Path] = {}
        for key, mnt in self.hierarchies.items():
            for name in key.split(","):
                self._by_controller.setdefault(name, mnt)

    # --- paths -----------------------------------------------------------------------------
    def dir(self, controller: str, path: str) -> Path | None:
        mnt = self._by_controller.get(controller)
        return mnt / path.strip("/") if mnt else None

    def dirs(self, path: str) -> list[Path]:
        return [mnt / path.strip("/") for mnt in self.hierarchies.values()]

    def exists_anywhere(self, path: str) -> list[Path]:
        return [d for d in self.dirs(path) if d.exists()]

    @property
    def has_memsw(self) -> bool:
        mem = self._by_controller.get("memory")
        return bool(mem and (mem / "memory.memsw.limit_in_bytes").exists())

    # --- lifecycle -------------------------------------------------------------------------
    def create(self, path: str) -> None:
        """mkdir -p `path` in every hierarchy; new cpuset levels inherit cpus/mems from above."""
        parts = [p for p in path.strip("/").split("/") if p]
        for key, mnt in self.hierarchies.items():
            cur = mnt
            for part in parts:
                parent, cur = cur, cur / part
                if cur.exists():
                    continue
                try:
                    cur.mkdir()
                except FileExistsError:  # another sandbox made it at the same moment
                    continue
                if "cpuset" in key.split(","):
                    for name in ("cpuset.cpus", "cpuset.mems"):
                        src, dst = parent / name, cur / name
                        if src.exists() and not dst.read_text().strip():
                            dst.write_text(src.read_text())

    def remove(self, path: str, *, up_to: str = "") -> list[Path]:
        """rmdir `path` in every hierarchy, then each parent down to `up_to` (inclusive) that is
        now empty. Returns the directories of `path` itself that could not be removed (busy)."""
        busy: list[Path] = []
        parts = [p for p in path.strip("/").split("/") if p]
        stop = len([p for p in up_to.strip("/").split("/") if p]) if up_to else len(parts)
        for mnt in self.hierarchies.values():
            for depth in range(len(parts), max(stop, 1) - 1, -1):
                d = mnt.joinpath(*parts[:depth])
                try:
                    d.rmdir()
                except FileNotFoundError:
                    continue
                except OSError as e:
                    if depth == len(parts) and e.errno == errno.EBUSY:
                        busy.append(d)
                    break  # parents in use by others (ENOTEMPTY) or busy: leave them
        return busy

    def set_resources(self, path: str, r: LinuxContainerResources) -> None:
        """Pod-level limits (containers get theirs from runc)."""

        def write(controller: str, name: str, value: object) -> None:
            d = self.dir(controller, path)
            if d is not None:
                (d / name).write_text(str(value))

        if r.cpu_shares:
            write("cpu", "cpu.shares", r.cpu_shares)
        if r.cpu_period:
            write("cpu", "cpu.cfs_period_us", r.cpu_period)
        if r.cpu_quota:
            write("cpu", "cpu.cfs_quota_us", r.cpu_quota)
        if r.memory_limit_in_bytes:
            write("memory", "memory.limit_in_bytes", r.memory_limit_in_bytes)
            if self.has_memsw:
                write("memory", "memory.memsw.limit_in_bytes", r.memory_limit_in_bytes)
        if r.pids_limit:
            write("pids", "pids.max", r.pids_limit)

    # --- counters --------------------------------------------------------------------------
    def _read(self, controller: str, path: str, name: str) -> str:
        d = self.dir(controller, path)
        if d is None:
            return ""
        try:
            return (d / name).read_text()
        except OSError:
            return ""

    def _stat(self, controller: str, path: str, name: str) -> dict[str, int]:
        out = {}
        for line in self._read(controller, path, name).splitlines():
            k, _, v = line.partition(" ")
            if v.strip().lstrip("-").isdigit():
                out[k] = int(v)
        return out

    def cpu_usage_ns(self, path: str) -> int:
        v = self._read("cpuacct", path, "cpuacct.usage").strip()
        return int(v) if v.isdigit() else 0

    def memory(self, path: str) -> tuple[int, int, int]:
        """(usage, working set, rss): working set = usage - total_inactive_file, as cAdvisor."""
        v = self._read("memory", path, "memory.usage_in_bytes").strip()
        usage = int(v) if v.isdigit() else 0
        stat = self._stat("memory", path, "memory.stat")
        inactive = stat.get("total_inactive_file", stat.get("inactive_file", 0))
        return usage, max(0, usage - inactive), stat.get("total_rss", stat.get("rss", 0))

    def pids_current(self, path: str) -> int:
        v = self._read("pids", path, "pids.current").strip()
        return int(v) if v.isdigit() else 0

    def oom_kill_count(self, path: str) -> int:
        """The memcg's OOM-kill counter; read it after the container exited (contract §1.5)."""
        return self._stat("memory", path, "memory.oom_control").get("oom_kill", 0)

    def procs(self, path: str) -> list[int]:
        d = self.dir("pids", path) or self.dir("memory", path)
        try:
            return [int(x) for x in (d / "cgroup.procs").read_text().split()] if d else []
        except OSError:
            return []


def current_oom_score_adj() -> int:
    try:
        with open(f"/proc/{os.getpid()}/oom_score_adj") as f:
            return int(f.read().strip() or 0)
    except OSError:
        return 0


def kill_and_remove_tree(top: Path) -> None:
    """Kill every process of a cgroup and its descendants, then remove them, deepest first (a
    teardown: for a node's whole cgroup when its agent is gone). Blocking."""
    import contextlib
    import signal
    import time

    for d in sorted([p for p in top.rglob("*") if p.is_dir()], key=lambda p: -len(p.parts)) + [top]:
        with contextlib.suppress(OSError):
            for pid in (d / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        for _ in range(50):   # the killed processes leave the cgroup a moment later
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)
