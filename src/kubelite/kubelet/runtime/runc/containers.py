"""App containers: overlay rootfs + bundle -> conmon (`runc create`) -> `runc start`; exits are
learned from conmon's exit files, so they are found even when they happened while no agent ran.

An exit is "finalized" once: exit code from the file, OOMKilled from the memory cgroup's
`oom_kill` counter (read before `runc delete` removes the cgroup), the termination message from
its file; then the record is saved and runc forgets the container.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path

from ..errors import (
    AlreadyExists,
    CommandFailed,
    DeadlineExceeded,
    FailedPrecondition,
    NotFound,
    RuntimeServiceError,
    container_not_found,
    sandbox_not_found,
)
from ..interface import (
    Container,
    ContainerConfig,
    ContainerFilter,
    ContainerReason,
    ContainerState,
    ContainerStatus,
    LinuxContainerResources,
    PodSandboxConfig,
    Seccomp,
)
from ..resolve import resolve_args, resolve_env, resolve_stop_signal, resolve_user, resolve_working_dir
from . import mounts, seccomp
from .conmon import REOPEN_LOGS, send_ctl
from .context import RuntimeContext, container_name_key, remove_cgroup, remove_tree, unlink, write_bundle
from .spec import PodPaths, ProcessInputs, capabilities_for, container_spec, device_entries, update_resources
from .state import ContainerRecord

log = logging.getLogger(__name__)

MAX_TERMINATION_MESSAGE = 4096
UNKNOWN_EXIT_CODE = 255

_STATES = {
    "creating": ContainerState.UNKNOWN,
    "created": ContainerState.CREATED,
    "running": ContainerState.RUNNING,
    "exited": ContainerState.EXITED,
}


def exit_reason(exit_code: int, oom_killed: bool) -> str:
    if exit_code == 0:
        return ContainerReason.COMPLETED
    return ContainerReason.OOM_KILLED if oom_killed else ContainerReason.ERROR


class ContainerManager:
    def __init__(self, ctx: RuntimeContext):
        self.ctx = ctx

    def get(self, container_id: str) -> ContainerRecord:
        rec = self.ctx.containers.get(container_id)
        if rec is None:
            raise container_not_found(container_id)
        return rec

    def dir(self, rec: ContainerRecord) -> Path:
        return self.ctx.layout.container_dir(rec.id)

    def bundle(self, rec: ContainerRecord) -> Path:
        return self.ctx.layout.bundle(self.dir(rec))

    # --- create ----------------------------------------------------------------------------
    async def create(self, sandbox_id: str, config: ContainerConfig, sandbox_config: PodSandboxConfig) -> str:
        ctx = self.ctx
        sb = ctx.sandboxes.get(sandbox_id)
        if sb is None:
            raise sandbox_not_found(sandbox_id)
        if sb.state != "ready" or ctx.read_exit(sandbox_id) is not None:
            raise FailedPrecondition(f"pod sandbox {sandbox_id} is not ready")
        key = container_name_key(config.name, config.attempt, sb.config)
        if key in ctx.names:
            raise AlreadyExists(f'container name "{key}" is reserved for "{ctx.names[key]}"')
        cid = ctx.new_id()
        ctx.names[key] = cid
        log_path = config.log_path
        if sb.config.log_directory and log_path:
            log_path = str(Path(sb.config.log_directory) / log_path)
        rec = ContainerRecord(
            id=cid, sandbox_id=sandbox_id, config=config, created_at=time.time_ns(),
            log_path=log_path or str(ctx.layout.container_dir(cid) / "container.log"),
            cgroups_path=f"{sb.cgroup_parent}/{cid}",
            shared_pid=sb.config.share_process_namespace and not sb.config.host_pid,
        )
        ctx.containers[cid] = rec
        try:
            async with ctx.locks.hold(cid):
                await self._create(rec, sb)
        except BaseException:
            try:
                await asyncio.shield(self._discard(rec))
            except Exception:
                log.exception("container %s: cleanup after a failed create failed", cid)
            raise
        return cid

    async def _create(self, rec: ContainerRecord, sb) -> None:
        ctx, config = self.ctx, rec.config
        cdir = self.dir(rec)
        await asyncio.to_thread(cdir.mkdir, parents=True)
        await ctx.save_container(rec)
        rootfs = self.bundle(rec) / "rootfs"
        rec.rootfs_mounted = True
        await ctx.save_container(rec)
        await asyncio.to_thread(mounts.mount_overlay, config.image.lowerdirs, cdir / "upper", cdir / "work", rootfs)
        process = await asyncio.to_thread(self._process_inputs, rec, sb, rootfs)
        sdir = ctx.layout.sandbox_dir(sb.id)
        paths = PodPaths(
            hostname=str(sdir / "hostname"), hosts=str(sdir / "hosts"), resolv_conf=str(sdir / "resolv.conf"),
            shm="/dev/shm" if sb.config.host_ipc else str(sdir / "shm"),
        )
        spec = container_spec(
            sandbox_id=sb.id, config=config, sandbox=sb.config, rootfs=str(rootfs), pause_pid=sb.pause_pid,
            cgroups_path=rec.cgroups_path, host=ctx.host, paths=paths, process=process,
        )
        await asyncio.to_thread(write_bundle, self.bundle(rec), spec)
        await asyncio.to_thread(Path(rec.log_path).parent.mkdir, parents=True, exist_ok=True)
        pid, conmon_pid = await ctx.conmon.create(
            rec.id, self.bundle(rec), rec.log_path, tty=config.tty, stdin=config.stdin, stdin_once=config.stdin_once
        )
        rec.pid, rec.conmon_pid, rec.state = pid, conmon_pid, "created"
        await ctx.save_container(rec)

    def _process_inputs(self, rec: ContainerRecord, sb, rootfs: Path) -> ProcessInputs:
        """Resolve the process against the image config and the container's own files
        (blocking: reads /etc/passwd and /etc/group from the rootfs, stats devices)."""
        config, image = rec.config, rec.config.image.config
        hostname = (sb.config.hostname or sb.config.name) if not sb.config.host_network else ""
        user = resolve_user(config.security, str(image.get("User") or ""),
                            _read_text(rootfs / "etc/passwd"), _read_text(rootfs / "etc/group"))
        inputs = ProcessInputs(
            args=resolve_args(config.command, config.args, image),
            env=resolve_env(hostname, image, config.envs),
            cwd=resolve_working_dir(config.working_dir, image),
            user=user,
            seccomp=self._seccomp(config),
            devices=device_entries(config.devices),
        )
        if config.termination_message_path:
            path = self.dir(rec) / "termination-log"
            path.touch()
            inputs.termination_log = str(path)
            rec.termination_log = str(path)
        return inputs

    def _seccomp(self, config: ContainerConfig) -> dict | None:
        sec = config.security
        if sec.privileged or sec.seccomp == Seccomp.UNCONFINED:
            return None
        caps = set(capabilities_for(sec, self.ctx.host.capabilities))
        if sec.seccomp == Seccomp.LOCALHOST:
            profile = seccomp.load(sec.seccomp_localhost_ref)
            if profile is None:
                raise RuntimeServiceError(f"seccomp profile {sec.seccomp_localhost_ref!r} cannot be read")
            return seccomp.to_oci(profile, caps)
        if self.ctx.seccomp_profile is None:
            return None  # warned once when the profile failed to load
        return seccomp.to_oci(self.ctx.seccomp_profile, caps)

    # --- start / stop ----------------------------------------------------------------------
    async def start(self, container_id: str) -> None:
        rec = self.get(container_id)
        async with self.ctx.locks.hold(container_id):
            await self._refresh(rec)
            if rec.state != "created":
                raise FailedPrecondition(f"container {container_id} is not in created state ({rec.state})")
            started = time.time_ns()
            try:
                await self.ctx.runc.start(container_id)
            except (CommandFailed, NotFound) as e:
                rec.state, rec.exit_code, rec.finished_at = "exited", 128, time.time_ns()
                rec.reason, rec.message = ContainerReason.CONTAINER_CANNOT_RUN, e.message
                await self.ctx.save_container(rec)
                await self.ctx.runc.delete(container_id, force=True)
                raise
            rec.started_at, rec.state = started, "running"
            await self.ctx.save_container(rec)
            await self._refresh(rec)  # it may already be gone

    async def stop(self, container_id: str, timeout: float) -> None:
        rec = self.ctx.containers.get(container_id)
        if rec is None:
            return
        async with self.ctx.locks.hold(container_id):
            await self._refresh(rec)
            if rec.state not in ("created", "running"):
                return
            ctx = self.ctx
            if timeout > 0:
                await self._signal(rec, resolve_stop_signal(rec.config), all=False)
                if await ctx.wait_exit_file(rec.id, timeout):
                    await self._refresh(rec)
                    return
            await self._signal(rec, signal.SIGKILL, all=rec.shared_pid)
            if not await ctx.wait_exit_file(rec.id, 10.0):
                raise DeadlineExceeded(f"container {container_id} did not exit after SIGKILL")
            await self._refresh(rec)

    async def _signal(self, rec: ContainerRecord, sig: int, *, all: bool) -> None:
        try:
            await self.ctx.runc.kill(rec.id, sig, all=all)
        except (NotFound, CommandFailed) as e:
            if self.ctx.read_exit(rec.id) is None and self.ctx.monitor_alive(rec.conmon_pid, rec.id):
                log.warning("container %s: kill %d failed: %s", rec.id, sig, e)

    async def wait_exit(self, container_id: str) -> int:
        """Until the container has exited; its exit code."""
        rec = self.get(container_id)
        while rec.state in ("created", "running"):
            await self.ctx.wait_exit_file(rec.id, 1.0)
            await self.refresh(rec)
        return rec.exit_code

    # --- exits -----------------------------------------------------------------------------
    async def refresh(self, rec: ContainerRecord) -> None:
        if rec.state in ("created", "running") and await self._exited(rec):
            async with self.ctx.locks.hold(rec.id):
                await self._refresh(rec)

    async def _exited(self, rec: ContainerRecord) -> bool:
        ctx = self.ctx
        return await asyncio.to_thread(
            lambda: ctx.read_exit(rec.id) is not None or not ctx.monitor_alive(rec.conmon_pid, rec.id)
        )

    async def _refresh(self, rec: ContainerRecord) -> None:
        """Finalize an exit if there is one (caller holds the lock)."""
        if rec.state not in ("created", "running"):
            return
        ctx = self.ctx
        exit_info = await asyncio.to_thread(ctx.read_exit, rec.id)
        if exit_info is None:
            if await asyncio.to_thread(ctx.monitor_alive, rec.conmon_pid, rec.id):
                return
            exit_info = await asyncio.to_thread(ctx.read_exit, rec.id)  # it may just have written it
        if exit_info is None:
            code, finished, message = UNKNOWN_EXIT_CODE, time.time_ns(), "container monitor exited: exit status unknown"
        else:
            (code, finished), message = exit_info, ""
        oom = await asyncio.to_thread(ctx.cgroups.oom_kill_count, rec.cgroups_path)
        if rec.termination_log:
            message = await asyncio.to_thread(_read_text, Path(rec.termination_log), MAX_TERMINATION_MESSAGE) or message
        rec.state, rec.exit_code, rec.finished_at, rec.pid = "exited", code, finished, 0
        rec.reason = exit_reason(code, oom > 0)
        rec.message = message
        await ctx.save_container(rec)
        await ctx.runc.delete(rec.id, force=True)

    # --- remove ----------------------------------------------------------------------------
    async def remove(self, container_id: str) -> None:
        rec = self.ctx.containers.get(container_id)
        if rec is None:
            return
        await self.stop(container_id, 0)
        async with self.ctx.locks.hold(container_id):
            await self._discard(rec)
        self.ctx.locks.forget(container_id)

    async def _discard(self, rec: ContainerRecord) -> None:
        ctx = self.ctx
        await ctx.runc.delete(rec.id, force=True)
        await ctx.wait_monitor_gone(rec.conmon_pid, rec.id)
        await remove_cgroup(ctx, rec.cgroups_path, up_to=rec.cgroups_path)
        rootfs = self.bundle(rec) / "rootfs"
        await asyncio.to_thread(mounts.unmount, rootfs)
        if await asyncio.to_thread(mounts.is_mountpoint, rootfs):
            raise RuntimeServiceError(f"container {rec.id}: rootfs still mounted")
        await asyncio.to_thread(remove_tree, self.dir(rec))
        await asyncio.to_thread(unlink, ctx.layout.exit_file(rec.id))
        await asyncio.to_thread(unlink, ctx.layout.sockets / rec.id)
        ctx.containers.pop(rec.id, None)
        sb = ctx.sandboxes.get(rec.sandbox_id)
        if sb is not None:
            key = container_name_key(rec.config.name, rec.config.attempt, sb.config)
            if ctx.names.get(key) == rec.id:
                del ctx.names[key]
        else:
            for k, v in list(ctx.names.items()):
                if v == rec.id:
                    del ctx.names[k]

    # --- status ----------------------------------------------------------------------------
    def summary(self, rec: ContainerRecord) -> Container:
        c = rec.config
        return Container(
            id=rec.id, pod_sandbox_id=rec.sandbox_id, name=c.name, attempt=c.attempt, image=c.image.image,
            image_id=c.image.image_id, state=_STATES[rec.state], created_at=rec.created_at,
            labels=dict(c.labels), annotations=dict(c.annotations),
        )

    async def status(self, container_id: str) -> ContainerStatus:
        rec = self.get(container_id)
        await self.refresh(rec)
        return ContainerStatus(
            **vars(self.summary(rec)), started_at=rec.started_at, finished_at=rec.finished_at,
            exit_code=rec.exit_code, reason=rec.reason, message=rec.message, log_path=rec.log_path,
            pid=rec.pid if rec.state in ("created", "running") else 0, mounts=list(rec.config.mounts),
        )

    async def list(self, filter: ContainerFilter | None) -> list[Container]:
        f = filter or ContainerFilter()
        recs = [
            r for r in list(self.ctx.containers.values())
            if (not f.id or r.id.startswith(f.id))
            and (not f.pod_sandbox_id or r.sandbox_id.startswith(f.pod_sandbox_id))
        ]
        for r in recs:
            await self.refresh(r)
        items = [self.summary(r) for r in recs if r.id in self.ctx.containers]
        return [
            c for c in items
            if (f.state is None or c.state == f.state)
            and all(c.labels.get(k) == v for k, v in f.label_selector.items())
        ]

    # --- updates ---------------------------------------------------------------------------
    async def update_resources(self, container_id: str, resources: LinuxContainerResources) -> None:
        rec = self.get(container_id)
        async with self.ctx.locks.hold(container_id):
            await self._refresh(rec)
            if rec.state not in ("created", "running"):
                raise FailedPrecondition(f"container {container_id} is not running")
            await self.ctx.runc.update(container_id, update_resources(resources, has_memsw=self.ctx.host.has_memsw))
            rec.config.resources = resources
            await self.ctx.save_container(rec)

    async def reopen_log(self, container_id: str) -> None:
        rec = self.get(container_id)
        await self.refresh(rec)
        if rec.state != "running":
            raise FailedPrecondition(f"container {container_id} is not running")
        await asyncio.to_thread(send_ctl, self.bundle(rec), REOPEN_LOGS)
        path = Path(rec.log_path)
        for _ in range(200):  # conmon reopens asynchronously; wait for the new file
            if await asyncio.to_thread(path.exists):
                return
            await asyncio.sleep(0.01)
        raise DeadlineExceeded(f"container {container_id}: log file was not reopened")


def _read_text(path: Path, limit: int = 1 << 20) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode(errors="replace")
    except OSError:
        return ""
