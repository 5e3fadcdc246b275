"""Usage for `kubectl top`: node from /proc, pods and containers from the runtime's stats."""

import asyncio

from kubelite.kubelet.runtime.fake import FakeRuntime
from kubelite.kubelet.runtime.interface import ContainerConfig, ContainerImage, ContainerStats, PodSandboxConfig
from kubelite.kubelet.stats import StatsProvider
from kubelite.kubelet.kuberuntime import labels as lb


def test_node_and_pod_stats():
    async def body():
        rt = FakeRuntime()
        sc = PodSandboxConfig(name="p", namespace="d", uid="u1",
                              labels={lb.POD_NAME: "p", lb.POD_NAMESPACE: "d", lb.POD_UID: "u1"})
        sid = await rt.run_pod_sandbox(sc)
        cid = await rt.create_container(sid, ContainerConfig(name="c", image=ContainerImage(config={}),
                                                             command=["sleep", "100"]), sc)
        await rt.start_container(cid)
        sp = StatsProvider(rt, "node-1")
        rt.stats[cid] = ContainerStats(cid, "c", 0, cpu_usage_core_nano_seconds=1_000_000_000,
                                       memory_working_set_bytes=5 << 20)
        first = await sp.summary()
        assert first["node"]["nodeName"] == "node-1"
        assert first["node"]["memory"]["workingSetBytes"] > 0 and first["node"]["cpu"]["usageCoreNanoSeconds"] > 0
        pod = first["pods"][0]
        assert pod["podRef"] == {"name": "p", "namespace": "d", "uid": "u1"}
        c = pod["containers"][0]
        assert c["name"] == "c" and c["memory"]["workingSetBytes"] == 5 << 20 and "usageNanoCores" not in c["cpu"]
        await asyncio.sleep(0.05)
        rt.stats[cid] = ContainerStats(cid, "c", 0, cpu_usage_core_nano_seconds=1_050_000_000)
        second = await sp.summary()
        rate = second["pods"][0]["containers"][0]["cpu"]["usageNanoCores"]
        assert 0 < rate <= 1_000_000_000  # 50 ms of CPU in a bit more than 50 ms: at most one core
        assert "usageNanoCores" in second["node"]["cpu"]
    asyncio.run(body())
