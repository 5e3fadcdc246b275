"""A build step's root filesystem (an overlay over the stage's layers) and RUN with runc.

`Rootfs` mounts overlayfs: the unpacked layers as `lowerdir` (named relative to the snapshot dir
to keep the option string short), a fresh `upperdir` that collects the step's changes, and a
`merged` view to work in. `run_container` runs one command in it with `runc run` under a
dedicated `--root` state dir: own PID/IPC/UTS/mount namespaces and an empty network namespace
(no network; `lo` is brought up by a hook), Docker's default capabilities, RLIMIT_NOFILE 1024, no oomScoreAdj, an absolute
one-level cgroup `/kubelite-build-<id>` that runc removes when the container ends. Mount points
runc had to create (`/proc`, `/dev`, `/sys` missing in the image) are reported so the layer leaves
them out. Output is streamed line by line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from .errors import BuildError
from .users import ExecUser

log = logging.getLogger(__name__)

RUNC = "runc"
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
                "CAP_KILL", "CAP_AUDIT_WRITE"]
MOUNT_POINTS = ("proc", "dev", "sys")
MAX_LOWERDIR_OPTION = 4000


async def _exec(*args: str, cwd: str | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*args, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace").strip()


class Rootfs:
    """An overlay mount: `lowers` (lowest first, all inside `snapshot_root`) + a new upper dir."""

    def __init__(self, workdir: Path, snapshot_root: Path, lowers: list[Path]) -> None:
        self.dir = workdir
        self.snapshot_root = snapshot_root
        self.lowers = lowers
        self.upper = workdir / "upper"
        self.work = workdir / "work"
        self.merged = workdir / "merged"
        self.mounted = False

    async def mount(self) -> None:
        for d in (self.upper, self.work, self.merged):
            d.mkdir(parents=True, exist_ok=True)
        lowers = list(self.lowers)
        if not lowers:
            empty = self.snapshot_root / ".empty"
            empty.mkdir(parents=True, exist_ok=True)
            lowers = [empty]
        names = []
        for p in reversed(lowers):  # overlayfs wants the top layer first
            try:
                names.append(str(p.relative_to(self.snapshot_root)))
            except ValueError:
                names.append(str(p))
        lower = ":".join(names)
        if len(lower) > MAX_LOWERDIR_OPTION:
            raise BuildError(f"too many layers ({len(lowers)}) for one overlay mount")
        opts = f"lowerdir={lower},upperdir={self.upper},workdir={self.work}"
        rc, out = await _exec("mount", "-t", "overlay", "overlay", "-o", opts, str(self.merged),
                              cwd=str(self.snapshot_root))
        if rc != 0:
            raise BuildError(f"mounting the build root failed: {out}")
        self.mounted = True

    async def unmount(self) -> None:
        if not self.mounted:
            return
        rc, out = await _exec("umount", str(self.merged))
        if rc != 0:
            rc, out = await _exec("umount", "-l", str(self.merged))
            if rc != 0:
                raise BuildError(f"unmounting the build root failed: {out}")
        self.mounted = False

    async def cleanup(self) -> None:
        try:
            await self.unmount()
        finally:
            await asyncio.to_thread(shutil.rmtree, self.dir, True)

    async def __aenter__(self) -> Rootfs:
        await self.mount()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.unmount()


# Bring `lo` up in the step's empty network namespace (as Docker's --network=none does): a
# createRuntime hook reads the container state (one JSON line with "pid") from stdin.
_LO_UP = 'read -r s; p=$(echo "$s" | sed -n "s/.*\\"pid\\": *\\([0-9]*\\).*/\\1/p"); exec nsenter -t "$p" -n ip link set lo up'


def _hooks() -> dict:
    sh, nsenter, ip, sed = shutil.which("sh"), shutil.which("nsenter"), shutil.which("ip"), shutil.which("sed")
    if not (sh and nsenter and ip and sed):
        return {}
    env = [f"PATH={os.path.dirname(nsenter)}:{os.path.dirname(ip)}:/usr/sbin:/usr/bin:/sbin:/bin"]
    return {"createRuntime": [{"path": sh, "args": ["sh", "-c", _LO_UP], "env": env, "timeout": 10}]}


def oci_spec(rootfs: str, args: list[str], env: list[str], cwd: str, user: ExecUser, container_id: str,
             hostname: str = "buildkitsandbox") -> dict:
    caps = list(DEFAULT_CAPS)
    return {
        "hooks": _hooks(),
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids},
            "args": args,
            "env": env,
            "cwd": cwd or "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": False,
        },
        "root": {"path": rootfs, "readonly": False},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "cgroupsPath": f"/kubelite-build-{container_id}",
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                            "/sys/firmware", "/sys/devices/virtual/powercap"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


async def run_container(rootfs: Rootfs, state_dir: Path, args: list[str], env: list[str], cwd: str,
                        user: ExecUser, output: Callable[[str], None]) -> tuple[int, set[str]]:
    """Run `args` in the mounted rootfs; returns (exit code, mount points runc created in it)."""
    merged = str(rootfs.merged)
    created = {m for m in MOUNT_POINTS if not os.path.lexists(os.path.join(merged, m))}
    cid = uuid.uuid4().hex[:16]
    bundle = rootfs.dir / "bundle"
    bundle.mkdir(parents=True, exist_ok=True)
    spec = oci_spec(merged, args, env, cwd, user, cid)
    (bundle / "config.json").write_text(json.dumps(spec))
    state_dir.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        RUNC, "--root", str(state_dir), "run", "--bundle", str(bundle), cid,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    stdout = proc.stdout
    try:
        while stdout is not None:
            line = await stdout.readline()
            if not line:
                break
            output(line.decode(errors="replace").rstrip("\n"))
        code = await proc.wait()
    except BaseException:
        await _exec(RUNC, "--root", str(state_dir), "kill", cid, "KILL")
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except (asyncio.TimeoutError, ProcessLookupError):
            proc.kill()
        raise
    finally:
        await _exec(RUNC, "--root", str(state_dir), "delete", "-f", cid)
    return code, created
