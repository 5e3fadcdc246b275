"""The scheduler against a real in-process API server with hollow nodes."""

import asyncio
import contextlib
import ipaddress
import random

from kubelite.machinery.errors import StatusError, is_already_exists
from kubelite.scheduler import Scheduler
from kubelite.testing import async_wait_until
from kubelite.testing.apiserver import InProcessAPIServer
from kubelite.testing.hollow import HollowCluster

NS = "default"


def pod(name, cpu="100m", **spec):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": spec.pop("labels", {})},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": cpu}}}], **spec}}
    return body


@contextlib.asynccontextmanager
async def cluster(n=3, **kw):
    async with InProcessAPIServer() as api:
        c = api.client
        try:
            await c.create("serviceaccounts", {"metadata": {"name": "default"}}, NS)
        except StatusError as e:
            if not is_already_exists(e):
                raise
        hollow = HollowCluster(c, n, **kw)
        sched = Scheduler(c, rng=random.Random(1))
        tasks = [asyncio.ensure_future(hollow.run())]
        try:
            await asyncio.wait_for(hollow.wait_ready(), 30)
            tasks.append(asyncio.ensure_future(sched.run()))
            await asyncio.wait_for(sched.wait_ready(), 30)
            yield c, hollow, sched
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def get(c, name):
    return await c.get("pods", name, NS)


async def running_on(c, name):
    p = await get(c, name)
    return p["spec"].get("nodeName") if p["status"].get("phase") == "Running" else None


def scheduled_condition(p):
    return next((x for x in p["status"].get("conditions") or [] if x["type"] == "PodScheduled"), None)


async def warning_events(c, name):
    evs = (await c.list("events", NS))["items"]
    return [e for e in evs if e["involvedObject"]["name"] == name and e["reason"] == "FailedScheduling"]


def test_pods_spread_across_three_nodes_and_run():
    async def main():
        async with cluster(3) as (c, hollow, sched):
            for i in range(9):
                await c.create("pods", pod(f"web-{i}"), NS)

            async def all_running():
                pods = (await c.list("pods", NS))["items"]
                return len(pods) == 9 and all(p["status"].get("phase") == "Running" for p in pods) and pods

            pods = await async_wait_until(all_running, timeout=30)
            per_node = {}
            for p in pods:
                per_node.setdefault(p["spec"]["nodeName"], []).append(p)
            assert sorted(len(v) for v in per_node.values()) == [3, 3, 3]
            for node, ps in per_node.items():
                cidr = ipaddress.ip_network(hollow.nodes[node].pod_cidr)
                assert all(ipaddress.ip_address(p["status"]["podIP"]) in cidr for p in ps)
                assert all(scheduled_condition(p)["status"] == "True" for p in ps)
                assert all(p["status"]["containerStatuses"][0]["ready"] for p in ps)
            evs = (await c.list("events", NS))["items"]
            assert sum(1 for e in evs if e["reason"] == "Scheduled") == 9
            assert any(e["message"] == f"Successfully assigned default/web-0 to {pods[0]['spec']['nodeName']}"
                       for e in evs if e["involvedObject"]["name"] == "web-0")
    asyncio.run(main())


def test_unsatisfiable_pod_waits_with_the_reason_then_runs_on_a_bigger_node():
    async def main():
        async with cluster(3) as (c, hollow, sched):
            await c.create("pods", pod("huge", cpu="16"), NS)
            msg = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
                   "3 No preemption victims found for incoming pod.")

            async def reported():
                p = await get(c, "huge")
                cond = scheduled_condition(p)
                return cond and cond["status"] == "False" and await warning_events(c, "huge") and cond

            cond = await async_wait_until(reported, timeout=20)
            assert (cond["reason"], cond["message"]) == ("Unschedulable", msg)
            ev = (await warning_events(c, "huge"))[0]
            assert (ev["type"], ev["message"], ev["source"]["component"]) == ("Warning", msg, "default-scheduler")
            assert (await get(c, "huge"))["status"]["phase"] == "Pending"
            await hollow.add_node("big", cpu="32", memory="64Gi")
            assert await async_wait_until(lambda: running_on(c, "huge"), timeout=20) == "big"
    asyncio.run(main())


