"""The kubelet server over plain HTTP with a FakeRuntime and a FakePodLookup; clients are aiohttp
(WebSocket) and our own SPDY session (SPDY exec and port-forward); TLS client-cert checks last."""

import asyncio
import base64
import json
import ssl
import time

import aiohttp
import pytest

from kubelite.client import pki
from kubelite.kubelet.runtime import ContainerConfig, ContainerImage, ContainerStats, PodSandboxConfig
from kubelite.kubelet.runtime.fake import FakeRuntime
from kubelite.kubelet.server import (
    FakePodLookup,
    FixedNodeStats,
    KubeletServer,
    KubeletServerOptions,
    LoopbackDialer,
    serving_ssl_context,
)
from kubelite.streaming.spdy import SpdySession

IMAGE = ContainerImage(image="busybox", image_id="sha256:" + "1" * 64, config={"Cmd": ["sh"]})


class Node:
    def __init__(self, tmp_path, options=None):
        self.tmp = tmp_path
        self.runtime = FakeRuntime()
        self.lookup = FakePodLookup()
        self.dialer = LoopbackDialer()
        self.server = KubeletServer(self.runtime, self.lookup, node_name="n1", dialer=self.dialer,
                                    node_stats=FixedNodeStats(),
                                    options=options or KubeletServerOptions(address="127.0.0.1", port=0,
                                                                            authenticate=False, stats_interval=0.2))

    @property
    def url(self):
        scheme = "https" if self.server.options.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.server.port}"

    async def pod(self, name, scripts, *, stdin=False, tty=False):
        sc = PodSandboxConfig(name=name, namespace="default", uid=f"uid-{name}", log_directory=str(self.tmp / name))
        sid = await self.runtime.run_pod_sandbox(sc)
        self.lookup.add_pod("default", name, sc.uid, sid)
        ids = {}
        for c, script in scripts.items():
            cid = await self.runtime.create_container(sid, ContainerConfig(
                name=c, image=IMAGE, command=["sh", "-c", script], log_path=f"{c}/0.log", stdin=stdin, tty=tty), sc)
            await self.runtime.start_container(cid)
            self.lookup.add_container("default", name, c, cid, str(self.tmp / name / c / "0.log"))
            ids[c] = cid
        return sid, ids


def run(tmp_path, test, options=None):
    async def main():
        node = Node(tmp_path, options)
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(node.server.run())
            await node.server.wait_ready()
            try:
                async with asyncio.timeout(20):
                    await test(node)
            finally:
                for s in await node.runtime.list_pod_sandbox():
                    await node.runtime.remove_pod_sandbox(s.id)
                task.cancel()

    asyncio.run(main())


# --- plain requests ----------------------------------------------------------------------------


def test_healthz_and_logs(tmp_path):
    async def t(node):
        await node.pod("p", {"c": "echo hello; echo oops >&2; sleep 1000"})
        async with aiohttp.ClientSession() as s:
            async with s.get(node.url + "/healthz") as r:
                assert r.status == 200 and await r.text() == "ok"
            async with s.get(node.url + "/containerLogs/default/p/c") as r:
                assert r.status == 200 and await r.text() == "hello\noops\n"
            async with s.get(node.url + "/containerLogs/default/p/c?tailLines=1&timestamps=true") as r:
                body = await r.text()
                assert body.endswith("Z oops\n") and body.count("\n") == 1
            async with s.get(node.url + "/containerLogs/default/p/nope") as r:
                assert r.status == 404 and 'container "nope" not found in pod "p"' in await r.text()
            async with s.get(node.url + "/containerLogs/default/ghost/c") as r:
                assert r.status == 404 and 'pod "ghost" does not exist' in await r.text()
            async with s.get(node.url + "/containerLogs/default/p/c?previous=true") as r:
                assert r.status == 400
                assert await r.text() == 'previous terminated container "c" in pod "p" not found'
            async with s.get(node.url + "/containerLogs/default/p/c?tailLines=x") as r:
                assert r.status == 400

    run(tmp_path, t)


