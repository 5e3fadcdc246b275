"""The core controllers (namespace, service accounts, garbage collector, ReplicaSet, Deployment)
against a real in-process API server, with a tiny fake kubelet that binds pods to a fake node,
reports them Running and Ready (unless their image is "broken"), and finishes graceful deletes."""

import asyncio
import contextlib
import uuid

from kubelite.client import InformerFactory
from kubelite.controller_manager import ControllerManager
from kubelite.machinery.errors import StatusError, is_not_found
from kubelite.machinery.timeutil import rfc3339
from kubelite.testing import async_wait_until
from kubelite.testing.apiserver import InProcessAPIServer

CONTROLLERS = ["namespace", "serviceaccount", "root-ca-cert-publisher", "garbagecollector", "replicaset",
               "deployment"]
NODE = "fake-node"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class FakeKubelet:
    """Just enough of a node: bind, start (Ready unless the image says broken), stop."""

    def __init__(self, client):
        self.client = client
        self.queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.factory = InformerFactory(client)
        self.pods = self.factory.informer_for("pods")
        self.pods.add_event_handler(self._enqueue, lambda old, new: self._enqueue(new))

    def _enqueue(self, pod):
        self.queue.put_nowait((pod["metadata"]["namespace"], pod["metadata"]["name"]))

    async def run(self):
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.factory.run())
            for _ in range(4):
                tg.create_task(self._worker())

    async def _worker(self):
        while True:
            ns, name = await self.queue.get()
            try:
                await self._sync(ns, name)
            except StatusError as e:
                if not is_not_found(e) and e.code != 409:
                    raise

    async def _sync(self, ns, name):
        pod = self.pods.indexer.get_by_key(f"{ns}/{name}")
        if pod is None:
            return
        md, spec = pod["metadata"], pod.get("spec") or {}
        if md.get("deletionTimestamp"):
            await self.client.delete("pods", name, ns, grace_period_seconds=0)
            return
        if not spec.get("nodeName"):
            await self.client.create_subresource("pods", name, "binding", {
                "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                "target": {"apiVersion": "v1", "kind": "Node", "name": NODE}}, ns)
            return
        images = [c.get("image", "") for c in spec.get("containers") or []]
        broken = any("broken" in i for i in images)
        st = pod.get("status") or {}
        if st.get("phase") == "Running" and any(c.get("type") == "Ready" and c.get("status") == ("False" if broken else "True")
                                                for c in st.get("conditions") or []):
            return
        now = rfc3339()
        ready = "False" if broken else "True"
        await self.client.patch("pods", name, {"status": {
            "phase": "Running", "podIP": "198.19.0.10", "startTime": now,
            "conditions": [{"type": t, "status": s, "lastTransitionTime": now} for t, s in (
                ("PodScheduled", "True"), ("Initialized", "True"), ("ContainersReady", ready), ("Ready", ready))],
            "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "ready": not broken,
                                   "restartCount": 0, "started": True, "state": {"running": {"startedAt": now}}}
                                  for c in spec.get("containers") or []]}}, ns, patch_type="merge",
            subresource="status")


@contextlib.asynccontextmanager
async def cluster(options=None):
    async with InProcessAPIServer() as api:
        client = api.client
        cm = ControllerManager(client, controllers=CONTROLLERS, options={"root_ca_pem": PEM, **(options or {})})
        kubelet = FakeKubelet(api.new_client())
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(cm.run()), tg.create_task(kubelet.run())]
            try:
                yield client
            finally:
                for t in tasks:
                    t.cancel()
        await kubelet.client.close()


async def new_namespace(client):
    name = f"it-{uuid.uuid4().hex[:8]}"
    await client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def deployment(name, replicas=5, image="nginx:1", surge=1, unavailable=1, **spec):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"terminationGracePeriodSeconds": 0,
                                           "containers": [{"name": "c", "image": image}]}}, **spec}}


