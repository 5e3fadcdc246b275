"""Two SPDY sessions (server and client) over an in-memory pipe."""

import asyncio
import contextlib

from kubelite.streaming.spdy import SpdySession, StreamReset
from kubelite.streaming.spdy import frames as f
from kubelite.streaming.spdy.session import INITIAL_WINDOW


class Pipe:
    """One direction of a byte pipe; a pair of them makes a duplex connection."""

    def __init__(self):
        self.q: asyncio.Queue[bytes] = asyncio.Queue()
        self.closed = False
        self.written: list[bytes] = []


class End:
    def __init__(self, inbound: Pipe, outbound: Pipe):
        self.inbound, self.outbound = inbound, outbound

    async def read(self) -> bytes:
        if self.inbound.closed and self.inbound.q.empty():
            return b""
        return await self.inbound.q.get()

    async def write(self, data: bytes) -> None:
        if self.outbound.closed:
            raise ConnectionResetError("closed")
        self.outbound.written.append(data)
        await self.outbound.q.put(data)

    async def close(self) -> None:
        for p in (self.inbound, self.outbound):
            if not p.closed:
                p.closed = True
                p.q.put_nowait(b"")


def pair():
    a, b = Pipe(), Pipe()
    return End(a, b), End(b, a)


async def _run(test):
    server_end, client_end = pair()
    server = SpdySession(server_end, server=True, high_water=256 * 1024)
    client = SpdySession(client_end, server=False)
    accepted: asyncio.Queue = asyncio.Queue()

    async def on_stream(stream):
        await stream.reply()
        accepted.put_nowait(stream)

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(server.run(on_stream)), tg.create_task(client.run(lambda s: None))]
        try:
            async with asyncio.timeout(10):
                await test(server, client, accepted, server_end, client_end)
        finally:
            await client.close()
            await server.close()
            for t in tasks:
                t.cancel()


def run(test):
    asyncio.run(_run(test))


def test_streams_carry_data_both_ways_and_half_close():
    async def t(server, client, accepted, *_):
        cs = await client.open_stream({"streamtype": ["data"], "port": ["80"]})
        ss = await accepted.get()
        assert ss.header("streamType") == "data" and ss.header("port") == "80"
        await cs.write(b"ping")
        assert await ss.read() == b"ping"
        await cs.close()  # client FIN: server reads EOF but can still write
        assert await ss.read() == b""
        await ss.write(b"pong")
        assert await cs.read() == b"pong"
        await ss.close()
        assert await cs.read() == b""
        await asyncio.sleep(0)
        assert ss.id not in server.streams

    run(t)


def test_reset_ends_reads_and_fails_writes():
    async def t(server, client, accepted, *_):
        cs = await client.open_stream({"streamtype": ["data"]})
        ss = await accepted.get()
        await cs.reset()
        assert await ss.read() == b""
        assert ss.is_reset
        with contextlib.suppress(StreamReset):
            await ss.write(b"x")
            raise AssertionError("write on a reset stream must fail")

    run(t)


def test_client_pings_are_echoed():
    async def t(server, client, *_):
        await client.ping(timeout=5)

    run(t)


def test_stream_ids_must_be_the_peers_and_increasing():
    async def t(server, client, accepted, server_end, client_end):
        # an even (server-side) id from the client is refused with a reset
        await client_end.write(client.framer.encode(f.SynStream(2, {"streamtype": ["data"]})))
        await client_end.write(client.framer.encode(f.SynStream(1, {"streamtype": ["data"]})))
        s = await accepted.get()
        assert s.id == 1
        assert accepted.empty()

    run(t)


def test_large_writes_are_split_and_arrive_whole():
    async def t(server, client, accepted, *_):
        cs = await client.open_stream({"streamtype": ["data"]})
        ss = await accepted.get()
        payload = bytes(range(256)) * 4096  # 1 MiB
        writer = asyncio.create_task(ss.write(payload))
        got = bytearray()
        while len(got) < len(payload):
            got += await cs.read()
        await writer
        assert bytes(got) == payload

    run(t)


def test_window_updates_follow_consumption():
    async def t(server, client, accepted, server_end, client_end):
        cs = await client.open_stream({"streamtype": ["data"]})
        ss = await accepted.get()
        await cs.write(b"x" * (INITIAL_WINDOW))
        n = 0
        while n < INITIAL_WINDOW:
            n += len(await ss.read())
        await asyncio.sleep(0.05)
        # the server told the client about the consumed bytes (WINDOW_UPDATEs for the stream)
        assert client.peer_flow_control
        assert cs.send_window >= INITIAL_WINDOW // 2

    run(t)


def test_send_window_is_honoured_once_the_peer_speaks_flow_control():
    async def t(server, client, accepted, server_end, client_end):
        cs = await client.open_stream({"streamtype": ["data"]})
        ss = await accepted.get()
        server.peer_flow_control = True  # as if the client had sent a WINDOW_UPDATE
        ss.send_window = 10
        writer = asyncio.create_task(ss.write(b"y" * 25))
        assert await cs.read() == b"y" * 10
        await asyncio.sleep(0.05)
        assert not writer.done()  # blocked on the closed window
        await client_end.write(client.framer.encode(f.WindowUpdate(ss.id, 100)))
        await writer
        got = b""
        while len(got) < 15:
            got += await cs.read()
        assert got == b"y" * 15

    run(t)


def test_without_peer_flow_control_writes_never_wait():
    # Go's spdystream (kubectl) never sends WINDOW_UPDATE: more than a window must still go out
    async def t(server, client, accepted, *_):
        cs = await client.open_stream({"streamtype": ["data"]})
        ss = await accepted.get()
        assert not server.peer_flow_control
        await asyncio.wait_for(ss.write(b"z" * (3 * INITIAL_WINDOW)), 5)
        assert ss.send_window < 0

    run(t)


def test_transport_end_closes_every_stream():
    async def t(server, client, accepted, server_end, client_end):
        await client.open_stream({"streamtype": ["data"]})
        ss = await accepted.get()
        await client_end.close()
        assert await ss.read() == b""
        await asyncio.wait_for(server.closed.wait(), 5)

    run(t)
