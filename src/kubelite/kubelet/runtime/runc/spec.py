"""OCI runtime specs (`config.json`) for the pause container and app containers. Pure.

The checklist is the data-plane contract §1.2 (containerd's CRI defaults): mounts, the 14 default
capabilities, masked and read-only paths, namespaces joined by path from the pause process,
absolute cgroup paths, and this machine's limits (oomScoreAdj never below the runtime's own).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument
from ..interface import (
    ContainerConfig,
    Device,
    LinuxContainerResources,
    MountPropagation,
    PodSandboxConfig,
    SecurityContext,
)
from ..resolve import DEFAULT_PATH, User

OCI_VERSION = "1.0.2"

ALL_CAPABILITIES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
]  # index = capability number

DEFAULT_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

DEFAULT_MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
    "/sys/devices/virtual/powercap", "/proc/scsi",
]
DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

# containerd's defaults for pods with their own network namespace
DEFAULT_SYSCTLS = {"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}

_PROPAGATION = {
    MountPropagation.PRIVATE: "rprivate",
    MountPropagation.HOST_TO_CONTAINER: "rslave",
    MountPropagation.BIDIRECTIONAL: "rshared",
}


def capabilities_from_mask(mask: int) -> set[str]:
    return {"CAP_" + name for i, name in enumerate(ALL_CAPABILITIES) if mask >> i & 1}


def _cap(name: str) -> str:
    name = name.upper()
    return name if name.startswith("CAP_") else "CAP_" + name


def capabilities_for(security: SecurityContext, available: set[str]) -> list[str]:
    """containerd's order: ALL in add/drop first, then single adds, then single drops; never
    more than the runtime itself holds (runc cannot grant what it lacks)."""
    if security.privileged:
        return sorted(available)
    adds = {_cap(c) for c in security.capabilities_add}
    drops = {_cap(c) for c in security.capabilities_drop}
    caps = set(DEFAULT_CAPABILITIES)
    if "CAP_ALL" in adds:
        caps = set(available)
    if "CAP_ALL" in drops:
        caps = set()
    caps |= adds - {"CAP_ALL"}
    caps -= drops - {"CAP_ALL"}
    return sorted(caps & available)


def clamp_oom_score_adj(value: int, floor: int) -> int:
    """No CAP_SYS_RESOURCE here: a value below the runtime's own fails `runc create` (M2)."""
    return max(floor, min(1000, value))


def linux_resources(r: LinuxContainerResources, *, has_memsw: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"devices": [{"allow": False, "access": "rwm"}]}
    cpu: dict[str, Any] = {}
    if r.cpu_shares:
        cpu["shares"] = r.cpu_shares
    if r.cpu_quota:
        cpu["quota"] = r.cpu_quota
    if r.cpu_period:
        cpu["period"] = r.cpu_period
    if r.cpuset_cpus:
        cpu["cpus"] = r.cpuset_cpus
    if r.cpuset_mems:
        cpu["mems"] = r.cpuset_mems
    if cpu:
        out["cpu"] = cpu
    if r.memory_limit_in_bytes:
        out["memory"] = {"limit": r.memory_limit_in_bytes}
        if has_memsw:
            out["memory"]["swap"] = r.memory_limit_in_bytes
    if r.pids_limit:
        out["pids"] = {"limit": r.pids_limit}
    return out


def update_resources(r: LinuxContainerResources, *, has_memsw: bool) -> dict[str, Any]:
    """The `runc update --resources` document (no devices)."""
    out = linux_resources(r, has_memsw=has_memsw)
    out.pop("devices")
    return out


