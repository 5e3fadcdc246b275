"""Cluster DNS fed by real informers from an in-process API server, queried over UDP and TCP on
127.0.0.1 with dnslib. No upstream is configured: the test resolves cluster names only."""

import asyncio
import contextlib

from dnslib import QTYPE, RCODE, DNSRecord

from kubelite.dns import DNSServer
from kubelite.machinery.errors import StatusError
from kubelite.testing.apiserver import InProcessAPIServer
from kubelite.testing.wait import async_wait_until


async def ask(server, name, qtype="A", tcp=False):
    data = await asyncio.to_thread(DNSRecord.question(name, qtype).send, "127.0.0.1", server.port, tcp=tcp, timeout=3)
    return DNSRecord.parse(data)


def ips(reply):
    return sorted(str(r.rdata) for r in reply.rr if r.rtype == QTYPE.A)


def slice_body(svc, endpoints, ports):
    return {"metadata": {"generateName": f"{svc}-", "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports}


def test_dns_follows_the_api():
    async def main():
        async with InProcessAPIServer() as api:
            c = api.client
            server = DNSServer(c, address="127.0.0.1", port=0, upstreams=[])
            async with asyncio.TaskGroup() as tg:
                task = tg.create_task(server.run())
                await server.wait_ready()
                try:
                    # the bootstrap `kubernetes` Service
                    r = await ask(server, "kubernetes.default.svc.cluster.local")
                    assert ips(r) == [(await c.get("services", "kubernetes", namespace="default"))["spec"]["clusterIP"]]

                    web = await c.create("services", {"metadata": {"name": "web"}, "spec": {
                        "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}, namespace="default")
                    await async_wait_until(lambda: server.records.service("default", "web") is not None)
                    r = await ask(server, "web.default.svc.cluster.local", tcp=True)
                    assert ips(r) == [web["spec"]["clusterIP"]]
                    srv = await ask(server, "_http._tcp.web.default.svc.cluster.local", "SRV")
                    assert str(srv.rr[0].rdata) == "0 100 80 web.default.svc.cluster.local."

                    await c.create("services", {"metadata": {"name": "db"}, "spec": {
                        "clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}}, namespace="default")
                    assert (await ask(server, "db.default.svc.cluster.local")).header.rcode in (RCODE.NXDOMAIN,)
                    await c.create("endpointslices", slice_body("db", [
                        {"addresses": ["198.19.1.5"], "hostname": "db-0", "conditions": {"ready": True}},
                        {"addresses": ["198.19.1.6"], "conditions": {"ready": True}},
                        {"addresses": ["198.19.1.7"], "conditions": {"ready": False}}],
                        [{"name": "pg", "port": 5432, "protocol": "TCP"}]), namespace="default")
                    await async_wait_until(lambda: len(server.records.endpoints("default", "db")) == 2)
                    assert ips(await ask(server, "db.default.svc.cluster.local")) == ["198.19.1.5", "198.19.1.6"]
                    assert ips(await ask(server, "db-0.db.default.svc.cluster.local")) == ["198.19.1.5"]

                    await c.create("services", {"metadata": {"name": "ext"}, "spec": {
                        "type": "ExternalName", "externalName": "web.default.svc.cluster.local"}}, namespace="default")
                    await async_wait_until(lambda: server.records.service("default", "ext") is not None)
                    r = await ask(server, "ext.default.svc.cluster.local")
                    assert [QTYPE[x.rtype] for x in r.rr] == ["CNAME", "A"]     # followed inside the cluster

                    with contextlib.suppress(StatusError):   # normally made by the serviceaccount controller
                        await c.create("serviceaccounts", {"metadata": {"name": "default"}}, namespace="default")
                    pod = await c.create("pods", {"metadata": {"name": "p"}, "spec": {
                        "containers": [{"name": "c", "image": "busybox"}]}}, namespace="default")
                    pod["status"] = {"podIP": "198.19.1.9", "podIPs": [{"ip": "198.19.1.9"}]}
                    await c.update_status("pods", pod, namespace="default")
                    await async_wait_until(lambda: server.records.has_pod_ip("default", "198.19.1.9"))
                    assert ips(await ask(server, "198-19-1-9.default.pod.cluster.local")) == ["198.19.1.9"]

                    await c.delete("services", "web", namespace="default")
                    await async_wait_until(lambda: server.records.service("default", "web") is None)
                    assert (await ask(server, "web.default.svc.cluster.local")).header.rcode == RCODE.NXDOMAIN
                    # no upstream configured: anything else is SERVFAIL, never sent anywhere
                    assert (await ask(server, "example.test")).header.rcode == RCODE.SERVFAIL
                finally:
                    task.cancel()
    asyncio.run(main())
