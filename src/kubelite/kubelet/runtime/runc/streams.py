"""Process handles for exec and attach (`ProcessHandle`), fed by loop readers, not tasks.

- `PipeProcess`: `runc exec` without a tty; stdio are the subprocess pipes.
- `PtyProcess`: `runc exec -t` in the foreground, its stdio on a pty pair of ours.
- `AttachProcess`: conmon's attach socket for a running container.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import socket
import struct
import termios
import tty
from collections.abc import Awaitable, Callable
from pathlib import Path

from ..errors import RuntimeServiceError
from .command import kill_and_reap
from .conmon import RESIZE, STREAM_STDERR, STREAM_STDOUT, send_ctl

_CHUNK = 8192


class FdWriter:
    """Non-blocking writes to an fd we own, with `drain()`; `StdinWriter`-shaped."""

    def __init__(self, fd: int, on_close: Callable[[], None]):
        self._fd = fd
        self._on_close = on_close
        self._buf = bytearray()
        self._drained = asyncio.Event()
        self._drained.set()
        self._closed = False
        self._writing = False
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        if self._closed:
            raise RuntimeServiceError("stdin is closed")
        self._buf += data
        self._flush()

    def _flush(self) -> None:
        while self._buf:
            try:
                n = os.write(self._fd, self._buf[:_CHUNK])
            except BlockingIOError:
                if not self._writing:
                    self._loop.add_writer(self._fd, self._flush)
                    self._writing = True
                self._drained.clear()
                return
            except OSError:
                self._buf.clear()  # the reader is gone; drop input as a closed pipe would
                break
            del self._buf[:n]
        if self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False
        self._drained.set()

    async def drain(self) -> None:
        await self._drained.wait()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._writing:
                self._loop.remove_writer(self._fd)
                self._writing = False
            self._on_close()


def _set_winsize(fd: int, width: int, height: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def kill_pidfile(pidfile: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)


class PipeProcess:
    def __init__(self, proc: asyncio.subprocess.Process, pidfile: Path):
        self._proc = proc
        self._pidfile = pidfile
        self.stdin = proc.stdin
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    async def resize(self, width: int, height: int) -> None:
        return None  # no terminal

    async def wait(self) -> int:
        return await self._proc.wait()

    async def close(self) -> None:
        if self._proc.returncode is None:
            kill_pidfile(self._pidfile)
            await kill_and_reap(self._proc)
        with contextlib.suppress(OSError):
            self._pidfile.unlink()


class PtyProcess:
    def __init__(self, proc: asyncio.subprocess.Process, master: int, pidfile: Path, *, stdin: bool):
        self._proc = proc
        self._fd = master
        self._pidfile = pidfile
        self._loop = asyncio.get_running_loop()
        os.set_blocking(master, False)
        self.stdout: asyncio.StreamReader | None = asyncio.StreamReader()
        self.stderr: asyncio.StreamReader | None = None
        self.stdin = FdWriter(master, lambda: None) if stdin else None
        self._reading = True
        self._loop.add_reader(master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""  # EIO: the last slave fd closed
        if data:
            self.stdout.feed_data(data)
        else:
            self._stop_reading()

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self._loop.remove_reader(self._fd)
            self.stdout.feed_eof()

    async def resize(self, width: int, height: int) -> None:
        if self._fd >= 0:
            _set_winsize(self._fd, width, height)
            if self._proc.returncode is None:
                os.kill(self._proc.pid, signal.SIGWINCH)  # runc copies our size to the container's pty

    async def wait(self) -> int:
        return await self._proc.wait()

    async def close(self) -> None:
        if self._proc.returncode is None:
            kill_pidfile(self._pidfile)
            await kill_and_reap(self._proc)
        self._stop_reading()
        if self.stdin is not None:
            self.stdin.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(OSError):
            self._pidfile.unlink()


async def start_tty_exec(
    argv_before_id: list[str], container_id: str, cmd: list[str], pidfile: Path, *, stdin: bool,
) -> PtyProcess:
    """`runc exec -t` in the foreground on a pty pair of ours: runc copies between our pty's slave
    and the container's terminal, waits for the process and exits with its status (runc refuses
    `--console-socket` unless detached, and a detached process would need us as its reaper)."""
    master, slave = os.openpty()
    try:
        tty.setraw(slave)  # the container's own pty does the line discipline
        _set_winsize(master, 80, 24)
        proc = await asyncio.create_subprocess_exec(
            *argv_before_id, "-t", "--pid-file", str(pidfile), container_id, *cmd,
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    return PtyProcess(proc, master, pidfile, stdin=stdin)


class AttachProcess:
    def __init__(
        self, sock: socket.socket, bundle: Path, *, stdin: bool, tty: bool,
        wait_exit: Callable[[], Awaitable[int]],
    ):
        self._sock = sock
        self._bundle = bundle
        self._wait_exit = wait_exit
        self._loop = asyncio.get_running_loop()
        self.stdout: asyncio.StreamReader | None = asyncio.StreamReader()
        self.stderr: asyncio.StreamReader | None = None if tty else asyncio.StreamReader()
        self.stdin = FdWriter(sock.fileno(), self._shutdown_write) if stdin else None
        self._reading = True
        self._loop.add_reader(sock.fileno(), self._readable)

    def _shutdown_write(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)  # conmon closes the container's stdin (stdinOnce)

    def _readable(self) -> None:
        try:
            data = self._sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._stop_reading()
            return
        stream = self.stderr if data[0] == STREAM_STDERR and self.stderr is not None else self.stdout
        if data[0] in (STREAM_STDOUT, STREAM_STDERR):
            stream.feed_data(data[1:])

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self._loop.remove_reader(self._sock.fileno())
            for s in (self.stdout, self.stderr):
                if s is not None:
                    s.feed_eof()

    async def resize(self, width: int, height: int) -> None:
        await asyncio.to_thread(send_ctl, self._bundle, RESIZE, height, width)

    async def wait(self) -> int:
        return await self._wait_exit()

    async def close(self) -> None:
        self._stop_reading()
        if self.stdin is not None:
            self.stdin.close()
        self._sock.close()
