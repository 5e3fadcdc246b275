"""Test kit for the load balancer: small aiohttp backends on 127.0.0.x, a test CA, a running LB,
and a load loop that counts failures."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import ssl
import tempfile
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubelite.lb import LoadBalancer, Target


class Backend:
    """An HTTP server that says who it is. Paths: /slow?t=S, /ws (echo), /stream?n=N&size=B,
    /echo (POST: size and sha256 of the body), /health (200, or 500 when `healthy` is False),
    anything else: JSON with the backend name, path and forwarding headers."""

    def __init__(self, name: str, host: str) -> None:
        self.name = name
        self.host = host
        self.port = 0
        self.hits = 0
        self.healthy = True
        self.runner: web.AppRunner | None = None

    @property
    def target(self) -> Target:
        return Target(self.host, self.port)

    async def start(self, port: int = 0) -> Backend:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/stream", self._stream)
        app.router.add_post("/echo", self._echo)
        app.router.add_get("/health", self._health)
        app.router.add_route("*", "/{tail:.*}", self._hello)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
        return self

    async def stop(self) -> None:
        """Graceful: stop listening, finish in-flight requests, close keep-alive connections."""
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def _hello(self, req: web.Request) -> web.Response:
        self.hits += 1
        return web.json_response({"backend": self.name, "path": req.path_qs, "host": req.headers.get("Host"),
                                  "xff": req.headers.get("X-Forwarded-For"),
                                  "proto": req.headers.get("X-Forwarded-Proto"),
                                  "port": req.headers.get("X-Forwarded-Port")})

    async def _slow(self, req: web.Request) -> web.Response:
        self.hits += 1
        await asyncio.sleep(float(req.query.get("t", "1")))
        return web.Response(text=f"{self.name} slow done")

    async def _health(self, req: web.Request) -> web.Response:
        return web.Response(status=200 if self.healthy else 500, text="health")

    async def _echo(self, req: web.Request) -> web.Response:
        self.hits += 1
        h = hashlib.sha256()
        n = 0
        async for chunk in req.content.iter_chunked(65536):
            h.update(chunk)
            n += len(chunk)
        return web.json_response({"backend": self.name, "size": n, "sha256": h.hexdigest()})

    async def _stream(self, req: web.Request) -> web.StreamResponse:
        self.hits += 1
        n, size = int(req.query.get("n", "10")), int(req.query.get("size", "65536"))
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(req)
        for i in range(n):
            await resp.write(bytes([65 + i % 26]) * size)
        await resp.write_eof()
        return resp

    async def _ws(self, req: web.Request) -> web.WebSocketResponse:
        self.hits += 1
        ws = web.WebSocketResponse()
        await ws.prepare(req)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"{self.name}: {msg.data}")
        return ws


async def backends(*specs: tuple[str, str]) -> list[Backend]:
    return [await Backend(name, host).start() for name, host in specs]


# ----- a CA made in the test ------------------------------------------------------------------

@dataclass
class LocalCA:
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    cert: x509.Certificate | None = None

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubelite-lb-test-ca")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))

    @property
    def pem(self) -> str:
        assert self.cert is not None
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, *hosts: str, days: int = 1, expired: bool = False) -> tuple[str, str]:
        """(certificate PEM with the CA after the leaf, key PEM)."""
        assert self.cert is not None
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        start = now - datetime.timedelta(days=10 if expired else 0, minutes=5)
        end = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=days)
        cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
                .sign(self.key, hashes.SHA256()))
        return (cert.public_bytes(serialization.Encoding.PEM).decode() + self.pem,
                key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode())

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as f:
            f.write(self.pem)
            f.flush()
            ctx.load_verify_locations(f.name)
        return ctx


async def served_names(port: int, server_name: str | None, ctx: ssl.SSLContext | None = None,
                       host: str = "127.0.0.1") -> list[str]:
    """The DNS names of the certificate served for this SNI name (verified against `ctx`)."""
    if ctx is None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    _, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=server_name or "")
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return san.get_values_for_type(x509.DNSName)


# ----- running things -------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def running(lb: LoadBalancer):
    task = asyncio.ensure_future(lb.run())
    try:
        await asyncio.wait_for(lb.wait_ready(), 10)
        yield lb
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass
class LoadResult:
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    by_backend: dict[str, int] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def continuous_load(url: str, *, workers: int = 8, headers: dict | None = None, ssl_ctx=None,
                          server_hostname: str | None = None):
    """Requests in a loop from `workers` keep-alive clients until the block ends; every non-200
    or error is a failure."""
    result = LoadResult()
    stop = asyncio.Event()

    async def worker(session: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            try:
                kw = {"ssl": ssl_ctx} if ssl_ctx else {}
                if server_hostname:
                    kw["server_hostname"] = server_hostname
                async with session.get(url, headers=headers or {}, **kw) as r:
                    body = await r.json(content_type=None) if r.status == 200 else await r.text()
                    if r.status != 200:
                        result.failures.append(f"{r.status} {body!r}")
                    else:
                        result.ok += 1
                        result.by_backend[body["backend"]] = result.by_backend.get(body["backend"], 0) + 1
            except Exception as e:  # noqa: BLE001
                result.failures.append(repr(e))

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=workers)) as session:
        tasks = [asyncio.ensure_future(worker(session)) for _ in range(workers)]
        try:
            yield result
        finally:
            stop.set()
            await asyncio.gather(*tasks)
