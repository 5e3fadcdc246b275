"""Hollow nodes against a real in-process API server: registration, Lease renewal, pods run and
finish deleting."""

import asyncio
import ipaddress

from kubelite.machinery.errors import StatusError, is_already_exists
from kubelite.testing import async_wait_until
from kubelite.testing.apiserver import InProcessAPIServer
from kubelite.testing.hollow import HollowCluster, HollowNode, pod_cidr_for


async def sa(c):
    try:
        await c.create("serviceaccounts", {"metadata": {"name": "default"}}, "default")
    except StatusError as e:
        if not is_already_exists(e):
            raise


def test_hollow_node_registers_renews_and_runs_pods():
    async def main():
        async with InProcessAPIServer() as api:
            c = api.client
            await sa(c)
            node = HollowNode(c, "h1", cpu="8", memory="16Gi", pods=50, labels={"pool": "a"}, index=7,
                              lease_interval=0.1)
            task = asyncio.ensure_future(node.run())
            try:
                await asyncio.wait_for(node.registered.wait(), 10)
                n = await c.get("nodes", "h1")
                assert n["status"]["allocatable"]["cpu"] == "8" and n["status"]["capacity"]["pods"] == "50"
                assert n["metadata"]["labels"]["pool"] == "a"
                assert n["metadata"]["labels"]["kubernetes.io/hostname"] == "h1"
                ready = next(x for x in n["status"]["conditions"] if x["type"] == "Ready")
                assert ready["status"] == "True"
                assert n["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.4"
                assert {"type": "InternalIP", "address": "198.18.0.8"} in n["status"]["addresses"]
                assert n["spec"]["podCIDR"] == "198.19.7.0/24"
                lease = await c.get("leases.coordination.k8s.io", "h1", "kube-node-lease")
                first = lease["spec"]["renewTime"]

                async def renewed():
                    lease = await c.get("leases.coordination.k8s.io", "h1", "kube-node-lease")
                    return lease["spec"]["renewTime"] != first

                await async_wait_until(renewed, timeout=10)
                await c.create("pods", {"metadata": {"name": "p"}, "spec": {
                    "nodeName": "h1", "containers": [{"name": "c", "image": "pause"}]}}, "default")

                async def running():
                    p = await c.get("pods", "p", "default")
                    return p["status"].get("phase") == "Running" and p

                p = await async_wait_until(running, timeout=10)
                assert ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network("198.19.7.0/24")
                assert p["status"]["hostIP"] == "198.18.0.8"
                assert p["status"]["containerStatuses"][0]["state"]["running"]
                assert {x["type"] for x in p["status"]["conditions"]} >= {"Ready", "ContainersReady", "Initialized"}
                await c.delete("pods", "p", "default")      # graceful: the node finishes it

                async def gone():
                    try:
                        await c.get("pods", "p", "default")
                        return False
                    except StatusError:
                        return True

                await async_wait_until(gone, timeout=10)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    asyncio.run(main())


def test_hollow_cluster_registers_many_nodes_cheaply():
    async def main():
        async with InProcessAPIServer() as api:
            c = api.client
            cluster = HollowCluster(c, 50, zones=3, cpu="2")
            task = asyncio.ensure_future(cluster.run())
            try:
                await asyncio.wait_for(cluster.wait_ready(), 30)
                nodes = (await c.list("nodes"))["items"]
                assert len(nodes) == 50
                zones = {n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes}
                assert zones == {"zone-0", "zone-1", "zone-2"}
                leases = (await c.list("leases.coordination.k8s.io", "kube-node-lease"))["items"]
                assert len(leases) == 50
                assert len({n["spec"]["podCIDR"] for n in nodes}) == 50
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    asyncio.run(main())


def test_pod_cidrs_shrink_for_big_clusters():
    assert pod_cidr_for(3) == "198.19.3.0/24"
    assert pod_cidr_for(300, 1000) == "198.19.75.0/26"
    assert len({pod_cidr_for(i, 1000) for i in range(1000)}) == 1000
