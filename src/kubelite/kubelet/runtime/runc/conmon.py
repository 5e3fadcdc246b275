"""conmon, the per-container monitor (contract §1.4).

conmon double-forks (so the container outlives the agent), becomes the subreaper, runs
`runc create`, copies the container's stdio into the CRI log file, keeps an attach socket and a
control fifo, and writes the exit code to `<exit-dir>/<id>` when the container ends. It reports
the container PID, or runc's error, on the `_OCI_SYNCPIPE` pipe.

Control fifo `<bundle>/ctl`: lines `<type> <height> <width>`, type 1 = resize the tty,
2 = reopen the log file. Attach socket `<socket-dir>/<id>/attach` (SOCK_SEQPACKET): each packet
read starts with a stream byte (2 stdout, 3 stderr); bytes written go to the container's stdin.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from ..errors import CommandFailed, DeadlineExceeded, FailedPrecondition

RESIZE = 1
REOPEN_LOGS = 2
STREAM_STDOUT = 2
STREAM_STDERR = 3


@dataclass
class Conmon:
    binary: str
    runc_binary: str
    runc_root: str
    exits_dir: Path
    sockets_dir: Path
    timeout: float = 30.0

    async def create(
        self,
        container_id: str,
        bundle: Path,
        log_path: str,
        *,
        tty: bool = False,
        stdin: bool = False,
        stdin_once: bool = False,
    ) -> tuple[int, int]:
        """Start conmon, which runs `runc create`; returns (container PID, conmon PID). The
        container is then in runc state `created`, waiting for `runc start`."""
        argv = [
            self.binary, "--api-version", "1",
            "-c", container_id, "-u", container_id, "-n", container_id,
            "-r", self.runc_binary, f"--runtime-arg=--root={self.runc_root}",
            "-b", str(bundle), "-p", str(bundle / "pidfile"), "-P", str(bundle / "conmon.pid"),
            "--exit-dir", str(self.exits_dir), "--socket-dir-path", str(self.sockets_dir),
            "-l", f"k8s-file:{log_path}", "--log-level", "error",
        ]
        if tty:
            argv.append("--terminal")
        if stdin:
            argv.append("--stdin")
            if not stdin_once:
                argv.append("--leave-stdin-open")
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe2(os.O_CLOEXEC)
        errlog = bundle / "conmon.log"
        try:
            with open(errlog, "wb") as err:
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=err,  # a file, never a pipe: conmon's children inherit it
                    stderr=err,
                    pass_fds=(wfd,),
                    env={**os.environ, "_OCI_SYNCPIPE": str(wfd)},
                    start_new_session=True,
                    cwd=str(bundle),  # conmon writes an `oom` marker into its working directory
                )
            os.close(wfd)
            wfd = -1
            reader = asyncio.StreamReader()
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(rfd, "rb", buffering=0)
            )
            rfd = -1
            try:
                async with asyncio.timeout(self.timeout):
                    await proc.wait()  # the first conmon exits once it has forked
                    line = await reader.readline()
            except TimeoutError:
                raise DeadlineExceeded(
                    f"conmon did not report container {container_id} within {self.timeout}s"
                ) from None
            finally:
                transport.close()
        finally:
            if wfd >= 0:
                os.close(wfd)
            if rfd >= 0:
                os.close(rfd)
        if not line:
            text = errlog.read_text(errors="replace") if errlog.exists() else ""
            raise CommandFailed("conmon", argv, proc.returncode or 0, text or "no report on the sync pipe")
        msg = json.loads(line)
        pid = int(msg.get("data", -1))
        if pid <= 0:
            raise CommandFailed("runc create", argv, 1, str(msg.get("message", "")))
        conmon_pid = int((bundle / "conmon.pid").read_text().strip() or 0)
        return pid, conmon_pid


def send_ctl(bundle: Path, kind: int, height: int = 0, width: int = 0) -> None:
    """Write one control line; FailedPrecondition if conmon is gone (nobody reads the fifo)."""
    try:
        fd = os.open(bundle / "ctl", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise FailedPrecondition(f"container monitor is not running: {e.strerror}") from None
    try:
        os.write(fd, f"{kind} {height} {width}\n".encode())
    finally:
        os.close(fd)


def connect_attach(sockets_dir: Path, container_id: str) -> socket.socket:
    """Connect to the attach socket, through /proc/self/fd to dodge the 108-byte path limit."""
    dfd = os.open(sockets_dir / container_id, os.O_PATH | os.O_CLOEXEC)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            sock.connect(f"/proc/self/fd/{dfd}/attach")
        except OSError as e:
            sock.close()
            raise FailedPrecondition(f"cannot attach to container {container_id}: {e.strerror}") from None
    finally:
        os.close(dfd)
    sock.setblocking(False)
    return sock


def process_alive(pid: int, needle: bytes) -> bool:
    """Whether `pid` still runs and its command line contains `needle` (guards PID reuse)."""
    if pid <= 0:
        return False
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return needle in f.read()
    return False
