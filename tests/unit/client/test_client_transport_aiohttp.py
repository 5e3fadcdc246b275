"""The real transport against a tiny aiohttp server on 127.0.0.1 (chunked watch streams, TLS)."""

import asyncio
import socket
import ssl
from contextlib import asynccontextmanager

import orjson
import pytest
from aiohttp import web

from kubelite.client.config import ClientConfig
from kubelite.client.rest import Client
from kubelite.client.transport import AiohttpTransport, ConnectError, iter_lines
from kubelite.machinery.errors import StatusError, is_gone, is_not_found


def run(coro):
    return asyncio.run(coro)


@asynccontextmanager
async def serve(app: web.Application, ssl_context: ssl.SSLContext | None = None):
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def event(etype, name, rv, padding=0):
    obj = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": name, "resourceVersion": str(rv)}}
    if padding:
        obj["metadata"]["annotations"] = {"big": "x" * padding}
    return orjson.dumps({"type": etype, "object": obj}) + b"\n"


def test_watch_stream_is_parsed_line_by_line_over_chunks():
    seen_requests = []

    async def watch(request: web.Request) -> web.StreamResponse:
        seen_requests.append(request)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        one, two = event("ADDED", "a", 11), event("MODIFIED", "a", 12)
        await resp.write(one[:10])                     # a line split over chunks
        await asyncio.sleep(0.01)
        await resp.write(one[10:] + two)               # the rest plus a whole second line
        await resp.write(b"\n")                        # blank lines are skipped
        big = event("MODIFIED", "big", 13, padding=300_000)
        for i in range(0, len(big), 65_536):           # one line far over aiohttp's readline limit
            await resp.write(big[i:i + 65_536])
        await resp.write(orjson.dumps({"type": "BOOKMARK", "object": {
            "kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": "20"}}}))   # no final newline
        await resp.write_eof()
        return resp

    async def main():
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/default/pods", watch)
        async with serve(app) as port:
            c = Client.from_config(ClientConfig(server=f"http://127.0.0.1:{port}", token="abc123"))
            try:
                events = []
                async with c.watch("pods", "default", resource_version="10", timeout_seconds=5,
                                   allow_watch_bookmarks=True) as w:
                    async for etype, obj in w:
                        events.append((etype, obj["metadata"].get("name"), obj["metadata"]["resourceVersion"]))
                assert events == [("ADDED", "a", "11"), ("MODIFIED", "a", "12"), ("MODIFIED", "big", "13"),
                                  ("BOOKMARK", None, "20")]
                assert w.resource_version == "20"
            finally:
                await c.close()
        req = seen_requests[0]
        assert req.headers["Authorization"] == "Bearer abc123"
        assert req.headers["User-Agent"].startswith("kubelite/")
        assert req.query["watch"] == "true" and req.query["timeoutSeconds"] == "5"
        assert req.query["resourceVersion"] == "10" and req.query["allowWatchBookmarks"] == "true"

    run(main())


def test_watch_error_event_and_early_close():
    async def expired(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        if request.query.get("resourceVersion") == "1":
            await resp.write(orjson.dumps({"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "too old resource version: 1 (50)", "reason": "Expired", "code": 410}}) + b"\n")
            return resp
        await resp.write(event("ADDED", "a", 51))
        await asyncio.Event().wait()              # never ends on its own: the client closes it
        return resp

    async def main():
        app = web.Application()
        app.router.add_get("/api/v1/pods", expired)
        async with serve(app) as port:
            c = Client.from_config(ClientConfig(server=f"http://127.0.0.1:{port}"))
            try:
                with pytest.raises(StatusError) as ei:
                    async for _ in c.watch("pods", resource_version="1"):
                        pass
                assert is_gone(ei.value) and ei.value.code == 410
                async with c.watch("pods", resource_version="50") as w:
                    async for etype, obj in w:
                        assert etype == "ADDED"
                        break
            finally:
                await asyncio.wait_for(c.close(), 5)

    run(main())


def test_tls_with_client_certificate_from_pem_data(pki, tmp_path):
    for name in ("ca", "server_cert", "server_key"):
        (tmp_path / name).write_bytes(pki[name])
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "ca"))
    server_ctx.load_cert_chain(str(tmp_path / "server_cert"), str(tmp_path / "server_key"))
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    peers = []

    async def get_pod(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peercert"))
        if request.match_info["name"] == "missing":
            return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                      "message": 'pods "missing" not found', "reason": "NotFound",
                                      "details": {"name": "missing", "kind": "pods"}, "code": 404}, status=404)
        return web.json_response({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}})

    async def main():
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/default/pods/{name}", get_pod)
        async with serve(app, server_ctx) as port:
            cfg = ClientConfig(server=f"https://127.0.0.1:{port}", ca_data=pki["ca"], cert_data=pki["client_cert"],
                               key_data=pki["client_key"], tls_server_name="kubernetes.default.svc")
            async with Client.from_config(cfg) as c:
                assert (await c.get("pods", "p"))["metadata"]["name"] == "p"
                with pytest.raises(StatusError) as ei:
                    await c.get("pods", "missing")
                assert is_not_found(ei.value) and ei.value.details["name"] == "missing"
            subject = dict(x[0] for x in peers[0]["subject"])
            assert subject["commonName"] == "admin"

            untrusted = ClientConfig(server=f"https://127.0.0.1:{port}", cert_data=pki["client_cert"],
                                     key_data=pki["client_key"])
            async with Client.from_config(untrusted) as c:
                with pytest.raises(Exception) as ei:
                    await c.get("pods", "p")
                assert "certificate" in str(ei.value).lower()

    run(main())


def test_connection_refused_is_a_connect_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main():
        t = AiohttpTransport(ClientConfig(server=f"http://127.0.0.1:{port}"))
        try:
            with pytest.raises(ConnectError):
                await t.request("GET", "/version")
            with pytest.raises(ConnectError):
                async with t.stream("GET", "/api/v1/pods", query=[("watch", "true")]):
                    pass
        finally:
            await t.close()

    run(main())


def test_iter_lines_keeps_a_final_unterminated_line():
    async def chunks():
        for c in (b"a\nb", b"c\n", b"", b"\nlast"):
            yield c

    async def main():
        return [line async for line in iter_lines(chunks())]

    assert run(main()) == [b"a", b"bc", b"", b"last"]


def test_fake_status_errors_round_trip_through_gone_check():
    # An HTTP 410 reply on a plain GET becomes a Gone StatusError too.
    async def gone(request):
        return web.Response(status=410, text="gone")

    async def main():
        app = web.Application()
        app.router.add_get("/api/v1/pods", gone)
        async with serve(app) as port:
            async with Client.from_config(ClientConfig(server=f"http://127.0.0.1:{port}")) as c:
                with pytest.raises(StatusError) as ei:
                    await c.list("pods")
                assert is_gone(ei.value)

    run(main())
