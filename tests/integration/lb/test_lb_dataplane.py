"""The load balancer with real sockets on loopback: aiohttp backends on 127.0.0.x, the LB on
127.0.0.1 (ports chosen by the kernel)."""

from __future__ import annotations

import asyncio
import hashlib
import os

import aiohttp

from kubelite.lb import (Algorithm, Certificate, FixedResponse, Forward, HealthCheck, Listener, ListenerProtocol,
                         LoadBalancer, LoadBalancerConfig, PathMatch, PathMatchType, Redirect, Rule, Target,
                         TargetGroup, Timeouts, WeightedTargetGroup)
from kubelite.testing import async_wait_until

from lbkit import LocalCA, backends, continuous_load, running, served_names

PREFIX = PathMatchType.PREFIX
HTTP, HTTPS, TCP = ListenerProtocol.HTTP, ListenerProtocol.HTTPS, ListenerProtocol.TCP


def http_lb(groups, rules=(), default=None, **kw) -> LoadBalancer:
    return LoadBalancer(LoadBalancerConfig("test", listeners=(
        Listener(HTTP, 0, default or FixedResponse(404, "nothing here\n"), tuple(rules), name="http"),),
        target_groups=tuple(groups), **kw))


def test_https_with_sni_routes_api_and_root_and_redirects_http():
    async def run():
        ca = LocalCA()
        www_cert = Certificate("www", *ca.issue("www.example.test"))
        api_cert = Certificate("api", *ca.issue("api.example.test", "*.api.example.test"))
        api, web = await backends(("api", "127.0.0.2"), ("web", "127.0.0.3"))
        rules = (Rule(10, Forward.to("api"), paths=(PathMatch(PREFIX, "/api"),)),
                 Rule(20, Forward.to("web"), paths=(PathMatch(PREFIX, "/"),)))
        groups = (TargetGroup("api", targets=(api.target,)), TargetGroup("web", targets=(web.target,)))

        def config(https_port: int) -> LoadBalancerConfig:
            return LoadBalancerConfig("test", listeners=(
                Listener(HTTP, 0, Redirect(protocol="HTTPS", port=str(https_port), status=301), name="http"),
                Listener(HTTPS, 0, FixedResponse(404), rules, (www_cert, api_cert), name="https")),
                target_groups=groups)
        lb = LoadBalancer(config(443))
        ctx = ca.client_context()
        try:
            async with running(lb), aiohttp.ClientSession() as s:
                sport = lb.port("https")
                await lb.apply(config(sport))
                base = f"https://127.0.0.1:{sport}"
                for host, path, who in [("www.example.test", "/api/v1", "api"), ("www.example.test", "/", "web"),
                                        ("api.example.test", "/apis", "web"), ("x.api.example.test", "/api", "api")]:
                    async with s.get(base + path, ssl=ctx, server_hostname=host, headers={"Host": host}) as r:
                        body = await r.json()
                        assert r.status == 200 and body["backend"] == who, (host, path, body)
                        assert body["proto"] == "https" and body["port"] == str(sport)
                        assert body["xff"] == "127.0.0.1"
                    names = await served_names(sport, host, ctx)   # SNI chose the certificate
                    assert host in names or f"*.{host.partition('.')[2]}" in names
                # no SNI: the default (first) certificate
                assert await served_names(sport, None) == ["www.example.test"]
                assert await served_names(sport, "unknown.test") == ["www.example.test"]
                # HTTP -> HTTPS, keeping host, path and query
                async with s.get(f"http://127.0.0.1:{lb.port('http')}/api/x?y=1",
                                 headers={"Host": "www.example.test"}, allow_redirects=False) as r:
                    assert r.status == 301
                    assert r.headers["Location"] == f"https://www.example.test:{sport}/api/x?y=1"
                snap = lb.snapshot()
                assert snap.counters["http_3xx"] == 1 and snap.counters["redirects"] == 1
                assert snap.counters["target_responses"] == 4
        finally:
            for b in (api, web):
                await b.stop()
    asyncio.run(run())


