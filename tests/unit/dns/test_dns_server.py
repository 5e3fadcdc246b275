"""`DNSServer` over real UDP and TCP sockets on 127.0.0.1, with a fake upstream resolver that
the test runs on loopback (tests never reach a real resolver)."""

import asyncio
import contextlib
import socket
import struct

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from kubelite.dns import ClusterRecords, DNSOptions, DNSServer
from kubelite.dns.server import free_udp_tcp_port


class FakeUpstream:
    """Answers `*.example.test` A queries with 192.0.2.1, counts queries; UDP and TCP."""

    def __init__(self):
        self.port = 0
        self.udp_queries = 0
        self.tcp_queries = 0

    def answer(self, data: bytes) -> bytes:
        q = DNSRecord.parse(data)
        r = q.reply()
        name = str(q.q.qname)
        if name.endswith("example.test."):
            if q.q.qtype == QTYPE.A:
                r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("192.0.2.1"), ttl=60))
        else:
            r.header.rcode = RCODE.NXDOMAIN
        return r.pack()

    async def __aenter__(self):
        loop = asyncio.get_running_loop()
        up = self

        class P(asyncio.DatagramProtocol):
            def connection_made(self, t):
                self.t = t

            def datagram_received(self, data, addr):
                up.udp_queries += 1
                self.t.sendto(up.answer(data), addr)

        self.port = free_udp_tcp_port()
        self.udp, _ = await loop.create_datagram_endpoint(P, local_addr=("127.0.0.1", self.port))

        async def tcp(reader, writer):
            with contextlib.suppress(Exception):
                while True:
                    (n,) = struct.unpack("!H", await reader.readexactly(2))
                    up.tcp_queries += 1
                    out = up.answer(await reader.readexactly(n))
                    writer.write(struct.pack("!H", len(out)) + out)
                    await writer.drain()
            writer.close()

        self.tcp = await asyncio.start_server(tcp, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc):
        self.udp.close()
        self.tcp.close()
        await self.tcp.wait_closed()


