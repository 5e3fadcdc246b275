import asyncio

import pytest

from kubelite.controllers.nodelifecycle import NodeLifecycleController
from kubelite.controllers.nodelifecycle.health import FULL_DISRUPTION, NORMAL, PARTIAL_DISRUPTION, zone_state
from kubelite.controllers.nodelifecycle.taints import eviction_delay, with_no_execute_taint, with_no_schedule_taints
from kubelite.machinery.timeutil import rfc3339_micro

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
OPTIONS = {"node_monitor_grace_period": 40, "node_monitor_period": 5}


def node(name, ready="True", zone="z1"):
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": ready, "reason": "KubeletReady",
                                       "lastHeartbeatTime": "2025-01-01T00:00:00Z",
                                       "lastTransitionTime": "2025-01-01T00:00:00Z"}]}}


def lease(name, renew):
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": renew}}


def pod(name, node_name, tolerations=None):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node_name, "tolerations": tolerations or [],
                     "containers": [{"name": "c", "image": "x"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def tolerate(key, seconds=None):
    t = {"key": key, "operator": "Exists", "effect": "NoExecute"}
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return t


def taint_keys(h, name):
    return sorted((t["key"], t["effect"]) for t in (h.get("nodes", name).get("spec") or {}).get("taints") or [])


async def renew(h, name):
    lse = h.get("leases.coordination.k8s.io", name, "kube-node-lease")
    lse["spec"]["renewTime"] = rfc3339_micro(h.clock.now())
    await h.client.update("leases.coordination.k8s.io", lse)
    await h.settle()


async def tick(h, seconds, renewing=()):
    """Let time pass: the kubelets of `renewing` keep their Leases fresh; the monitor runs."""
    step = 5
    for _ in range(int(seconds // step)):
        h.step(step)
        for n in renewing:
            await renew(h, n)
        h.controller.monitor_node_health()
        for n in h.names("nodes"):
            await h.sync(n)


async def cluster(h, names=("n1", "n2")):
    for n in names:
        await h.create("nodes", node(n))
        await h.create("leases.coordination.k8s.io", lease(n, rfc3339_micro(h.clock.now())))
    h.controller.monitor_node_health()
    for n in names:
        await h.sync(n)


@pytest.mark.parametrize("ready,expect", [
    (["True", "True"], NORMAL), (["False"], FULL_DISRUPTION), ([], NORMAL),
    (["True", "True", "True", "False", "Unknown", None], NORMAL),      # 3 of 6 is under 55%
    (["True", "False", "False"], NORMAL),                              # two unhealthy never count
    (["True", "False", "Unknown", "False"], PARTIAL_DISRUPTION),
])
def test_zone_state(ready, expect):
    assert zone_state(ready, 0.55) == expect


@pytest.mark.parametrize("taints,tolerations,want", [
    ([{"key": UNREACHABLE, "effect": "NoExecute"}], [], 0.0),
    ([{"key": UNREACHABLE, "effect": "NoExecute"}], [tolerate(UNREACHABLE, 300)], 300.0),
    ([{"key": UNREACHABLE, "effect": "NoExecute"}], [tolerate(UNREACHABLE)], None),
    ([{"key": UNREACHABLE, "effect": "NoExecute"}], [tolerate(UNREACHABLE, 300), tolerate(UNREACHABLE, 30)], 30.0),
    ([{"key": UNREACHABLE, "effect": "NoExecute"}, {"key": "x", "effect": "NoExecute"}],
     [tolerate(UNREACHABLE, 300)], 0.0),
    ([{"key": UNREACHABLE, "effect": "NoExecute"}], [{"operator": "Exists"}], None),
    ([{"key": UNREACHABLE, "effect": "NoExecute"}], [tolerate(UNREACHABLE, -5)], 0.0),
])
def test_eviction_delay(taints, tolerations, want):
    assert eviction_delay(taints, tolerations) == want


def test_taints_follow_conditions():
    n = node("n1", "False")
    n["spec"] = {"unschedulable": True, "taints": [{"key": "user", "effect": "NoSchedule"},
                                                   {"key": UNREACHABLE, "effect": "NoSchedule"}]}
    n["status"]["conditions"].append({"type": "DiskPressure", "status": "True"})
    got = with_no_schedule_taints(n)
    assert sorted(t["key"] for t in got) == sorted(["user", NOT_READY, "node.kubernetes.io/disk-pressure",
                                                    "node.kubernetes.io/unschedulable"])
    swapped = with_no_execute_taint([{"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "t0"}], NOT_READY,
                                    "t1", may_add=False)
    assert swapped == [{"key": NOT_READY, "effect": "NoExecute", "timeAdded": "t1"}]
    assert with_no_execute_taint([], UNREACHABLE, "t1", may_add=False) == []
    assert with_no_execute_taint([{"key": NOT_READY, "effect": "NoExecute"}], None, "t1", True) == []


def test_silent_node_becomes_unknown_and_tainted_then_recovers(harness):
    async def main():
        async with harness(NodeLifecycleController, options=OPTIONS) as h:
            await cluster(h)
            await h.create("pods", pod("p1", "n2"))
            assert h.reasons().count("RegisteredNode") == 2
            await tick(h, 35, renewing=("n1",))
            assert h.get("nodes", "n2")["status"]["conditions"][0]["status"] == "True"
            await tick(h, 10, renewing=("n1",))
            cond = {c["type"]: c for c in h.get("nodes", "n2")["status"]["conditions"]}
            assert cond["Ready"]["status"] == "Unknown"
            assert cond["Ready"]["reason"] == "NodeStatusUnknown"
            assert cond["Ready"]["message"] == "Kubelet stopped posting node status."
            assert cond["MemoryPressure"]["reason"] == "NodeStatusNeverUpdated"
            assert ("Normal", "NodeNotReady", "Node n2 status is now: NodeNotReady", "n2") in h.recorder.events
            p1 = h.get("pods", "p1", "default")
            assert p1["status"]["conditions"][0]["status"] == "False"
            assert ("Warning", "NodeNotReady", "Node is not ready", "p1") in h.recorder.events
            await tick(h, 5, renewing=("n1",))
            assert taint_keys(h, "n2") == [(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")]
            assert taint_keys(h, "n1") == []
            assert h.get("nodes", "n2")["spec"]["taints"][-1]["timeAdded"]

            # The kubelet comes back and posts Ready.
            n2 = h.get("nodes", "n2")
            n2["status"]["conditions"] = [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                           "lastHeartbeatTime": "2025-01-01T00:01:00Z",
                                           "lastTransitionTime": "2025-01-01T00:01:00Z"}]
            await h.update_status("nodes", n2)
            await tick(h, 5, renewing=("n1", "n2"))
            assert taint_keys(h, "n2") == []

    asyncio.run(main())


def test_not_ready_node_gets_not_ready_taints(harness):
    async def main():
        async with harness(NodeLifecycleController, options=OPTIONS) as h:
            await cluster(h)
            n2 = h.get("nodes", "n2")
            n2["status"]["conditions"][0].update(status="False", lastHeartbeatTime="2025-01-01T00:00:05Z")
            await h.update_status("nodes", n2)
            await tick(h, 5, renewing=("n1", "n2"))
            assert taint_keys(h, "n2") == [(NOT_READY, "NoExecute"), (NOT_READY, "NoSchedule")]

    asyncio.run(main())


def test_lone_node_outage_is_treated_as_full_disruption(harness):
    async def main():
        async with harness(NodeLifecycleController, options=OPTIONS) as h:
            await cluster(h, ("n1",))
            await tick(h, 50)
            assert h.get("nodes", "n1")["status"]["conditions"][0]["status"] == "Unknown"
            assert taint_keys(h, "n1") == [(UNREACHABLE, "NoSchedule")]       # no NoExecute: nobody is evicted
            assert h.controller.all_disrupted

    asyncio.run(main())


def test_new_noexecute_taints_are_rate_limited_per_zone(harness):
    async def main():
        async with harness(NodeLifecycleController, options=OPTIONS) as h:
            await cluster(h, ("n1", "n2", "n3"))
            await tick(h, 45, renewing=("n1",))
            await tick(h, 5, renewing=("n1",))
            tainted = [n for n in ("n2", "n3") if (UNREACHABLE, "NoExecute") in taint_keys(h, n)]
            assert len(tainted) == 1                                        # 0.1 per second, burst 1
            await tick(h, 10, renewing=("n1",))
            assert all((UNREACHABLE, "NoExecute") in taint_keys(h, n) for n in ("n2", "n3"))

    asyncio.run(main())


def test_evictions_respect_toleration_seconds(harness):
    async def main():
        async with harness(NodeLifecycleController, options=OPTIONS) as h:
            await cluster(h)
            await h.create("pods", pod("none", "n2"))
            await h.create("pods", pod("short", "n2", [tolerate(UNREACHABLE, 30)]))
            await h.create("pods", pod("default", "n2", [tolerate(UNREACHABLE, 300), tolerate(NOT_READY, 300)]))
            await h.create("pods", pod("forever", "n2", [tolerate(UNREACHABLE)]))
            await h.create("pods", pod("elsewhere", "n1"))
            await h.patch("nodes", "n2", {"spec": {"taints": [{"key": UNREACHABLE, "effect": "NoExecute"}]}})
            ev = h.controller.evictions
            for name in ("none", "short", "default", "forever", "elsewhere"):
                await ev.sync_pod(f"default/{name}")
            await h.settle()
            assert h.names("pods") == ["default", "elsewhere", "forever", "short"]
            assert ("Normal", "TaintManagerEviction", "Marking for deletion Pod default/none", "none") \
                in h.recorder.events
            assert h.delay_of("default/short", ev.queue) == pytest.approx(30)
            assert h.delay_of("default/default", ev.queue) == pytest.approx(300)
            assert h.delay_of("default/forever", ev.queue) is None

            h.step(30)
            h.take("default/short", ev.queue)
            await ev.sync_pod("default/short")
            await h.settle()
            assert "short" not in h.names("pods")

            # The node recovers before the 300 s are up: the eviction is cancelled.
            h.step(100)
            await h.patch("nodes", "n2", {"spec": {"taints": []}})
            await ev.sync_pod("default/default")
            h.step(300)
            await ev.sync_pod("default/default")
            await h.settle()
            assert h.names("pods") == ["default", "elsewhere", "forever"]
            assert ("Normal", "TaintManagerEviction", "Cancelling deletion of Pod default/default", "default") \
                in h.recorder.events

    asyncio.run(main())


def test_eviction_marks_the_disruption_target(harness):
    async def main():
        async with harness(NodeLifecycleController, options=OPTIONS) as h:
            await cluster(h)
            await h.create("pods", pod("p", "n2"))
            seen = []

            def spy(req):
                if req.method == "PATCH" and req.path.endswith("/pods/p/status"):
                    seen.append(req.json()["status"]["conditions"][-1])
                return None
            h.api.prepend_reactor(spy)
            await h.patch("nodes", "n2", {"spec": {"taints": [{"key": UNREACHABLE, "effect": "NoExecute"}]}})
            await h.controller.evictions.sync_pod("default/p")
            assert seen[0]["type"] == "DisruptionTarget" and seen[0]["reason"] == "DeletionByTaintManager"
            assert seen[0]["message"] == "Taint manager: deleting due to NoExecute taint"

    asyncio.run(main())
