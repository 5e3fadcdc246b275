"""Forwarding queries to upstream resolvers (CoreDNS's `forward` plugin, simplified).

`Forwarder(upstreams)` sends the client's query, as is, to each upstream in turn (UDP, then
TCP when the UDP answer is truncated or the client asked over TCP) with a per-try timeout, and
returns the first well-formed answer to the same question. `UpstreamError` when none answers;
the server then replies SERVFAIL. `host_nameservers()` reads the host's resolv.conf (the
default upstreams; tests always pass their own).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from pathlib import Path
from typing import Sequence

RESOLV_CONF = "/etc/resolv.conf"


class UpstreamError(Exception):
    pass


def host_nameservers(path: str = RESOLV_CONF) -> list[tuple[str, int]]:
    try:
        text = Path(path).read_text()
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            out.append((parts[1], 53))
    return out


def parse_upstream(s: str) -> tuple[str, int]:
    """`1.2.3.4`, `1.2.3.4:5353`, `[::1]:53`."""
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
        return host.rstrip("]"), int(port or 53)
    if s.count(":") == 1:
        host, port = s.split(":")
        return host, int(port)
    return s, 53


class _UDPQuery(asyncio.DatagramProtocol):
    def __init__(self, query_id: bytes) -> None:
        self.query_id = query_id
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr) -> None:
        if data[:2] == self.query_id and not self.answer.done():
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc or ConnectionError("closed"))


async def query_udp(packet: bytes, addr: tuple[str, int], timeout: float) -> bytes:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(lambda: _UDPQuery(packet[:2]), remote_addr=addr)
    try:
        transport.sendto(packet)
        async with asyncio.timeout(timeout):
            return await proto.answer
    finally:
        transport.close()


async def query_tcp(packet: bytes, addr: tuple[str, int], timeout: float) -> bytes:
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(*addr)
        try:
            writer.write(struct.pack("!H", len(packet)) + packet)
            await writer.drain()
            (n,) = struct.unpack("!H", await reader.readexactly(2))
            return await reader.readexactly(n)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _truncated(answer: bytes) -> bool:
    return len(answer) >= 3 and bool(answer[2] & 0x02)


class Forwarder:
    def __init__(self, upstreams: Sequence[tuple[str, int]], *, timeout: float = 2.0) -> None:
        self.upstreams = list(upstreams)
        self.timeout = timeout

    async def forward(self, packet: bytes, *, tcp: bool = False) -> bytes:
        errors = []
        for addr in self.upstreams:
            try:
                if not tcp:
                    answer = await query_udp(packet, addr, self.timeout)
                    if not _truncated(answer):
                        return answer
                return await query_tcp(packet, addr, self.timeout)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ConnectionError) as e:
                errors.append(f"{addr[0]}:{addr[1]}: {e!r}")
        raise UpstreamError("; ".join(errors) or "no upstream resolvers configured")