def test_follow_streams_until_the_container_stops(tmp_path):
    async def t(node):
        _, ids = await node.pod("p", {"c": "echo one; sleep 1; echo two; exit 0"})

        async def flip():  # the kubelet core would notice the exit; here the test does
            await node.runtime.state.containers[ids["c"]].exited.wait()
            node.lookup.set_running("default", "p", "c", False)

        async with asyncio.TaskGroup() as tg:
            tg.create_task(flip())
            async with aiohttp.ClientSession() as s:
                start = time.monotonic()
                async with s.get(node.url + "/containerLogs/default/p/c?follow=true") as r:
                    assert r.headers.get("Transfer-Encoding") == "chunked"
                    first = await r.content.readline()
                    assert first == b"one\n" and time.monotonic() - start < 0.9  # flushed before the end
                    assert await r.content.read() == b"two\n"

    run(tmp_path, t)


def test_stats_summary_and_resource_metrics(tmp_path):
    async def t(node):
        sid, ids = await node.pod("p", {"c": "sleep 1000"})
        node.runtime.stats[ids["c"]] = ContainerStats(ids["c"], "c", time.time_ns(), 5_000_000_000, 30 << 20,
                                                      20 << 20)
        async with aiohttp.ClientSession() as s:
            async with s.get(node.url + "/stats/summary") as r:
                summary = await r.json()
            assert summary["node"]["nodeName"] == "n1"
            (pod,) = summary["pods"]
            assert pod["podRef"] == {"name": "p", "namespace": "default", "uid": "uid-p"}
            (c,) = pod["containers"]
            assert c["name"] == "c" and c["memory"]["workingSetBytes"] == 20 << 20
            assert c["cpu"]["usageCoreNanoSeconds"] == 5_000_000_000
            async with s.get(node.url + "/metrics/resource") as r:
                text = await r.text()
                assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            assert 'container_cpu_usage_seconds_total{container="c",namespace="default",pod="p"} 5.0 ' in text
            assert 'container_memory_working_set_bytes{container="c",namespace="default",pod="p"} 20971520' in text
            assert "\nnode_memory_working_set_bytes 1073741824 " in text
            assert text.endswith("resource_scrape_error 0\n")

    run(tmp_path, t)


# --- exec over WebSocket -----------------------------------------------------------------------


async def ws_exec(node, query, protocols=("v5.channel.k8s.io",), send=()):
    out = {}
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(node.url + "/exec/default/p/c?" + query, protocols=protocols) as ws:
            assert ws.protocol == protocols[0]
            for m in send:
                await ws.send_bytes(m) if isinstance(m, bytes) else await ws.send_str(m)
            async for msg in ws:
                data = msg.data
                if isinstance(data, str):
                    ch, payload = int(data[0]), base64.b64decode(data[1:])
                else:
                    ch, payload = data[0], data[1:]
                out.setdefault(ch, b"")
                out[ch] += payload
    return out


def test_ws_exec_v5_reports_exit_code(tmp_path):
    async def t(node):
        await node.pod("p", {"c": "sleep 1000"})
        out = await ws_exec(node, "command=sh&command=-c&command=echo+hi%3B+echo+err+>%262%3B+exit+3"
                                  "&stdout=true&stderr=true")
        assert out[1] == b"hi\n" and out[2] == b"err\n"
        status = json.loads(out[3])
        assert status["reason"] == "NonZeroExitCode"
        assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]

    run(tmp_path, t)


def test_ws_exec_v5_stdin_and_close_channel(tmp_path):
    async def t(node):
        await node.pod("p", {"c": "sleep 1000"})
        out = await ws_exec(node, "command=cat&stdin=true&stdout=true&stderr=true",
                            send=(b"\x00abc\n", b"\xff\x00"))
        assert out[1] == b"abc\n"
        assert json.loads(out[3]) == {"metadata": {}, "status": "Success"}

    run(tmp_path, t)


