"""An Ingress end to end: an in-process API server, the Ingress controller (its load balancer on
127.0.0.1), Services with EndpointSlices made by hand. EndpointSlices may not hold loopback
addresses, so they name pod-range addresses 198.19.0.N and the controller's connection seam
maps them onto the loopback backends 127.0.0.N."""

from __future__ import annotations

import asyncio
import base64
import contextlib

import aiohttp

from kubelite.client import EventRecorder, InformerFactory
from kubelite.controllers.base import ControllerContext
from kubelite.controllers.ingress import IngressController
from kubelite.lb import Target
from kubelite.testing import async_wait_until
from kubelite.testing.apiserver import InProcessAPIServer

from lbkit import LocalCA, backends, continuous_load, served_names

NS = "default"


async def loopback(t: Target):
    """198.19.0.N -> 127.0.0.N (the backends of this test)."""
    return await asyncio.open_connection("127.0.0." + t.ip.rsplit(".", 1)[1], t.port)


def pod_ip(backend) -> str:
    return "198.19.0." + backend.host.rsplit(".", 1)[1]


def service(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}


def endpoint_slice(svc: str, port: int, endpoints: list[tuple[str, dict]], name: str | None = None) -> dict:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name or f"{svc}-abc", "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": c} for ip, c in endpoints]}


READY = {"ready": True, "serving": True, "terminating": False}
TERMINATING = {"ready": False, "serving": True, "terminating": True}


def tls_secret(name: str, cert: str, key: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(cert.encode()).decode(),
                     "tls.key": base64.b64encode(key.encode()).decode()}}


def ingress(name: str, host: str, paths: list[tuple[str, str]], tls_secret_name: str | None) -> dict:
    spec: dict = {"ingressClassName": "kubelite", "rules": [{"host": host, "http": {"paths": [
        {"path": p, "pathType": "Prefix", "backend": {"service": {"name": s, "port": {"number": 80}}}}
        for p, s in paths]}}]}
    if tls_secret_name:
        spec["tls"] = [{"hosts": [host], "secretName": tls_secret_name}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name}, "spec": spec}


@contextlib.asynccontextmanager
async def cluster():
    async with InProcessAPIServer() as api:
        c = api.client
        factory = InformerFactory(c)
        recorder = EventRecorder(c, "ingress-controller", "test")
        ctl = IngressController(ControllerContext(c, factory, recorder_for=lambda _: recorder, options={
            "ingress_bind_address": "127.0.0.1", "ingress_http_port": 0, "ingress_https_port": 0,
            "ingress_publish_address": "127.0.0.1", "ingress_connect": loopback}))
        tasks = [asyncio.ensure_future(x) for x in (factory.run(), recorder.run(), ctl.run())]
        try:
            await asyncio.wait_for(ctl.lb.wait_ready(), 10)
            yield c, ctl
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def events_for(c, name: str) -> list[tuple[str, str, str]]:
    evs = await c.list("events", namespace=NS)
    return [(e["type"], e["reason"], e["message"]) for e in evs["items"] if e["involvedObject"]["name"] == name]


def test_ingress_https_paths_redirect_missing_service_and_bad_certificate():
    async def run():
        ca = LocalCA()
        api_b, web_b = await backends(("api", "127.0.0.2"), ("web", "127.0.0.3"))
        try:
            async with cluster() as (c, ctl):
                for b, name in ((api_b, "api"), (web_b, "web")):
                    await c.create("services", service(name), namespace=NS)
                    await c.create("endpointslices", endpoint_slice(name, b.port, [(pod_ip(b), READY)]), namespace=NS)
                await c.create("secrets", tls_secret("shop-tls", *ca.issue("shop.example.test")), namespace=NS)
                crt, _ = ca.issue("broken.example.test")
                _, wrong_key = ca.issue("other.example.test")
                await c.create("secrets", tls_secret("broken-tls", crt, wrong_key), namespace=NS)
                await c.create("ingresses", ingress("shop", "shop.example.test",
                                                    [("/api", "api"), ("/", "web"), ("/gone", "nope")], "shop-tls"),
                               namespace=NS)
                await c.create("ingresses", ingress("broken", "broken.example.test", [("/", "web")], "broken-tls"),
                               namespace=NS)

                async def has_status():
                    o = await c.get("ingresses", "shop", namespace=NS)
                    return o.get("status", {}).get("loadBalancer", {}).get("ingress") == [{"ip": "127.0.0.1"}]
                await async_wait_until(has_status, 10)
                https, http = ctl.lb.port("https"), ctl.lb.port("http")
                ctx = ca.client_context()
                async with aiohttp.ClientSession() as s:
                    async def get(path, host="shop.example.test", tls=True):
                        url = f"https://127.0.0.1:{https}{path}" if tls else f"http://127.0.0.1:{http}{path}"
                        kw = {"ssl": ctx, "server_hostname": host} if tls else {}
                        async with s.get(url, headers={"Host": host}, allow_redirects=False, **kw) as r:
                            return r.status, await r.text(), r.headers
                    await async_wait_until(lambda: _ok(get("/api/items")), 10)
                    status, text, _ = await get("/api/items")
                    assert status == 200 and '"backend": "api"' in text and '"proto": "https"' in text
                    status, text, _ = await get("/")
                    assert status == 200 and '"backend": "web"' in text
                    assert await served_names(https, "shop.example.test", ctx) == ["shop.example.test"]
                    # HTTP redirects to HTTPS for a host with a valid certificate
                    status, _, headers = await get("/api/x?q=1", tls=False)
                    assert status == 308 and headers["Location"] == f"https://shop.example.test:{https}/api/x?q=1"
                    # a missing Service: 503 from the load balancer and an event on the Ingress
                    status, text, _ = await get("/gone/x")
                    assert (status, text) == (503, "503 Service Unavailable\n")
                    # a bad certificate: the host is served over HTTP (no redirect) and the Ingress is told
                    status, text, _ = await get("/", host="broken.example.test", tls=False)
                    assert status == 200 and '"backend": "web"' in text
                    assert await served_names(https, "broken.example.test") == ["kubelite-ingress-default"]

                async def warned():
                    shop, broken = await events_for(c, "shop"), await events_for(c, "broken")
                    return (("Warning", "ServiceNotFound", 'service "default/nope" not found; answering 503') in shop
                            and any(r == "InvalidCertificate" and "does not match" in m for _, r, m in broken))
                await async_wait_until(warned, 10)
                # the Service appears: traffic flows there without touching the Ingress
                await c.create("services", service("nope"), namespace=NS)
                await c.create("endpointslices", endpoint_slice("nope", web_b.port, [(pod_ip(web_b), READY)]),
                               namespace=NS)
                async with aiohttp.ClientSession() as s:
                    async def fixed():
                        async with s.get(f"https://127.0.0.1:{https}/gone", ssl=ctx,
                                         server_hostname="shop.example.test",
                                         headers={"Host": "shop.example.test"}) as r:
                            return r.status == 200
                    await async_wait_until(fixed, 10)
        finally:
            await api_b.stop()
            await web_b.stop()
    asyncio.run(run())


