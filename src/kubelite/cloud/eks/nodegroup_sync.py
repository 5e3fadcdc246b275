"""Drive one managed node group to what its record asks for (level-triggered; called by a worker).

- `CREATING`: map the node role so nodes may join (an `aws-auth` `mapRoles` entry in
  `CONFIG_MAP` modes; API modes got an `EC2_LINUX` access entry at CreateNodegroup), launch
  `desiredSize` instances spread over the subnets' zones, wait for their Nodes to be Ready,
  apply labels and taints, then `ACTIVE` (or `CREATE_FAILED` with a `NodeCreationFailure`).
- `ACTIVE`: keep every recorded instance running (after a restart of the service, launch it
  again with the same id and address).
- `UPDATING`: apply the update in progress: labels and taints on every node; scaling (scale-out
  launches, scale-in cordons, drains through the eviction API honouring PodDisruptionBudgets,
  then terminates); a version update replaces nodes `maxUnavailable` at a time (new nodes first,
  then the old ones drained and terminated).
- `DELETING`: drain and terminate every node, then remove the node group (404).

Each instance is also an EC2 instance (`DescribeInstances`), named as EKS names nodes
(`ip-198-18-64-10.ec2.internal`), with the labels EKS sets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kubelite.cloud.ec2 import instance_types
from kubelite.cloud.ec2.network import private_dns_name
from kubelite.machinery import errors as kerrors

from ..provisioner.interface import ControlPlanes, Instances, InstanceSpec, ProvisionError
from . import aws_auth, model, updates
from .service import EKSEnv

log = logging.getLogger(__name__)

TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
UPGRADE_TAINT = {"key": "eks.amazonaws.com/nodegroup", "value": "unschedulable", "effect": "NoSchedule"}
NODE_ROLE_USERNAME = "system:node:{{EC2PrivateDNSName}}"


class NodegroupError(Exception):
    def __init__(self, code: str, message: str, resource_ids: list[str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.resource_ids = resource_ids or []


def k8s_taints(taints: list[dict]) -> list[dict]:
    out = []
    for t in taints or []:
        k = {"key": t["key"], "effect": TAINT_EFFECTS.get(t["effect"], t["effect"])}
        if t.get("value"):
            k["value"] = t["value"]
        out.append(k)
    return out


def cluster_dns_ip(c: dict) -> str:
    """The kube-dns Service address: the tenth of the cluster's Service range (as EKS sets it)."""
    import ipaddress

    cidr = (c.get("kubernetesNetworkConfig") or {}).get("serviceIpv4Cidr")
    return str(ipaddress.ip_network(cidr)[10]) if cidr else ""


async def no_registries(c: dict, role_arn: str, session: str) -> dict:
    return {}


