"""Pod sandboxes (contract §1.6): pod cgroup -> pinned, wired netns (the network plugin) -> pod
files and shm -> the pause container. Teardown runs the same steps backwards, each one safe to
repeat, so a failed run, a stop and a remove after an agent restart all converge."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import time
from pathlib import Path

from ..errors import AlreadyExists, CommandFailed, NotFound, RuntimeServiceError, sandbox_not_found
from ..interface import (
    PodSandbox,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxState,
    PodSandboxStatus,
)
from ...network.interface import PodNetworkRequest
from . import mounts
from .command import run
from .context import RuntimeContext, remove_cgroup, remove_tree, sandbox_name_key, unlink, write_bundle
from .containers import ContainerManager
from .spec import PodPaths, sandbox_spec
from .state import SandboxRecord

log = logging.getLogger(__name__)

_HOSTS_HEADER = """# Kubernetes-managed hosts file.
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
fe00::0\tip6-mcastprefix
fe00::1\tip6-allnodes
fe00::2\tip6-allrouters
"""


def hosts_file(hostname: str, ip: str) -> str:
    return _HOSTS_HEADER + (f"{ip}\t{hostname}\n" if ip else "")


def resolv_conf(config: PodSandboxConfig) -> str | None:
    """The pod's resolv.conf, or None to copy the node's."""
    dns = config.dns_config
    if dns is None:
        return None
    lines = []
    if dns.searches:
        lines.append("search " + " ".join(dns.searches))
    lines += [f"nameserver {s}" for s in dns.servers]
    if dns.options:
        lines.append("options " + " ".join(dns.options))
    return "\n".join(lines) + "\n"


def network_request(rec: SandboxRecord) -> PodNetworkRequest:
    c = rec.config
    return PodNetworkRequest(sandbox_id=rec.id, name=c.name, namespace=c.namespace, uid=c.uid,
                             port_mappings=list(c.port_mappings))


class SandboxManager:
    def __init__(self, ctx: RuntimeContext, containers: ContainerManager):
        self.ctx = ctx
        self.containers = containers
        self._pause_lock = asyncio.Lock()

    def get(self, sandbox_id: str) -> SandboxRecord:
        rec = self.ctx.sandboxes.get(sandbox_id)
        if rec is None:
            raise sandbox_not_found(sandbox_id)
        return rec

    # --- run -------------------------------------------------------------------------------
    async def run(self, config: PodSandboxConfig) -> str:
        ctx = self.ctx
        key = sandbox_name_key(config)
        if key in ctx.names:
            raise AlreadyExists(f'pod sandbox name "{key}" is reserved for "{ctx.names[key]}"')
        sid = ctx.new_id()
        ctx.names[key] = sid
        rec = SandboxRecord(id=sid, config=config, created_at=time.time_ns(), cgroup_parent=ctx.pod_cgroup(config))
        ctx.sandboxes[sid] = rec
        try:
            async with ctx.locks.hold(sid):
                await self._run(rec)
        except BaseException:
            try:
                await asyncio.shield(self._discard(rec))
            except Exception:
                # left for the kubelet's garbage collection to remove (and retry) later
                log.exception("sandbox %s: cleanup after a failed run failed", sid)
                rec.state = "notready"
                await asyncio.shield(ctx.save_sandbox(rec))
            raise
        return sid

    async def _run(self, rec: SandboxRecord) -> None:
        ctx, config = self.ctx, rec.config
        sdir = ctx.layout.sandbox_dir(rec.id)
        await asyncio.to_thread(sdir.mkdir, parents=True)
        await ctx.save_sandbox(rec)
        await asyncio.to_thread(ctx.cgroups.create, rec.cgroup_parent)
        if config.resources is not None:
            await asyncio.to_thread(ctx.cgroups.set_resources, rec.cgroup_parent, config.resources)
        if not config.host_network:
            rec.network_setup = True
            await ctx.save_sandbox(rec)
            status = await ctx.network.setup_pod(network_request(rec))
            rec.netns, rec.ip, rec.ips = status.netns, status.ip, list(status.ips)
        paths = await asyncio.to_thread(self._write_pod_files, rec)
        await ctx.save_sandbox(rec)
        rootfs = await self._pause_rootfs()
        spec = sandbox_spec(
            sandbox_id=rec.id, config=config, rootfs=str(rootfs), netns=rec.netns,
            cgroups_path=f"{rec.cgroup_parent}/{rec.id}", host=ctx.host, paths=paths,
        )
        bundle = ctx.layout.bundle(sdir)
        await asyncio.to_thread(write_bundle, bundle, spec)
        pid, conmon_pid = await ctx.conmon.create(rec.id, bundle, str(sdir / "pause.log"))
        rec.pause_pid, rec.conmon_pid = pid, conmon_pid
        await ctx.save_sandbox(rec)
        await ctx.runc.start(rec.id)
        if not config.host_network and not rec.netns:
            # no plugin-pinned netns: runc made a private one, whose loopback starts down
            await run(["nsenter", f"--net=/proc/{pid}/ns/net", "ip", "link", "set", "lo", "up"],
                      what="loopback up", timeout=ctx.options.command_timeout)
        rec.state = "ready"
        await ctx.save_sandbox(rec)

    def _write_pod_files(self, rec: SandboxRecord) -> PodPaths:
        config = rec.config
        sdir = self.ctx.layout.sandbox_dir(rec.id)
        hostname = config.hostname or (os.uname().nodename if config.host_network else config.name)
        (sdir / "hostname").write_text(hostname + "\n")
        (sdir / "hosts").write_text(hosts_file(hostname, rec.ip))
        resolv = resolv_conf(config)
        if resolv is None:
            shutil.copyfile("/etc/resolv.conf", sdir / "resolv.conf")
        else:
            (sdir / "resolv.conf").write_text(resolv)
        if config.host_ipc:
            shm = "/dev/shm"
        else:
            shm = str(sdir / "shm")
            if not mounts.is_mountpoint(Path(shm)):
                mounts.mount_tmpfs(Path(shm), "mode=1777,size=65536k")
            rec.shm_mounted = True
        return PodPaths(hostname=str(sdir / "hostname"), hosts=str(sdir / "hosts"),
                        resolv_conf=str(sdir / "resolv.conf"), shm=shm)

    async def _pause_rootfs(self) -> Path:
        """`/pause` (catatonit) in an otherwise empty directory, made once per runtime root."""
        rootfs = self.ctx.layout.pause_rootfs
        async with self._pause_lock:
            if not await asyncio.to_thread((rootfs / "pause").exists):
                await asyncio.to_thread(_make_pause_rootfs, rootfs, self.ctx.options.pause_binary)
        return rootfs

    # --- stop / remove ---------------------------------------------------------------------
    async def stop(self, sandbox_id: str) -> None:
        rec = self.ctx.sandboxes.get(sandbox_id)
        if rec is None:
            return
        for cid in self._container_ids(sandbox_id):
            await self.containers.stop(cid, 0)
        async with self.ctx.locks.hold(sandbox_id):
            await self._teardown(rec)
            rec.state = "notready"
            await self.ctx.save_sandbox(rec)

    async def _teardown(self, rec: SandboxRecord) -> None:
        """Kill the pause, tear the network down (DEL even after a failed ADD), unmount shm.
        Raises at the end if the network could not be torn down (retry with stop again)."""
        ctx = self.ctx
        await self._kill_pause(rec)
        error: BaseException | None = None
        if rec.network_setup:
            try:
                await ctx.network.teardown_pod(network_request(rec))
                rec.network_setup = False
                rec.netns = ""
            except Exception as e:  # keep tearing down; report at the end
                log.warning("sandbox %s: network teardown failed: %s", rec.id, e)
                error = e
        if rec.shm_mounted:
            await asyncio.to_thread(mounts.unmount, ctx.layout.sandbox_dir(rec.id) / "shm")
            rec.shm_mounted = False
        if error is not None:
            raise RuntimeServiceError(f"failed to tear down the network of sandbox {rec.id}: {error}") from error

    async def _kill_pause(self, rec: SandboxRecord) -> None:
        ctx = self.ctx
        if ctx.read_exit(rec.id) is None and ctx.monitor_alive(rec.conmon_pid, rec.id):
            try:
                await ctx.runc.kill(rec.id, signal.SIGKILL, all=True)
            except (NotFound, CommandFailed):
                pass
            if not await ctx.wait_exit_file(rec.id, 10.0):
                log.warning("sandbox %s: pause did not exit after SIGKILL", rec.id)
        await ctx.runc.delete(rec.id, force=True)
        await ctx.wait_monitor_gone(rec.conmon_pid, rec.id)

    async def remove(self, sandbox_id: str) -> None:
        rec = self.ctx.sandboxes.get(sandbox_id)
        if rec is None:
            return
        await self.stop(sandbox_id)
        for cid in self._container_ids(sandbox_id):
            await self.containers.remove(cid)
        async with self.ctx.locks.hold(sandbox_id):
            await self._discard(rec)
        self.ctx.locks.forget(sandbox_id)

    async def _discard(self, rec: SandboxRecord) -> None:
        """Everything of a sandbox goes, whatever state it reached. Idempotent."""
        ctx = self.ctx
        await self._teardown(rec)
        await remove_cgroup(ctx, rec.cgroup_parent, up_to=ctx.cgroup_root)
        sdir = ctx.layout.sandbox_dir(rec.id)
        if await asyncio.to_thread(mounts.is_mountpoint, sdir / "shm"):
            raise RuntimeServiceError(f"sandbox {rec.id}: shm still mounted")
        await asyncio.to_thread(remove_tree, sdir)
        await asyncio.to_thread(unlink, ctx.layout.exit_file(rec.id))
        await asyncio.to_thread(unlink, ctx.layout.sockets / rec.id)
        ctx.sandboxes.pop(rec.id, None)
        key = sandbox_name_key(rec.config)
        if ctx.names.get(key) == rec.id:
            del ctx.names[key]

    # --- status ----------------------------------------------------------------------------
    def _container_ids(self, sandbox_id: str) -> list[str]:
        return [c.id for c in self.ctx.containers.values() if c.sandbox_id == sandbox_id]

    def _state(self, rec: SandboxRecord) -> PodSandboxState:
        if rec.state == "ready" and self.ctx.read_exit(rec.id) is None:
            return PodSandboxState.READY
        return PodSandboxState.NOTREADY

    def _summary(self, rec: SandboxRecord) -> PodSandbox:
        c = rec.config
        return PodSandbox(id=rec.id, name=c.name, namespace=c.namespace, uid=c.uid, attempt=c.attempt,
                          state=self._state(rec), created_at=rec.created_at, labels=dict(c.labels),
                          annotations=dict(c.annotations))

    async def status(self, sandbox_id: str) -> PodSandboxStatus:
        rec = self.get(sandbox_id)
        s = await asyncio.to_thread(self._summary, rec)
        return PodSandboxStatus(
            **vars(s), ip=rec.ip, additional_ips=[ip for ip in rec.ips if ip != rec.ip],
            host_network=rec.config.host_network, netns=rec.netns, cgroup_parent=rec.cgroup_parent,
        )

    async def list(self, filter: PodSandboxFilter | None) -> list[PodSandbox]:
        f = filter or PodSandboxFilter()
        recs = [r for r in self.ctx.sandboxes.values() if r.state != "creating"]
        items = await asyncio.to_thread(lambda: [self._summary(r) for r in recs])
        return [
            s for s in items
            if (not f.id or s.id.startswith(f.id))
            and (f.state is None or s.state == f.state)
            and all(s.labels.get(k) == v for k, v in f.label_selector.items())
        ]


def _make_pause_rootfs(rootfs: Path, binary: str) -> None:
    if not os.path.exists(binary):
        raise RuntimeServiceError(f"pause binary {binary} not found (install catatonit)")
    tmp = rootfs.with_name(rootfs.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for d in ("proc", "dev", "sys", "etc", "tmp"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(binary, tmp / "pause")
    os.chmod(tmp / "pause", 0o755)
    if rootfs.exists():
        shutil.rmtree(rootfs)
    os.rename(tmp, rootfs)