async def rollout_done(client, ns, name):
    d = await client.get("deployments.apps", name, ns)
    st = d.get("status") or {}
    n = d["spec"]["replicas"]
    return (st.get("observedGeneration", 0) >= d["metadata"]["generation"] and st.get("updatedReplicas", 0) == n
            and st.get("replicas", 0) == n and st.get("availableReplicas", 0) == n)


def is_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


async def pods_of(client, ns, app):
    return (await client.list("pods", ns, label_selector=f"app={app}"))["items"]


def test_deployment_reaches_available_and_replaces_deleted_pods():
    async def main():
        async with cluster() as client:
            ns = await new_namespace(client)
            await client.create("deployments.apps", deployment("web", 5), ns)
            await async_wait_until(lambda: rollout_done(client, ns, "web"), timeout=20, message="5/5 available")
            d = await client.get("deployments.apps", "web", ns)
            conds = {c["type"]: c for c in d["status"]["conditions"]}
            assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
            assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
            [rs] = (await client.list("replicasets.apps", ns))["items"]
            assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
            assert rs["status"]["readyReplicas"] == 5
            pods = await pods_of(client, ns, "web")
            assert len(pods) == 5 and all(p["metadata"]["name"].startswith(rs["metadata"]["name"] + "-") for p in pods)
            victim = pods[0]["metadata"]["name"]
            await client.delete("pods", victim, ns)

            async def replaced():
                ps = await pods_of(client, ns, "web")
                names = {p["metadata"]["name"] for p in ps if not p["metadata"].get("deletionTimestamp")}
                return victim not in names and len(names) == 5 and all(is_ready(p) for p in ps)
            await async_wait_until(replaced, timeout=20, message="a replacement pod")
            # The service account controllers did their part too.
            await async_wait_until(lambda: client.get("serviceaccounts", "default", ns), timeout=10)
            cm = await async_wait_until(lambda: client.get("configmaps", "kube-root-ca.crt", ns), timeout=10)
            assert cm["data"] == {"ca.crt": PEM}
    run(main())


def test_rolling_update_stays_within_max_surge_and_max_unavailable():
    async def main():
        async with cluster() as client:
            ns = await new_namespace(client)
            replicas, surge, unavailable = 5, 2, 1
            await client.create("deployments.apps", deployment("web", replicas, surge=surge, unavailable=unavailable),
                                ns)
            await async_wait_until(lambda: rollout_done(client, ns, "web"), timeout=20, message="first rollout")
            pods, rv = await client.list_all("pods", ns)
            rss, rs_rv = await client.list_all("replicasets.apps", ns)
            state = {p["metadata"]["name"]: p for p in pods}
            specs = {r["metadata"]["name"]: r["spec"]["replicas"] for r in rss}
            seen = {"max_pods": 0, "min_ready": replicas, "max_spec": 0, "events": 0}

            def check():
                live = [p for p in state.values() if not p["metadata"].get("deletionTimestamp")]
                seen["max_pods"] = max(seen["max_pods"], len(live))
                seen["min_ready"] = min(seen["min_ready"], sum(1 for p in live if is_ready(p)))
                seen["max_spec"] = max(seen["max_spec"], sum(specs.values()))

            async def watch_pods():
                async with client.watch("pods", ns, resource_version=rv) as w:
                    async for etype, obj in w:
                        seen["events"] += 1
                        if etype == "DELETED":
                            state.pop(obj["metadata"]["name"], None)
                        elif etype in ("ADDED", "MODIFIED"):
                            state[obj["metadata"]["name"]] = obj
                        check()

            async def watch_rs():
                async with client.watch("replicasets.apps", ns, resource_version=rs_rv) as w:
                    async for etype, obj in w:
                        if etype == "DELETED":
                            specs.pop(obj["metadata"]["name"], None)
                        elif etype in ("ADDED", "MODIFIED"):
                            specs[obj["metadata"]["name"]] = obj["spec"]["replicas"]
                        check()

            async with asyncio.TaskGroup() as tg:
                watchers = [tg.create_task(watch_pods()), tg.create_task(watch_rs())]
                await client.patch("deployments.apps", "web", {"spec": {"template": {"spec": {"containers": [
                    {"name": "c", "image": "nginx:2"}]}}}}, ns, patch_type="merge")

                async def done():
                    if not await rollout_done(client, ns, "web"):
                        return False
                    live = [p for p in state.values() if not p["metadata"].get("deletionTimestamp")]
                    return len(live) == replicas and all(
                        p["spec"]["containers"][0]["image"] == "nginx:2" and is_ready(p) for p in live)
                await async_wait_until(done, timeout=30, message="second rollout")
                for t in watchers:
                    t.cancel()
            assert seen["events"] > 0
            assert seen["max_spec"] <= replicas + surge, seen
            assert seen["max_pods"] <= replicas + surge, seen
            assert seen["min_ready"] >= replicas - unavailable, seen
            d = await client.get("deployments.apps", "web", ns)
            assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
            rss = (await client.list("replicasets.apps", ns))["items"]
            assert sorted(r["spec"]["replicas"] for r in rss) == [0, replicas]
            events = (await client.list("events", ns, field_selector="involvedObject.kind=Deployment"))["items"]
            assert any(e["reason"] == "ScalingReplicaSet" and e["message"].startswith("Scaled down replica set")
                       for e in events)
    run(main())


