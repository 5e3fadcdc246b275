"""What makes Fargate profiles real:

- `FargateProfileSync` drives one profile (a worker per profile): `CREATING` → the cluster's API
  server gets the profile (the `fargate-profiles.json` its Fargate admission plugin reads, see
  `provisioner.fargate_admission`), the pod execution role may register Fargate nodes (an
  `aws-auth` `mapRoles` entry in `CONFIG_MAP` modes; a `FARGATE_LINUX` access entry was made by
  the API otherwise) → `ACTIVE`. `DELETING` → the profile leaves the file, its pods are deleted,
  then the record.
- `FargateScheduler` (one per cluster, in the cluster's API) is the `fargate-scheduler`: for each
  pending pod the admission plugin gave it, it starts a micro-node (a node agent like a node
  group's, with one pod slot, sized from the pod's requests as Fargate sizes it, named
  `fargate-ip-<address>…`, labelled `eks.amazonaws.com/compute-type=fargate` and tainted so nothing
  else lands there), waits for it to be Ready, annotates the pod with what was provisioned and
  binds it there. When the pod is gone or has finished, the node goes (instance terminated, Node
  deleted, addresses released).

Micro-nodes are recorded in `eks-fargate-nodes`, key `<cluster key>/<pod uid>`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
from typing import Any, Awaitable, Callable


from kubelite.cloud.ec2.network import private_dns_name
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery import errors as kerrors
from kubelite.machinery import quantity

from ..provisioner.fargate_admission import FARGATE_PROFILES_FILE, FARGATE_SCHEDULER, PROFILE_ANNOTATION, write_profiles
from ..provisioner.interface import ControlPlanes, Instances, InstanceSpec, ProvisionError
from . import aws_auth, fargate, model
from .nodegroup_sync import cluster_dns_ip, no_registries
from .service import EKSEnv

log = logging.getLogger(__name__)

NODES_TABLE = "eks-fargate-nodes"
COMPUTE_TYPE = "eks.amazonaws.com/compute-type"
CAPACITY_ANNOTATION = "CapacityProvisioned"
FARGATE_TAINT = {"key": COMPUTE_TYPE, "value": "fargate", "effect": "NoSchedule"}
FARGATE_ROLE_GROUPS = ["system:bootstrappers", "system:nodes", "system:node-proxier"]
# Fargate's sizes: vCPU -> (min, max, step) memory in GB.
FARGATE_SIZES = [(0.25, (0.5, 2, 0.5)), (0.5, (1, 4, 1)), (1, (2, 8, 1)), (2, (4, 16, 1)), (4, (8, 30, 1)),
                 (8, (16, 60, 4)), (16, (32, 120, 8))]
OVERHEAD_MIB = 256   # Fargate adds this to the pod's memory for the node's own components


def pod_requests(pod: dict) -> tuple[float, float]:
    """(vCPU, GiB) a pod asks for, as Fargate counts it: the larger of the sum of its containers and
    its biggest init container, plus the node's overhead in memory."""
    spec = pod.get("spec") or {}

    def req(c: dict, name: str) -> float:
        r = ((c.get("resources") or {}).get("requests") or {}).get(name) or \
            ((c.get("resources") or {}).get("limits") or {}).get(name)
        if r is None:
            return 0.0
        return quantity.milli(r) / 1000 if name == "cpu" else quantity.value(r) / (1 << 30)

    cpu = max(sum(req(c, "cpu") for c in spec.get("containers") or []),
              max([req(c, "cpu") for c in spec.get("initContainers") or []] or [0]))
    mem = max(sum(req(c, "memory") for c in spec.get("containers") or []),
              max([req(c, "memory") for c in spec.get("initContainers") or []] or [0]))
    return cpu, mem + OVERHEAD_MIB / 1024


def fargate_size(cpu: float, mem_gib: float) -> tuple[float, float]:
    """The smallest Fargate configuration (vCPU, GB) that holds the pod."""
    for vcpu, (lo, hi, step) in FARGATE_SIZES:
        if vcpu + 1e-9 < cpu:
            continue
        gb = max(lo, math.ceil(mem_gib / step - 1e-9) * step)
        if gb <= hi:
            return vcpu, gb
    return FARGATE_SIZES[-1][0], FARGATE_SIZES[-1][1][1]


def capacity_text(vcpu: float, gb: float) -> str:
    return f"{vcpu:g}vCPU {gb:g}GB"


