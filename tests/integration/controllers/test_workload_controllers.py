"""The workload, endpoint and node controllers against a real in-process API server, run by a
ControllerManager, with a tiny fake cluster: nodes whose "kubelets" renew their Leases, bind pods
(DaemonSet pods to the node their affinity names, others round robin), run them (Ready, with an
address from the node's pod CIDR; Job pods run to completion) and finish graceful deletions.
Stopping a kubelet stops all of that for its node."""

import asyncio
import contextlib
import ipaddress
import itertools

from kubelite.controller_manager import ControllerManager, load
from kubelite.machinery.errors import StatusError
from kubelite.machinery.timeutil import rfc3339, rfc3339_micro
from kubelite.testing import async_wait_until
from kubelite.testing.apiserver import InProcessAPIServer

CONTROLLERS = ["daemonset", "statefulset", "job", "cronjob", "endpoint", "endpointslice", "nodelifecycle",
               "nodeipam", "disruption", "resourcequota", "podgc", "ttl-after-finished", "clusterrole-aggregation"]
OPTIONS = {"node_monitor_period": 0.2, "node_monitor_grace_period": 1.5, "node_startup_grace_period": 5,
           "node_eviction_rate": 100.0, "pod_gc_period": 0.2, "pod_gc_quarantine": 0.5}
LEASES = "leases.coordination.k8s.io"


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _affinity_node(pod):
    terms = (((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for req in term.get("matchFields") or []:
            if req.get("key") == "metadata.name":
                return req["values"][0]
    return None


class FakeCluster:
    """Nodes with fake kubelets; `stop(node)` silences one, `start(node)` brings it back."""

    def __init__(self, client, nodes):
        self.client = client
        self.nodes = list(nodes)
        self.alive = set(nodes)
        self._rr = itertools.cycle(self.nodes)
        self._ips: dict[str, itertools.count] = {}

    async def register(self):
        for name in self.nodes:
            await self.client.create("nodes", {"metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": "z1"}}, "spec": {}})
            await self._post_ready(name)

    async def _post_ready(self, name):
        node = await self.client.get("nodes", name)
        now = rfc3339()
        node["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                          "message": "kubelet is posting ready status",
                                          "lastHeartbeatTime": now, "lastTransitionTime": now}]}
        await self.client.update_status("nodes", node)

    def stop(self, name):
        self.alive.discard(name)

    async def start(self, name):
        self.alive.add(name)
        await self._post_ready(name)

    async def run(self):
        while True:
            for name in sorted(self.alive):
                await self._renew(name)
            pods = (await self.client.list("pods"))["items"]
            for pod in pods:
                with contextlib.suppress(StatusError):
                    await self._sync_pod(pod)
            await asyncio.sleep(0.05)

    async def _renew(self, name):
        now = rfc3339_micro()
        try:
            lease = await self.client.get(LEASES, name, "kube-node-lease")
        except StatusError:
            await self.client.create(LEASES, {"metadata": {"name": name, "namespace": "kube-node-lease"},
                                              "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                                                       "renewTime": now}}, "kube-node-lease")
            return
        lease["spec"]["renewTime"] = now
        await self.client.update(LEASES, lease, "kube-node-lease")

    async def _sync_pod(self, pod):
        md, spec = pod["metadata"], pod["spec"]
        ns, name = md["namespace"], md["name"]
        node = spec.get("nodeName")
        if not node:
            target = _affinity_node(pod) or next(n for n in self._rr if n in self.alive)
            if target in self.alive:
                await self.client.create_subresource("pods", name, "binding", {
                    "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": target}}, ns)
            return
        if node not in self.alive:
            return
        if md.get("deletionTimestamp"):
            await self.client.delete("pods", name, ns, grace_period_seconds=0)
            return
        phase = (pod.get("status") or {}).get("phase")
        now = rfc3339()
        if phase == "Running" and "job-name" in (md.get("labels") or {}):
            await self.client.patch("pods", name, {"status": {
                "phase": "Succeeded", "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}],
                "containerStatuses": [{"name": c["name"], "ready": False, "restartCount": 0, "state": {
                    "terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": now}}}
                    for c in spec["containers"]]}}, ns, subresource="status")
            return
        if phase in ("Running", "Succeeded", "Failed"):
            return
        cidr = (await self.client.get("nodes", node))["spec"].get("podCIDR")
        if not cidr:
            return
        ip = str(ipaddress.ip_network(cidr)[next(self._ips.setdefault(node, itertools.count(2)))])
        await self.client.patch("pods", name, {"status": {
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now,
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": now}
                           for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
            "containerStatuses": [{"name": c["name"], "ready": True, "restartCount": 0, "started": True,
                                   "state": {"running": {"startedAt": now}}} for c in spec["containers"]]}},
            ns, subresource="status")


