"""The kubelet's HTTPS server (port 10250), reached by the API server for logs, exec, attach,
port-forward and statistics.

    GET  /healthz
    GET  /containerLogs/<namespace>/<pod>/<container>?follow&previous&tailLines&sinceSeconds&...
    GET|POST /exec/<namespace>/<pod>[/<uid>]/<container>?command=...&stdin&stdout&stderr&tty
    GET|POST /attach/<namespace>/<pod>[/<uid>]/<container>?stdin&stdout&stderr&tty
    GET|POST /portForward/<namespace>/<pod>[/<uid>]        (WebSocket, SPDY tunnel or SPDY)
    GET  /stats/summary
    GET  /metrics/resource

Callers authenticate with a client certificate signed by the cluster CA (verified by TLS); the
subject must be an authorized user (CN) or group (O). `/healthz` is open. Errors are plain
text, as the kubelet writes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from dataclasses import dataclass, field

from aiohttp import web

from kubelite.kubelet.runtime import RuntimeService
from kubelite.streaming import portforward, remotecommand, upgrade
from kubelite.streaming.proxy import client_gone

from . import logs
from .lookup import PodLookup, resolve
from .portdial import NetnsDialer, PortDialer
from .stats import NodeStatsSource, ProcNodeStats, StatsSampler, render_resource_metrics

log = logging.getLogger(__name__)

DEFAULT_PORT = 10250
APISERVER_CLIENT_USER = "kube-apiserver-kubelet-client"


@dataclass
class KubeletServerOptions:
    address: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    ssl_context: ssl.SSLContext | None = None
    authenticate: bool = True  # False only for plain-HTTP tests
    authorized_users: frozenset[str] = field(default_factory=lambda: frozenset(
        {APISERVER_CLIENT_USER, "system:kube-apiserver", "system:admin"}))
    authorized_groups: frozenset[str] = field(default_factory=lambda: frozenset({"system:masters"}))
    stats_interval: float = 10.0


def serving_ssl_context(cert_file: str, key_file: str, client_ca_file: str) -> ssl.SSLContext:
    """TLS for the kubelet server: its serving pair, and client certificates checked against the
    cluster CA (optional at the TLS layer so `/healthz` stays reachable)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    ctx.load_verify_locations(client_ca_file)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def peer_identity(request: web.BaseRequest) -> tuple[str, list[str]] | None:
    """(CN, [O...]) of a verified client certificate, or None."""
    t = request.transport
    cert = t.get_extra_info("peercert") if t is not None else None
    if not cert:
        return None
    cn, orgs = "", []
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                cn = v
            elif k == "organizationName":
                orgs.append(v)
    return cn, orgs


