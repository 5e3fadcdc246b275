"""`/containerLogs`: reading CRI log files the way the kubelet does for `kubectl logs`.

Options (query): `follow`, `previous`, `timestamps`, `tailLines`, `sinceSeconds` / `sinceTime`,
`limitBytes`, `stream` (All | Stdout | Stderr). Output is the log content; a full line (`F`)
ends with a newline, a partial one (`P`) does not; with `timestamps` each line starts with its
RFC3339Nano time and a space. `follow` keeps reading appended lines (and the file that replaces a
rotated one) until the container stops.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kubelite.kubelet.runtime import crilog
from kubelite.machinery import timeutil

POLL_INTERVAL = 0.1
_READ_CHUNK = 256 * 1024


class BadLogOptions(ValueError):
    pass


@dataclass
class LogOptions:
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_ns: int | None = None
    limit_bytes: int | None = None
    stream: str = "All"  # All | Stdout | Stderr

    @classmethod
    def from_query(cls, query, now_ns: int | None = None) -> LogOptions:
        def boolean(name: str) -> bool:
            return query.get(name, "").lower() in ("1", "true", "t", "yes")

        def integer(name: str) -> int | None:
            v = query.get(name)
            if v is None or v == "":
                return None
            try:
                return int(v)
            except ValueError:
                raise BadLogOptions(f'{name}: Invalid value: "{v}": must be an integer') from None

        o = cls(follow=boolean("follow"), previous=boolean("previous"), timestamps=boolean("timestamps"),
                tail_lines=integer("tailLines"), limit_bytes=integer("limitBytes"))
        if o.tail_lines is not None and o.tail_lines < 0:
            raise BadLogOptions("tailLines: Invalid value: must be greater than or equal to 0")
        if o.limit_bytes is not None and o.limit_bytes < 1:
            raise BadLogOptions("limitBytes: Invalid value: must be greater than 0")
        since_seconds = integer("sinceSeconds")
        since_time = query.get("sinceTime")
        if since_seconds is not None and since_time:
            raise BadLogOptions("at most one of `sinceTime` or `sinceSeconds` may be specified")
        if since_seconds is not None:
            if since_seconds < 1:
                raise BadLogOptions("sinceSeconds: Invalid value: must be greater than 0")
            now = time.time_ns() if now_ns is None else now_ns
            o.since_ns = now - since_seconds * 1_000_000_000
        elif since_time:
            t = timeutil.parse_time(since_time)
            if t is None:
                raise BadLogOptions(f'sinceTime: Invalid value: "{since_time}"')
            o.since_ns = int(t.timestamp() * 1_000_000_000)
        stream = query.get("stream", "") or "All"
        if stream not in ("All", "Stdout", "Stderr"):
            raise BadLogOptions(f'stream: Unsupported value: "{stream}": supported values: "All", "Stderr", "Stdout"')
        if stream != "All" and o.tail_lines is not None:
            raise BadLogOptions("tailLines is not supported when stream is Stdout or Stderr")
        o.stream = stream
        return o

    def wants(self, line: crilog.LogLine) -> bool:
        if self.stream == "Stdout" and line.stream != crilog.STDOUT:
            return False
        if self.stream == "Stderr" and line.stream != crilog.STDERR:
            return False
        return self.since_ns is None or line.timestamp >= self.since_ns


class LogRenderer:
    """Turns CRI lines into output bytes, remembering whether each stream is mid-line (so a
    timestamp prefixes only the start of a logical line) and how many bytes are left."""

    def __init__(self, options: LogOptions):
        self.options = options
        self._mid_line: set[str] = set()
        self.remaining = options.limit_bytes

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    def render(self, lines: list[crilog.LogLine]) -> bytes:
        out = bytearray()
        for ln in lines:
            if not self.options.wants(ln):
                continue
            if self.options.timestamps and ln.stream not in self._mid_line:
                out += crilog.format_timestamp(ln.timestamp).encode() + b" "
            out += ln.content
            if ln.partial:
                self._mid_line.add(ln.stream)
            else:
                out += b"\n"
                self._mid_line.discard(ln.stream)
        if self.remaining is not None:
            out = out[:self.remaining]
            self.remaining -= len(out)
        return bytes(out)


def tail(lines: list[crilog.LogLine], n: int | None) -> list[crilog.LogLine]:
    """The last `n` logical lines (partial pieces belong to the full line that ends them)."""
    if n is None:
        return lines
    if n == 0:
        return []
    starts: list[int] = []
    start = 0
    for i, ln in enumerate(lines):
        if i == start:
            starts.append(i)
        if not ln.partial:
            start = i + 1
    return lines if n >= len(starts) else lines[starts[-n]:]


class LogFile:
    """Incremental reads of one CRI log path; follows rotation (a new file at the same path)."""

    def __init__(self, path: str):
        self.path = path
        self._file = None
        self._ino: int | None = None
        self._pending = b""

    def read_lines(self) -> list[crilog.LogLine]:
        """Complete lines appended since the last call (blocking: call via `asyncio.to_thread`)."""
        if self._file is None:
            try:
                self._file = open(self.path, "rb")
            except FileNotFoundError:
                return []
            self._ino = os.fstat(self._file.fileno()).st_ino
        data = self._file.read()
        if not data:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                return []
            if st.st_ino != self._ino or st.st_size < self._file.tell():  # rotated or truncated
                self.close()
                return self.read_lines()
            return []
        data = self._pending + data
        complete, _, self._pending = data.rpartition(b"\n")
        out = []
        for raw in complete.split(b"\n"):
            if raw.strip():
                try:
                    out.append(crilog.parse_line(raw))
                except ValueError:
                    continue
        return out

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def stream_logs(path: str, options: LogOptions, write: Callable[[bytes], Awaitable[None]],
                      still_running: Callable[[], Awaitable[bool]], client_gone: Callable[[], bool]) -> None:
    """Write the log at `path`; with `follow`, keep writing until the container stops."""
    log = LogFile(path)
    renderer = LogRenderer(options)
    try:
        lines = await asyncio.to_thread(log.read_lines)
        data = renderer.render(tail(lines, options.tail_lines))
        if data:
            await write(data)
        if not options.follow:
            return
        idle = 0
        while not renderer.exhausted and not client_gone():
            lines = await asyncio.to_thread(log.read_lines)
            if lines:
                idle = 0
                data = renderer.render(lines)
                if data:
                    await write(data)
                continue
            idle += 1
            if idle % 5 == 0 and not await still_running():
                # drain what was written before the stop, then end
                lines = await asyncio.to_thread(log.read_lines)
                data = renderer.render(lines)
                if data:
                    await write(data)
                return
            await asyncio.sleep(POLL_INTERVAL)
    finally:
        await asyncio.to_thread(log.close)
