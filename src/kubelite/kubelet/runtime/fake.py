"""`FakeRuntime`: an in-memory `RuntimeService` for kubelet unit tests and simulated nodes.

Containers run the tiny shell of `fake_process` (echo, sleep, exit, trap, cat; anything else runs
until signalled), so the same contract suite passes against the fake and runc. Timing uses the
event loop's timers; output goes to the CRI log file (small synchronous appends). Override the
interpreter with `handler` (httpx MockTransport style) and inject failures with `fail_next`.
Several `FakeRuntime`s sharing one `FakeRuntimeState` behave like one runtime seen by
successive agents.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import crilog
from .errors import AlreadyExists, DeadlineExceeded, FailedPrecondition, container_not_found, sandbox_not_found
from .interface import (
    Container,
    ContainerConfig,
    ContainerFilter,
    ContainerReason,
    ContainerState,
    ContainerStats,
    ContainerStatus,
    ExecSyncResult,
    LinuxContainerResources,
    PodSandbox,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxState,
    PodSandboxStats,
    PodSandboxStatus,
    RuntimeCondition,
    RuntimeStatus,
    VersionInfo,
)
from .fake_process import FakeProcess, Handler, ScriptRun, Step, shell_handler
from .resolve import resolve_args, resolve_stop_signal
from ..network.fake import FakeNetworkPlugin
from ..network.interface import NetworkPlugin, PodNetworkRequest

__all__ = [
    "FakeProcess", "FakeProcessHandle", "FakeRuntime", "FakeRuntimeState", "Handler", "Step", "shell_handler",
]

# --- state -------------------------------------------------------------------------------------


@dataclass
class _Sandbox:
    id: str
    config: PodSandboxConfig
    created_at: int
    state: PodSandboxState = PodSandboxState.READY
    ip: str = ""
    ips: list[str] = field(default_factory=list)
    network_setup: bool = False


@dataclass
class _Container:
    id: str
    sandbox_id: str
    config: ContainerConfig
    created_at: int
    log_path: str
    state: ContainerState = ContainerState.CREATED
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    run: ScriptRun | None = None
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    listeners: list[Callable[[str, bytes | None], None]] = field(default_factory=list)


@dataclass
class FakeRuntimeState:
    sandboxes: dict[str, _Sandbox] = field(default_factory=dict)
    containers: dict[str, _Container] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))


# --- the runtime -------------------------------------------------------------------------------


class FakeProcessHandle:
    def __init__(
        self, *, tty: bool, stdin: bool, on_stdin: Callable[[bytes | None], None],
        wait_exit: Callable[[], Awaitable[int]] | None = None,
    ):
        self._wait_exit = wait_exit
        self.stdout: asyncio.StreamReader | None = asyncio.StreamReader()
        self.stderr: asyncio.StreamReader | None = None if tty else asyncio.StreamReader()
        self.stdin = _FakeStdin(on_stdin) if stdin else None
        self._exit: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.resizes: list[tuple[int, int]] = []

    def output(self, stream: str, data: bytes | None) -> None:
        target = self.stderr if stream == crilog.STDERR and self.stderr is not None else self.stdout
        if data is None:
            for s in (self.stdout, self.stderr):
                if s is not None and not s.at_eof():
                    s.feed_eof()
        elif target is not None:
            target.feed_data(data)

    def exit(self, code: int) -> None:
        self.output(crilog.STDOUT, None)
        if not self._exit.done():
            self._exit.set_result(code)

    async def resize(self, width: int, height: int) -> None:
        self.resizes.append((width, height))

    async def wait(self) -> int:
        if self._wait_exit is not None:  # attached: the container's exit code
            return await self._wait_exit()
        return await self._exit

    async def close(self) -> None:
        self.exit(137)


class _FakeStdin:
    def __init__(self, sink: Callable[[bytes | None], None]):
        self._sink = sink
        self._closed = False

    def write(self, data: bytes) -> None:
        self._sink(data)

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._sink(None)


class FakeRuntime:
    def __init__(
        self,
        state: FakeRuntimeState | None = None,
        *,
        handler: Handler = shell_handler,
        network: NetworkPlugin | None = None,
    ):
        self.state = state if state is not None else FakeRuntimeState()
        self.handler = handler
        self.network = network if network is not None else FakeNetworkPlugin()
        self.calls: list[str] = []
        self.errors: dict[str, Exception] = {}
        self.stats: dict[str, ContainerStats] = {}

    def fail_next(self, method: str, error: Exception) -> None:
        """The next call of `method` raises `error` (kubelet error paths)."""
        self.errors[method] = error

    def _call(self, method: str) -> None:
        self.calls.append(method)
        err = self.errors.pop(method, None)
        if err is not None:
            raise err

    def _new_id(self) -> str:
        return f"{next(self.state.ids):064x}"

    # --- sandboxes -------------------------------------------------------------------------
    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        self._call("run_pod_sandbox")
        key = f"{config.name}_{config.namespace}_{config.uid}_{config.attempt}"
        if key in self.state.names:
            raise AlreadyExists(f'pod sandbox name "{key}" is reserved for "{self.state.names[key]}"')
        sid = self._new_id()
        sb = _Sandbox(id=sid, config=config, created_at=time.time_ns())
        if not config.host_network:
            req = PodNetworkRequest(sid, config.name, config.namespace, config.uid, list(config.port_mappings))
            sb.network_setup = True
            try:
                status = await self.network.setup_pod(req)
            except BaseException:
                await self.network.teardown_pod(req)
                raise
            sb.ip, sb.ips = status.ip, list(status.ips)
        self.state.names[key] = sid
        self.state.sandboxes[sid] = sb
        return sid

    def _sandbox(self, sandbox_id: str) -> _Sandbox:
        sb = self.state.sandboxes.get(sandbox_id)
        if sb is None:
            raise sandbox_not_found(sandbox_id)
        return sb

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        self._call("stop_pod_sandbox")
        sb = self.state.sandboxes.get(sandbox_id)
        if sb is None:
            return
        for c in list(self.state.containers.values()):
            if c.sandbox_id == sandbox_id:
                await self.stop_container(c.id, 0)
        if sb.network_setup:
            await self.network.teardown_pod(
                PodNetworkRequest(sb.id, sb.config.name, sb.config.namespace, sb.config.uid)
            )
            sb.network_setup = False
        sb.state = PodSandboxState.NOTREADY

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        self._call("remove_pod_sandbox")
        sb = self.state.sandboxes.get(sandbox_id)
        if sb is None:
            return
        await self.stop_pod_sandbox(sandbox_id)
        for c in list(self.state.containers.values()):
            if c.sandbox_id == sandbox_id:
                await self.remove_container(c.id)
        del self.state.sandboxes[sandbox_id]
        self.state.names = {k: v for k, v in self.state.names.items() if v != sandbox_id}

    def _sandbox_summary(self, sb: _Sandbox) -> PodSandbox:
        c = sb.config
        return PodSandbox(id=sb.id, name=c.name, namespace=c.namespace, uid=c.uid, attempt=c.attempt,
                          state=sb.state, created_at=sb.created_at, labels=dict(c.labels),
                          annotations=dict(c.annotations))

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        self._call("pod_sandbox_status")
        sb = self._sandbox(sandbox_id)
        return PodSandboxStatus(**vars(self._sandbox_summary(sb)), ip=sb.ip,
                                additional_ips=[i for i in sb.ips if i != sb.ip],
                                host_network=sb.config.host_network)

    async def list_pod_sandbox(self, filter: PodSandboxFilter | None = None) -> list[PodSandbox]:
        self._call("list_pod_sandbox")
        f = filter or PodSandboxFilter()
        return [
            self._sandbox_summary(sb) for sb in self.state.sandboxes.values()
            if (not f.id or sb.id.startswith(f.id)) and (f.state is None or sb.state == f.state)
            and all(sb.config.labels.get(k) == v for k, v in f.label_selector.items())
        ]

    # --- containers ------------------------------------------------------------------------
    async def create_container(
        self, sandbox_id: str, config: ContainerConfig, sandbox_config: PodSandboxConfig
    ) -> str:
        self._call("create_container")
        sb = self._sandbox(sandbox_id)
        if sb.state != PodSandboxState.READY:
            raise FailedPrecondition(f"pod sandbox {sandbox_id} is not ready")
        resolve_args(config.command, config.args, config.image.config)  # same errors as runc
        key = f"{config.name}_{sb.config.name}_{sb.config.namespace}_{sb.config.uid}_{config.attempt}"
        if key in self.state.names:
            raise AlreadyExists(f'container name "{key}" is reserved for "{self.state.names[key]}"')
        cid = self._new_id()
        log_path = config.log_path
        if sb.config.log_directory and log_path:
            log_path = str(Path(sb.config.log_directory) / log_path)
        self.state.names[key] = cid
        self.state.containers[cid] = _Container(
            id=cid, sandbox_id=sandbox_id, config=config, created_at=time.time_ns(), log_path=log_path
        )
        return cid

    def _container(self, container_id: str) -> _Container:
        c = self.state.containers.get(container_id)
        if c is None:
            raise container_not_found(container_id)
        return c

    def _write_log(self, c: _Container, stream: str, data: bytes) -> None:
        if c.log_path:
            path = Path(c.log_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as f:
                f.write(crilog.encode(crilog.STDOUT if c.config.tty else stream, data))
        for listener in list(c.listeners):
            listener(stream, data)

    async def start_container(self, container_id: str) -> None:
        self._call("start_container")
        c = self._container(container_id)
        if c.state != ContainerState.CREATED:
            raise FailedPrecondition(f"container {container_id} is not in created state")
        process = self.handler(resolve_args(c.config.command, c.config.args, c.config.image.config))

        def done(code: int) -> None:
            c.state, c.exit_code, c.finished_at = ContainerState.EXITED, code, time.time_ns()
            c.reason = (ContainerReason.COMPLETED if code == 0 else
                        ContainerReason.OOM_KILLED if process.oom_killed else ContainerReason.ERROR)
            c.exited.set()
            for listener in list(c.listeners):
                listener(crilog.STDOUT, None)

        c.state, c.started_at = ContainerState.RUNNING, time.time_ns()
        c.run = ScriptRun(process, lambda stream, data: self._write_log(c, stream, data), done)
        c.run.start()

    async def stop_container(self, container_id: str, timeout: float) -> None:
        self._call("stop_container")
        c = self.state.containers.get(container_id)
        if c is None or c.state == ContainerState.EXITED:
            return
        if c.run is None:  # created, never started
            c.state, c.exit_code, c.finished_at = ContainerState.EXITED, 137, time.time_ns()
            c.reason = ContainerReason.ERROR
            c.exited.set()
            return
        if timeout > 0:
            c.run.signal(resolve_stop_signal(c.config))
            try:
                async with asyncio.timeout(timeout):
                    await c.exited.wait()
                return
            except TimeoutError:
                pass
        c.run.signal(signal.SIGKILL)

    async def remove_container(self, container_id: str) -> None:
        self._call("remove_container")
        c = self.state.containers.get(container_id)
        if c is None:
            return
        if c.state != ContainerState.EXITED:
            await self.stop_container(container_id, 0)
        del self.state.containers[container_id]
        self.state.names = {k: v for k, v in self.state.names.items() if v != container_id}

    def _summary(self, c: _Container) -> Container:
        return Container(
            id=c.id, pod_sandbox_id=c.sandbox_id, name=c.config.name, attempt=c.config.attempt,
            image=c.config.image.image, image_id=c.config.image.image_id, state=c.state, created_at=c.created_at,
            labels=dict(c.config.labels), annotations=dict(c.config.annotations),
        )

    async def list_containers(self, filter: ContainerFilter | None = None) -> list[Container]:
        self._call("list_containers")
        f = filter or ContainerFilter()
        return [
            self._summary(c) for c in self.state.containers.values()
            if (not f.id or c.id.startswith(f.id)) and (f.state is None or c.state == f.state)
            and (not f.pod_sandbox_id or c.sandbox_id.startswith(f.pod_sandbox_id))
            and all(c.config.labels.get(k) == v for k, v in f.label_selector.items())
        ]

    async def container_status(self, container_id: str) -> ContainerStatus:
        self._call("container_status")
        c = self._container(container_id)
        return ContainerStatus(
            **vars(self._summary(c)), started_at=c.started_at, finished_at=c.finished_at, exit_code=c.exit_code,
            reason=c.reason, message=c.message, log_path=c.log_path,
            pid=1000 + int(c.id, 16) % 30000 if c.state == ContainerState.RUNNING else 0,
            mounts=list(c.config.mounts),
        )

    async def update_container_resources(self, container_id: str, resources: LinuxContainerResources) -> None:
        self._call("update_container_resources")
        c = self._container(container_id)
        if c.state == ContainerState.EXITED:
            raise FailedPrecondition(f"container {container_id} is not running")
        c.config.resources = resources

    async def reopen_container_log(self, container_id: str) -> None:
        self._call("reopen_container_log")
        c = self._container(container_id)
        if c.state != ContainerState.RUNNING:
            raise FailedPrecondition(f"container {container_id} is not running")
        Path(c.log_path).touch()

    # --- streaming -------------------------------------------------------------------------
    def _running(self, container_id: str) -> _Container:
        c = self._container(container_id)
        if c.state != ContainerState.RUNNING:
            raise FailedPrecondition(f"container {container_id} is not running")
        return c

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float = 0) -> ExecSyncResult:
        self._call("exec_sync")
        self._running(container_id)
        out, err = bytearray(), bytearray()
        result: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        process = self.handler(cmd)
        process.steps = [s if s.kind not in ("block", "cat") else Step("exit", code=0) for s in process.steps]
        run = ScriptRun(process, lambda s, d: (err if s == crilog.STDERR else out).extend(d),
                   lambda code: result.done() or result.set_result(code))
        run.start()
        try:
            async with asyncio.timeout(timeout if timeout > 0 else None):
                code = await result
        except TimeoutError:
            run.finish(137)
            raise DeadlineExceeded(f"command {cmd!r} timed out after {timeout}s") from None
        return ExecSyncResult(code, bytes(out), bytes(err))

    async def exec(self, container_id: str, cmd: list[str], *, tty: bool = False, stdin: bool = False):
        self._call("exec")
        self._running(container_id)
        process = self.handler(cmd)
        run: ScriptRun | None = None
        handle = FakeProcessHandle(tty=tty, stdin=stdin, on_stdin=lambda d: run and run.stdin(d))
        run = ScriptRun(process, handle.output, handle.exit)
        run.start()
        return handle

    async def attach(self, container_id: str, *, stdin: bool = False):
        self._call("attach")
        c = self._running(container_id)
        async def wait_exit() -> int:
            await c.exited.wait()
            return c.exit_code

        handle = FakeProcessHandle(tty=c.config.tty, stdin=stdin, on_stdin=lambda d: c.run and c.run.stdin(d),
                                   wait_exit=wait_exit)
        c.listeners.append(handle.output)
        return handle

    # --- stats / runtime -------------------------------------------------------------------
    async def container_stats(self, container_id: str) -> ContainerStats:
        self._call("container_stats")
        c = self._container(container_id)
        return self.stats.get(container_id) or ContainerStats(container_id=c.id, name=c.config.name,
                                                             timestamp=time.time_ns())

    async def pod_stats(self, sandbox_id: str) -> PodSandboxStats:
        self._call("pod_stats")
        self._sandbox(sandbox_id)
        containers = [await self.container_stats(c.id) for c in list(self.state.containers.values())
                      if c.sandbox_id == sandbox_id and c.state == ContainerState.RUNNING]
        return PodSandboxStats(
            pod_sandbox_id=sandbox_id, timestamp=time.time_ns(),
            cpu_usage_core_nano_seconds=sum(c.cpu_usage_core_nano_seconds for c in containers),
            memory_usage_bytes=sum(c.memory_usage_bytes for c in containers),
            memory_working_set_bytes=sum(c.memory_working_set_bytes for c in containers),
            containers=containers,
        )

    async def status(self) -> RuntimeStatus:
        self._call("status")
        net = await self.network.status()
        return RuntimeStatus([RuntimeCondition("RuntimeReady", True),
                              RuntimeCondition("NetworkReady", net.ready, net.reason, net.message)])

    async def version(self) -> VersionInfo:
        self._call("version")
        return VersionInfo(version="0.1.0", runtime_name="fake", runtime_version="0.1.0", runtime_api_version="v1")
