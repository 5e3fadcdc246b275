"""Run a helper program without blocking the event loop, always under a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass

from ..errors import CommandFailed, DeadlineExceeded


@dataclass
class Completed:
    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes


async def run(
    argv: list[str],
    *,
    what: str = "",
    input: bytes | None = None,
    timeout: float = 30.0,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> Completed:
    """Run `argv` to completion. Only for programs that leave no child holding the pipes (never
    `runc create`: the created container would keep stdout open forever)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate(input)
    except TimeoutError:
        await kill_and_reap(proc)
        raise DeadlineExceeded(f"{what or argv[0]} timed out after {timeout}s") from None
    except BaseException:
        await kill_and_reap(proc)
        raise
    result = Completed(list(argv), proc.returncode or 0, out, err)
    if check and result.returncode != 0:
        raise CommandFailed(what or os.path.basename(argv[0]), argv, result.returncode, err.decode(errors="replace"))
    return result


async def kill_and_reap(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL our own child by PID and wait for it (shielded: also runs during cancellation)."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        await asyncio.shield(asyncio.wait_for(proc.wait(), 5))
    # A grandchild may still hold the pipes open: stop reading them (asyncio has no public API).
    transport = getattr(proc, "_transport", None)
    if transport is not None:
        transport.close()
