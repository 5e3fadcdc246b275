"""CRI container log lines: `<RFC3339Nano time> <stdout|stderr> <F|P> <content>`.

The runtime writes them (conmon for runc, `CRILogWriter` for the fake); the kubelet reads them
for `kubectl logs`. Readers accept any fraction length and `Z` or a numeric offset (conmon writes
`+00:00`), and use only the first tag of a `:`-separated tag list.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

STDOUT = "stdout"
STDERR = "stderr"
FULL = "F"
PARTIAL = "P"
MAX_LINE_SIZE = 16 * 1024  # containerd's max_container_log_line_size


def format_timestamp(ns: int) -> str:
    """Go's RFC3339Nano in UTC: fraction without trailing zeros, `Z` suffix."""
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    digits = f"{frac:09d}".rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def parse_timestamp(text: str) -> int:
    """RFC3339 with 0-9 fraction digits -> ns since the epoch."""
    m = _TS.match(text)
    if not m:
        raise ValueError(f"invalid log timestamp {text!r}")
    base, frac, zone = m.groups()
    dt = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    secs = int(dt.timestamp())
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        secs -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return secs * 1_000_000_000 + int((frac or "0").ljust(9, "0"))


@dataclass
class LogLine:
    timestamp: int  # ns
    stream: str
    tag: str
    content: bytes

    @property
    def partial(self) -> bool:
        return self.tag == PARTIAL


def format_line(ts_ns: int, stream: str, tag: str, content: bytes) -> bytes:
    return b"%s %s %s %s\n" % (format_timestamp(ts_ns).encode(), stream.encode(), tag.encode(), content)


def parse_line(line: bytes) -> LogLine:
    """One line of a CRI log file (with or without its trailing newline)."""
    if line.endswith(b"\n"):
        line = line[:-1]
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        raise ValueError(f"invalid CRI log line {line[:80]!r}")
    ts, stream, tags = parts[0], parts[1].decode(), parts[2].decode()
    if stream not in (STDOUT, STDERR):
        raise ValueError(f"invalid stream {stream!r} in CRI log line")
    return LogLine(parse_timestamp(ts.decode()), stream, tags.split(":")[0], parts[3] if len(parts) > 3 else b"")


def encode(stream: str, data: bytes, ts_ns: int | None = None) -> bytes:
    """CRI lines for a chunk of output: one `F` line per newline-terminated line (a `\r` before
    the newline dropped), lines over 16 KiB split into `P` chunks, trailing bytes as `P`."""
    ts = time.time_ns() if ts_ns is None else ts_ns
    out = bytearray()
    lines = data.split(b"\n")
    tail = lines.pop()
    for line in lines:
        if line.endswith(b"\r"):
            line = line[:-1]
        while len(line) > MAX_LINE_SIZE:
            out += format_line(ts, stream, PARTIAL, line[:MAX_LINE_SIZE])
            line = line[MAX_LINE_SIZE:]
        out += format_line(ts, stream, FULL, line)
    if tail:
        while len(tail) > MAX_LINE_SIZE:
            out += format_line(ts, stream, PARTIAL, tail[:MAX_LINE_SIZE])
            tail = tail[MAX_LINE_SIZE:]
        out += format_line(ts, stream, PARTIAL, tail)
    return bytes(out)


def read_lines(path: Path) -> list[LogLine]:
    """All lines of one log file (blocking; call through `asyncio.to_thread`)."""
    with open(path, "rb") as f:
        return [parse_line(raw) for raw in f if raw.strip()]


def reassemble(lines: list[LogLine], stream: str | None = None) -> list[bytes]:
    """Join partial lines: the text of each logical line, optionally of one stream."""
    out: list[bytes] = []
    pending: dict[str, bytearray] = {}
    for ln in lines:
        if stream is not None and ln.stream != stream:
            continue
        buf = pending.setdefault(ln.stream, bytearray())
        buf += ln.content
        if not ln.partial:
            out.append(bytes(buf))
            pending[ln.stream] = bytearray()
    out.extend(bytes(b) for b in pending.values() if b)
    return out
