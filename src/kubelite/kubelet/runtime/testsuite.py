"""The contract every `RuntimeService` must pass, plus harnesses for the fake and for runc.

A harness gives the suite a runtime, an image to run (busybox-like: `sh`, `sleep`, `echo`,
`cat`), a log directory, `reopen()` (a new runtime instance over the same state, as after an
agent restart) and `close()` (removes everything, and for runc asserts nothing leaked). Each
check is a plain async function so a failure names the broken rule. Commands are `sh -c`
scripts in the subset the fake understands (see `fake`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from . import crilog
from .errors import AlreadyExists, DeadlineExceeded, FailedPrecondition, InvalidArgument, NotFound
from .fake import FakeRuntime, FakeRuntimeState
from .interface import (
    ContainerConfig,
    ContainerFilter,
    ContainerImage,
    ContainerReason,
    ContainerState,
    KeyValue,
    LinuxContainerResources,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxState,
    RuntimeService,
)
from ..network.fake import FakeNetworkPlugin
from ..network.interface import NetworkPlugin


class Harness(Protocol):
    runtime: RuntimeService
    image: ContainerImage
    log_dir: Path

    async def reopen(self) -> RuntimeService: ...

    async def close(self) -> None: ...


# --- helpers -----------------------------------------------------------------------------------


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def wait_state(rt: RuntimeService, cid: str, state: ContainerState, timeout: float = 10.0) -> None:
    async def reached() -> bool:
        return (await rt.container_status(cid)).state == state

    await wait_until(reached, timeout)


def sandbox_config(h: Harness, name: str, **kw) -> PodSandboxConfig:
    return PodSandboxConfig(name=name, namespace="suite", uid=f"uid-{secrets.token_hex(4)}",
                            log_directory=str(h.log_dir / name), **kw)


def container_config(h: Harness, name: str, script: str, **kw) -> ContainerConfig:
    return ContainerConfig(name=name, image=h.image, command=["sh", "-c", script], log_path=f"{name}/0.log", **kw)


async def run_container(h: Harness, sid: str, sc: PodSandboxConfig, name: str, script: str, **kw) -> str:
    cid = await h.runtime.create_container(sid, container_config(h, name, script, **kw), sc)
    await h.runtime.start_container(cid)
    return cid


async def expect(exc: type[BaseException], aw: Awaitable) -> None:
    try:
        await aw
    except exc:
        return
    raise AssertionError(f"expected {exc.__name__}")


FOREVER = "sleep 600 & wait"


# --- checks ------------------------------------------------------------------------------------


async def check_version_and_status(h: Harness) -> None:
    v = await h.runtime.version()
    assert v.runtime_name and v.runtime_version and v.runtime_api_version == "v1"
    st = await h.runtime.status()
    ready = st.condition("RuntimeReady")
    assert ready is not None and ready.status, st
    assert st.condition("NetworkReady") is not None


async def check_sandbox_lifecycle(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "life", labels={"app": "life"})
    sid = await rt.run_pod_sandbox(sc)
    st = await rt.pod_sandbox_status(sid)
    assert st.state == PodSandboxState.READY and st.name == "life" and st.uid == sc.uid
    assert st.labels == {"app": "life"} and st.created_at > 0
    assert [s.id for s in await rt.list_pod_sandbox(PodSandboxFilter(label_selector={"app": "life"}))] == [sid]
    await rt.stop_pod_sandbox(sid)
    assert (await rt.pod_sandbox_status(sid)).state == PodSandboxState.NOTREADY
    await rt.stop_pod_sandbox(sid)  # idempotent
    assert not await rt.list_pod_sandbox(PodSandboxFilter(state=PodSandboxState.READY, label_selector={"app": "life"}))
    await rt.remove_pod_sandbox(sid)
    await expect(NotFound, rt.pod_sandbox_status(sid))
    assert sid not in [s.id for s in await rt.list_pod_sandbox()]
    await rt.remove_pod_sandbox(sid)  # idempotent


async def check_sandbox_name_reserved(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "dup")
    sid = await rt.run_pod_sandbox(sc)
    await expect(AlreadyExists, rt.run_pod_sandbox(sc))
    await rt.remove_pod_sandbox(sid)
    sid2 = await rt.run_pod_sandbox(sc)
    await rt.remove_pod_sandbox(sid2)


async def check_container_lifecycle(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "cl")
    sid = await rt.run_pod_sandbox(sc)
    cid = await rt.create_container(sid, container_config(h, "main", "trap 'exit 0' TERM; " + FOREVER), sc)
    st = await rt.container_status(cid)
    assert st.state == ContainerState.CREATED and st.started_at == 0 and st.pod_sandbox_id == sid
    assert st.name == "main" and st.image == h.image.image
    await expect(AlreadyExists, rt.create_container(sid, container_config(h, "main", FOREVER), sc))
    await rt.start_container(cid)
    st = await rt.container_status(cid)
    assert st.state == ContainerState.RUNNING and st.started_at >= st.created_at and st.pid > 0
    await expect(FailedPrecondition, rt.start_container(cid))
    t0 = time.monotonic()
    await rt.stop_container(cid, 10)
    assert time.monotonic() - t0 < 5, "a process that handles SIGTERM must not wait for the timeout"
    st = await rt.container_status(cid)
    assert st.state == ContainerState.EXITED and st.exit_code == 0 and st.reason == ContainerReason.COMPLETED
    assert st.finished_at >= st.started_at
    await rt.stop_container(cid, 1)  # idempotent
    await rt.remove_container(cid)
    await expect(NotFound, rt.container_status(cid))
    await rt.remove_container(cid)  # idempotent
    await rt.remove_pod_sandbox(sid)


async def check_exit_codes(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "codes")
    sid = await rt.run_pod_sandbox(sc)
    bad = await run_container(h, sid, sc, "bad", "exit 3")
    good = await run_container(h, sid, sc, "good", "exit 0")
    await wait_state(rt, bad, ContainerState.EXITED)
    await wait_state(rt, good, ContainerState.EXITED)
    b, g = await rt.container_status(bad), await rt.container_status(good)
    assert (b.exit_code, b.reason) == (3, ContainerReason.ERROR), b
    assert (g.exit_code, g.reason) == (0, ContainerReason.COMPLETED), g
    assert b.finished_at >= b.started_at > 0
    await rt.remove_pod_sandbox(sid)


async def check_stop_timeout_kills(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "stubborn")
    sid = await rt.run_pod_sandbox(sc)
    cid = await run_container(h, sid, sc, "ignore", "trap '' TERM; " + FOREVER)
    await asyncio.sleep(0.2)  # let the shell install its trap
    t0 = time.monotonic()
    await rt.stop_container(cid, 1)
    elapsed = time.monotonic() - t0
    st = await rt.container_status(cid)
    assert st.state == ContainerState.EXITED and st.exit_code == 137, st
    assert 0.9 <= elapsed < 5, elapsed
    await rt.remove_pod_sandbox(sid)


async def check_list_filters(h: Harness) -> None:
    rt = h.runtime
    sc1, sc2 = sandbox_config(h, "f1"), sandbox_config(h, "f2")
    s1, s2 = await rt.run_pod_sandbox(sc1), await rt.run_pod_sandbox(sc2)
    a = await run_container(h, s1, sc1, "a", FOREVER, labels={"tier": "web"})
    b = await rt.create_container(s2, container_config(h, "b", FOREVER, labels={"tier": "db"}), sc2)
    ids = lambda items: sorted(c.id for c in items)  # noqa: E731
    assert ids(await rt.list_containers(ContainerFilter(pod_sandbox_id=s1))) == [a]
    assert ids(await rt.list_containers(ContainerFilter(label_selector={"tier": "db"}))) == [b]
    assert ids(await rt.list_containers(ContainerFilter(id=a))) == [a]
    running = ids(await rt.list_containers(ContainerFilter(state=ContainerState.RUNNING)))
    assert a in running and b not in running
    assert b in ids(await rt.list_containers(ContainerFilter(state=ContainerState.CREATED)))
    assert {a, b} <= set(ids(await rt.list_containers()))
    await rt.remove_pod_sandbox(s1)
    await rt.remove_pod_sandbox(s2)
    assert not {a, b} & set(ids(await rt.list_containers()))


async def check_missing_objects(h: Harness) -> None:
    rt = h.runtime
    await expect(NotFound, rt.container_status("0" * 64))
    await expect(NotFound, rt.pod_sandbox_status("0" * 64))
    sc = sandbox_config(h, "missing")
    await expect(NotFound, rt.create_container("0" * 64, container_config(h, "x", "exit 0"), sc))
    await rt.stop_container("0" * 64, 0)
    await rt.remove_container("0" * 64)
    await rt.stop_pod_sandbox("0" * 64)
    await rt.remove_pod_sandbox("0" * 64)


async def check_no_command(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "nocmd")
    sid = await rt.run_pod_sandbox(sc)
    image = ContainerImage(image=h.image.image, image_id=h.image.image_id, config={}, lowerdirs=h.image.lowerdirs)
    empty = ContainerConfig(name="x", image=image, log_path="x/0.log")
    await expect(InvalidArgument, rt.create_container(sid, empty, sc))
    # the image's Cmd is used when the pod gives neither command nor args
    image.config = {"Entrypoint": ["sh", "-c"], "Cmd": ["exit 4"]}
    cid = await rt.create_container(sid, ContainerConfig(name="y", image=image, log_path="y/0.log"), sc)
    await rt.start_container(cid)
    await wait_state(rt, cid, ContainerState.EXITED)
    assert (await rt.container_status(cid)).exit_code == 4
    # args replace Cmd and keep the Entrypoint
    with_args = ContainerConfig(name="z", image=image, args=["exit 5"], log_path="z/0.log")
    cid = await rt.create_container(sid, with_args, sc)
    await rt.start_container(cid)
    await wait_state(rt, cid, ContainerState.EXITED)
    assert (await rt.container_status(cid)).exit_code == 5
    await rt.remove_pod_sandbox(sid)


async def check_exec_sync(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "exec")
    sid = await rt.run_pod_sandbox(sc)
    cid = await run_container(h, sid, sc, "main", FOREVER)
    res = await rt.exec_sync(cid, ["sh", "-c", "echo out; echo err >&2; exit 5"], timeout=10)
    assert res == (5, b"out\n", b"err\n"), res
    code, out, _ = await rt.exec_sync(cid, ["echo", "hi"])
    assert (code, out) == (0, b"hi\n")
    await expect(DeadlineExceeded, rt.exec_sync(cid, ["sleep", "5"], timeout=0.5))
    await rt.stop_container(cid, 0)
    await expect(FailedPrecondition, rt.exec_sync(cid, ["echo", "late"]))
    await rt.remove_pod_sandbox(sid)


async def check_exec_streams(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "stream")
    sid = await rt.run_pod_sandbox(sc)
    cid = await run_container(h, sid, sc, "main", FOREVER)
    proc = await rt.exec(cid, ["cat"], stdin=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"ping\n")
    await proc.stdin.drain()
    async with asyncio.timeout(10):
        assert await proc.stdout.readline() == b"ping\n"
    proc.stdin.close()
    async with asyncio.timeout(10):
        assert await proc.wait() == 0
    await proc.close()
    await rt.remove_pod_sandbox(sid)


async def check_logs(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "logs")
    sid = await rt.run_pod_sandbox(sc)
    cid = await run_container(h, sid, sc, "talk", "echo hello world; echo oops >&2; exit 0")
    await wait_state(rt, cid, ContainerState.EXITED)
    st = await rt.container_status(cid)
    assert st.log_path == str(h.log_dir / "logs" / "talk" / "0.log"), st.log_path
    lines = await asyncio.to_thread(crilog.read_lines, Path(st.log_path))
    got = sorted((ln.stream, ln.tag, ln.content) for ln in lines)
    assert got == [("stderr", "F", b"oops"), ("stdout", "F", b"hello world")], got
    assert all(abs(ln.timestamp - time.time_ns()) < 60e9 for ln in lines)
    await rt.remove_pod_sandbox(sid)


async def check_env_and_args(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "env")
    sid = await rt.run_pod_sandbox(sc)
    cfg = container_config(h, "e", FOREVER, envs=[KeyValue("GREETING", "hi there")])
    cid = await rt.create_container(sid, cfg, sc)
    await rt.start_container(cid)
    if not isinstance(rt, FakeRuntime):
        code, out, _ = await rt.exec_sync(cid, ["sh", "-c", 'echo "$GREETING/$HOSTNAME"'])
        assert (code, out) == (0, b"hi there/env\n"), out
    await rt.remove_pod_sandbox(sid)


async def check_restart_adoption(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "adopt")
    sid = await rt.run_pod_sandbox(sc)
    keep = await run_container(h, sid, sc, "keep", FOREVER)
    brief = await run_container(h, sid, sc, "brief", "sleep 1; exit 7")
    rt2 = await h.reopen()  # the old instance is never used again: "the agent restarted"
    await asyncio.sleep(1.5)  # `brief` ends while the new instance has not looked yet
    assert (await rt2.pod_sandbox_status(sid)).state == PodSandboxState.READY
    by_id = {c.id: c for c in await rt2.list_containers(ContainerFilter(pod_sandbox_id=sid))}
    assert by_id[keep].state == ContainerState.RUNNING, by_id
    assert by_id[brief].state == ContainerState.EXITED
    st = await rt2.container_status(brief)
    assert (st.exit_code, st.reason) == (7, ContainerReason.ERROR), st
    assert (await rt2.exec_sync(keep, ["echo", "still here"])).stdout == b"still here\n"
    await rt2.stop_container(keep, 0)
    assert (await rt2.container_status(keep)).exit_code == 137
    await rt2.remove_pod_sandbox(sid)


async def check_update_and_stats(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "stats")
    sid = await rt.run_pod_sandbox(sc)
    cid = await run_container(h, sid, sc, "main", FOREVER)
    await rt.update_container_resources(cid, LinuxContainerResources(cpu_shares=512, memory_limit_in_bytes=64 << 20))
    stats = await rt.container_stats(cid)
    assert stats.container_id == cid and stats.name == "main" and stats.timestamp > 0
    pod = await rt.pod_stats(sid)
    assert pod.pod_sandbox_id == sid and cid in [c.container_id for c in pod.containers]
    await expect(NotFound, rt.update_container_resources("0" * 64, LinuxContainerResources()))
    await rt.remove_pod_sandbox(sid)


async def check_remove_sandbox_removes_containers(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "rm")
    sid = await rt.run_pod_sandbox(sc)
    a = await run_container(h, sid, sc, "a", FOREVER)
    b = await run_container(h, sid, sc, "b", "exit 1")
    await rt.remove_pod_sandbox(sid)
    for cid in (a, b):
        await expect(NotFound, rt.container_status(cid))
    await expect(FailedPrecondition, _create_in_stopped(h))


async def _create_in_stopped(h: Harness) -> None:
    rt = h.runtime
    sc = sandbox_config(h, "stopped")
    sid = await rt.run_pod_sandbox(sc)
    await rt.stop_pod_sandbox(sid)
    try:
        await rt.create_container(sid, container_config(h, "late", "exit 0"), sc)
    finally:
        await rt.remove_pod_sandbox(sid)


CHECKS = [
    check_version_and_status,
    check_sandbox_lifecycle,
    check_sandbox_name_reserved,
    check_container_lifecycle,
    check_exit_codes,
    check_stop_timeout_kills,
    check_list_filters,
    check_missing_objects,
    check_no_command,
    check_exec_sync,
    check_exec_streams,
    check_logs,
    check_env_and_args,
    check_restart_adoption,
    check_update_and_stats,
    check_remove_sandbox_removes_containers,
]


# --- harnesses ---------------------------------------------------------------------------------


class FakeHarness:
    def __init__(self, base: Path):
        self.state = FakeRuntimeState()
        self.network = FakeNetworkPlugin()
        self.runtime: RuntimeService = FakeRuntime(self.state, network=self.network)
        self.image = ContainerImage(image="busybox", image_id="sha256:" + "1" * 64, config={"Cmd": ["sh"]})
        self.log_dir = base / "logs"

    async def reopen(self) -> RuntimeService:
        self.runtime = FakeRuntime(self.state, network=self.network)
        return self.runtime

    async def close(self) -> None:
        for s in await self.runtime.list_pod_sandbox():
            await self.runtime.remove_pod_sandbox(s.id)
        assert not self.state.containers and not self.network.pods


def make_busybox_layer(path: Path) -> Path:
    """A one-layer busybox rootfs (Debian's busybox-static), as `ImageStore.unpack` would give."""
    (path / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2("/bin/busybox", path / "bin" / "busybox")
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox" and not (path / "bin" / applet).exists():
            os.symlink("busybox", path / "bin" / applet)
    for d in ("etc", "proc", "sys", "dev", "tmp", "root", "home"):
        (path / d).mkdir(exist_ok=True)
    (path / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/home:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
    )
    (path / "etc" / "group").write_text("root:x:0:\nwww:x:33:\nstaff:x:50:www\nnogroup:x:65534:\n")
    return path


def runc_missing_reason() -> str:
    """Why the runc harness cannot run here ("" when it can)."""
    if os.geteuid() != 0:
        return "needs root"
    for binary in ("runc", "conmon"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    for path in ("/usr/bin/catatonit", "/bin/busybox"):
        if not os.path.exists(path):
            return f"{path} is missing (catatonit, busybox-static)"
    return ""


class RuncHarness:
    """runc + conmon under `base`, cgroups under `/<prefix>`, a fake network (pods get a private
    netns from runc). `close()` removes everything and fails on anything left behind."""

    def __init__(self, base: Path, prefix: str | None = None, *, network: NetworkPlugin | None = None,
                 node_netns: str = ""):
        from .runc import RuncOptions, RuncRuntime

        self.base = base
        self.prefix = prefix or f"klt{secrets.token_hex(3)}"
        layer = make_busybox_layer(base / "layer")
        self.image = ContainerImage(image="busybox", image_id="sha256:" + "2" * 64, config={"Cmd": ["sh"]},
                                    lowerdirs=[str(layer)])
        self.log_dir = base / "logs"
        self.network = network or FakeNetworkPlugin()
        self.options = RuncOptions(root=base / "root", cgroup_root=self.prefix, node_netns=node_netns)
        self._factory = lambda: RuncRuntime(self.options, self.network)
        self.runtime: RuntimeService = self._factory()

    async def reopen(self) -> RuntimeService:
        self.runtime = self._factory()
        return self.runtime

    async def close(self) -> None:
        try:
            for s in await self.runtime.list_pod_sandbox():
                await self.runtime.remove_pod_sandbox(s.id)
            for c in await self.runtime.list_containers():
                await self.runtime.remove_container(c.id)
        finally:
            leaks = await asyncio.to_thread(leftovers, self.options.root, self.prefix)
            if leaks:
                await asyncio.to_thread(force_cleanup, self.options.root, self.prefix)
        assert not leaks, f"left behind: {leaks}"


def force_cleanup(root: Path, cgroup_root: str) -> None:
    """After a failed test: kill (by PID) and remove whatever a runtime under `root` left."""
    state = root / "runc"
    if state.is_dir():
        for c in state.iterdir():
            subprocess.run(["runc", f"--root={state}", "delete", "--force", c.name], capture_output=True)
    for line in leftovers(root, cgroup_root):
        if line.startswith("process "):
            with contextlib.suppress(OSError):
                os.kill(int(line.split()[1]), signal.SIGKILL)
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        top = hierarchy / cgroup_root
        if top.exists():
            for d in sorted(top.rglob("*"), key=lambda p: -len(p.parts)) + [top]:
                if d.is_dir():
                    with contextlib.suppress(OSError):
                        for pid in (d / "cgroup.procs").read_text().split():
                            os.kill(int(pid), signal.SIGKILL)
                    time.sleep(0.05)
                    with contextlib.suppress(OSError):
                        d.rmdir()
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f if str(root) in line.split()[4]]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def leftovers(root: Path, cgroup_root: str) -> list[str]:
    """Everything a runc runtime under `root` with cgroups under `/<cgroup_root>` could leak."""
    out = []
    runc_state = root / "runc"
    if runc_state.is_dir():
        out += [f"runc state {p.name}" for p in runc_state.iterdir()]
    with open("/proc/self/mountinfo") as f:
        out += [f"mount {line.split()[4]}" for line in f if str(root) in line.split()[4]]
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        if (hierarchy / cgroup_root).exists():
            out.append(f"cgroup {hierarchy / cgroup_root}")
    for d in ("sandboxes", "containers", "exits", "s"):
        p = root / d
        if p.is_dir():
            out += [f"{d}/{x.name}" for x in p.iterdir()]
    needle = str(root).encode()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if needle in f.read():
                        out.append(f"process {pid}")
            except OSError:
                pass
    return out
