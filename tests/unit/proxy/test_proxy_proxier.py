"""`Proxier` against an in-process API server, with a `FakeApplier` (no kernel)."""

import asyncio
import contextlib
from datetime import datetime, timezone

from kubelite.machinery.timeutil import rfc3339_micro
from kubelite.proxy import FakeApplier, Proxier
from kubelite.testing.apiserver import InProcessAPIServer
from kubelite.testing.wait import async_wait_until

from proxytest import endpoint_slice, ep, service


def svc_body(name, clusterIP=None, **spec):
    s = service(name, ip=clusterIP, **spec)
    del s["metadata"]["resourceVersion"]
    if clusterIP is None:
        del s["spec"]["clusterIP"]
    return s


@contextlib.asynccontextmanager
async def running(api, applier, **kw):
    proxier = Proxier(api.client, "node-1", applier=applier, min_sync_period=0.02, sync_period=5, **kw)
    task = asyncio.ensure_future(proxier.run())
    try:
        await async_wait_until(lambda: applier.applied or task.done(), timeout=10)
        if task.done():
            task.result()
        yield proxier
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def elements(applier, name):
    return applier.last.elements.get(name, {}) if applier.last else {}


async def create_slice(api, svc, ips, name=None, trigger=None):
    body = endpoint_slice(svc, [ep(ip) for ip in ips], name=name, trigger=trigger)
    del body["metadata"]["resourceVersion"]
    return await api.client.create("endpointslices", body, namespace="default")


def test_services_and_slices_become_rules_and_latency_is_measured():
    async def main():
        async with InProcessAPIServer() as api:
            applier = FakeApplier()
            async with running(api, applier) as proxier:
                svc = await api.client.create("services", svc_body("web"), namespace="default")
                ip = svc["spec"]["clusterIP"]
                await async_wait_until(lambda: f"{ip} . tcp . 80" in elements(applier, "no-endpoint-services"))
                trigger = rfc3339_micro(datetime.now(timezone.utc))
                await create_slice(api, "web", ["198.19.1.2", "198.19.1.3"], trigger=trigger)
                await async_wait_until(lambda: f"{ip} . tcp . 80" in elements(applier, "service-ips"))
                assert f"{ip} . tcp . 80" not in elements(applier, "no-endpoint-services")
                await async_wait_until(lambda: proxier.stats.programming_latency.count == 1)
                assert 0 <= proxier.stats.programming_latency.quantile(0.99) < 5
                assert "kubeproxy_network_programming_duration_seconds_count 1" in proxier.metrics_text()
                assert applier.full[0] and not any(applier.full[1:])
                # the kubernetes Service of the bootstrap objects is there too (no endpoints)
                assert len(applier.last.services) >= 2
                await api.client.delete("services", "web", namespace="default")
                await async_wait_until(lambda: f"{ip} . tcp . 80" not in elements(applier, "service-ips"))
            assert applier.cleaned_up
    asyncio.run(main())


def test_node_ips_come_from_the_node_object():
    async def main():
        async with InProcessAPIServer() as api:
            applier = FakeApplier()
            async with running(api, applier):
                assert "nodeport-ips" not in applier.last.sets
                await api.client.create("nodes", {"metadata": {"name": "node-1"}})
                node = await api.client.get("nodes", "node-1")
                node["status"] = {"addresses": [{"type": "Hostname", "address": "node-1"},
                                                {"type": "InternalIP", "address": "198.18.0.11"}]}
                await api.client.update_status("nodes", node)
                await async_wait_until(lambda: "198.18.0.11" in elements(applier, "nodeport-ips"))
    asyncio.run(main())


def test_failed_sync_is_retried_with_backoff_and_keeps_pending_latencies():
    async def main():
        async with InProcessAPIServer() as api:
            applier = FakeApplier()
            async with running(api, applier) as proxier:
                svc = await api.client.create("services", svc_body("web"), namespace="default")
                applier.fail_next(2)
                await create_slice(api, "web", ["198.19.1.2"], trigger=rfc3339_micro(datetime.now(timezone.utc)))
                ip = svc["spec"]["clusterIP"]
                await async_wait_until(lambda: f"{ip} . tcp . 80" in elements(applier, "service-ips"), timeout=10)
                assert proxier.stats.failures == 2
                assert proxier.stats.programming_latency.count == 1
    asyncio.run(main())


def test_syncs_are_rate_limited():
    async def main():
        async with InProcessAPIServer() as api:
            applier = FakeApplier()
            proxier = Proxier(api.client, "node-1", applier=applier, min_sync_period=0.5, sync_period=60)
            task = asyncio.ensure_future(proxier.run())
            await proxier.wait_synced()
            start = len(applier.applied)
            for i in range(12):
                await api.client.create("services", svc_body(f"s{i}"), namespace="default")
            await async_wait_until(lambda: len(applier.last.services) >= 13, timeout=10)
            # a burst of 2, then one per 0.5 s: far fewer syncs than changes
            assert len(applier.applied) - start <= 5
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    asyncio.run(main())


def test_other_proxies_and_headless_services_are_ignored():
    async def main():
        async with InProcessAPIServer() as api:
            applier = FakeApplier()
            async with running(api, applier):
                other = svc_body("other")
                other["metadata"]["labels"] = {"service.kubernetes.io/service-proxy-name": "elsewhere"}
                await api.client.create("services", other, namespace="default")
                headless = svc_body("hl", clusterIP="None")
                await api.client.create("services", headless, namespace="default")
                await api.client.create("services", svc_body("web"), namespace="default")
                await async_wait_until(lambda: any(k.startswith("default/web/") for k in applier.last.services))
                keys = list(applier.last.services)
                assert not any("/other/" in k or "/hl/" in k for k in keys), keys
    asyncio.run(main())


def test_periodic_full_resyncs():
    async def main():
        async with InProcessAPIServer() as api:
            applier = FakeApplier()
            async with running(api, applier, full_sync_period=0.3) as proxier:
                for i in range(6):
                    await api.client.create("services", svc_body(f"p{i}"), namespace="default")
                    await asyncio.sleep(0.1)
                await async_wait_until(lambda: applier.full.count(True) >= 2)
                assert applier.full.count(False) >= 1 and proxier.stats.full_syncs >= 2
    asyncio.run(main())
