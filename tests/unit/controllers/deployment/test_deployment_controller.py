import asyncio

import pytest

from kubelite.controllers.deployment import DeploymentController
from kubelite.controllers.deployment import util as du
from kubelite.controllers.util.testing import ControllerHarness
from kubelite.machinery.errors import StatusError

KEY = "default/web"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def deployment(replicas=3, surge="25%", unavailable="25%", image="nginx:1", strategy="RollingUpdate", **spec):
    strat = {"type": strategy}
    if strategy == "RollingUpdate":
        strat["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "strategy": strat,
                     "revisionHistoryLimit": spec.pop("revisionHistoryLimit", 10),
                     "progressDeadlineSeconds": spec.pop("progressDeadlineSeconds", 600),
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}, **spec}}


def rs_list(h):
    return sorted(h.objects("replicasets.apps"), key=lambda r: du.revision(r))


async def simulate(h, ready=True):
    """The ReplicaSet controller and kubelet: pods that existed at the last step are available now."""
    for rs in h.objects("replicasets.apps"):
        want = du.replicas(rs)
        prev = du.status_int(rs, "replicas")
        avail = min(want, prev) if ready else 0
        rs["status"] = {"replicas": want, "readyReplicas": avail, "availableReplicas": avail,
                        "observedGeneration": rs["metadata"]["generation"]}
        await h.client.update_status("replicasets.apps", rs)
    await h.settle()


async def set_image(h, image):
    d = h.get("deployments.apps", "web", "default")
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    await h.client.update("deployments.apps", d)
    await h.settle()


async def start(h, d):
    dc = DeploymentController(h.ctx)
    await h.start()
    await h.create("deployments.apps", d)
    await h.settle()
    return dc


async def step(h, dc):
    await dc.sync_deployment(KEY)
    await h.settle()


