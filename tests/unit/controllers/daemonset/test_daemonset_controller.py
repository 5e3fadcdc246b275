import asyncio
from datetime import datetime, timezone

import pytest

from kubelite.controllers.daemonset import DaemonSetController
from kubelite.controllers.daemonset.placement import node_should_run_daemon_pod, target_node_name
from kubelite.controllers.daemonset.update import rolling_update
from kubelite.machinery.timeutil import rfc3339

KEY = "default/ds"


def node(name, labels=None, taints=None):
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints or []}}


def daemonset(name="ds", *, selector=None, tolerations=None, strategy=None, image="app:1"):
    spec = {"containers": [{"name": "c", "image": image}]}
    if selector:
        spec["nodeSelector"] = selector
    if tolerations:
        spec["tolerations"] = tolerations
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": "default"},
          "spec": {"selector": {"matchLabels": {"app": name}},
                   "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
    if strategy:
        ds["spec"]["updateStrategy"] = strategy
    return ds


def pods_by_node(h):
    return {target_node_name(p): p for p in h.objects("pods")}


async def run_all(h, phase="Running", ready=True):
    """What the scheduler and kubelets would do: bind each pod to its pinned node and run it."""
    now = rfc3339(h.clock.now())
    for p in h.objects("pods"):
        if not p["spec"].get("nodeName"):
            await h.client.create_subresource("pods", p["metadata"]["name"], "binding",
                                              {"target": {"kind": "Node", "name": target_node_name(p)}}, "default")
            p = h.get("pods", p["metadata"]["name"], "default")
        if (p.get("status") or {}).get("phase") == phase:
            continue
        p["status"] = {"phase": phase, "conditions": [
            {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now}]}
        await h.client.update_status("pods", p)
    await h.settle()


@pytest.mark.parametrize("labels,taints,tolerations,want", [
    ({}, [], None, (True, True)),
    ({"disk": "hdd"}, [], None, (False, False)),
    ({"disk": "ssd"}, [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}], None, (False, True)),
    ({"disk": "ssd"}, [{"key": "dedicated", "value": "x", "effect": "NoExecute"}], None, (False, False)),
    ({"disk": "ssd"}, [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}],
     [{"key": "dedicated", "operator": "Equal", "value": "x"}], (True, True)),
    ({"disk": "ssd"}, [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}], None, (True, True)),
    ({"disk": "ssd"}, [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}], None, (True, True)),
    ({"disk": "ssd"}, [{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}], None,
     (False, True)),
], ids=["plain", "selector-mismatch", "noschedule", "noexecute", "tolerated", "default-unreachable",
        "default-unschedulable", "network-unavailable-needs-hostnetwork"])