class KubeletServer:
    def __init__(self, runtime: RuntimeService, lookup: PodLookup, *, node_name: str,
                 options: KubeletServerOptions | None = None, dialer: PortDialer | None = None,
                 node_stats: NodeStatsSource | None = None):
        self.runtime = runtime
        self.lookup = lookup
        self.node_name = node_name
        self.options = options or KubeletServerOptions()
        self.dialer = dialer or NetnsDialer(runtime)
        self.sampler = StatsSampler(runtime, node_stats or ProcNodeStats(), node_name, self.options.stats_interval)
        self.port = self.options.port
        self._ready = asyncio.Event()
        self.app = self._build_app()

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._authorize], client_max_size=1 << 20)
        r = app.router
        r.add_get("/healthz", self.healthz)
        r.add_get("/containerLogs/{namespace}/{pod}/{container}", self.container_logs)
        for verb, handler in (("exec", self.exec), ("attach", self.attach)):
            for path in (f"/{verb}/{{namespace}}/{{pod}}/{{container}}",
                         f"/{verb}/{{namespace}}/{{pod}}/{{uid}}/{{container}}"):
                r.add_route("GET", path, handler)
                r.add_route("POST", path, handler)
        for path in ("/portForward/{namespace}/{pod}", "/portForward/{namespace}/{pod}/{uid}"):
            r.add_route("GET", path, self.port_forward)
            r.add_route("POST", path, self.port_forward)
        r.add_get("/stats/summary", self.stats_summary)
        r.add_get("/metrics/resource", self.metrics_resource)
        return app

    # -- lifecycle ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve until cancelled (and sample stats every `stats_interval`)."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.options.address, self.options.port, ssl_context=self.options.ssl_context,
                               reuse_address=True)
            await site.start()
            addrs = runner.addresses
            if addrs:
                self.port = addrs[0][1]
            self._ready.set()
            log.info("kubelet server listening on %s:%s", self.options.address, self.port)
            await self.sampler.run()
        finally:
            await runner.cleanup()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    # -- authentication and authorization ----------------------------------------------------
    @web.middleware
    async def _authorize(self, request: web.Request, handler):
        if request.path == "/healthz" or not self.options.authenticate:
            return await handler(request)
        who = peer_identity(request)
        if who is None:
            return web.Response(status=401, text="Unauthorized")
        user, groups = who
        if user not in self.options.authorized_users and not set(groups) & self.options.authorized_groups:
            sub = request.path.strip("/").split("/", 1)[0]
            return web.Response(status=403, text=f"Forbidden (user={user}, verb={request.method.lower()}, "
                                                 f"resource=nodes, subresource={sub})")
        return await handler(request)

    # -- handlers ----------------------------------------------------------------------------
    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _container(self, request: web.Request):
        m = request.match_info
        ns, pod, name = m["namespace"], m["pod"], m["container"]
        ref = await resolve(self.lookup.find_container(ns, pod, name))
        if ref is None:
            if await resolve(self.lookup.find_pod(ns, pod)) is None:
                raise web.HTTPNotFound(text=f'pod "{pod}" does not exist\n')
            raise web.HTTPNotFound(text=f'container "{name}" not found in pod "{pod}"\n')
        return ref

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        m = request.match_info
        ns, pod, name = m["namespace"], m["pod"], m["container"]
        ref = await self._container(request)
        try:
            opts = logs.LogOptions.from_query(request.query)
        except logs.BadLogOptions as e:
            raise web.HTTPBadRequest(text=str(e)) from None
        path = ref.previous_log_path if opts.previous else ref.log_path
        if opts.previous and not path:
            raise web.HTTPBadRequest(text=f'previous terminated container "{name}" in pod "{pod}" not found')
        if opts.previous:
            opts.follow = False

        async def still_running() -> bool:
            now = await resolve(self.lookup.find_container(ns, pod, name))
            return bool(now and now.running and now.container_id == ref.container_id)

        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        with contextlib.suppress(ConnectionError):
            await logs.stream_logs(path, opts, resp.write,
                                   still_running if ref.running else _false, lambda: client_gone(request))
            await resp.write_eof()
        return resp

    async def _streaming(self, request: web.Request, attach: bool) -> web.StreamResponse:
        ref = await self._container(request)
        try:
            opts = remotecommand.Options.from_query(request.query, need_command=not attach)
        except remotecommand.BadRequest as e:
            raise web.HTTPBadRequest(text=str(e)) from None
        if not (upgrade.is_websocket(request) or upgrade.is_spdy(request)):
            raise web.HTTPBadRequest(text="Upgrade request required")
        if not ref.running:
            name = request.match_info["container"]
            raise web.HTTPBadRequest(text=f'container "{name}" in pod "{request.match_info["pod"]}" is not running')
        cid = ref.container_id
        if attach:
            async def start():
                return await self.runtime.attach(cid, stdin=opts.stdin)
        else:
            async def start():
                return await self.runtime.exec(cid, opts.command, tty=opts.tty, stdin=opts.stdin)
        return await remotecommand.serve(request, opts, start)

    async def exec(self, request: web.Request) -> web.StreamResponse:
        return await self._streaming(request, attach=False)

    async def attach(self, request: web.Request) -> web.StreamResponse:
        return await self._streaming(request, attach=True)

    async def port_forward(self, request: web.Request) -> web.StreamResponse:
        m = request.match_info
        ref = await resolve(self.lookup.find_pod(m["namespace"], m["pod"]))
        if ref is None:
            raise web.HTTPNotFound(text=f'pod "{m["pod"]}" does not exist\n')

        async def dial(port: int):
            return await self.dialer.dial(ref, port)

        return await portforward.serve(request, dial, ref.sandbox_id)

    async def stats_summary(self, request: web.Request) -> web.Response:
        summary = await self.sampler.summary()
        return web.Response(body=json.dumps(summary).encode(), content_type="application/json")

    async def metrics_resource(self, request: web.Request) -> web.Response:
        summary = await self.sampler.summary()
        return web.Response(body=render_resource_metrics(summary).encode(),
                            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def _false() -> bool:
    return False