def test_first_sync_creates_the_new_replica_set():
    async def main():
        async with ControllerHarness() as h:
            dc = await start(h, deployment(replicas=3))
            await step(h, dc)
            [rs] = h.objects("replicasets.apps")
            d = h.get("deployments.apps", "web", "default")
            md = rs["metadata"]
            h_ = md["labels"]["pod-template-hash"]
            assert md["name"] == f"web-{h_}" and len(h_) >= 5
            assert set(h_) <= set("bcdfghjklmnpqrstvwxz2456789")
            assert md["labels"] == {"app": "web", "pod-template-hash": h_}
            assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": h_}}
            assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": h_}
            assert rs["spec"]["replicas"] == 3
            assert md["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                              "uid": d["metadata"]["uid"], "controller": True,
                                              "blockOwnerDeletion": True}]
            assert md["annotations"] == {"deployment.kubernetes.io/revision": "1",
                                         "deployment.kubernetes.io/desired-replicas": "3",
                                         "deployment.kubernetes.io/max-replicas": "4"}
            assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
            assert h.recorder.events == [f"Normal ScalingReplicaSet Scaled up replica set {md['name']} from 0 to 3"]
            prog = du.get_condition(d["status"], "Progressing")
            assert (prog["status"], prog["reason"], prog["message"]) == (
                "True", "NewReplicaSetCreated", f'Created new replica set "{md["name"]}"')
            avail = du.get_condition(d["status"], "Available")
            assert (avail["status"], avail["reason"]) == ("False", "MinimumReplicasUnavailable")
            assert d["status"]["observedGeneration"] == 1
            assert d["status"]["unavailableReplicas"] == 3
            # Pods come up: the rollout completes.
            await simulate(h)
            await simulate(h)
            await step(h, dc)
            d = h.get("deployments.apps", "web", "default")
            st = d["status"]
            assert {k: st.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                                           "observedGeneration")} == \
                {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                 "observedGeneration": 1}
            assert "unavailableReplicas" not in st
            prog = du.get_condition(st, "Progressing")
            assert (prog["reason"], prog["message"]) == ("NewReplicaSetAvailable",
                                                         f'ReplicaSet "{md["name"]}" has successfully progressed.')
            avail = du.get_condition(st, "Available")
            assert (avail["status"], avail["reason"], avail["message"]) == (
                "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    run(main())


@pytest.mark.parametrize("replicas,surge,unavailable", [
    (4, 1, 1), (10, "25%", "25%"), (5, 0, 1), (5, 2, 0), (3, "50%", "0%"), (1, 0, "100%"),
], ids=["abs-1-1", "pct-25-25", "no-surge", "no-unavailable", "pct-50-0", "single-replica"])
def test_rolling_update_stays_within_surge_and_unavailability(replicas, surge, unavailable):
    async def main():
        async with ControllerHarness() as h:
            d = deployment(replicas=replicas, surge=surge, unavailable=unavailable)
            dc = await start(h, d)
            s, u = du.resolve_fenceposts(surge, unavailable, replicas)
            for _ in range(10):
                await step(h, dc)
                await simulate(h)
            old = rs_list(h)[0]
            assert du.status_int(old, "availableReplicas") == replicas
            await set_image(h, "nginx:2")
            for i in range(60):
                await step(h, dc)
                rss = rs_list(h)
                assert du.replica_count(rss) <= replicas + s, f"step {i}: too many pods {rss}"
                await simulate(h)
                rss = rs_list(h)
                assert du.available_replica_count(rss) >= replicas - u, f"step {i}: too few available"
                if len(rss) == 2 and du.replicas(rss[0]) == 0 and du.status_int(rss[1], "availableReplicas") == replicas:
                    break
            else:
                raise AssertionError("the rollout did not finish")
            await step(h, dc)
            await step(h, dc)
            new = rs_list(h)[1]
            assert du.revision(new) == 2
            d = h.get("deployments.apps", "web", "default")
            assert du.get_condition(d["status"], "Progressing")["reason"] == "NewReplicaSetAvailable"
            assert d["status"]["updatedReplicas"] == replicas
    run(main())


def test_fenceposts_round_surge_up_and_unavailable_down():
    assert du.resolve_fenceposts("25%", "25%", 10) == (3, 2)
    assert du.resolve_fenceposts("25%", "25%", 1) == (1, 0)
    assert du.resolve_fenceposts(0, 0, 5) == (0, 1)
    assert du.resolve_fenceposts("0%", "0%", 5) == (0, 1)
    assert du.resolve_fenceposts(2, "10%", 5) == (2, 0)
    d = deployment(replicas=4, surge=1, unavailable=10)
    assert du.max_unavailable(d) == 4
    assert du.max_surge(deployment(strategy="Recreate")) == 0


def test_proportional_scaling_during_a_rollout():
    async def main():
        async with ControllerHarness() as h:
            dc = await start(h, deployment(replicas=10, surge=3, unavailable=2))
            await step(h, dc)
            await simulate(h)
            await simulate(h)
            await step(h, dc)
            await set_image(h, "nginx:2")
            await step(h, dc)        # new RS at 3 (13 in total)
            await simulate(h)
            await step(h, dc)        # old scaled down by the spare availability
            rss = rs_list(h)
            old, new = rss
            assert du.replicas(old) + du.replicas(new) == 13, [du.replicas(r) for r in rss]
            old_size, new_size = du.replicas(old), du.replicas(new)
            h.recorder.clear()
            d = h.get("deployments.apps", "web", "default")
            d["spec"]["replicas"] = 20
            await h.client.update("deployments.apps", d)
            await h.settle()
            await step(h, dc)
            old2, new2 = rs_list(h)
            # 20 + 3 surge = 23 pods: 8*23/13 -> 14 and 5*23/13 -> 9, each rounded.
            assert (old_size, new_size) == (8, 5)
            assert (du.replicas(old2), du.replicas(new2)) == (14, 9)
            assert du.annotations(old2)["deployment.kubernetes.io/desired-replicas"] == "20"
            assert du.annotations(new2)["deployment.kubernetes.io/max-replicas"] == "23"
            assert h.recorder.events == [
                f"Normal ScalingReplicaSet Scaled up replica set {old2['metadata']['name']} to 14 from 8",
                f"Normal ScalingReplicaSet Scaled up replica set {new2['metadata']['name']} to 9 from 5"]
            # Scaling back down takes from the larger (older on ties) first.
            h.recorder.clear()
            d = h.get("deployments.apps", "web", "default")
            d["spec"]["replicas"] = 5
            await h.client.update("deployments.apps", d)
            await h.settle()
            await step(h, dc)
            old3, new3 = rs_list(h)
            assert du.replicas(old3) + du.replicas(new3) == 5 + 3
    run(main())


def test_proportional_scaling_matches_kubernetes_example():
    async def main():
        async with ControllerHarness() as h:
            dc = DeploymentController(h.ctx)
            await h.start()
            d = await h.create("deployments.apps", deployment(replicas=20, surge="25%", unavailable="25%", image="nginx:2"))
            owner = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": d["metadata"]["uid"],
                      "controller": True, "blockOwnerDeletion": True}]
            for name, size, image, rev, created in (("web-old", 8, "nginx:1", "1", "2024-01-01T00:00:00Z"),
                                                    ("web-new", 5, "nginx:1b", "2", "2024-01-02T00:00:00Z")):
                tmpl = {"metadata": {"labels": {"app": "web", "pod-template-hash": name}},
                        "spec": {"containers": [{"name": "c", "image": image}]}}
                await h.create("replicasets.apps", {
                    "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"},
                                 "ownerReferences": owner, "creationTimestamp": created,
                                 "annotations": {"deployment.kubernetes.io/revision": rev,
                                                 "deployment.kubernetes.io/desired-replicas": "10",
                                                 "deployment.kubernetes.io/max-replicas": "13"}},
                    "spec": {"replicas": size, "selector": {"matchLabels": {"app": "web", "pod-template-hash": name}},
                             "template": tmpl}})
            await h.settle()
            await step(h, dc)
            sizes = {r["metadata"]["name"]: du.replicas(r) for r in h.objects("replicasets.apps")}
            # 12 more pods: web-old 8 -> round(8*25/13)=15, web-new takes the remaining 5 -> 10.
            assert sizes == {"web-old": 15, "web-new": 10}
            assert sorted(h.recorder.events) == sorted([
                "Normal ScalingReplicaSet Scaled up replica set web-old to 15 from 8",
                "Normal ScalingReplicaSet Scaled up replica set web-new to 10 from 5"])
    run(main())