@contextlib.asynccontextmanager
async def cluster(nodes=("node-a", "node-b")):
    async with InProcessAPIServer() as api:
        client = api.client
        with contextlib.suppress(StatusError):      # admission wants it; its controller is not run here
            await client.create("serviceaccounts", {"metadata": {"name": "default", "namespace": "default"}})
        fake = FakeCluster(client, nodes)
        await fake.register()
        names = CONTROLLERS + (["garbagecollector"] if load("garbagecollector") is not None else [])
        manager = ControllerManager(client, controllers=names, options=OPTIONS)
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(manager.run()), tg.create_task(fake.run())]
            try:
                yield client, fake
            finally:
                for t in tasks:
                    t.cancel()


def container(image="app:1", **extra):
    return {"name": "c", "image": image, **extra}


def test_daemonset_statefulset_and_services():
    async def main():
        async with cluster() as (client, fake):
            await client.create("daemonsets.apps", {
                "metadata": {"name": "agent", "namespace": "default"},
                "spec": {"selector": {"matchLabels": {"app": "agent"}},
                         "template": {"metadata": {"labels": {"app": "agent"}},
                                      "spec": {"containers": [container()]}}}})
            await client.create("services", {"metadata": {"name": "web", "namespace": "default"},
                                             "spec": {"clusterIP": "None", "selector": {"app": "web"},
                                                      "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
            await client.create("statefulsets.apps", {
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"replicas": 3, "serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}},
                                      "spec": {"containers": [container(ports=[{"name": "http",
                                                                                "containerPort": 8080}])]}}}})

            async def ds_ready():
                st = (await client.get("daemonsets.apps", "agent", "default")).get("status") or {}
                return st.get("numberReady") == 2 and st.get("desiredNumberScheduled") == 2

            async def sts_ready():
                st = (await client.get("statefulsets.apps", "web", "default")).get("status") or {}
                return st.get("readyReplicas") == 3 and st.get("currentRevision") == st.get("updateRevision")

            await async_wait_until(ds_ready, timeout=20, message="DaemonSet ready on both nodes")
            await async_wait_until(sts_ready, timeout=20, message="StatefulSet ready")
            pods = (await client.list("pods", "default", label_selector="app=agent"))["items"]
            assert sorted(p["spec"]["nodeName"] for p in pods) == ["node-a", "node-b"]
            web0 = await client.get("pods", "web-0", "default")
            assert web0["spec"]["hostname"] == "web-0" and web0["spec"]["subdomain"] == "web"
            assert web0["status"]["podIP"].startswith("198.19.")

            async def endpoints_ready():
                ep = await client.get("endpoints", "web", "default")
                addrs = [a for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
                return len(addrs) == 3 and {a.get("hostname") for a in addrs} == {"web-0", "web-1", "web-2"}

            async def slices_ready():
                slices = (await client.list("endpointslices.discovery.k8s.io", "default",
                                            label_selector="kubernetes.io/service-name=web"))["items"]
                eps = [e for s in slices for e in s.get("endpoints") or []]
                return len(eps) == 3 and all(e["conditions"]["ready"] for e in eps) and \
                    all(s["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}] for s in slices)

            await async_wait_until(endpoints_ready, timeout=10, message="Endpoints list the StatefulSet pods")
            await async_wait_until(slices_ready, timeout=10, message="EndpointSlices list the StatefulSet pods")

            await client.create("poddisruptionbudgets.policy", {
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}})

            async def pdb_ready():
                st = (await client.get("poddisruptionbudgets.policy", "web", "default")).get("status") or {}
                return (st.get("expectedPods"), st.get("currentHealthy"), st.get("disruptionsAllowed")) == (3, 3, 1)

            await async_wait_until(pdb_ready, timeout=10, message="PodDisruptionBudget status")

    run(main())


def test_jobs_cronjobs_and_ttl():
    async def main():
        async with cluster() as (client, fake):
            await client.create("jobs.batch", {
                "metadata": {"name": "pi", "namespace": "default"},
                "spec": {"completions": 3, "parallelism": 2, "ttlSecondsAfterFinished": 1,
                         "template": {"spec": {"restartPolicy": "Never", "containers": [container()]}}}})

            async def job_complete():
                try:
                    job = await client.get("jobs.batch", "pi", "default")
                except StatusError:
                    return "gone"
                conds = {c["type"]: c["status"] for c in (job.get("status") or {}).get("conditions") or []}
                if job["metadata"].get("deletionTimestamp"):
                    return "deleting"
                return conds.get("Complete") == "True" and job["status"]["succeeded"] == 3 and job

            result = await async_wait_until(job_complete, timeout=20, message="Job completes")
            if isinstance(result, dict):
                assert result["status"]["completionTime"]

            async def ttl_done():
                try:
                    job = await client.get("jobs.batch", "pi", "default")
                except StatusError:
                    return True
                return bool(job["metadata"].get("deletionTimestamp"))

            await async_wait_until(ttl_done, timeout=10, message="finished Job deleted after its TTL")

            await client.create("cronjobs.batch", {
                "metadata": {"name": "tick", "namespace": "default"},
                "spec": {"schedule": "@every 1s", "jobTemplate": {"spec": {"template": {"spec": {
                    "restartPolicy": "Never", "containers": [container()]}}}}}})

            async def cron_ran():
                cj = await client.get("cronjobs.batch", "tick", "default")
                jobs = (await client.list("jobs.batch", "default"))["items"]
                mine = [j for j in jobs if j["metadata"]["name"].startswith("tick-")]
                return mine and (cj.get("status") or {}).get("lastScheduleTime")

            await async_wait_until(cron_ran, timeout=10, message="CronJob started a Job")

    run(main())


def test_node_failure_taints_evicts_and_recovers():
    async def main():
        async with cluster() as (client, fake):
            async def cidrs():
                nodes = (await client.list("nodes"))["items"]
                got = [n["spec"].get("podCIDR") for n in nodes]
                return all(got) and len(set(got)) == len(got)

            await async_wait_until(cidrs, timeout=10, message="every node has its own pod CIDR")
            toleration = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                           "tolerationSeconds": 1}]
            for name, tolerations in (("patient", None), ("impatient", toleration)):
                await client.create("pods", {"metadata": {"name": name, "namespace": "default"}, "spec": {
                    "nodeName": "node-b", "containers": [container()],
                    **({"tolerations": tolerations} if tolerations else {})}})

            async def running():
                pods = (await client.list("pods", "default"))["items"]
                return len([p for p in pods if (p.get("status") or {}).get("phase") == "Running"]) == 2

            await async_wait_until(running, timeout=10, message="pods running on node-b")
            fake.stop("node-b")

            async def unreachable():
                node = await client.get("nodes", "node-b")
                ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
                taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}
                return ready["status"] == "Unknown" and \
                    ("node.kubernetes.io/unreachable", "NoExecute") in taints

            await async_wait_until(unreachable, timeout=10, message="node-b unreachable and tainted")

            async def evicted():
                pod = await client.get("pods", "impatient", "default")
                return bool(pod["metadata"].get("deletionTimestamp"))

            await async_wait_until(evicted, timeout=10, message="the pod tolerating 1 s is evicted")
            patient = await client.get("pods", "patient", "default")
            assert not patient["metadata"].get("deletionTimestamp")   # default tolerations come from admission
            a = await client.get("nodes", "node-a")
            assert not any(t["effect"] == "NoExecute" for t in a["spec"].get("taints") or [])

            await fake.start("node-b")

            async def recovered():
                node = await client.get("nodes", "node-b")
                return not node["spec"].get("taints")

            await async_wait_until(recovered, timeout=10, message="taints removed when node-b is back")

            # A deleted node's pods are garbage collected after the quarantine.
            fake.stop("node-b")
            await client.delete("nodes", "node-b")

            async def orphans_gone():
                pods = (await client.list("pods", "default"))["items"]
                return not [p for p in pods if p["spec"].get("nodeName") == "node-b"]

            await async_wait_until(orphans_gone, timeout=10, message="orphaned pods deleted")

    run(main())
