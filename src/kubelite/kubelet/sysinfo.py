"""What the node is made of (Kubernetes' cadvisor machine info, the parts the Node shows):
CPUs, memory, disk, kernel, OS image, machine and boot IDs. Blocking reads of /proc and /sys."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def meminfo() -> dict[str, int]:
    """/proc/meminfo in bytes."""
    out = {}
    for line in _read("/proc/meminfo").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    return out


def os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip().strip('"')
    return "Linux"


def architecture() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


@dataclass
class MachineInfo:
    cpus: int
    memory_bytes: int
    disk_bytes: int
    disk_available_bytes: int
    kernel: str
    os_image: str
    machine_id: str
    system_uuid: str
    boot_id: str
    architecture: str
    pid_max: int


def machine_info(data_dir: str | Path = "/") -> MachineInfo:
    try:
        cpus = len(os.sched_getaffinity(0))
    except OSError:
        cpus = os.cpu_count() or 1
    path = Path(data_dir)
    while not path.exists() and path != path.parent:
        path = path.parent
    st = os.statvfs(path)
    machine_id = _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id")
    return MachineInfo(
        cpus=cpus,
        memory_bytes=meminfo().get("MemTotal", 0),
        disk_bytes=st.f_blocks * st.f_frsize,
        disk_available_bytes=st.f_bavail * st.f_frsize,
        kernel=os.uname().release,
        os_image=os_image(),
        machine_id=machine_id,
        system_uuid=_read("/sys/class/dmi/id/product_uuid") or machine_id,
        boot_id=_read("/proc/sys/kernel/random/boot_id"),
        architecture=architecture(),
        pid_max=int(_read("/proc/sys/kernel/pid_max") or 32768),
    )


def disk_available(data_dir: str | Path) -> tuple[int, int]:
    path = Path(data_dir)
    while not path.exists() and path != path.parent:
        path = path.parent
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


def running_pids() -> int:
    return sum(1 for p in os.listdir("/proc") if p.isdigit())