def test_progress_deadline_exceeded_then_recovered_by_reverting():
    async def main():
        async with ControllerHarness() as h:
            dc = await start(h, deployment(replicas=2, progressDeadlineSeconds=10))
            for _ in range(3):
                await step(h, dc)
                await simulate(h)
            await step(h, dc)
            await set_image(h, "broken:0")
            await step(h, dc)
            await simulate(h, ready=False)
            await step(h, dc)
            d = h.get("deployments.apps", "web", "default")
            assert du.get_condition(d["status"], "Progressing")["status"] == "True"
            h.clock.step(12)
            await step(h, dc)
            d = h.get("deployments.apps", "web", "default")
            new = rs_list(h)[-1]
            prog = du.get_condition(d["status"], "Progressing")
            assert (prog["status"], prog["reason"], prog["message"]) == (
                "False", "ProgressDeadlineExceeded", f'ReplicaSet "{new["metadata"]["name"]}" has timed out progressing.')
            # Stays timed out.
            await step(h, dc)
            assert du.get_condition(h.get("deployments.apps", "web", "default")["status"],
                                    "Progressing")["reason"] == "ProgressDeadlineExceeded"
            # Revert: the first ReplicaSet becomes the new one again (revision 3) and the rollout completes.
            await set_image(h, "nginx:1")
            for _ in range(10):
                await step(h, dc)
                await simulate(h, ready=True)
            first = [r for r in h.objects("replicasets.apps") if r["spec"]["template"]["spec"]["containers"][0]["image"]
                     == "nginx:1"][0]
            assert du.annotations(first)["deployment.kubernetes.io/revision"] == "3"
            assert du.annotations(first)["deployment.kubernetes.io/revision-history"] == "1"
            d = h.get("deployments.apps", "web", "default")
            assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
            prog = du.get_condition(d["status"], "Progressing")
            assert (prog["status"], prog["reason"]) == ("True", "NewReplicaSetAvailable")
    run(main())