def test_ws_exec_v4_base64(tmp_path):
    async def t(node):
        await node.pod("p", {"c": "sleep 1000"})
        out = await ws_exec(node, "command=echo&command=yo&stdout=true", protocols=("v4.base64.channel.k8s.io",))
        assert out[1] == b"yo\n" and json.loads(out[3])["status"] == "Success"

    run(tmp_path, t)


def test_ws_exec_errors_before_upgrade(tmp_path):
    async def t(node):
        await node.pod("p", {"c": "sleep 1000"})
        async with aiohttp.ClientSession() as s:
            async with s.get(node.url + "/exec/default/p/c?command=ls&stdout=true") as r:
                assert r.status == 400 and await r.text() == "Upgrade request required"
            async with s.get(node.url + "/exec/default/p/zz?command=ls&stdout=true") as r:
                assert r.status == 404
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await s.ws_connect(node.url + "/exec/default/p/c?command=ls&stdout=true", protocols=("nope",))

    run(tmp_path, t)


def test_ws_client_disconnect_kills_the_exec(tmp_path):
    async def t(node):
        await node.pod("p", {"c": "sleep 1000"})
        handles = []
        real_exec = node.runtime.exec

        async def exec_(*a, **kw):
            h = await real_exec(*a, **kw)
            handles.append(h)
            return h

        node.runtime.exec = exec_
        async with aiohttp.ClientSession() as s:
            ws = await s.ws_connect(node.url + "/exec/default/p/c?command=sleep&command=1000&stdout=true",
                                    protocols=("v5.channel.k8s.io",))
            await ws.receive()  # the "ready" message
            await ws.close()
        assert await asyncio.wait_for(handles[0].wait(), 5) == 137

    run(tmp_path, t)


# --- SPDY --------------------------------------------------------------------------------------


class StreamPair:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def read(self):
        return await self.reader.read(65536)

    async def write(self, data):
        self.writer.write(data)
        await self.writer.drain()

    async def close(self):
        self.writer.close()


async def spdy_connect(node, path, protocols):
    reader, writer = await asyncio.open_connection("127.0.0.1", node.server.port)
    head = [f"POST {path} HTTP/1.1", "Host: x", "Connection: Upgrade", "Upgrade: SPDY/3.1", "Content-Length: 0"]
    head += [f"X-Stream-Protocol-Version: {p}" for p in protocols]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    resp = (await reader.readuntil(b"\r\n\r\n")).decode()
    return resp, SpdySession(StreamPair(reader, writer), server=False)


def test_spdy_exec_v4(tmp_path):
    async def t(node):
        await node.pod("p", {"c": "sleep 1000"})
        resp, spdy = await spdy_connect(node, "/exec/default/p/c?command=cat&stdin=true&stdout=true&stderr=true",
                                        ["v5.channel.k8s.io", "v4.channel.k8s.io"])
        assert resp.startswith("HTTP/1.1 101") and "X-Stream-Protocol-Version: v5.channel.k8s.io" in resp
        async with asyncio.TaskGroup() as tg:
            tg.create_task(spdy.run(lambda s: None))
            err = await spdy.open_stream({"streamtype": ["error"]})
            stdin = await spdy.open_stream({"streamtype": ["stdin"]})
            stdout = await spdy.open_stream({"streamtype": ["stdout"]})
            await spdy.open_stream({"streamtype": ["stderr"]})
            await stdin.write(b"spdy!\n")
            await stdin.close()
            assert await stdout.read_all() == b"spdy!\n"
            assert json.loads(await err.read_all()) == {"metadata": {}, "status": "Success"}
            await spdy.close()

    run(tmp_path, t)