class NodegroupSync:
    def __init__(self, env: EKSEnv, control_planes: ControlPlanes, instances: Instances, *,
                 metadata_url: str = "", ready_timeout: float = 180.0, drain_timeout: float = 120.0,
                 registries: Any = no_registries):
        self.env = env
        # (cluster, node role ARN, session name) -> the node's registries file (ECR credentials)
        self.registries = registries
        self.control_planes = control_planes
        self.instances = instances
        self.metadata_url = metadata_url
        self.ready_timeout = ready_timeout
        self.drain_timeout = drain_timeout

    async def sync(self, key: str) -> bool:
        n = self.env.state.get("eks-nodegroups", key)
        if n is None:
            return True
        c = self.env.state.get("eks-clusters", n["internal"]["clusterKey"])
        if c is None:
            await self.env.state.delete("eks-nodegroups", key)
            return True
        if not self.control_planes.running(c["id"]):
            return False  # the cluster worker brings it back; its kick wakes us again
        status = n["status"]
        try:
            if status == model.CREATING:
                await self._create(key, n, c)
            elif status in (model.ACTIVE, model.DEGRADED):
                await self._ensure_instances(key, c)
            elif status == model.UPDATING:
                await self._apply_update(key, c)
            elif status == model.DELETING:
                await self._delete(key, c)
                return True
        except NodegroupError as e:
            await self._fail(key, status, e)
        return False

    async def _fail(self, key: str, status: str, e: NodegroupError) -> None:
        n = self.env.state.get("eks-nodegroups", key)
        if n is None:
            return
        log.warning("node group %s: %s: %s", key, e.code, e.message)
        n["health"] = {"issues": [{"code": e.code, "message": e.message, "resourceIds": e.resource_ids}]}
        n["status"] = {model.CREATING: model.CREATE_FAILED, model.DELETING: model.DELETE_FAILED}.get(status,
                                                                                                     model.DEGRADED)
        n["modifiedAt"] = self.env.now()
        if status == model.UPDATING:
            u = updates.in_progress(self.env, n["internal"]["clusterKey"], n["nodegroupName"])
            if u is not None:
                u["status"] = model.UPDATE_FAILED
                u["errors"] = [{"errorCode": e.code, "errorMessage": e.message, "resourceIds": e.resource_ids}]
                await self.env.state.put("eks-updates", model.child_key(n["internal"]["clusterKey"], u["id"]), u)
            n["status"] = model.ACTIVE
        await self.env.state.put("eks-nodegroups", key, n)

    # -- creation ------------------------------------------------------------------------------
    async def _create(self, key: str, n: dict, c: dict) -> None:
        if c["accessConfig"]["authenticationMode"] == "CONFIG_MAP":
            await aws_auth.map_role(self.control_planes.client(c["id"]), n["nodeRole"], NODE_ROLE_USERNAME,
                                    ["system:bootstrappers", "system:nodes"])
        await self._ensure_instances(key, c)
        await self._scale_to(key, c, n["scalingConfig"]["desiredSize"])
        n = self.env.state.get("eks-nodegroups", key) or n
        await self._wait_ready(c, n["internal"]["instances"])
        await self._configure_nodes(key, c)
        if n["status"] == model.CREATING:
            n["status"] = model.ACTIVE
            n["health"] = {"issues": []}
            n["modifiedAt"] = self.env.now()
            await self.env.state.put("eks-nodegroups", key, n)

    # -- instances -----------------------------------------------------------------------------
    def _labels(self, n: dict, c: dict, zone: str, instance_type: str) -> dict[str, str]:
        labels = {"eks.amazonaws.com/nodegroup": n["nodegroupName"],
                  "eks.amazonaws.com/capacityType": n["capacityType"],
                  "eks.amazonaws.com/nodegroup-image": f"ami-{n['internal']['uid'].replace('-', '')[:17]}",
                  "eks.amazonaws.com/sourceLaunchTemplateVersion": "1",
                  "node.kubernetes.io/instance-type": instance_type,
                  "beta.kubernetes.io/instance-type": instance_type,
                  "topology.kubernetes.io/region": c["internal"]["region"],
                  "topology.kubernetes.io/zone": zone,
                  "failure-domain.beta.kubernetes.io/region": c["internal"]["region"],
                  "failure-domain.beta.kubernetes.io/zone": zone}
        labels.update(n.get("labels") or {})
        return labels

    def _pick_subnet(self, n: dict) -> dict:
        acct, region = n["internal"]["account"], n["internal"]["region"]
        counts: dict[str, int] = {s: 0 for s in n["subnets"]}
        for i in n["internal"]["instances"]:
            counts[i["subnetId"]] = counts.get(i["subnetId"], 0) + 1
        subnet_id = min(n["subnets"], key=lambda s: (counts.get(s, 0), n["subnets"].index(s)))
        return self.env.network.require_subnet(acct, region, subnet_id)

    async def _launch(self, key: str, c: dict, instance: dict | None = None) -> dict:
        """Launch one instance (a new one, or a recorded one again after a restart)."""
        n = self.env.state.get("eks-nodegroups", key)
        if n is None:
            raise NodegroupError("NodeCreationFailure", "node group disappeared")
        acct, region = n["internal"]["account"], n["internal"]["region"]
        if instance is None:
            subnet = self._pick_subnet(n)
            itype = instance_types.instance_type(n["instanceTypes"][0])
            secondary = itype.secondary_addresses if itype else 15
            try:
                ip, *pods = await self.env.network.allocate_addresses(acct, region, subnet["subnetId"],
                                                                      1 + secondary)
            except Exception as e:
                raise NodegroupError("InsufficientFreeAddresses", getattr(e, "message", str(e)),
                                     [subnet["subnetId"]]) from None
            instance = {"instanceId": self.env.ids.ec2("i"), "privateIpAddress": ip,
                        "privateDnsName": private_dns_name(region, ip), "subnetId": subnet["subnetId"],
                        "availabilityZone": subnet["availabilityZone"], "subnetCidr": subnet["cidrBlock"],
                        "podAddresses": pods,
                        "instanceType": n["instanceTypes"][0], "releaseVersion": n["releaseVersion"],
                        "secret": self.env.ids.token(40), "launchTime": self.env.now()}
            n["internal"]["instances"].append(instance)
            await self.env.state.put("eks-nodegroups", key, n)
            await self.env.network.put_instance(acct, region, self._ec2_instance(n, c, instance))
        spec = InstanceSpec(
            instance_id=instance["instanceId"], cluster_id=c["id"], node_name=instance["privateDnsName"],
            private_ip=instance["privateIpAddress"], subnet_cidr=instance["subnetCidr"],
            zone=instance["availabilityZone"], instance_type=instance["instanceType"],
            labels=self._labels(n, c, instance["availabilityZone"], instance["instanceType"]),
            taints=k8s_taints(n.get("taints") or []), api_server=c.get("endpoint", ""),
            ca_pem=_ca(c), region=region, cluster_name=c["name"], metadata_url=self.metadata_url,
            instance_secret=instance["secret"], version=n["version"],
            vpc_cidr=c["internal"].get("vpcCidr") or "", pod_addresses=list(instance.get("podAddresses") or []),
            max_pods=instance_types.max_pods(instance["instanceType"]), cluster_dns=cluster_dns_ip(c),
            registries=await self.registries(c, n["nodeRole"], instance["instanceId"]))
        try:
            await self.instances.launch(spec)
        except ProvisionError as e:
            raise NodegroupError("NodeCreationFailure", f"Instances failed to join the kubernetes cluster: {e}",
                                 [instance["instanceId"]]) from None
        return instance

    def _ec2_instance(self, n: dict, c: dict, i: dict) -> dict:
        tags = {"eks:cluster-name": c["name"], "eks:nodegroup-name": n["nodegroupName"],
                f"kubernetes.io/cluster/{c['name']}": "owned",
                "aws:autoscaling:groupName": n["resources"]["autoScalingGroups"][0]["name"],
                "k8s.io/cluster-autoscaler/enabled": "true"}
        return {"instanceId": i["instanceId"], "imageId": f"ami-{n['internal']['uid'].replace('-', '')[:17]}",
                "instanceState": {"code": 16, "name": "running"}, "privateDnsName": i["privateDnsName"],
                "privateIpAddress": i["privateIpAddress"], "instanceType": i["instanceType"],
                "launchTime": _iso(i["launchTime"]), "placement": {"availabilityZone": i["availabilityZone"],
                                                                   "tenancy": "default"},
                "subnetId": i["subnetId"], "vpcId": c["resourcesVpcConfig"]["vpcId"], "architecture": "x86_64",
                "iamInstanceProfile": {"arn": n["nodeRole"].replace(":role/", ":instance-profile/")},
                "tagSet": [{"key": k, "value": v} for k, v in tags.items()]}

    async def _terminate(self, key: str, c: dict, instance: dict) -> None:
        await self.instances.terminate(instance["instanceId"])
        client = self.control_planes.client(c["id"])
        try:
            await client.delete("nodes", instance["privateDnsName"])
        except kerrors.StatusError as e:
            if not kerrors.is_not_found(e):
                raise
        n = self.env.state.get("eks-nodegroups", key)
        acct, region = c["internal"]["account"], c["internal"]["region"]
        await self.env.network.release_addresses(acct, region, instance["subnetId"],
                                                 [instance["privateIpAddress"], *(instance.get("podAddresses") or [])])
        await self.env.network.delete_instance(acct, region, instance["instanceId"])
        if n is not None:
            n["internal"]["instances"] = [i for i in n["internal"]["instances"]
                                          if i["instanceId"] != instance["instanceId"]]
            await self.env.state.put("eks-nodegroups", key, n)

    async def _ensure_instances(self, key: str, c: dict) -> None:
        n = self.env.state.get("eks-nodegroups", key)
        running = set(self.instances.running())
        for i in (n or {}).get("internal", {}).get("instances", []):
            if i["instanceId"] not in running:
                await self._launch(key, c, i)

    async def _wait_ready(self, c: dict, instances: list[dict]) -> None:
        client = self.control_planes.client(c["id"])
        deadline = time.monotonic() + self.ready_timeout
        pending = {i["privateDnsName"]: i for i in instances}
        while pending:
            for name in list(pending):
                try:
                    node = await client.get("nodes", name)
                except kerrors.StatusError as e:
                    if not kerrors.is_not_found(e):
                        raise
                    continue
                if any(cond.get("type") == "Ready" and cond.get("status") == "True"
                       for cond in (node.get("status") or {}).get("conditions") or []):
                    del pending[name]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise NodegroupError("NodeCreationFailure", "Instances failed to join the kubernetes cluster",
                                     [i["instanceId"] for i in pending.values()])
            await asyncio.sleep(0.5)

    async def _configure_nodes(self, key: str, c: dict, instances: list[dict] | None = None) -> None:
        """The node group's labels and taints on its Nodes (EKS sets them at registration)."""
        n = self.env.state.get("eks-nodegroups", key)
        if n is None:
            return
        client = self.control_planes.client(c["id"])
        for i in instances if instances is not None else n["internal"]["instances"]:
            try:
                node = await client.get("nodes", i["privateDnsName"])
            except kerrors.StatusError as e:
                if kerrors.is_not_found(e):
                    continue
                raise
            labels = dict(node["metadata"].get("labels") or {})
            prev_user = set((node["metadata"].get("annotations") or {}).get(
                "cloud.kubelite.io/nodegroup-labels", "").split(",")) - {""}
            for k in prev_user - set(n.get("labels") or {}):
                labels.pop(k, None)
            labels.update(self._labels(n, c, i["availabilityZone"], i["instanceType"]))
            want_taints = k8s_taints(n.get("taints") or [])
            prev_taints = {(t["key"], t["effect"]) for t in k8s_taints(
                _json_list((node["metadata"].get("annotations") or {}).get("cloud.kubelite.io/nodegroup-taints")))}
            others = [t for t in (node.get("spec") or {}).get("taints") or []
                      if (t["key"], t["effect"]) not in prev_taints
                      and (t["key"], t["effect"]) not in {(w["key"], w["effect"]) for w in want_taints}]
            node["metadata"]["labels"] = labels
            node["metadata"].setdefault("annotations", {})
            node["metadata"]["annotations"]["cloud.kubelite.io/nodegroup-labels"] = ",".join(sorted(n.get("labels")
                                                                                                    or {}))
            node["metadata"]["annotations"]["cloud.kubelite.io/nodegroup-taints"] = _json_dump(n.get("taints") or [])
            node.setdefault("spec", {})["taints"] = others + want_taints
            if not node["spec"]["taints"]:
                del node["spec"]["taints"]
            await client.update("nodes", node)

    # -- scaling -------------------------------------------------------------------------------
    async def _scale_to(self, key: str, c: dict, desired: int) -> None:
        n = self.env.state.get("eks-nodegroups", key)
        if n is None:
            return
        current = list(n["internal"]["instances"])
        if len(current) < desired:
            new = [await self._launch(key, c) for _ in range(desired - len(current))]
            await self._wait_ready(c, new)
            await self._configure_nodes(key, c, new)
        elif len(current) > desired:
            victims = self._scale_in_victims(current, len(current) - desired)
            await self._remove(key, c, victims, force=False)

    def _scale_in_victims(self, instances: list[dict], count: int) -> list[dict]:
        """As an Auto Scaling group picks: keep the zones balanced, then the oldest first."""
        chosen: list[dict] = []
        left = list(instances)
        for _ in range(count):
            by_zone: dict[str, list[dict]] = {}
            for i in left:
                by_zone.setdefault(i["availabilityZone"], []).append(i)
            zone = max(by_zone, key=lambda z: (len(by_zone[z]), z))
            victim = min(by_zone[zone], key=lambda i: i["launchTime"])
            chosen.append(victim)
            left.remove(victim)
        return chosen

    async def _remove(self, key: str, c: dict, victims: list[dict], *, force: bool) -> None:
        client = self.control_planes.client(c["id"])
        for i in victims:
            await _cordon(client, i["privateDnsName"])
        for i in victims:
            await self._drain(client, i, force=force)
            await self._terminate(key, c, i)

    async def _drain(self, client: Any, instance: dict, *, force: bool) -> None:
        node = instance["privateDnsName"]
        deadline = time.monotonic() + self.drain_timeout
        while True:
            pods = (await client.list("pods", None, field_selector=f"spec.nodeName={node}"))["items"]
            pods = [p for p in pods if not _skip_on_drain(p)]
            if not pods:
                return
            blocked = []
            for p in pods:
                md = p["metadata"]
                if md.get("deletionTimestamp"):
                    continue
                try:
                    await client.create_subresource("pods", md["name"], "eviction", {
                        "apiVersion": "policy/v1", "kind": "Eviction",
                        "metadata": {"name": md["name"], "namespace": md["namespace"]}}, md["namespace"])
                except kerrors.StatusError as e:
                    if kerrors.is_not_found(e):
                        continue
                    if e.code == 429:
                        blocked.append(f"{md['namespace']}/{md['name']}")
                        continue
                    raise
            if time.monotonic() > deadline:
                if force:
                    for p in pods:
                        try:
                            await client.delete("pods", p["metadata"]["name"], p["metadata"]["namespace"],
                                                grace_period_seconds=0)
                        except kerrors.StatusError as e:
                            if not kerrors.is_not_found(e):
                                raise
                    return
                raise NodegroupError("PodEvictionFailure", f"Reached max retries while trying to evict pods from "
                                     f"node {node}: {', '.join(blocked) or 'pods did not terminate'}",
                                     [instance["instanceId"]])
            await asyncio.sleep(1.0)

    # -- updates -------------------------------------------------------------------------------
    async def _apply_update(self, key: str, c: dict) -> None:
        n = self.env.state.get("eks-nodegroups", key)
        if n is None:
            return
        ckey = n["internal"]["clusterKey"]
        u = updates.in_progress(self.env, ckey, n["nodegroupName"])
        if u is not None:
            desired = u["internal"]["desired"]
            for k in ("labels", "taints", "updateConfig"):
                if k in desired:
                    n[k] = desired[k]
            if "taints" in n and not n["taints"]:
                del n["taints"]
            if "scalingConfig" in desired:
                n["scalingConfig"] = desired["scalingConfig"]
            await self.env.state.put("eks-nodegroups", key, n)
            if "labels" in desired or "taints" in desired:
                await self._configure_nodes(key, c)
            if "scalingConfig" in desired:
                await self._scale_to(key, c, desired["scalingConfig"]["desiredSize"])
            if desired.get("replace"):
                await self._roll(key, c, desired)
            u = self.env.state.get("eks-updates", model.child_key(ckey, u["id"])) or u
            u["status"] = model.SUCCESSFUL
            await self.env.state.put("eks-updates", model.child_key(ckey, u["id"]), u)
        n = self.env.state.get("eks-nodegroups", key)
        if n is not None:
            n["status"] = model.ACTIVE
            n["health"] = {"issues": []}
            n["modifiedAt"] = self.env.now()
            await self.env.state.put("eks-nodegroups", key, n)

    async def _roll(self, key: str, c: dict, desired: dict) -> None:
        """Replace every node, `maxUnavailable` at a time: new nodes Ready first, then the old ones
        tainted, drained and terminated."""
        n = self.env.state.get("eks-nodegroups", key)
        if n is None:
            return
        n["version"] = desired["version"]
        n["releaseVersion"] = desired["releaseVersion"]
        await self.env.state.put("eks-nodegroups", key, n)
        old = list(n["internal"]["instances"])
        cfg = n.get("updateConfig") or {}
        if "maxUnavailablePercentage" in cfg:
            step = max(1, len(old) * cfg["maxUnavailablePercentage"] // 100)
        else:
            step = cfg.get("maxUnavailable", 1)
        client = self.control_planes.client(c["id"])
        for i in old:
            await _taint(client, i["privateDnsName"], UPGRADE_TAINT)
        while old:
            batch, old = old[:step], old[step:]
            new = [await self._launch(key, c) for _ in batch]
            await self._wait_ready(c, new)
            await self._configure_nodes(key, c, new)
            await self._remove(key, c, batch, force=bool(desired.get("force")))

    async def _delete(self, key: str, c: dict) -> None:
        n = self.env.state.get("eks-nodegroups", key)
        if n is None:
            return
        await self._remove(key, c, list(n["internal"]["instances"]), force=True)
        ckey = n["internal"]["clusterKey"]
        for k, u in list(self.env.state.items("eks-updates", ckey + "/")):
            if u["internal"].get("nodegroup") == n["nodegroupName"]:
                await self.env.state.delete("eks-updates", k)
        await self.env.state.delete("eks-nodegroups", key)
        log.info("node group %s deleted", key)


def _skip_on_drain(pod: dict) -> bool:
    md = pod["metadata"]
    if (md.get("annotations") or {}).get("kubernetes.io/config.mirror"):
        return True
    if any(o.get("kind") == "DaemonSet" for o in md.get("ownerReferences") or []):
        return True
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


async def _cordon(client: Any, node: str) -> None:
    try:
        await client.patch("nodes", node, {"spec": {"unschedulable": True}})
    except kerrors.StatusError as e:
        if not kerrors.is_not_found(e):
            raise


async def _taint(client: Any, node: str, taint: dict) -> None:
    try:
        obj = await client.get("nodes", node)
    except kerrors.StatusError as e:
        if kerrors.is_not_found(e):
            return
        raise
    taints = [t for t in (obj.get("spec") or {}).get("taints") or [] if t["key"] != taint["key"]]
    obj.setdefault("spec", {})["taints"] = taints + [taint]
    await client.update("nodes", obj)


def _ca(c: dict) -> bytes:
    import base64

    data = (c.get("certificateAuthority") or {}).get("data") or ""
    return base64.b64decode(data) if data else b""


def _iso(epoch: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _json_list(text: str | None) -> list[dict]:
    import json

    try:
        v = json.loads(text or "[]")
    except ValueError:
        return []
    return v if isinstance(v, list) else []


def _json_dump(v: Any) -> str:
    import json

    return json.dumps(v, separators=(",", ":"))
