"""exec_sync, exec and attach. `runc exec` runs the command with the container's own process
settings (env, cwd, user, capabilities, seccomp); attach goes through conmon's socket."""

from __future__ import annotations

import asyncio
import secrets

from ..errors import DeadlineExceeded, FailedPrecondition
from ..interface import ExecSyncResult, ProcessHandle
from .command import kill_and_reap
from .conmon import connect_attach
from .containers import ContainerManager
from .context import RuntimeContext, unlink
from .streams import AttachProcess, PipeProcess, kill_pidfile, start_tty_exec


class Streaming:
    def __init__(self, ctx: RuntimeContext, containers: ContainerManager):
        self.ctx = ctx
        self.containers = containers

    async def _running(self, container_id: str):
        rec = self.containers.get(container_id)
        await self.containers.refresh(rec)
        if rec.state != "running":
            raise FailedPrecondition(f"container {container_id} is not running")
        return rec

    def _pidfile(self, rec):
        return self.containers.dir(rec) / f"exec-{secrets.token_hex(6)}.pid"

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float = 0) -> ExecSyncResult:
        rec = await self._running(container_id)
        pidfile = self._pidfile(rec)
        proc = await asyncio.create_subprocess_exec(
            *self.ctx.runc.argv("exec", "--pid-file", str(pidfile), container_id, *cmd),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(timeout if timeout > 0 else None):
                out, err = await proc.communicate()
        except TimeoutError:
            raise DeadlineExceeded(f"command {cmd!r} timed out after {timeout}s") from None
        finally:
            if proc.returncode is None:
                kill_pidfile(pidfile)
                await kill_and_reap(proc)
            await asyncio.to_thread(unlink, pidfile)
        return ExecSyncResult(proc.returncode or 0, out, err)

    async def exec(self, container_id: str, cmd: list[str], *, tty: bool = False, stdin: bool = False) -> ProcessHandle:
        rec = await self._running(container_id)
        pidfile = self._pidfile(rec)
        if tty:
            return await start_tty_exec(self.ctx.runc.argv("exec"), container_id, cmd, pidfile, stdin=stdin)
        proc = await asyncio.create_subprocess_exec(
            *self.ctx.runc.argv("exec", "--pid-file", str(pidfile), container_id, *cmd),
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        return PipeProcess(proc, pidfile)

    async def attach(self, container_id: str, *, stdin: bool = False) -> ProcessHandle:
        rec = await self._running(container_id)
        if stdin and not rec.config.stdin:
            raise FailedPrecondition(f"container {container_id} was not created with stdin")
        sock = await asyncio.to_thread(connect_attach, self.ctx.layout.sockets, container_id)
        try:
            return AttachProcess(
                sock, self.containers.bundle(rec), stdin=stdin, tty=rec.config.tty,
                wait_exit=lambda: self.containers.wait_exit(container_id),
            )
        except BaseException:
            sock.close()
            raise