def test_lb_errors_are_502_503_504_with_plain_bodies():
    async def run():
        slow, = await backends(("slow", "127.0.0.2"))
        closed = Target("127.0.0.3", 9)  # nothing listens there
        lb = http_lb([TargetGroup("empty"), TargetGroup("refused", targets=(closed,)),
                      TargetGroup("slow", targets=(slow.target,))],
                     rules=[Rule(1, Forward.to("empty"), paths=(PathMatch(PREFIX, "/empty"),)),
                            Rule(2, Forward.to("refused"), paths=(PathMatch(PREFIX, "/refused"),)),
                            Rule(3, Forward.to("slow"), paths=(PathMatch(PREFIX, "/slow"),))],
                     timeouts=Timeouts(target_response=0.3))
        try:
            async with running(lb), aiohttp.ClientSession() as s:
                base = f"http://127.0.0.1:{lb.port('http')}"
                for path, status in [("/empty", 503), ("/refused", 502), ("/slow?t=1", 504), ("/other", 404)]:
                    async with s.get(base + path) as r:
                        assert r.status == status, path
                        assert r.headers["Content-Type"].startswith("text/plain")
                        text = await r.text()
                        assert text.startswith(str(status)) or text == "nothing here\n"
                c = lb.snapshot().counters
                assert (c["elb_502"], c["elb_503"], c["elb_504"], c["elb_4xx"]) == (1, 1, 1, 1)
                assert c["target_connection_errors"] >= 1
        finally:
            await slow.stop()
    asyncio.run(run())