def test_broken_template_exceeds_progress_deadline_and_reverting_recovers():
    async def main():
        async with cluster() as client:
            ns = await new_namespace(client)
            await client.create("deployments.apps", deployment("web", 3, surge=1, unavailable=0,
                                                               progressDeadlineSeconds=2), ns)
            await async_wait_until(lambda: rollout_done(client, ns, "web"), timeout=20, message="first rollout")
            await client.patch("deployments.apps", "web", {"spec": {"template": {"spec": {"containers": [
                {"name": "c", "image": "broken:1"}]}}}}, ns, patch_type="merge")

            async def progressing_reason():
                d = await client.get("deployments.apps", "web", ns)
                cond = next((c for c in (d.get("status") or {}).get("conditions") or []
                             if c["type"] == "Progressing"), {})
                return cond.get("reason"), cond.get("status"), cond.get("message", "")
            await async_wait_until(lambda: _is(progressing_reason(), "ProgressDeadlineExceeded"), timeout=15,
                                   message="ProgressDeadlineExceeded")
            reason, status, message = await progressing_reason()
            assert status == "False" and message.endswith("has timed out progressing.")
            # The old pods kept serving: maxUnavailable is 0.
            d = await client.get("deployments.apps", "web", ns)
            assert d["status"]["availableReplicas"] == 3
            await client.patch("deployments.apps", "web", {"spec": {"template": {"spec": {"containers": [
                {"name": "c", "image": "nginx:1"}]}}}}, ns, patch_type="merge")
            await async_wait_until(lambda: _is(progressing_reason(), "NewReplicaSetAvailable"), timeout=20,
                                   message="recovery")
            await async_wait_until(lambda: rollout_done(client, ns, "web"), timeout=20, message="rollback done")
            d = await client.get("deployments.apps", "web", ns)
            assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
            rss = {r["spec"]["template"]["spec"]["containers"][0]["image"]: r
                   for r in (await client.list("replicasets.apps", ns))["items"]}
            assert rss["nginx:1"]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
            assert rss["broken:1"]["spec"]["replicas"] == 0
    run(main())


async def _is(coro, reason):
    return (await coro)[0] == reason