def test_node_should_run_daemon_pod(labels, taints, tolerations, want):
    ds = daemonset(tolerations=tolerations)
    if labels:
        ds["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    assert node_should_run_daemon_pod(node("n1", labels, taints), ds) == want


def test_node_affinity_is_honoured():
    ds = daemonset()
    ds["spec"]["template"]["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}}
    assert node_should_run_daemon_pod(node("n1", {"zone": "a"}), ds) == (True, True)
    assert node_should_run_daemon_pod(node("n2", {"zone": "c"}), ds) == (False, False)


def test_one_pinned_pod_per_eligible_node(harness):
    async def main():
        async with harness(DaemonSetController) as h:
            await h.create("nodes", node("n1", {"disk": "ssd"}))
            await h.create("nodes", node("n2", {"disk": "ssd"}, [{"key": "k", "value": "v", "effect": "NoSchedule"}]))
            await h.create("nodes", node("n3", {"disk": "hdd"}))
            await h.create("nodes", node("n4", {"disk": "ssd"}))
            await h.create("daemonsets.apps", daemonset(selector={"disk": "ssd"}))
            await h.sync(KEY)
            pods = pods_by_node(h)
            assert sorted(pods) == ["n1", "n4"]
            pod = pods["n1"]
            assert pod["metadata"]["generateName"] == "ds-"
            assert pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
            terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            assert terms == {"nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}
            keys = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
            assert ("node.kubernetes.io/unreachable", "NoExecute") in keys
            assert ("node.kubernetes.io/not-ready", "NoExecute") in keys
            revs = h.objects("controllerrevisions.apps")
            assert len(revs) == 1 and revs[0]["revision"] == 1
            assert pod["metadata"]["labels"]["controller-revision-hash"] == \
                revs[0]["metadata"]["labels"]["controller-revision-hash"]
            assert revs[0]["metadata"]["name"] == "ds-" + revs[0]["metadata"]["labels"]["controller-revision-hash"]
            assert h.reasons().count("SuccessfulCreate") == 2

            # The pods' add events bring the DaemonSet back; that sync counts them and creates nothing.
            await h.sync(KEY)
            assert len(h.objects("pods")) == 2
            st = h.get("daemonsets.apps", "ds", "default")["status"]
            assert (st["desiredNumberScheduled"], st["currentNumberScheduled"], st["numberReady"]) == (2, 2, 0)
            assert st["observedGeneration"] == 1 and st["numberUnavailable"] == 2

            await run_all(h)
            await h.sync(KEY)
            st = h.get("daemonsets.apps", "ds", "default")["status"]
            assert (st["numberReady"], st["numberAvailable"], st["updatedNumberScheduled"]) == (2, 2, 2)
            assert st["numberMisscheduled"] == 0

            # A node that stops matching loses its pod; a new matching node gets one.
            await h.patch("nodes", "n4", {"metadata": {"labels": {"disk": "hdd"}}})
            await h.create("nodes", node("n5", {"disk": "ssd"}))
            await h.sync(KEY)
            assert sorted(pods_by_node(h)) == ["n1", "n5"]
            assert "Deleted pod: " in h.messages("SuccessfulDelete")[0]

    asyncio.run(main())


def test_noexecute_taint_evicts_but_noschedule_does_not(harness):
    async def main():
        async with harness(DaemonSetController) as h:
            await h.create("nodes", node("n1"))
            await h.create("nodes", node("n2"))
            await h.create("daemonsets.apps", daemonset())
            await h.sync(KEY)
            await run_all(h)
            await h.patch("nodes", "n1", {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}})
            await h.patch("nodes", "n2", {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}})
            await h.sync(KEY)
            assert sorted(pods_by_node(h)) == ["n1"]
            await h.sync(KEY)
            st = h.get("daemonsets.apps", "ds", "default")["status"]
            assert st["desiredNumberScheduled"] == 0 and st["numberMisscheduled"] == 1

    asyncio.run(main())


def test_failed_pod_is_replaced_with_backoff(harness):
    async def main():
        async with harness(DaemonSetController) as h:
            await h.create("nodes", node("n1"))
            await h.create("daemonsets.apps", daemonset())
            await h.sync(KEY)
            await run_all(h, phase="Failed", ready=False)
            await h.sync(KEY)
            assert h.objects("pods") == []
            assert h.messages("FailedDaemonPod")[0].startswith("Found failed daemon pod default/ds-")
            await h.sync(KEY)
            assert len(h.objects("pods")) == 1
            await run_all(h, phase="Failed", ready=False)
            await h.sync(KEY)                     # within the 1 s backoff: kept, retried later
            assert len(h.objects("pods")) == 1
            assert h.delay_of(KEY) == pytest.approx(1.0)
            h.step(1.5)
            await h.sync(KEY)
            assert h.objects("pods") == []

    asyncio.run(main())


def test_rolling_update_respects_max_unavailable(harness):
    async def main():
        async with harness(DaemonSetController) as h:
            for n in ("n1", "n2", "n3"):
                await h.create("nodes", node(n))
            await h.create("daemonsets.apps", daemonset())
            await h.sync(KEY)
            await run_all(h)
            old_hash = h.objects("pods")[0]["metadata"]["labels"]["controller-revision-hash"]
            ds = h.get("daemonsets.apps", "ds", "default")
            ds["spec"]["template"]["spec"]["containers"][0]["image"] = "app:2"
            await h.client.update("daemonsets.apps", ds)
            await h.settle()
            await h.sync(KEY)
            # One old pod deleted (maxUnavailable 1), the others untouched.
            assert len(h.objects("pods")) == 2
            assert len(h.objects("controllerrevisions.apps")) == 2
            await h.sync(KEY)                     # manage creates the new pod on the freed node
            pods = h.objects("pods")
            new = [p for p in pods if p["metadata"]["labels"]["controller-revision-hash"] != old_hash]
            assert len(pods) == 3 and len(new) == 1
            await h.sync(KEY)                     # new pod not available yet: no further deletion
            assert len(h.objects("pods")) == 3
            for _ in range(6):
                await run_all(h)
                await h.sync(KEY)
            pods = h.objects("pods")
            assert len(pods) == 3
            assert all(p["metadata"]["labels"]["controller-revision-hash"] != old_hash for p in pods)
            await h.sync(KEY)
            st = h.get("daemonsets.apps", "ds", "default")["status"]
            assert st["updatedNumberScheduled"] == 3 and st["observedGeneration"] == 2

    asyncio.run(main())


def test_rolling_update_with_surge_keeps_old_pod_until_new_is_available(harness):
    async def main():
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
        async with harness(DaemonSetController) as h:
            for n in ("n1", "n2"):
                await h.create("nodes", node(n))
            await h.create("daemonsets.apps", daemonset(strategy=strategy))
            await h.sync(KEY)
            await run_all(h)
            ds = h.get("daemonsets.apps", "ds", "default")
            ds["spec"]["template"]["spec"]["containers"][0]["image"] = "app:2"
            await h.client.update("daemonsets.apps", ds)
            await h.settle()
            await h.sync(KEY)
            assert len(h.objects("pods")) == 3     # one surge pod beside the old one
            await h.sync(KEY)
            assert len(h.objects("pods")) == 3     # waits for it to become available
            await run_all(h)
            await h.sync(KEY)                     # old pod on the surged node goes, next node surges
            await h.sync(KEY)
            await run_all(h)
            for _ in range(3):
                await h.sync(KEY)
                await run_all(h)
            pods = h.objects("pods")
            assert len(pods) == 2
            assert {p["spec"]["containers"][0]["image"] for p in pods} == {"app:2"}

    asyncio.run(main())


def test_on_delete_leaves_old_pods(harness):
    async def main():
        async with harness(DaemonSetController) as h:
            await h.create("nodes", node("n1"))
            await h.create("daemonsets.apps", daemonset(strategy={"type": "OnDelete"}))
            await h.sync(KEY)
            await run_all(h)
            ds = h.get("daemonsets.apps", "ds", "default")
            ds["spec"]["template"]["spec"]["containers"][0]["image"] = "app:2"
            await h.client.update("daemonsets.apps", ds)
            await h.settle()
            await h.sync(KEY)
            pods = h.objects("pods")
            assert [p["spec"]["containers"][0]["image"] for p in pods] == ["app:1"]
            await h.delete("pods", pods[0]["metadata"]["name"], "default")
            await h.sync(KEY)
            assert [p["spec"]["containers"][0]["image"] for p in h.objects("pods")] == ["app:2"]
            await h.sync(KEY)
            assert h.get("daemonsets.apps", "ds", "default")["status"]["updatedNumberScheduled"] == 1

    asyncio.run(main())


def test_history_is_pruned_to_the_limit(harness):
    async def main():
        async with harness(DaemonSetController) as h:
            await h.create("nodes", node("n1"))
            ds = daemonset(strategy={"type": "OnDelete"})
            ds["spec"]["revisionHistoryLimit"] = 1
            await h.create("daemonsets.apps", ds)
            await h.sync(KEY)
            for image in ("app:2", "app:3", "app:4"):
                ds = h.get("daemonsets.apps", "ds", "default")
                ds["spec"]["template"]["spec"]["containers"][0]["image"] = image
                await h.client.update("daemonsets.apps", ds)
                await h.settle()
                await h.sync(KEY)
            revs = sorted(h.objects("controllerrevisions.apps"), key=lambda r: r["revision"])
            # The current one, the one the live pod runs, and nothing else.
            assert [r["revision"] for r in revs] == [1, 4]
            # Rolling back to a known template renumbers its revision instead of making a new one.
            ds = h.get("daemonsets.apps", "ds", "default")
            ds["spec"]["template"]["spec"]["containers"][0]["image"] = "app:1"
            await h.client.update("daemonsets.apps", ds)
            await h.settle()
            await h.sync(KEY)
            assert sorted(r["revision"] for r in h.objects("controllerrevisions.apps")) == [4, 5]

    asyncio.run(main())


def test_orphans_are_adopted_and_strays_released(harness):
    async def main():
        async with harness(DaemonSetController) as h:
            await h.create("nodes", node("n1"))
            # OnDelete: a rolling update would replace the adopted (old, unready) pod at once.
            await h.create("daemonsets.apps", daemonset(strategy={"type": "OnDelete"}))
            orphan = {"metadata": {"name": "orphan", "namespace": "default", "labels": {"app": "ds"}},
                      "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "x"}]}}
            await h.create("pods", orphan)
            await h.sync(KEY)
            pod = h.get("pods", "orphan", "default")
            assert pod["metadata"]["ownerReferences"][0]["name"] == "ds"
            assert len(h.objects("pods")) == 1           # it counts as the node's daemon pod
            await h.patch("pods", "orphan", {"metadata": {"labels": {"app": "other"}}}, "default")
            await h.sync(KEY)
            assert not h.get("pods", "orphan", "default")["metadata"].get("ownerReferences")
            assert len(h.objects("pods")) == 2

    asyncio.run(main())


def test_rolling_update_plan_is_pure():
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)

    def pod(name, hash_, ready=True):
        return {"metadata": {"name": name, "labels": {"controller-revision-hash": hash_}},
                "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}

    ds = daemonset(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%"}})
    pods = {f"n{i}": [pod(f"p{i}", "old")] for i in range(4)}
    pods["n0"] = [pod("p0", "old", ready=False)]
    delete, create = rolling_update(ds, pods, list(pods), "new", now)
    # The unavailable old pod is replaced at once without using the budget; 50% of 4 = 2 more go.
    assert delete == ["p0", "p1", "p2"] and create == []