def test_taints_and_tolerations():
    async def main():
        async with cluster(1) as (c, hollow, sched):
            await hollow.add_node("gpu", labels={"accelerator": "gpu"},
                                  taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
            for i in range(4):
                await c.create("pods", pod(f"plain-{i}"), NS)
            tolerating = pod("trainer", nodeSelector={"accelerator": "gpu"},
                             tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu",
                                           "effect": "NoSchedule"}])
            await c.create("pods", tolerating, NS)
            await c.create("pods", pod("intruder", nodeSelector={"accelerator": "gpu"}), NS)
            assert await async_wait_until(lambda: running_on(c, "trainer"), timeout=20) == "gpu"
            for i in range(4):
                assert await async_wait_until(lambda: running_on(c, f"plain-{i}"), timeout=20) == "hollow-0"

            async def why():
                cond = scheduled_condition(await get(c, "intruder"))
                return cond and cond["message"]

            assert await async_wait_until(why, timeout=20) == (
                "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had "
                "untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 2 Preemption is not "
                "helpful for scheduling.")
    asyncio.run(main())


def test_node_affinity():
    async def main():
        async with cluster(3, labels=lambda i: {"disk": "ssd" if i == 2 else "hdd", "rack": f"r{i}"}) \
                as (c, hollow, sched):
            required = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}
            preferred = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "preference": {"matchExpressions": [
                    {"key": "rack", "operator": "In", "values": ["r1"]}]}}]}}
            await c.create("pods", pod("needs-ssd", affinity=required), NS)
            await c.create("pods", pod("likes-r1", affinity=preferred), NS)
            assert await async_wait_until(lambda: running_on(c, "needs-ssd"), timeout=20) == "hollow-2"
            assert await async_wait_until(lambda: running_on(c, "likes-r1"), timeout=20) == "hollow-1"
    asyncio.run(main())


def test_anti_affinity_spreads_replicas():
    async def main():
        async with cluster(3) as (c, hollow, sched):
            anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "db"}}}]}}
            for i in range(4):
                await c.create("pods", pod(f"db-{i}", labels={"app": "db"}, affinity=anti), NS)

            async def placed():
                nodes = [await running_on(c, f"db-{i}") for i in range(4)]
                return [n for n in nodes if n]

            async def three_placed():
                got = await placed()
                return len(got) == 3 and got

            assert sorted(await async_wait_until(three_placed, timeout=20)) == ["hollow-0", "hollow-1", "hollow-2"]
            pending = [f"db-{i}" for i in range(4) if not await running_on(c, f"db-{i}")]

            async def why():
                cond = scheduled_condition(await get(c, pending[0]))
                return cond and cond["message"]

            assert (await async_wait_until(why, timeout=20)).startswith(
                "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.")
    asyncio.run(main())


def test_high_priority_pod_preempts_a_low_priority_one():
    async def main():
        async with cluster(1, cpu="2") as (c, hollow, sched):
            for name, value in (("low", 10), ("high", 1000)):
                await c.create("priorityclasses.scheduling.k8s.io",
                               {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                "metadata": {"name": name}, "value": value})
            await c.create("pods", pod("batch", cpu="1500m", priorityClassName="low"), NS)
            assert await async_wait_until(lambda: running_on(c, "batch"), timeout=20) == "hollow-0"
            await c.create("pods", pod("urgent", cpu="1500m", priorityClassName="high"), NS)
            assert await async_wait_until(lambda: running_on(c, "urgent"), timeout=30) == "hollow-0"

            async def gone():
                try:
                    await get(c, "batch")
                    return False
                except StatusError:
                    return True

            assert await async_wait_until(gone, timeout=10)
            urgent = await get(c, "urgent")
            evs = (await c.list("events", NS))["items"]
            preempted = [e for e in evs if e["reason"] == "Preempted"]
            assert preempted and preempted[0]["involvedObject"]["name"] == "batch"
            assert preempted[0]["message"] == f"Preempted by pod {urgent['metadata']['uid']} on node hollow-0"
            assert sched.stats.preemptions == 1
    asyncio.run(main())
