import asyncio
import time

from kubelite.kubelet.runtime import ContainerConfig, ContainerImage, ContainerStats, PodSandboxConfig
from kubelite.kubelet.runtime.fake import FakeRuntime
from kubelite.kubelet.server.stats import FixedNodeStats, ProcNodeStats, RateTracker, StatsSampler

S = 1_000_000_000


def test_rate_needs_a_sample_a_second_older():
    r = RateTracker()
    assert r.rate("c", 10 * S, 5 * S) is None
    r.add("c", 10 * S, 5 * S)
    assert r.rate("c", 10 * S + S // 2, 6 * S) is None  # too close
    assert r.rate("c", 12 * S, 6 * S) == S // 2  # 1 core-second over 2 s = 0.5 cores
    assert r.rate("c", 12 * S, 4 * S) is None  # the counter went back: a restart


def test_proc_node_stats_reads_the_host():
    st = asyncio.run(ProcNodeStats().node_stats())
    assert st.cpu_usage_core_nano_seconds > 0 and 0 < st.memory_working_set_bytes < st.memory_usage_bytes + 1 << 40


def test_summary_has_rates_from_earlier_samples():
    async def main():
        rt = FakeRuntime()
        sc = PodSandboxConfig(name="p", namespace="ns", uid="u")
        sid = await rt.run_pod_sandbox(sc)
        cid = await rt.create_container(sid, ContainerConfig(name="c", image=ContainerImage("busybox"),
                                                             command=["sleep", "1000"]), sc)
        await rt.start_container(cid)
        sampler = StatsSampler(rt, FixedNodeStats(cpu_nano_cores=500_000_000), "n1")
        now = time.time_ns()
        rt.stats[cid] = ContainerStats(cid, "c", now - 2 * S, 1 * S, 10, 10)
        first = await sampler.summary()
        assert "usageNanoCores" not in first["pods"][0]["containers"][0]["cpu"]
        rt.stats[cid] = ContainerStats(cid, "c", now, 2 * S, 10, 10)
        second = await sampler.summary()
        c = second["pods"][0]["containers"][0]
        assert c["cpu"]["usageNanoCores"] == S // 2
        await rt.remove_pod_sandbox(sid)

    asyncio.run(main())