def test_paused_deployment_does_not_roll_and_records_conditions():
    async def main():
        async with ControllerHarness() as h:
            dc = await start(h, deployment(replicas=2))
            for _ in range(3):
                await step(h, dc)
                await simulate(h)
            d = h.get("deployments.apps", "web", "default")
            d["spec"]["paused"] = True
            await h.client.update("deployments.apps", d)
            await h.settle()
            await set_image(h, "nginx:2")
            await step(h, dc)
            assert len(h.objects("replicasets.apps")) == 1
            d = h.get("deployments.apps", "web", "default")
            prog = du.get_condition(d["status"], "Progressing")
            assert (prog["status"], prog["reason"], prog["message"]) == ("Unknown", "DeploymentPaused",
                                                                         "Deployment is paused")
            assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
            d["spec"]["paused"] = False
            await h.client.update("deployments.apps", d)
            await h.settle()
            await step(h, dc)
            assert len(h.objects("replicasets.apps")) == 2
            d = h.get("deployments.apps", "web", "default")
            prog = du.get_condition(d["status"], "Progressing")
            assert prog["reason"] == "NewReplicaSetCreated"
    run(main())


def test_revision_history_limit_deletes_oldest_first():
    async def main():
        async with ControllerHarness() as h:
            dc = DeploymentController(h.ctx)
            await h.start()
            d = deployment(replicas=1, revisionHistoryLimit=2, paused=True)
            d = await h.create("deployments.apps", d)
            owner = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": d["metadata"]["uid"],
                      "controller": True, "blockOwnerDeletion": True}]
            for rev in (1, 2, 3, 4):
                tmpl = {"metadata": {"labels": {"app": "web", "pod-template-hash": f"h{rev}"}},
                        "spec": {"containers": [{"name": "c", "image": f"nginx:old{rev}"}]}}
                rs = await h.create("replicasets.apps", {
                    "metadata": {"name": f"web-h{rev}", "namespace": "default", "labels": {"app": "web"},
                                 "ownerReferences": owner, "annotations": {"deployment.kubernetes.io/revision": str(rev)}},
                    "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web", "pod-template-hash": f"h{rev}"}},
                             "template": tmpl}})
                rs["status"] = {"replicas": 0, "observedGeneration": 1}
                await h.client.update_status("replicasets.apps", rs)
            await h.settle()
            await step(h, dc)
            assert sorted(r["metadata"]["name"] for r in h.objects("replicasets.apps")) == ["web-h3", "web-h4"]
    run(main())


def test_recreate_waits_for_old_pods_before_scaling_up():
    async def main():
        async with ControllerHarness() as h:
            dc = await start(h, deployment(replicas=2, strategy="Recreate"))
            await step(h, dc)
            [old] = h.objects("replicasets.apps")
            assert du.replicas(old) == 2
            await simulate(h)
            await simulate(h)
            pod_ref = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": old["metadata"]["name"],
                        "uid": old["metadata"]["uid"], "controller": True}]
            await h.create("pods", {"metadata": {"name": "old-pod", "namespace": "default",
                                                 "labels": old["spec"]["template"]["metadata"]["labels"],
                                                 "ownerReferences": pod_ref},
                                    "spec": {}, "status": {"phase": "Running"}})
            await set_image(h, "nginx:2")
            h.recorder.clear()
            await step(h, dc)
            assert [du.replicas(r) for r in h.objects("replicasets.apps")] == [0]
            assert h.recorder.events == [f"Normal ScalingReplicaSet Scaled down replica set "
                                         f"{old['metadata']['name']} to 0 from 2"]
            await simulate(h)
            await step(h, dc)
            assert len(h.objects("replicasets.apps")) == 1      # the old pod still runs
            await h.client.delete("pods", "old-pod", "default")
            await h.settle()
            assert "default/web" in _drain(dc)
            await step(h, dc)
            rss = rs_list(h)
            assert [du.replicas(r) for r in rss] == [0, 2]
    run(main())


def _drain(ctrl):
    keys = []
    while len(ctrl.queue):
        k = ctrl.queue.get_nowait()
        ctrl.queue.done(k)
        keys.append(k)
    return keys