def test_spdy_port_forward_pairs_and_errors(tmp_path):
    async def t(node):
        await node.pod("p", {"c": "sleep 1000"})

        async def echo(r, w):
            while d := await r.read(1024):
                w.write(d.upper())
                await w.drain()
            w.close()

        srv = await asyncio.start_server(echo, "127.0.0.1", 0)
        node.dialer.ports[80] = srv.sockets[0].getsockname()[1]
        resp, spdy = await spdy_connect(node, "/portForward/default/p", ["portforward.k8s.io"])
        assert "X-Stream-Protocol-Version: portforward.k8s.io" in resp
        async with asyncio.TaskGroup() as tg:
            tg.create_task(spdy.run(lambda s: None))
            for rid in ("0", "1"):
                err = await spdy.open_stream({"streamtype": ["error"], "port": ["80"], "requestid": [rid]})
                await err.close()
                data = await spdy.open_stream({"streamtype": ["data"], "port": ["80"], "requestid": [rid]})
                await data.write(b"abc" + rid.encode())
                await data.close()
                assert await data.read_all() == b"ABC" + rid.encode()
                assert await err.read_all() == b""
            err = await spdy.open_stream({"streamtype": ["error"], "port": ["81"], "requestid": ["2"]})
            data = await spdy.open_stream({"streamtype": ["data"], "port": ["81"], "requestid": ["2"]})
            msg = (await err.read_all()).decode()
            assert msg.startswith("error forwarding port 81 to pod ") and "connection refused" in msg
            await spdy.close()
        srv.close()

    run(tmp_path, t)


def test_ws_port_forward_channels(tmp_path):
    async def t(node):
        await node.pod("p", {"c": "sleep 1000"})

        async def echo(r, w):
            while d := await r.read(1024):
                w.write(d)
                await w.drain()
            w.close()

        srv = await asyncio.start_server(echo, "127.0.0.1", 0)
        node.dialer.ports[80] = srv.sockets[0].getsockname()[1]
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(node.url + "/portForward/default/p?ports=80,81",
                                    protocols=("v5.channel.k8s.io", "v4.channel.k8s.io")) as ws:
                assert ws.protocol == "v4.channel.k8s.io"
                first = [await ws.receive_bytes() for _ in range(4)]
                assert first == [b"\x00\x50\x00", b"\x01\x50\x00", b"\x02\x51\x00", b"\x03\x51\x00"]
                err = await ws.receive_bytes()
                assert err[0] == 3 and b"error forwarding port 81" in err
                await ws.send_bytes(b"\x00hello")
                assert await ws.receive_bytes() == b"\x00hello"
        srv.close()

    run(tmp_path, t)


# --- TLS and client certificates --------------------------------------------------------------


def test_client_certificates_are_required_and_authorized(tmp_path):
    ca = pki.new_ca("test-ca")
    ca.save(tmp_path / "ca.crt", tmp_path / "ca.key")
    pki.sign(ca, common_name="n1", ip_addresses=["127.0.0.1"], server=True).save(tmp_path / "s.crt", tmp_path / "s.key")
    pki.sign(ca, common_name="kube-apiserver-kubelet-client", client=True).save(tmp_path / "a.crt", tmp_path / "a.key")
    pki.sign(ca, common_name="mallory", client=True).save(tmp_path / "m.crt", tmp_path / "m.key")
    opts = KubeletServerOptions(address="127.0.0.1", port=0, ssl_context=serving_ssl_context(
        str(tmp_path / "s.crt"), str(tmp_path / "s.key"), str(tmp_path / "ca.crt")))

    def client_ctx(name=None):
        ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        if name:
            ctx.load_cert_chain(tmp_path / f"{name}.crt", tmp_path / f"{name}.key")
        return ctx

    async def t(node):
        async with aiohttp.ClientSession() as s:
            async with s.get(node.url + "/healthz", ssl=client_ctx()) as r:
                assert r.status == 200
            async with s.get(node.url + "/stats/summary", ssl=client_ctx()) as r:
                assert r.status == 401
            async with s.get(node.url + "/stats/summary", ssl=client_ctx("m")) as r:
                assert r.status == 403 and "user=mallory" in await r.text()
            async with s.get(node.url + "/stats/summary", ssl=client_ctx("a")) as r:
                assert r.status == 200

    run(tmp_path, t, opts)