def closed_port() -> int:
    """A loopback UDP port nobody listens on (queries get ICMP port unreachable)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def records():
    r = ClusterRecords()
    r.set_service({"metadata": {"namespace": "default", "name": "web"},
                   "spec": {"clusterIP": "198.18.128.20", "ports": [{"name": "http", "port": 80}]}})
    r.set_service({"metadata": {"namespace": "default", "name": "ext"},
                   "spec": {"type": "ExternalName", "externalName": "www.example.test"}})
    r.set_service({"metadata": {"namespace": "default", "name": "big"}, "spec": {"clusterIP": "None", "ports": []}})
    r.set_slice({"metadata": {"namespace": "default", "name": "big-1", "labels": {"kubernetes.io/service-name": "big"}},
                 "addressType": "IPv4", "ports": [],
                 "endpoints": [{"addresses": [f"198.19.{i // 250}.{i % 250 + 1}"]} for i in range(100)]})
    return r


async def serve(upstreams, body, *, opts=DNSOptions()):
    server = DNSServer(address="127.0.0.1", port=0, upstreams=upstreams, records=records(), options=opts,
                       upstream_timeout=0.5)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(server.run())
        await server.wait_ready()
        try:
            return await body(server)
        finally:
            task.cancel()


async def query(server, name, qtype="A", tcp=False, edns=None):
    q = DNSRecord.question(name, qtype)
    if edns:
        from dnslib import EDNS0
        q.add_ar(EDNS0(udp_len=edns))
    data = await asyncio.to_thread(q.send, "127.0.0.1", server.port, tcp=tcp, timeout=3)
    return DNSRecord.parse(data)


def test_a_record_over_udp_and_tcp():
    async def body(server):
        for tcp in (False, True):
            r = await query(server, "web.default.svc.cluster.local", tcp=tcp)
            assert [str(a.rdata) for a in r.rr] == ["198.18.128.20"]
        assert server.stats.tcp_queries == 1
    asyncio.run(serve([], body))


def test_nxdomain_and_srv():
    async def body(server):
        r = await query(server, "nope.default.svc.cluster.local")
        assert r.header.rcode == RCODE.NXDOMAIN and QTYPE[r.auth[0].rtype] == "SOA"
        r = await query(server, "_http._tcp.web.default.svc.cluster.local", "SRV")
        assert str(r.rr[0].rdata) == "0 100 80 web.default.svc.cluster.local."
    asyncio.run(serve([], body))


def test_forwards_other_names_to_the_upstream():
    async def body(server, up):
        r = await query(server, "www.example.test")
        assert [str(a.rdata) for a in r.rr] == ["192.0.2.1"]
        r = await query(server, "www.example.test", tcp=True)
        assert [str(a.rdata) for a in r.rr] == ["192.0.2.1"]
        r = await query(server, "missing.invalid")
        assert r.header.rcode == RCODE.NXDOMAIN
        assert up.udp_queries == 2 and up.tcp_queries == 1

    async def main():
        async with FakeUpstream() as up:
            await serve([f"127.0.0.1:{up.port}"], lambda s: body(s, up))
    asyncio.run(main())


def test_external_name_cname_is_followed_through_the_upstream():
    async def body(server):
        r = await query(server, "ext.default.svc.cluster.local")
        assert [(QTYPE[a.rtype], str(a.rdata)) for a in r.rr] == [("CNAME", "www.example.test."), ("A", "192.0.2.1")]

    async def main():
        async with FakeUpstream() as up:
            await serve([f"127.0.0.1:{up.port}"], body)
    asyncio.run(main())


def test_servfail_when_the_upstream_is_down():
    async def body(server):
        r = await query(server, "www.example.test")
        assert r.header.rcode == RCODE.SERVFAIL
        # cluster names still answer
        r = await query(server, "web.default.svc.cluster.local")
        assert r.header.rcode == RCODE.NOERROR
        r = await query(server, "ext.default.svc.cluster.local")
        assert [QTYPE[a.rtype] for a in r.rr] == ["CNAME"]
        assert server.stats.servfail == 1
    asyncio.run(serve([f"127.0.0.1:{closed_port()}"], body))


def test_servfail_without_upstreams():
    async def body(server):
        assert (await query(server, "www.example.test")).header.rcode == RCODE.SERVFAIL
    asyncio.run(serve([], body))


def test_big_answer_is_truncated_over_udp_and_complete_over_tcp():
    async def body(server):
        r = await query(server, "big.default.svc.cluster.local")
        assert r.header.tc and not r.rr and str(r.q.qname) == "big.default.svc.cluster.local."
        r = await query(server, "big.default.svc.cluster.local", tcp=True)
        assert not r.header.tc and len(r.rr) == 100
        # a client advertising a larger EDNS0 buffer gets more in UDP, up to our 1232 bytes
        r = await query(server, "big.default.svc.cluster.local", edns=4096)
        assert r.header.tc
        assert server.stats.truncated == 2
    asyncio.run(serve([], body))


def test_garbage_and_non_query_opcodes():
    async def body(server):
        def raw(data):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(2)
                s.sendto(data, ("127.0.0.1", server.port))
                return s.recv(4096)
        junk = b"\x12\x34" + b"\x01\x00" + b"\x00\x01" + b"\x00" * 6 + b"\xff\xff"
        out = await asyncio.to_thread(raw, junk)
        assert out[:2] == b"\x12\x34" and out[3] & 0x0F == RCODE.FORMERR
        q = DNSRecord.question("web.default.svc.cluster.local")
        q.header.opcode = 2
        out = DNSRecord.parse(await asyncio.to_thread(raw, q.pack()))
        assert out.header.rcode == RCODE.NOTIMP
        assert (await query(server, "web.default.svc.cluster.local")).rr
    asyncio.run(serve([], body))


def test_cached_answers_follow_record_changes():
    async def body(server):
        assert [str(a.rdata) for a in (await query(server, "web.default.svc.cluster.local")).rr] == ["198.18.128.20"]
        assert [str(a.rdata) for a in (await query(server, "web.default.svc.cluster.local")).rr] == ["198.18.128.20"]
        assert server.stats.cache_hits == 1
        server.records.set_service({"metadata": {"namespace": "default", "name": "web"},
                                    "spec": {"clusterIP": "198.18.128.21", "ports": []}})
        assert [str(a.rdata) for a in (await query(server, "web.default.svc.cluster.local")).rr] == ["198.18.128.21"]
        r = await query(server, "WEB.default.svc.cluster.local")   # another spelling: its own entry
        assert str(r.rr[0].rname) == "WEB.default.svc.cluster.local."
    asyncio.run(serve([], body))