def fargate_node_name(region: str, ip: str) -> str:
    return "fargate-" + private_dns_name(region, ip)


class FargateProfileSync:
    def __init__(self, env: EKSEnv, control_planes: ControlPlanes, data_dir: Callable[[dict], Any]):
        self.env = env
        self.control_planes = control_planes
        self.data_dir = data_dir   # cluster record -> its control plane's data dir

    def write_file(self, c: dict, ckey: str) -> None:
        live = [{"name": p["fargateProfileName"], "selectors": p["selectors"]}
                for p in fargate.profiles(self.env, ckey) if p["status"] in (model.ACTIVE, model.CREATING)]
        d = self.data_dir(c)
        d.mkdir(parents=True, exist_ok=True)
        write_profiles(d / FARGATE_PROFILES_FILE, live)

    async def sync(self, key: str) -> bool:
        p = self.env.state.get(fargate.TABLE, key)
        if p is None:
            return True
        ckey = p["internal"]["clusterKey"]
        c = self.env.state.get("eks-clusters", ckey)
        if c is None:
            await self.env.state.delete(fargate.TABLE, key)
            return True
        if not self.control_planes.running(c["id"]):
            return False
        if p["status"] in (model.CREATING, model.ACTIVE):
            await asyncio.to_thread(self.write_file, c, ckey)
            if p["status"] == model.CREATING:
                if c["accessConfig"]["authenticationMode"] != "API":
                    await aws_auth.map_role(self.control_planes.client(c["id"]), p["podExecutionRoleArn"],
                                            "system:node:{{SessionName}}", FARGATE_ROLE_GROUPS)
                cur = self.env.state.get(fargate.TABLE, key)
                if cur is not None and cur["status"] == model.CREATING:
                    cur["status"] = model.ACTIVE
                    await self.env.state.put(fargate.TABLE, key, cur)
                    log.info("Fargate profile %s is ACTIVE", key)
            return False
        if p["status"] == model.DELETING:
            await asyncio.to_thread(self.write_file, c, ckey)
            client = self.control_planes.client(c["id"])
            pods = (await client.list("pods"))["items"]
            mine = [x for x in pods if (x["metadata"].get("annotations") or {}).get(PROFILE_ANNOTATION)
                    == p["fargateProfileName"]]
            for x in mine:
                if x["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    await client.delete("pods", x["metadata"]["name"], x["metadata"]["namespace"])
                except kerrors.StatusError as e:
                    if not kerrors.is_not_found(e):
                        raise
            if mine:
                await asyncio.sleep(1.0)
                self.env.kick("fargate", key)
                return False
            await self.env.state.delete(fargate.TABLE, key)
            log.info("Fargate profile %s deleted", key)
            return True
        return False


class FargateScheduler(Controller):
    name = "fargate-scheduler"
    workers = 4

    def __init__(self, ctx: ControllerContext, *, env: EKSEnv, cluster_key: str, instances: Instances,
                 metadata_url: str, registries: Callable[[dict, str, str], Awaitable[dict]] = no_registries,
                 ready_timeout: float = 120.0):
        super().__init__(ctx)
        self.env = env
        self.cluster_key = cluster_key
        self.instances = instances
        self.metadata_url = metadata_url
        self.registries = registries
        self.ready_timeout = ready_timeout
        self.pods = ctx.informers.informer_for("pods")
        self.nodes = ctx.informers.informer_for("nodes")
        self.pods.add_event_handler(self._pod, lambda o, n: self._pod(n), self._pod)
        self.nodes.add_event_handler(self._node, lambda o, n: self._node(n), self._node)

    def _pod(self, pod: dict) -> None:
        if (pod.get("spec") or {}).get("schedulerName") == FARGATE_SCHEDULER:
            self.enqueue(pod)

    def _node(self, node: dict) -> None:
        labels = (node.get("metadata") or {}).get("labels") or {}
        if labels.get(COMPUTE_TYPE) == "fargate":
            for rec in self._records():
                if rec["nodeName"] == node["metadata"]["name"]:
                    self.queue.add(f"{rec['namespace']}/{rec['podName']}")

    def _records(self) -> list[dict]:
        return self.env.state.values(NODES_TABLE, self.cluster_key + "/")

    async def run(self) -> None:
        await self.informers.wait_for_cache_sync()
        for rec in self._records():           # pods that went while we were away
            self.queue.add(f"{rec['namespace']}/{rec['podName']}")
        await super().run()

    def _pod_obj(self, ns: str, name: str) -> dict | None:
        try:
            return self.pods.lister().get(name, namespace=ns)
        except kerrors.StatusError:
            return None

    async def sync(self, key: str) -> None:
        ns, _, name = key.partition("/")
        pod = self._pod_obj(ns, name)
        c = self.env.state.get("eks-clusters", self.cluster_key)
        if c is None:
            return
        live_uid, finished, deleting = None, False, False
        if pod is not None and (pod.get("spec") or {}).get("schedulerName") == FARGATE_SCHEDULER:
            finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            deleting = bool(pod["metadata"].get("deletionTimestamp"))
            # A completed pod frees its node; a deleted one keeps it until its kubelet has finished
            # the pod (volumes, then the final DELETE): the pod would otherwise never leave the API.
            if not finished or deleting:
                live_uid = pod["metadata"]["uid"]
        for rec in self._records():
            if rec["namespace"] == ns and rec["podName"] == name and rec["podUid"] != live_uid:
                await self._teardown(rec, c)
        if live_uid is None or pod is None:
            return
        if deleting and (finished or not (pod.get("spec") or {}).get("nodeName")):
            return
        await self._run_pod(pod, c)

    # -- a pod's micro-node --------------------------------------------------------------------------
    async def _run_pod(self, pod: dict, c: dict) -> None:
        md = pod["metadata"]
        rkey = f"{self.cluster_key}/{md['uid']}"
        rec = self.env.state.get(NODES_TABLE, rkey)
        profile_name = (md.get("annotations") or {}).get(PROFILE_ANNOTATION, "")
        profile = self.env.state.get(fargate.TABLE, f"{self.cluster_key}/{profile_name}")
        if rec is None:
            if profile is None or profile["status"] != model.ACTIVE:
                return  # the profile went: the pod stays Pending (EKS: until another profile takes it)
            rec = await self._new_node(pod, c, profile, rkey)
        if rec["instanceId"] not in set(self.instances.running()):
            await self._launch(rec, c)
        node = await self._wait_ready(rec)
        if node is None:
            self.enqueue_after(pod, 1.0)
            return
        await self._configure_node(node, rec)
        if not (pod.get("spec") or {}).get("nodeName"):
            await self._bind(pod, rec)

    async def _new_node(self, pod: dict, c: dict, profile: dict, rkey: str) -> dict:
        internal = c["internal"]
        acct, region = internal["account"], internal["region"]
        counts = {s: 0 for s in profile["subnets"]}
        for r in self._records():
            counts[r["subnetId"]] = counts.get(r["subnetId"], 0) + 1
        subnet_id = min(profile["subnets"], key=lambda s: (counts.get(s, 0), profile["subnets"].index(s)))
        subnet = self.env.network.require_subnet(acct, region, subnet_id)
        node_ip, pod_ip = await self.env.network.allocate_addresses(acct, region, subnet_id, 2)
        vcpu, gb = fargate_size(*pod_requests(pod))
        rec = {"podUid": pod["metadata"]["uid"], "podName": pod["metadata"]["name"],
               "namespace": pod["metadata"]["namespace"], "profile": profile["fargateProfileName"],
               "roleArn": profile["podExecutionRoleArn"], "instanceId": self.env.ids.ec2("i"),
               "nodeName": fargate_node_name(region, node_ip), "privateIpAddress": node_ip, "podAddress": pod_ip,
               "subnetId": subnet_id, "subnetCidr": subnet["cidrBlock"], "zone": subnet["availabilityZone"],
               "vcpu": vcpu, "memoryGB": gb, "secret": self.env.ids.token(40), "launchTime": self.env.now(),
               "clusterKey": self.cluster_key}
        await self.env.state.put(NODES_TABLE, rkey, rec)
        log.info("Fargate: pod %s/%s gets node %s (%s)", rec["namespace"], rec["podName"], rec["nodeName"],
                 capacity_text(vcpu, gb))
        return rec

    def _labels(self, rec: dict, c: dict) -> dict[str, str]:
        region = c["internal"]["region"]
        return {COMPUTE_TYPE: "fargate", "eks.amazonaws.com/fargate-profile": rec["profile"],
                "topology.kubernetes.io/region": region, "topology.kubernetes.io/zone": rec["zone"],
                "failure-domain.beta.kubernetes.io/region": region,
                "failure-domain.beta.kubernetes.io/zone": rec["zone"]}

    async def _launch(self, rec: dict, c: dict) -> None:
        data = (c.get("certificateAuthority") or {}).get("data") or ""
        spec = InstanceSpec(
            instance_id=rec["instanceId"], cluster_id=c["id"], node_name=rec["nodeName"],
            private_ip=rec["privateIpAddress"], subnet_cidr=rec["subnetCidr"], zone=rec["zone"],
            instance_type="fargate", labels=self._labels(rec, c), taints=[dict(FARGATE_TAINT)],
            api_server=c.get("endpoint", ""), ca_pem=base64.b64decode(data) if data else b"",
            region=c["internal"]["region"], cluster_name=c["name"], metadata_url=self.metadata_url,
            instance_secret=rec["secret"], version=c["version"], vpc_cidr=c["internal"].get("vpcCidr") or "",
            pod_addresses=[rec["podAddress"]], max_pods=1, cluster_dns=cluster_dns_ip(c),
            capacity={"cpus": max(1, math.ceil(rec["vcpu"])), "memory_bytes": int(rec["memoryGB"] * (1 << 30))},
            registries=await self.registries(c, rec["roleArn"], rec["nodeName"]))
        try:
            await self.instances.launch(spec)
        except ProvisionError as e:
            pod = self._pod_obj(rec["namespace"], rec["podName"])
            if pod is not None:
                self.event({**pod, "kind": "Pod", "apiVersion": "v1"}, "Warning", "FailedScheduling",
                           f"Fargate could not start a node for the pod: {e}")
            raise

    async def _wait_ready(self, rec: dict) -> dict | None:
        try:
            node = self.nodes.lister().get(rec["nodeName"])
        except kerrors.StatusError:
            node = None
        if node is None or not any(cond.get("type") == "Ready" and cond.get("status") == "True"
                                   for cond in (node.get("status") or {}).get("conditions") or []):
            if self.env.now() - rec["launchTime"] > self.ready_timeout:
                raise RuntimeError(f"Fargate node {rec['nodeName']} did not become Ready")
            return None
        return node

    async def _configure_node(self, node: dict, rec: dict) -> None:
        taints = (node.get("spec") or {}).get("taints") or []
        if any(t.get("key") == COMPUTE_TYPE for t in taints):
            return
        await self.client.patch("nodes", rec["nodeName"], {"spec": {"taints": taints + [dict(FARGATE_TAINT)]}},
                                patch_type="merge")

    async def _bind(self, pod: dict, rec: dict) -> None:
        md = pod["metadata"]
        await self.client.patch("pods", md["name"], {"metadata": {"annotations": {
            CAPACITY_ANNOTATION: capacity_text(rec["vcpu"], rec["memoryGB"])}}}, namespace=md["namespace"],
            patch_type="merge")
        try:
            await self.client.create_subresource("pods", md["name"], "binding", {
                "apiVersion": "v1", "kind": "Binding", "metadata": {"name": md["name"], "namespace": md["namespace"]},
                "target": {"apiVersion": "v1", "kind": "Node", "name": rec["nodeName"]}}, md["namespace"])
        except kerrors.StatusError as e:
            if not kerrors.is_conflict(e):
                raise
        self.event({**pod, "kind": "Pod", "apiVersion": "v1"}, "Normal", "Scheduled",
                   f"Successfully assigned {md['namespace']}/{md['name']} to {rec['nodeName']}")

    async def _teardown(self, rec: dict, c: dict) -> None:
        await teardown_node(self.env, self.instances, self.client, rec, c)


async def teardown_node(env: EKSEnv, instances: Instances, client: Any, rec: dict, c: dict) -> None:
    await instances.terminate(rec["instanceId"])
    if client is not None:
        try:
            await client.delete("nodes", rec["nodeName"])
        except kerrors.StatusError as e:
            if not kerrors.is_not_found(e):
                raise
        except Exception:  # noqa: BLE001 - the cluster is going away
            pass
    internal = c["internal"]
    await env.network.release_addresses(internal["account"], internal["region"], rec["subnetId"],
                                        [rec["privateIpAddress"], rec["podAddress"]])
    await env.state.delete(NODES_TABLE, f"{rec['clusterKey']}/{rec['podUid']}")
    log.info("Fargate: node %s of pod %s/%s removed", rec["nodeName"], rec["namespace"], rec["podName"])