async def _ok(coro) -> bool:
    status, _, _ = await coro
    return status == 200


def test_rolling_update_through_endpoint_slices_drops_nothing():
    """A Deployment-style rollout seen through EndpointSlices under continuous HTTPS load: a new
    endpoint becomes ready, the old one turns terminating (its pod is shutting down gracefully),
    then it leaves the slice; twice over."""
    async def run():
        ca = LocalCA()
        olds = await backends(("v1-a", "127.0.0.2"), ("v1-b", "127.0.0.3"))
        news: list = []
        try:
            async with cluster() as (c, ctl):
                await c.create("services", service("web"), namespace=NS)
                await c.create("secrets", tls_secret("web-tls", *ca.issue("web.example.test")), namespace=NS)
                # every backend listens on its own port; one slice per backend (as per-pod ports differ here)
                for b in olds:
                    await c.create("endpointslices", endpoint_slice("web", b.port, [(pod_ip(b), READY)],
                                                                    name=f"web-{b.name}"), namespace=NS)
                await c.create("ingresses", ingress("web", "web.example.test", [("/", "web")], "web-tls"),
                               namespace=NS)
                await async_wait_until(lambda: len((ctl.lb.config.target_groups or [None])[0].targets
                                                   if ctl.lb.config.target_groups else ()) == 2, 10)
                url = f"https://127.0.0.1:{ctl.lb.port('https')}/"
                async with continuous_load(url, headers={"Host": "web.example.test"}, ssl_ctx=ca.client_context(),
                                           server_hostname="web.example.test") as load:
                    await async_wait_until(lambda: load.ok > 100, 10)
                    for i, old in enumerate(olds):
                        new, = await backends((f"v2-{chr(97 + i)}", f"127.0.0.{4 + i}"))
                        news.append(new)
                        await c.create("endpointslices", endpoint_slice("web", new.port, [(pod_ip(new), READY)],
                                                                        name=f"web-{new.name}"), namespace=NS)
                        await async_wait_until(lambda: load.by_backend.get(new.name, 0) > 10, 10)
                        # the old pod is terminating: not ready, still serving, shutting down
                        sl = await c.get("endpointslices", f"web-{old.name}", namespace=NS)
                        sl["endpoints"][0]["conditions"] = TERMINATING
                        await c.update("endpointslices", sl, namespace=NS)
                        await asyncio.gather(old.stop(), async_wait_until(
                            lambda: all(d.target.port != old.port or d.state == "draining"
                                        for g in ctl.lb.snapshot().target_groups for d in g.targets), 10))
                        await c.delete("endpointslices", f"web-{old.name}", namespace=NS)
                        mark = load.ok
                        await async_wait_until(lambda: load.ok > mark + 50, 10)
                assert load.failures == [], load.failures[:5]
                assert set(load.by_backend) >= {"v1-a", "v1-b", "v2-a", "v2-b"}
                (g,) = ctl.lb.snapshot().target_groups
                assert sorted(d.target.port for d in g.targets) == sorted(b.port for b in news)
        finally:
            for b in olds + news:
                await b.stop()
    asyncio.run(run())