def test_change_cause_is_copied_and_history_kept():
    async def main():
        async with ControllerHarness() as h:
            d = deployment(replicas=1)
            d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first",
                                            "kubectl.kubernetes.io/last-applied-configuration": "{}"}
            dc = await start(h, d)
            await step(h, dc)
            [rs] = h.objects("replicasets.apps")
            assert rs["metadata"]["annotations"]["kubernetes.io/change-cause"] == "first"
            assert "kubectl.kubernetes.io/last-applied-configuration" not in rs["metadata"]["annotations"]
    run(main())


def test_adopts_orphan_replica_set_matching_the_selector():
    async def main():
        async with ControllerHarness() as h:
            dc = DeploymentController(h.ctx)
            await h.start()
            d = await h.create("deployments.apps", deployment(replicas=1))
            tmpl = dict(d["spec"]["template"])
            await h.create("replicasets.apps", {
                "metadata": {"name": "orphan", "namespace": "default", "labels": {"app": "web"}},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": tmpl}})
            await h.settle()
            await step(h, dc)
            orphan = h.get("replicasets.apps", "orphan", "default")
            assert orphan["metadata"]["ownerReferences"][0]["uid"] == d["metadata"]["uid"]
            # The adopted ReplicaSet has the deployment's template: it is the new one, no other created.
            await step(h, dc)
            assert len(h.objects("replicasets.apps")) == 1
            assert du.revision(h.get("replicasets.apps", "orphan", "default")) == 1
    run(main())


def test_hash_collision_bumps_collision_count():
    async def main():
        async with ControllerHarness() as h:
            dc = DeploymentController(h.ctx)
            await h.start()
            d = await h.create("deployments.apps", deployment(replicas=1))
            from kubelite.controllers.util.hashing import compute_hash
            name = f"web-{compute_hash(d['spec']['template'])}"
            await h.create("replicasets.apps", {
                "metadata": {"name": name, "namespace": "default", "labels": {"other": "x"}},
                "spec": {"replicas": 0, "selector": {"matchLabels": {"other": "x"}},
                         "template": {"metadata": {"labels": {"other": "x"}}, "spec": {"containers": []}}}})
            await h.settle()
            with pytest.raises(StatusError):
                await dc.sync_deployment(KEY)
            await h.settle()
            assert h.get("deployments.apps", "web", "default")["status"]["collisionCount"] == 1
            await step(h, dc)
            names = sorted(r["metadata"]["name"] for r in h.objects("replicasets.apps"))
            assert len(names) == 2 and name in names
    run(main())


def test_replica_failure_is_reported_on_the_deployment():
    async def main():
        async with ControllerHarness() as h:
            dc = await start(h, deployment(replicas=1))
            await step(h, dc)
            [rs] = h.objects("replicasets.apps")
            rs["status"] = {"replicas": 0, "conditions": [{"type": "ReplicaFailure", "status": "True",
                                                           "reason": "FailedCreate", "message": "quota",
                                                           "lastTransitionTime": "2025-01-01T00:00:00Z"}]}
            await h.client.update_status("replicasets.apps", rs)
            await h.settle()
            await step(h, dc)
            cond = du.get_condition(h.get("deployments.apps", "web", "default")["status"], "ReplicaFailure")
            assert (cond["status"], cond["reason"], cond["message"]) == ("True", "FailedCreate", "quota")
    run(main())


def test_selecting_all_is_refused_with_an_event():
    async def main():
        async with ControllerHarness() as h:
            d = deployment()
            d["spec"]["selector"] = {}
            dc = await start(h, d)
            await step(h, dc)
            assert h.objects("replicasets.apps") == []
            assert h.recorder.events == ["Warning SelectingAll This deployment is selecting all pods. "
                                         "A non-empty selector is required."]
            assert h.get("deployments.apps", "web", "default")["status"]["observedGeneration"] == 1
    run(main())


def test_missing_deployment_is_ignored():
    async def main():
        async with ControllerHarness() as h:
            dc = DeploymentController(h.ctx)
            await h.start()
            await dc.sync_deployment("default/nothing")
    run(main())