def test_keep_alive_pooling_streaming_bodies_websocket_and_http10():
    async def run():
        a, = await backends(("a", "127.0.0.2"))
        lb = http_lb([TargetGroup("a", targets=(a.target,))], default=Forward.to("a"))
        try:
            async with running(lb):
                async with aiohttp.ClientSession() as s:
                    base = f"http://127.0.0.1:{lb.port('http')}"
                    for _ in range(30):
                        async with s.get(base + "/x") as r:
                            assert r.status == 200
                    assert lb.rt.pool.opened == 1   # one pooled connection to the target served them all
                    # a 6 MiB chunked upload, streamed
                    blob = os.urandom(6 * 1024 * 1024)

                    async def gen():
                        for i in range(0, len(blob), 100_000):
                            yield blob[i:i + 100_000]
                    async with s.post(base + "/echo", data=gen()) as r:
                        body = await r.json()
                        assert body["size"] == len(blob) and body["sha256"] == hashlib.sha256(blob).hexdigest()
                    # a fixed-length upload above the buffering limit
                    async with s.post(base + "/echo", data=blob[:1_000_000]) as r:
                        assert (await r.json())["size"] == 1_000_000
                    # a chunked download
                    async with s.get(base + "/stream?n=40&size=65536") as r:
                        data = await r.read()
                        assert len(data) == 40 * 65536 and data[:1] == b"A" and data[-1:] == b"N"
                    # websocket through the LB
                    async with s.ws_connect(base + "/ws") as ws:
                        for i in range(3):
                            await ws.send_str(f"ping {i}")
                            assert (await ws.receive_str()) == f"a: ping {i}"
                    assert lb.snapshot().counters["upgrades"] == 1
                # HTTP/1.0 client, chunked response: decoded and closed
                reader, writer = await asyncio.open_connection("127.0.0.1", lb.port("http"))
                writer.write(b"GET /stream?n=3&size=10 HTTP/1.0\r\n\r\n")
                data = await asyncio.wait_for(reader.read(), 5)
                writer.close()
                head, _, body = data.partition(b"\r\n\r\n")
                assert b"Transfer-Encoding" not in head and b"Connection: close" in head
                assert body == b"A" * 10 + b"B" * 10 + b"C" * 10
                # two pipelined requests on one raw connection
                reader, writer = await asyncio.open_connection("127.0.0.1", lb.port("http"))
                writer.write(b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
                             b"GET /two HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                data = await asyncio.wait_for(reader.read(), 5)
                writer.close()
                assert data.count(b"HTTP/1.1 200 OK") == 2 and b'"/one"' in data and b'"/two"' in data
        finally:
            await a.stop()
    asyncio.run(run())


def test_health_checks_take_a_failing_target_out_and_back():
    async def run():
        a, b = await backends(("a", "127.0.0.2"), ("b", "127.0.0.3"))
        hc = HealthCheck(enabled=True, path="/health", interval=0.1, timeout=0.1, healthy_threshold=1,
                         unhealthy_threshold=1)
        lb = http_lb([TargetGroup("tg", targets=(a.target, b.target), health_check=hc)], default=Forward.to("tg"))
        try:
            async with running(lb), aiohttp.ClientSession() as s:
                url = f"http://127.0.0.1:{lb.port('http')}/"

                def states():
                    return {d.target.ip: d.state for d in lb.describe_target_health("tg")}
                await async_wait_until(lambda: states() == {"127.0.0.2": "healthy", "127.0.0.3": "healthy"}, 5)
                b.healthy = False
                await async_wait_until(lambda: states()["127.0.0.3"] == "unhealthy", 5)
                d = {x.target.ip: x for x in lb.describe_target_health("tg")}["127.0.0.3"]
                assert d.reason == "Target.ResponseCodeMismatch"
                seen = set()
                for _ in range(10):
                    async with s.get(url) as r:
                        seen.add((await r.json())["backend"])
                assert seen == {"a"}
                b.healthy = True
                await async_wait_until(lambda: states()["127.0.0.3"] == "healthy", 5)
                missing = lb.describe_target_health("tg", [Target("127.0.0.9", 80)])
                assert missing[0].reason == "Target.NotRegistered"
                assert lb.snapshot().target_group("tg").counts["healthy"] == 2
        finally:
            await a.stop()
            await b.stop()
    asyncio.run(run())


def test_rolling_replacement_under_load_drops_nothing():
    """Old targets are replaced one by one while 8 clients send requests without pause: new
    target registered, old one deregistered (draining), then stopped; the last one is stopped
    at the same moment it is deregistered (the race a terminating pod has with its endpoint)."""
    async def run():
        old = await backends(("old-1", "127.0.0.2"), ("old-2", "127.0.0.3"), ("old-3", "127.0.0.4"))
        new = []
        lb = http_lb([TargetGroup("tg", targets=tuple(b.target for b in old), deregistration_delay=10)],
                     default=Forward.to("tg"))
        try:
            async with running(lb):
                url = f"http://127.0.0.1:{lb.port('http')}/"
                async with continuous_load(url) as load:
                    await async_wait_until(lambda: load.ok > 200, 10)
                    for i, gone in enumerate(old):
                        fresh, = await backends((f"new-{i + 1}", f"127.0.0.{5 + i}"))
                        new.append(fresh)
                        await lb.register_targets("tg", [fresh.target])
                        if i < len(old) - 1:
                            await lb.deregister_targets("tg", [gone.target])
                            await async_wait_until(
                                lambda: gone.target not in {d.target for d in lb.describe_target_health("tg")}, 10)
                            await gone.stop()
                        else:
                            await asyncio.gather(lb.deregister_targets("tg", [gone.target]), gone.stop())
                        mark = load.ok
                        await async_wait_until(lambda: load.ok > mark + 100, 10)
                assert load.failures == [], load.failures[:5]
                assert load.ok > 500
                assert {"new-1", "new-2", "new-3"} <= set(load.by_backend)
                assert {d.target for d in lb.describe_target_health("tg")} == {b.target for b in new}
        finally:
            for b in old + new:
                await b.stop()
    asyncio.run(run())


def test_draining_lets_in_flight_requests_finish_and_cuts_them_at_the_deadline():
    async def run():
        a, b = await backends(("a", "127.0.0.2"), ("b", "127.0.0.3"))
        lb = http_lb([TargetGroup("tg", targets=(a.target,), deregistration_delay=5)], default=Forward.to("tg"))
        try:
            async with running(lb), aiohttp.ClientSession() as s:
                url = f"http://127.0.0.1:{lb.port('http')}"

                async def get(path):
                    async with s.get(url + path) as r:
                        return r.status, await r.text()
                slow = asyncio.ensure_future(get("/slow?t=0.6"))
                await async_wait_until(lambda: a.hits == 1, 5)
                await lb.apply(lb.config.with_targets("tg", (b.target,)))
                assert [d.state for d in lb.describe_target_health("tg")] == ["draining", "healthy"]
                for _ in range(5):
                    status, text = await get("/")
                    assert status == 200 and '"b"' in text
                assert await slow == (200, "a slow done")
                await async_wait_until(lambda: len(lb.describe_target_health("tg")) == 1, 5)
                # now with a short delay: a request still running at the deadline is cut
                import dataclasses
                await lb.apply(lb.config.with_targets("tg", (a.target,)))
                slow = asyncio.ensure_future(get("/slow?t=1.5"))
                await async_wait_until(lambda: a.hits == 2, 5)
                tg = dataclasses.replace(lb.config.target_groups[0], targets=(b.target,), deregistration_delay=0.3)
                await lb.apply(dataclasses.replace(lb.config, target_groups=(tg,)))
                status, text = await slow
                assert status == 502 and text == "502 Bad Gateway\n"
        finally:
            await a.stop()
            await b.stop()
    asyncio.run(run())


def test_weighted_forward_and_least_outstanding_requests():
    async def run():
        a, b = await backends(("a", "127.0.0.2"), ("b", "127.0.0.3"))
        lb = http_lb([TargetGroup("ga", targets=(a.target,)),
                      TargetGroup("gb", targets=(b.target,), algorithm=Algorithm.LEAST_OUTSTANDING_REQUESTS)],
                     default=Forward((WeightedTargetGroup("ga", 3), WeightedTargetGroup("gb", 1))))
        try:
            async with running(lb), aiohttp.ClientSession() as s:
                for _ in range(40):
                    async with s.get(f"http://127.0.0.1:{lb.port('http')}/") as r:
                        assert r.status == 200
                assert (a.hits, b.hits) == (30, 10)
        finally:
            await a.stop()
            await b.stop()
    asyncio.run(run())


def test_tcp_listener_passes_bytes_through_and_balances_connections():
    async def run():
        servers = []
        names = []

        def echo(tag):
            async def handle(reader, writer):
                data = await reader.read(100)
                writer.write(tag + b":" + data)
                await writer.drain()
                writer.close()
            return handle
        for i, host in enumerate(("127.0.0.2", "127.0.0.3")):
            srv = await asyncio.start_server(echo(f"e{i}".encode()), host, 0)
            servers.append(srv)
            names.append(Target(host, srv.sockets[0].getsockname()[1]))
        lb = LoadBalancer(LoadBalancerConfig("l4", listeners=(Listener(TCP, 0, Forward.to("tg"), name="tcp"),),
                                             target_groups=(TargetGroup("tg", "TCP", tuple(names)),)))
        try:
            async with running(lb):
                got = []
                for _ in range(4):
                    reader, writer = await asyncio.open_connection("127.0.0.1", lb.port("tcp"))
                    writer.write(b"hello")
                    got.append(await asyncio.wait_for(reader.read(), 5))
                    writer.close()
                assert sorted(got) == [b"e0:hello", b"e0:hello", b"e1:hello", b"e1:hello"]
                assert lb.snapshot().counters["new_connections"] == 4
        finally:
            for srv in servers:
                srv.close()
    asyncio.run(run())


def test_listeners_and_certificates_change_live():
    async def run():
        ca = LocalCA()
        a, = await backends(("a", "127.0.0.2"))
        groups = (TargetGroup("a", targets=(a.target,)),)
        one = Certificate("one", *ca.issue("one.example.test"))
        two = Certificate("two", *ca.issue("two.example.test"))
        lb = LoadBalancer(LoadBalancerConfig("live", listeners=(
            Listener(HTTPS, 0, Forward.to("a"), certificates=(one,), name="https"),), target_groups=groups))
        ctx = ca.client_context()
        try:
            async with running(lb), aiohttp.ClientSession() as s:
                port = lb.port("https")
                async with s.get(f"https://127.0.0.1:{port}/", ssl=ctx, server_hostname="one.example.test") as r:
                    assert r.status == 200
                await lb.apply(LoadBalancerConfig("live", listeners=(
                    Listener(HTTPS, 0, Forward.to("a"), certificates=(two,), name="https"),
                    Listener(HTTP, 0, FixedResponse(200, "plain\n"), name="http")), target_groups=groups))
                assert lb.port("https") == port  # same socket, new certificate
                async with aiohttp.ClientSession() as s2:   # new connection: new handshake
                    async with s2.get(f"https://127.0.0.1:{port}/", ssl=ctx,
                                      server_hostname="two.example.test") as r:
                        assert r.status == 200
                    assert await served_names(port, "two.example.test", ctx) == ["two.example.test"]
                    async with s2.get(f"http://127.0.0.1:{lb.port('http')}/") as r:
                        assert await r.text() == "plain\n"
                # a bad certificate is refused and the running configuration stays
                bad = Certificate("bad", one.cert_pem, two.key_pem)
                try:
                    await lb.apply(LoadBalancerConfig("live", listeners=(
                        Listener(HTTPS, 0, Forward.to("a"), certificates=(bad,), name="https"),), target_groups=groups))
                    raise AssertionError("expected a CertificateError")
                except ValueError as e:
                    assert "does not match" in str(e)
                assert {li.key for li in lb.snapshot().listeners} == {"https", "http"}
        finally:
            await a.stop()
    asyncio.run(run())


def test_a_target_that_hangs_up_is_skipped_for_idempotent_requests_only():
    async def run():
        good, = await backends(("good", "127.0.0.2"))

        async def hang_up(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.transport.abort()
        bad = await asyncio.start_server(hang_up, "127.0.0.3", 0)
        bad_target = Target("127.0.0.3", bad.sockets[0].getsockname()[1])
        lb = http_lb([TargetGroup("tg", targets=(bad_target, good.target))], default=Forward.to("tg"))
        try:
            async with running(lb), aiohttp.ClientSession() as s:
                url = f"http://127.0.0.1:{lb.port('http')}/"
                gets = []
                for _ in range(4):
                    async with s.get(url) as r:
                        gets.append(r.status)
                assert gets == [200, 200, 200, 200]
                posts = []
                for _ in range(4):
                    async with s.post(url, data=b"x") as r:
                        posts.append(r.status)
                assert sorted(posts) == [200, 200, 502, 502]   # a POST may have been acted on: not resent
                assert lb.snapshot().counters["retries"] >= 2
        finally:
            bad.close()
            await good.stop()
    asyncio.run(run())
