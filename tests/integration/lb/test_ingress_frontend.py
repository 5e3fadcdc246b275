"""Without a fixed address the Ingress controller fronts its load balancer with a LoadBalancer
Service: the servicelb controller gives it a pool address, which lands in the Ingress status."""

from __future__ import annotations

import asyncio

from kubelite.client import InformerFactory
from kubelite.controllers.base import ControllerContext
from kubelite.controllers.ingress import IngressController
from kubelite.controllers.servicelb import ServiceLBController
from kubelite.testing import async_wait_until, free_port
from kubelite.testing.apiserver import InProcessAPIServer


def test_the_pool_address_of_the_frontend_service_is_published():
    async def run():
        async with InProcessAPIServer() as api:
            c = api.client
            factory = InformerFactory(c)
            http, https = free_port(), free_port()
            ctx = ControllerContext(c, factory, options={"load_balancer_cidr": "198.18.192.0/30",
                                                         "ingress_bind_address": "198.18.0.1",
                                                         "ingress_http_port": http, "ingress_https_port": https})
            ingress, servicelb = IngressController(ctx), ServiceLBController(ctx)
            tasks = [asyncio.ensure_future(x) for x in (factory.run(), ingress.run(), servicelb.run())]
            try:
                await c.create("services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                            "spec": {"ports": [{"port": 80}]}}, namespace="default")
                await c.create("ingresses", {
                    "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
                    "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                        "service": {"name": "web", "port": {"number": 80}}}}]}}]}}, namespace="default")

                async def published():
                    o = await c.get("ingresses", "web", namespace="default")
                    return (o.get("status", {}).get("loadBalancer") or {}).get("ingress")
                assert await async_wait_until(published, 15) == [{"ip": "198.18.192.1"}]
                fe = await c.get("services", "kubelite-ingress", namespace="kube-system")
                assert fe["status"]["loadBalancer"]["ingress"][0]["ip"] == "198.18.192.1"
                assert [(p["port"], p["targetPort"]) for p in fe["spec"]["ports"]] == [(80, http), (443, https)]
                slices = await c.list("endpointslices", namespace="kube-system",
                                      label_selector="kubernetes.io/service-name=kubelite-ingress")
                (es,) = slices["items"]
                assert es["endpoints"][0]["addresses"] == ["198.18.0.1"]
                ic = await c.get("ingressclasses", "kubelite")
                assert ic["spec"]["controller"] == "kubelite.io/ingress-controller"
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    asyncio.run(run())
