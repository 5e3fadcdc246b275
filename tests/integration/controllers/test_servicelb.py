"""LoadBalancer Services get an address from the pool, unique, released when no longer wanted."""

import asyncio

from kubelite.client import InformerFactory
from kubelite.controllers.base import ControllerContext
from kubelite.controllers.servicelb import ServiceLBController
from kubelite.testing import async_wait_until
from kubelite.testing.apiserver import InProcessAPIServer


def svc(name, type_="LoadBalancer", **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": type_, "selector": {"app": name}, "ports": [{"port": 80}], **spec}}


def ips(obj):
    return [i["ip"] for i in obj.get("status", {}).get("loadBalancer", {}).get("ingress", [])]


def test_load_balancer_addresses_are_allocated_and_released():
    async def run():
        async with InProcessAPIServer() as api:
            c = api.client
            factory = InformerFactory(c)
            ctl = ServiceLBController(ControllerContext(c, factory, options={"load_balancer_cidr": "198.18.192.0/30"}))
            tasks = [asyncio.ensure_future(factory.run()), asyncio.ensure_future(ctl.run())]
            try:
                await c.create("services", svc("a"), namespace="default")
                await c.create("services", svc("b"), namespace="default")
                await c.create("services", svc("cls", loadBalancerClass="example.com/other"), namespace="default")
                await c.create("services", svc("plain", "ClusterIP"), namespace="default")
                a = await async_wait_until(lambda: _get(c, "a"), timeout=10)
                b = await async_wait_until(lambda: _get(c, "b"), timeout=10)
                assert ips(a) != ips(b)
                assert set(ips(a) + ips(b)) == {"198.18.192.1", "198.18.192.2"}
                # pool exhausted: a third one waits with an event
                await c.create("services", svc("c"), namespace="default")
                await asyncio.sleep(0.5)
                assert ips(await c.get("services", "c", namespace="default")) == []
                # freeing one lets the waiting Service get it
                await c.patch("services", "a", {"spec": {"type": "ClusterIP"}}, namespace="default")
                await c.delete("services", "b", namespace="default")
                await async_wait_until(lambda: _get(c, "c"), timeout=10)
                async def released():
                    return ips(await c.get("services", "a", namespace="default")) == []
                await async_wait_until(released, timeout=10)
                assert ips(await c.get("services", "cls", namespace="default")) == []
                assert ips(await c.get("services", "plain", namespace="default")) == []
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


async def _get(c, name):
    o = await c.get("services", name, namespace="default")
    return o if ips(o) else None