def base_mounts(*, shm_source: str, shm_readonly: bool, privileged: bool = False) -> list[dict[str, Any]]:
    ro = [] if privileged else ["ro"]
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", *ro]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", *ro]},
    ]
    if shm_source:
        mounts.append({"destination": "/dev/shm", "type": "bind", "source": shm_source,
                       "options": ["rbind", "ro" if shm_readonly else "rw"]})
    else:
        mounts.append({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                       "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]})
    return mounts


def _depth(path: str) -> int:
    return len([p for p in os.path.normpath(path).split("/") if p])


def sort_mounts(mounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parents before children (containerd orders by path components); stable otherwise."""
    return sorted(mounts, key=lambda m: _depth(m["destination"]))


def device_entries(devices: list[Device]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(linux.devices, resources.devices allow rules) for host devices; stats the host paths."""
    nodes, rules = [], []
    for d in devices:
        try:
            st = os.stat(d.host_path)
        except OSError as e:
            raise InvalidArgument(f"device {d.host_path}: {e.strerror}") from None
        if stat.S_ISCHR(st.st_mode):
            kind = "c"
        elif stat.S_ISBLK(st.st_mode):
            kind = "b"
        else:
            raise InvalidArgument(f"{d.host_path} is not a device node")
        major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
        nodes.append({"path": d.container_path, "type": kind, "major": major, "minor": minor,
                      "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid})
        rules.append({"allow": True, "type": kind, "major": major, "minor": minor, "access": d.permissions or "rwm"})
    return nodes, rules


@dataclass
class Host:
    """What the runtime knows about the machine and itself."""

    capabilities: set[str]
    oom_score_adj_floor: int = 0
    has_memsw: bool = True
    node_netns: str = ""  # hostNetwork pods join this netns ("" = the runtime's own)


@dataclass
class PodPaths:
    """Per-sandbox host files the containers bind-mount."""

    hostname: str = ""
    hosts: str = ""
    resolv_conf: str = ""
    shm: str = ""  # host dir of the pod's /dev/shm tmpfs ("" = a private tmpfs per container)


def _namespaces(entries: list[tuple[str, str | None]]) -> list[dict[str, str]]:
    return [{"type": t, **({"path": p} if p else {})} for t, p in entries]


def _annotations(kind: str, sandbox_id: str, sandbox: PodSandboxConfig, name: str = "") -> dict[str, str]:
    out = {
        "io.kubernetes.cri.container-type": kind,
        "io.kubernetes.cri.sandbox-id": sandbox_id,
        "io.kubernetes.cri.sandbox-name": sandbox.name,
        "io.kubernetes.cri.sandbox-namespace": sandbox.namespace,
        "io.kubernetes.cri.sandbox-uid": sandbox.uid,
    }
    if name:
        out["io.kubernetes.cri.container-name"] = name
    return out


def sandbox_sysctls(config: PodSandboxConfig) -> dict[str, str]:
    """Pod sysctls, refusing namespaced ones the pod shares with the host."""
    for key in config.sysctls:
        if config.host_network and key.startswith("net."):
            raise InvalidArgument(f"sysctl {key} is not allowed with hostNetwork")
        if config.host_ipc and (key.startswith(("kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue."))):
            raise InvalidArgument(f"sysctl {key} is not allowed with hostIPC")
    base = {} if config.host_network else dict(DEFAULT_SYSCTLS)
    return {**base, **config.sysctls}


def sandbox_spec(
    *,
    sandbox_id: str,
    config: PodSandboxConfig,
    rootfs: str,
    netns: str,
    cgroups_path: str,
    host: Host,
    paths: PodPaths,
) -> dict[str, Any]:
    """The pause container: `/pause -P` (catatonit) in a read-only root, owning the pod's
    ipc/uts/pid namespaces and joining the pinned netns."""
    if config.host_network:
        net = [("network", host.node_netns)] if host.node_netns else []
    else:
        net = [("network", netns or None)]
    namespaces = [
        *([] if config.host_pid else [("pid", None)]),
        *([] if config.host_ipc else [("ipc", None)]),
        *([] if config.host_network else [("uts", None)]),
        ("mount", None),
        *net,
    ]
    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": ["/pause", "-P"],
            "env": [f"PATH={DEFAULT_PATH}"],
            "cwd": "/",
            "capabilities": {k: list(DEFAULT_CAPABILITIES) for k in ("bounding", "effective", "permitted")},
            "noNewPrivileges": True,
            "oomScoreAdj": clamp_oom_score_adj(-998, host.oom_score_adj_floor),
        },
        "root": {"path": rootfs, "readonly": True},
        "mounts": base_mounts(shm_source=paths.shm, shm_readonly=True),
        "annotations": _annotations("sandbox", sandbox_id, config),
        "linux": {
            "namespaces": _namespaces(namespaces),
            "cgroupsPath": cgroups_path,
            "resources": {"devices": [{"allow": False, "access": "rwm"}], "cpu": {"shares": 2}},
            "sysctl": sandbox_sysctls(config),
            "maskedPaths": list(DEFAULT_MASKED_PATHS),
            "readonlyPaths": list(DEFAULT_READONLY_PATHS),
        },
    }
    if not config.host_network:
        spec["hostname"] = config.hostname or config.name
    return spec


@dataclass
class ProcessInputs:
    """The resolved process of an app container (see `resolve`)."""

    args: list[str]
    env: list[str]
    cwd: str
    user: User
    seccomp: dict[str, Any] | None = None  # OCI form, already filtered for the capabilities
    devices: tuple[list[dict[str, Any]], list[dict[str, Any]]] = field(default_factory=lambda: ([], []))
    termination_log: str = ""  # host file bound at config.termination_message_path


def container_spec(
    *,
    sandbox_id: str,
    config: ContainerConfig,
    sandbox: PodSandboxConfig,
    rootfs: str,
    pause_pid: int,
    cgroups_path: str,
    host: Host,
    paths: PodPaths,
    process: ProcessInputs,
) -> dict[str, Any]:
    sec = config.security
    caps = capabilities_for(sec, host.capabilities)
    ns = f"/proc/{pause_pid}/ns"
    if sandbox.host_network:
        net = [("network", host.node_netns)] if host.node_netns else []
    else:
        net = [("network", f"{ns}/net")]
    if sandbox.host_pid:
        pid: list[tuple[str, str | None]] = []
    elif sandbox.share_process_namespace:
        pid = [("pid", f"{ns}/pid")]
    else:
        pid = [("pid", None)]
    namespaces = [
        *pid,
        *([] if sandbox.host_ipc else [("ipc", f"{ns}/ipc")]),
        *([] if sandbox.host_network else [("uts", f"{ns}/uts")]),
        ("mount", None),
        *net,
    ]

    user_mounts = []
    propagations = set()
    for m in config.mounts:
        prop = _PROPAGATION[MountPropagation(m.propagation)]
        propagations.add(prop)
        user_mounts.append({"destination": m.container_path, "type": "bind", "source": m.host_path,
                            "options": ["rbind", prop, "ro" if m.readonly else "rw"]})
    taken = {m["destination"] for m in user_mounts}
    file_mode = "ro" if sec.readonly_rootfs else "rw"
    pod_files = [
        ("/etc/hostname", paths.hostname),
        ("/etc/hosts", paths.hosts),
        ("/etc/resolv.conf", paths.resolv_conf),
    ]
    extra = [
        {"destination": dst, "type": "bind", "source": src, "options": ["rbind", "rprivate", file_mode]}
        for dst, src in pod_files
        if src and dst not in taken
    ]
    if process.termination_log and config.termination_message_path not in taken:
        extra.append({"destination": config.termination_message_path, "type": "bind",
                      "source": process.termination_log, "options": ["rbind", "rprivate", "rw"]})
    mounts = base_mounts(shm_source=paths.shm, shm_readonly=False, privileged=sec.privileged)
    mounts = [m for m in mounts if m["destination"] not in taken] + extra + user_mounts

    resources = linux_resources(config.resources, has_memsw=host.has_memsw)
    nodes, rules = process.devices
    if sec.privileged:
        resources["devices"] = [{"allow": True, "access": "rwm"}]
    else:
        resources["devices"] += rules

    proc: dict[str, Any] = {
        "terminal": bool(config.tty),
        "user": {"uid": process.user.uid, "gid": process.user.gid,
                 **({"additionalGids": process.user.additional_gids} if process.user.additional_gids else {})},
        "args": list(process.args),
        "env": list(process.env),
        "cwd": process.cwd,
        "capabilities": {k: list(caps) for k in ("bounding", "effective", "permitted")},
        "noNewPrivileges": bool(sec.no_new_privs),
        "oomScoreAdj": clamp_oom_score_adj(config.resources.oom_score_adj, host.oom_score_adj_floor),
    }
    linux: dict[str, Any] = {
        "namespaces": _namespaces(namespaces),
        "cgroupsPath": cgroups_path,
        "resources": resources,
        "devices": nodes,
    }
    if "rshared" in propagations:
        linux["rootfsPropagation"] = "rshared"
    elif "rslave" in propagations:
        linux["rootfsPropagation"] = "rslave"
    if not sec.privileged:
        linux["maskedPaths"] = list(DEFAULT_MASKED_PATHS if sec.masked_paths is None else sec.masked_paths)
        linux["readonlyPaths"] = list(DEFAULT_READONLY_PATHS if sec.readonly_paths is None else sec.readonly_paths)
        if process.seccomp:
            linux["seccomp"] = process.seccomp
    return {
        "ociVersion": OCI_VERSION,
        "process": proc,
        "root": {"path": rootfs, "readonly": bool(sec.readonly_rootfs)},
        "mounts": sort_mounts(mounts),
        "annotations": {**config.annotations, **_annotations("container", sandbox_id, sandbox, config.name)},
        "linux": linux,
    }
