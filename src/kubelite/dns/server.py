"""`DNSServer`: cluster DNS over UDP and TCP, fed by informers, forwarding the rest upstream.

    server = DNSServer(client, address="198.18.128.10", port=53, upstreams=["192.0.2.53"])
    async with asyncio.TaskGroup() as tg:
        tg.create_task(server.run())
        await server.wait_ready()

- Informers on Services, EndpointSlices and (for verified pod records) Pods keep a
  `ClusterRecords` current; `resolve` answers from it without I/O.
- Names outside the cluster zone (and unknown reverse names) are forwarded to the upstream
  resolvers; when none answers, the reply is SERVFAIL. ExternalName CNAMEs are followed: the
  target's A/AAAA records are appended when it can be resolved (cluster or upstream).
- UDP answers larger than the client's limit (512 bytes, or its EDNS0 payload size) are sent
  truncated (TC, question only) so the client retries over TCP.
- Cluster answers are cached by query packet (all but the ID) until the records change, so a
  repeated question costs a dict lookup; forwarded answers are never cached.
- `upstreams=None` means the host's /etc/resolv.conf nameservers; tests pass their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from dataclasses import dataclass
from typing import Sequence

from dnslib import EDNS0, QTYPE, RCODE, DNSError, DNSHeader, DNSRecord

from ..client import Client, InformerFactory
from ..machinery.addressplan import DEFAULT as DEFAULT_PLAN
from .records import ClusterRecords
from .resolve import DNSOptions, Resolution, resolve
from .upstream import Forwarder, UpstreamError, host_nameservers, parse_upstream

log = logging.getLogger(__name__)

MAX_UDP = 512
SERVER_UDP_PAYLOAD = 1232       # what we advertise in EDNS0 (the DNS flag day value)
TCP_IDLE_TIMEOUT = 10.0
CACHE_SIZE = 10000             # answers kept (keyed by the query packet minus its ID) until records change


@dataclass
class DNSStatistics:
    queries: int = 0
    tcp_queries: int = 0
    forwarded: int = 0
    servfail: int = 0
    nxdomain: int = 0
    truncated: int = 0
    cache_hits: int = 0


def watch_records(factory: InformerFactory, records: ClusterRecords, *, pods: bool) -> list:
    """Register handlers keeping `records` current; returns the informers to wait on."""
    services = factory.informer_for("services")
    slices = factory.informer_for("endpointslices")
    services.add_event_handler(records.set_service, lambda _, n: records.set_service(n), records.delete_service)
    slices.add_event_handler(records.set_slice, lambda _, n: records.set_slice(n), records.delete_slice)
    informers = [services, slices]
    if pods:
        pod_inf = factory.informer_for("pods")
        pod_inf.add_event_handler(records.set_pod, lambda _, n: records.set_pod(n), records.delete_pod)
        informers.append(pod_inf)
    return informers


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.server._udp_query(self, data, addr)


class DNSServer:
    def __init__(self, client: Client | None = None, *, address: str | None = None, port: int = 53,
                 options: DNSOptions = DNSOptions(), upstreams: Sequence[str | tuple[str, int]] | None = None,
                 informers: InformerFactory | None = None, records: ClusterRecords | None = None,
                 upstream_timeout: float = 2.0) -> None:
        self.client = client
        self.address = address or DEFAULT_PLAN.dns_service_ip
        self.port = port
        self.options = options
        self.records = records or ClusterRecords()
        if upstreams is None:
            ups = host_nameservers()
        else:
            ups = [parse_upstream(u) if isinstance(u, str) else (u[0], int(u[1])) for u in upstreams]
        self.forwarder = Forwarder(ups, timeout=upstream_timeout)
        self.stats = DNSStatistics()
        self._factory = informers
        self._ready = asyncio.Event()
        self._tg: asyncio.TaskGroup | None = None
        self._cache: dict[tuple[bool, bytes], bytes] = {}
        self._cache_serial = -1

    async def wait_ready(self) -> None:
        """Wait until the caches are filled and both sockets listen (`self.port` is then bound)."""
        await self._ready.wait()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            informers = []
            if self.client is not None:
                factory = self._factory or InformerFactory(self.client)
                informers = watch_records(factory, self.records, pods=self.options.pods == "verified")
                if self._factory is None:
                    tg.create_task(factory.run())
            for inf in informers:   # listen only once the caches are filled: no early NXDOMAIN to cache
                await inf.wait_for_cache_sync()
            udp, tcp = await self._bind()
            try:
                self._ready.set()
                await asyncio.get_running_loop().create_future()   # until cancelled
            finally:
                udp.close()
                tcp.close()
                self._tg = None

    async def _bind(self) -> tuple[asyncio.DatagramTransport, asyncio.Server]:
        loop = asyncio.get_running_loop()
        for _ in range(20):
            udp, _ = await loop.create_datagram_endpoint(lambda: _UDP(self), local_addr=(self.address, self.port))
            port = udp.get_extra_info("sockname")[1]
            try:
                tcp = await asyncio.start_server(self._tcp_client, self.address, port, reuse_address=True)
            except OSError:
                udp.close()
                if self.port:
                    raise
                continue
            self.port = port
            return udp, tcp
        raise OSError(f"could not bind UDP and TCP on the same port at {self.address}")

    # -- answering ----------------------------------------------------------------------------

    def _cached(self, data: bytes, tcp: bool) -> bytes | None:
        """A previous answer to the same packet (all but the ID), while the records are unchanged."""
        if self._cache_serial != self.records.serial:
            self._cache.clear()
            self._cache_serial = self.records.serial
            return None
        hit = self._cache.get((tcp, data[2:]))
        if hit is None:
            return None
        self.stats.cache_hits += 1
        if hit[1] & 0x0F == RCODE.NXDOMAIN:
            self.stats.nxdomain += 1
        return data[:2] + hit

    def _remember(self, data: bytes, tcp: bool, out: bytes) -> None:
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[(tcp, data[2:])] = out[2:]

    def _udp_query(self, proto: _UDP, data: bytes, addr) -> None:
        self.stats.queries += 1
        hit = self._cached(data, False)
        if hit is not None:
            if proto.transport is not None:
                proto.transport.sendto(hit, addr)
            return
        request, reply, res = self._parse_and_resolve(data)
        if request is None:
            if reply is not None and proto.transport is not None:
                proto.transport.sendto(reply, addr)
            return
        if res.forward or res.chase:
            assert self._tg is not None
            self._tg.create_task(self._finish_udp(proto, request, data, res, addr))
            return
        out = self._pack_udp(request, res.reply)
        self._remember(data, False, out)
        if proto.transport is not None:
            proto.transport.sendto(out, addr)

    async def _finish_udp(self, proto: _UDP, request: DNSRecord, data: bytes, res: Resolution, addr) -> None:
        try:
            out = await self._finish(request, data, res, tcp=False)
        except Exception:   # never let one query take the server down
            log.exception("answering %s", request.q.qname)
            return
        if proto.transport is not None and not proto.transport.is_closing():
            proto.transport.sendto(out, addr)

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_TIMEOUT):
                    (n,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(n)
                self.stats.queries += 1
                self.stats.tcp_queries += 1
                out = await self.answer(data, tcp=True)
                if out is None:
                    break
                writer.write(struct.pack("!H", len(out)) + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def answer(self, data: bytes, *, tcp: bool = False) -> bytes | None:
        """The reply to one query packet (None: drop it)."""
        hit = self._cached(data, tcp)
        if hit is not None:
            return hit
        request, reply, res = self._parse_and_resolve(data)
        if request is None:
            return reply
        if res.forward or res.chase:
            return await self._finish(request, data, res, tcp=tcp)
        out = res.reply.pack() if tcp else self._pack_udp(request, res.reply)
        self._remember(data, tcp, out)
        return out

    def _parse_and_resolve(self, data: bytes) -> tuple[DNSRecord | None, bytes | None, Resolution]:
        try:
            request = DNSRecord.parse(data)
        except (DNSError, Exception):
            return None, _formerr(data), Resolution()
        if request.header.qr or request.header.opcode != 0 or len(request.questions) != 1:
            reply = request.reply()
            reply.header.rcode = RCODE.NOTIMP if request.header.opcode != 0 else RCODE.FORMERR
            return None, reply.pack(), Resolution()
        res = resolve(request, self.records, self.options)
        if res.reply is not None and res.reply.header.rcode == RCODE.NXDOMAIN:
            self.stats.nxdomain += 1
        if res.reply is not None and any(r.rtype == QTYPE.OPT for r in request.ar):
            res.reply.add_ar(EDNS0(udp_len=SERVER_UDP_PAYLOAD))
        return request, None, res

    async def _finish(self, request: DNSRecord, data: bytes, res: Resolution, *, tcp: bool) -> bytes:
        if res.forward:
            self.stats.forwarded += 1
            try:
                answer = await self.forwarder.forward(data, tcp=tcp)
            except UpstreamError as e:
                log.debug("upstream failed for %s: %s", request.q.qname, e)
                self.stats.servfail += 1
                fail = request.reply(ra=1, aa=0)
                fail.header.rcode = RCODE.SERVFAIL
                return fail.pack()
            if tcp or len(answer) <= _udp_limit(request):
                return answer
            return _truncated(request)
        reply = res.reply
        assert reply is not None
        await self._chase(reply, res.chase, request.q.qtype)
        return reply.pack() if tcp else self._pack_udp(request, reply)

    async def _chase(self, reply: DNSRecord, target: str, qtype: int) -> None:
        """Append the records of an ExternalName's target (best effort)."""
        query = DNSRecord.question(target, QTYPE[qtype])
        res = resolve(query, self.records, self.options)
        try:
            if res.forward:
                found = DNSRecord.parse(await self.forwarder.forward(query.pack()))
            elif res.reply is not None:
                found = res.reply
            else:
                return
        except (UpstreamError, DNSError, ValueError):
            return
        for rr in found.rr:
            reply.add_answer(rr)

    def _pack_udp(self, request: DNSRecord, reply: DNSRecord) -> bytes:
        out = reply.pack()
        if len(out) <= _udp_limit(request):
            return out
        self.stats.truncated += 1
        return _truncated(request)


def _udp_limit(request: DNSRecord) -> int:
    for r in request.ar:
        if r.rtype == QTYPE.OPT:
            return max(MAX_UDP, min(int(r.rclass), SERVER_UDP_PAYLOAD))
    return MAX_UDP


def _truncated(request: DNSRecord) -> bytes:
    reply = DNSRecord(DNSHeader(id=request.header.id, qr=1, aa=1, ra=1, rd=request.header.rd, tc=1), q=request.q)
    return reply.pack()


def _formerr(data: bytes) -> bytes | None:
    if len(data) < 12:
        return None
    header = bytearray(data[:12])
    header[2] = (header[2] | 0x80) & 0xF9       # qr=1, keep opcode/rd, clear aa/tc
    header[3] = (header[3] & 0xF0) | RCODE.FORMERR
    header[4:12] = b"\x00" * 8
    return bytes(header)


def free_udp_tcp_port(address: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on `address` (for tests and benchmarks)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((address, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((address, port))
                except OSError:
                    continue
            return port
    raise OSError("no free port")