def test_namespace_deletion_removes_content_and_the_namespace():
    async def main():
        async with cluster() as client:
            ns = await new_namespace(client)
            await client.create("deployments.apps", deployment("web", 3), ns)
            await client.create("configmaps", {"metadata": {"name": "cfg"}, "data": {"a": "b"}}, ns)
            await client.create("secrets", {"metadata": {"name": "s"}, "stringData": {"a": "b"}}, ns)
            await async_wait_until(lambda: rollout_done(client, ns, "web"), timeout=20, message="rollout")
            await async_wait_until(lambda: client.get("serviceaccounts", "default", ns), timeout=10)
            await client.delete("namespaces", ns)

            async def gone():
                try:
                    await client.get("namespaces", ns)
                    return False
                except StatusError as e:
                    return is_not_found(e)
            await async_wait_until(gone, timeout=20, message="namespace gone")
            for r in ("pods", "replicasets.apps", "deployments.apps", "configmaps", "secrets", "serviceaccounts"):
                assert (await client.list(r, ns))["items"] == [], r
    run(main())


def test_cascading_deletion_policies():
    async def main():
        async with cluster() as client:
            ns = await new_namespace(client)
            for name in ("fg", "bg", "orphan"):
                await client.create("deployments.apps", deployment(name, 2), ns)
            for name in ("fg", "bg", "orphan"):
                await async_wait_until(lambda: rollout_done(client, ns, name), timeout=20, message=name)

            async def deployment_gone(name):
                try:
                    await client.get("deployments.apps", name, ns)
                    return False
                except StatusError as e:
                    return is_not_found(e)

            # Foreground: the deployment goes last, after its ReplicaSet and pods.
            out = await client.delete("deployments.apps", "fg", ns, propagation_policy="Foreground")
            assert "foregroundDeletion" in out["metadata"]["finalizers"]
            await async_wait_until(lambda: deployment_gone("fg"), timeout=20, message="foreground deletion")
            assert await pods_of(client, ns, "fg") == []
            assert [r for r in (await client.list("replicasets.apps", ns, label_selector="app=fg"))["items"]] == []

            # Background: the deployment goes at once, the garbage collector takes the rest.
            await client.delete("deployments.apps", "bg", ns, propagation_policy="Background")
            assert await deployment_gone("bg")

            async def bg_collected():
                rss = (await client.list("replicasets.apps", ns, label_selector="app=bg"))["items"]
                return not rss and not await pods_of(client, ns, "bg")
            await async_wait_until(bg_collected, timeout=20, message="background collection")

            # Orphan: the ReplicaSet and its pods stay, without the owner reference.
            await client.delete("deployments.apps", "orphan", ns, propagation_policy="Orphan")
            await async_wait_until(lambda: deployment_gone("orphan"), timeout=20, message="orphan deletion")
            [rs] = (await client.list("replicasets.apps", ns, label_selector="app=orphan"))["items"]
            assert not rs["metadata"].get("ownerReferences")
            pods = await pods_of(client, ns, "orphan")
            assert len(pods) == 2
            assert all(p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"] for p in pods)
    run(main())


def test_dependents_of_missing_owners_are_collected():
    async def main():
        async with cluster() as client:
            ns = await new_namespace(client)
            owner = await client.create("configmaps", {"metadata": {"name": "owner"}}, ns)
            ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
            await client.create("configmaps", {"metadata": {"name": "kept", "ownerReferences": [ref]}}, ns)
            await client.create("configmaps", {"metadata": {"name": "dangling", "ownerReferences": [
                {**ref, "name": "never-existed", "uid": str(uuid.uuid4())}]}}, ns)

            async def names():
                return sorted(c["metadata"]["name"] for c in (await client.list("configmaps", ns))["items"]
                              if c["metadata"]["name"] != "kube-root-ca.crt")
            await async_wait_until(lambda: _eq(names(), ["kept", "owner"]), timeout=15, message="dangling collected")
            await client.delete("configmaps", "owner", ns)
            await async_wait_until(lambda: _eq(names(), []), timeout=15, message="dependent collected")
    run(main())


async def _eq(coro, want):
    return (await coro) == want

