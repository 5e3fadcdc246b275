"""Managed node groups: CreateNodegroup, DescribeNodegroup, ListNodegroups, DeleteNodegroup,
UpdateNodegroupConfig (scaling, labels, taints, update config), UpdateNodegroupVersion.

The API records what is wanted; the controller makes the node instances (real node agents,
through the `Instances` seam) match it: launch to scale out, cordon, drain and terminate to scale
in, rolling replacement honouring `maxUnavailable` for a version update.
"""

from __future__ import annotations

import re
from typing import Any

from kubelite import KUBERNETES_VERSION, __version__
from kubelite.cloud import arn as arns
from kubelite.cloud.api import errors
from kubelite.cloud.api.gateway import Call
from kubelite.cloud.ec2 import instance_types as instance_types_table

from . import access, model, updates
from . import validation as v
from .clusters import check_role
from .service import EKSEnv, paged

INSTANCE_TYPE_RE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
LINUX_X86_AMIS = ("AL2_x86_64", "AL2023_x86_64_STANDARD", "BOTTLEROCKET_x86_64", "CUSTOM")
AMI_TYPES = ("AL2_x86_64", "AL2_x86_64_GPU", "AL2_ARM_64", "CUSTOM", "BOTTLEROCKET_ARM_64", "BOTTLEROCKET_x86_64",
             "BOTTLEROCKET_ARM_64_FIPS", "BOTTLEROCKET_x86_64_FIPS", "BOTTLEROCKET_ARM_64_NVIDIA",
             "BOTTLEROCKET_x86_64_NVIDIA", "WINDOWS_CORE_2019_x86_64", "WINDOWS_FULL_2019_x86_64",
             "WINDOWS_CORE_2022_x86_64", "WINDOWS_FULL_2022_x86_64", "AL2023_x86_64_STANDARD",
             "AL2023_ARM_64_STANDARD", "AL2023_x86_64_NEURON", "AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA")
MAX_SIZE = 100


def release_version(version: str) -> str:
    """The node image release for a Kubernetes minor: its patch release and this kubelite's version."""
    patch = KUBERNETES_VERSION.lstrip("v")
    return f"{patch if patch.startswith(version + '.') else version + '.0'}-{__version__}"


def nodegroup_key(env: EKSEnv, call: Call, cluster: str, name: str) -> str:
    return model.child_key(env.cluster_key(call, cluster), name)


def nodegroup(env: EKSEnv, call: Call, cluster: str, name: str) -> tuple[str, dict]:
    key = nodegroup_key(env, call, cluster, name)
    n = env.state.get("eks-nodegroups", key)
    if n is None:
        raise errors.resource_not_found(f"No node group found for name: {name}.", clusterName=cluster,
                                        nodegroupName=name)
    return key, n


def _scaling(ctx: v.Fields, req: dict | None, current: dict | None) -> dict:
    cur = current or {"minSize": 2, "maxSize": 2, "desiredSize": 2}
    req = req or {}
    mn = v.integer(ctx, req, "minSize", minimum=0)
    mx = v.integer(ctx, req, "maxSize", minimum=1, maximum=MAX_SIZE)
    want = v.integer(ctx, req, "desiredSize", minimum=0)
    s = {"minSize": cur["minSize"] if mn is None else mn, "maxSize": cur["maxSize"] if mx is None else mx,
         "desiredSize": cur["desiredSize"] if want is None else want}
    if current is None and want is None:
        s["desiredSize"] = max(s["minSize"], min(s["desiredSize"], s["maxSize"]))
    if s["minSize"] > s["maxSize"]:
        raise ctx.invalid(f"Minimum capacity {s['minSize']} can't be greater than max size {s['maxSize']}")
    if s["desiredSize"] > s["maxSize"]:
        raise ctx.invalid(f"Desired capacity {s['desiredSize']} can't be greater than max size {s['maxSize']}")
    if s["desiredSize"] < s["minSize"]:
        raise ctx.invalid(f"Minimum capacity {s['minSize']} can't be greater than desired size {s['desiredSize']}")
    return s


def _update_config(ctx: v.Fields, req: dict | None) -> dict | None:
    if req is None:
        return None
    n = v.integer(ctx, req, "maxUnavailable", minimum=1, maximum=100)
    pct = v.integer(ctx, req, "maxUnavailablePercentage", minimum=1, maximum=100)
    strategy = v.string(ctx, req, "updateStrategy", enum=("DEFAULT", "MINIMAL"))
    if n is not None and pct is not None:
        raise ctx.invalid("Only one of maxUnavailable and maxUnavailablePercentage can be specified")
    out: dict[str, Any] = {}
    if n is not None:
        out["maxUnavailable"] = n
    if pct is not None:
        out["maxUnavailablePercentage"] = pct
    if strategy:
        out["updateStrategy"] = strategy
    return out or None


async def create_nodegroup(env: EKSEnv, call: Call, req: dict) -> dict:
    cluster_name = req["name"]
    replay = env.replay(call, "CreateNodegroup", req.get("clientRequestToken"))
    if replay is not None:
        return replay
    name = v.string(v.Fields(clusterName=cluster_name), req, "nodegroupName", required_=True, min_len=1,
                    max_len=63, pattern=v.NODEGROUP_NAME_RE) or ""
    ctx = v.Fields(clusterName=cluster_name, nodegroupName=name)
    subnet_ids = v.strings(ctx, req, "subnets")
    if not subnet_ids:
        raise ctx.invalid("1 validation error detected: Value null at 'subnets' failed to satisfy constraint: "
                          "Member must not be null" if subnet_ids is None else "Subnets must not be empty")
    node_role = v.string(ctx, req, "nodeRole", required_=True) or ""
    scaling = _scaling(ctx, v.struct(ctx, req, "scalingConfig"), None)
    instance_types = v.strings(ctx, req, "instanceTypes", max_items=20) or ["t3.medium"]
    for t in instance_types:
        if not INSTANCE_TYPE_RE.match(t):
            raise ctx.invalid(f"Invalid instance type: {t}")
        if instance_types_table.instance_type(t) is None:
            raise ctx.invalid(f"Instance type {t} is not supported by this service (its pod limit is not known); "
                              f"use one of {', '.join(sorted(instance_types_table.INSTANCE_TYPES))}")
    ami = v.string(ctx, req, "amiType", enum=AMI_TYPES) or "AL2023_x86_64_STANDARD"
    if ami not in LINUX_X86_AMIS:
        raise ctx.invalid(f"amiType {ami} is not supported by this service: its nodes run Linux on this x86_64 "
                          f"machine (use one of {', '.join(LINUX_X86_AMIS)})")
    disk = v.integer(ctx, req, "diskSize", minimum=1)
    launch_template = v.struct(ctx, req, "launchTemplate")
    remote = v.struct(ctx, req, "remoteAccess")
    if launch_template is not None and (disk is not None or remote is not None):
        raise ctx.invalid("Disk size and remote access can't be specified together with a launch template.")
    capacity = v.string(ctx, req, "capacityType", enum=("ON_DEMAND", "SPOT", "CAPACITY_BLOCK")) or "ON_DEMAND"
    labels = v.string_map(ctx, req, "labels") or {}
    v.labels(ctx, "labels", labels)
    taints = v.taints(ctx, "taints", req["taints"]) if req.get("taints") is not None else []
    update_cfg = _update_config(ctx, v.struct(ctx, req, "updateConfig")) or {"maxUnavailable": 1}
    tags = v.tags(ctx, req) or {}

    env.authorize(call, "eks:CreateNodegroup",
                  arns.eks(call.region, call.principal.account, f"nodegroup/{cluster_name}/{name}/*"))
    ckey, c = env.cluster(call, cluster_name)
    if c["status"] != model.ACTIVE:
        raise errors.invalid_request(f"Cluster '{cluster_name}' is not in ACTIVE status", clusterName=cluster_name,
                                     nodegroupName=name)
    version = v.string(ctx, req, "version") or c["version"]
    if version != c["version"]:
        raise ctx.invalid(f"Requested Nodegroup version {version} is invalid. Nodegroup version must match the "
                          f"cluster version {c['version']}.")
    release = v.string(ctx, req, "releaseVersion") or release_version(version)
    if release != release_version(version):
        raise ctx.invalid(f"Requested release version {release} is not valid for kubernetes version {version}.")
    check_role(env, ctx, call, node_role, "ec2.amazonaws.com")
    vpc_id = c["resourcesVpcConfig"]["vpcId"]
    for sid in subnet_ids:
        s = env.network.subnet(call.principal.account, call.region, sid)
        if s is None:
            raise ctx.invalid(f"The subnet ID '{sid}' does not exist (Service: AmazonEC2; Status Code: 400; "
                              f"Error Code: InvalidSubnetID.NotFound)")
        if s["vpcId"] != vpc_id:
            raise ctx.invalid(f"Subnet {sid} is not in the cluster's VPC {vpc_id}.")
    key = model.child_key(ckey, name)
    if env.state.has("eks-nodegroups", key):
        raise errors.resource_in_use(f"NodeGroup already exists with name {name} and cluster name {cluster_name}",
                                     clusterName=cluster_name, nodegroupName=name)
    uid = env.ids.uuid()
    now = env.now()
    record: dict[str, Any] = {
        "nodegroupName": name,
        "nodegroupArn": arns.eks(call.region, call.principal.account, f"nodegroup/{cluster_name}/{name}/{uid}"),
        "clusterName": cluster_name, "version": version, "releaseVersion": release, "createdAt": now,
        "modifiedAt": now, "status": model.CREATING, "capacityType": capacity, "scalingConfig": scaling,
        "instanceTypes": instance_types, "subnets": subnet_ids, "amiType": ami, "nodeRole": node_role,
        "labels": labels, "resources": {"autoScalingGroups": [{"name": f"eks-{name}-{uid}"}]},
        "health": {"issues": []}, "updateConfig": update_cfg, "tags": tags,
        "internal": {"clusterKey": ckey, "account": call.principal.account, "region": call.region, "uid": uid,
                     "instances": []},
    }
    if taints:
        record["taints"] = taints
    if launch_template is not None:
        record["launchTemplate"] = launch_template
    else:
        record["diskSize"] = disk or 20
    if remote is not None:
        record["remoteAccess"] = remote
    await env.state.put("eks-nodegroups", key, record)
    await access.grant_role(env, ckey, c, node_role, "EC2_LINUX")
    env.kick("nodegroup", key)
    response = {"nodegroup": model.view(record)}
    await env.remember(call, "CreateNodegroup", req.get("clientRequestToken"), response)
    return response


async def describe_nodegroup(env: EKSEnv, call: Call, req: dict) -> dict:
    cluster, name = req["name"], req["nodegroupName"]
    env.authorize(call, "eks:DescribeNodegroup", env.cluster_arn(call, cluster))
    env.cluster(call, cluster)
    _, n = nodegroup(env, call, cluster, name)
    return {"nodegroup": model.view(n)}


async def list_nodegroups(env: EKSEnv, call: Call, req: dict) -> dict:
    cluster = req["name"]
    env.authorize(call, "eks:ListNodegroups", env.cluster_arn(call, cluster))
    key, _ = env.cluster(call, cluster)
    names = sorted(n["nodegroupName"] for n in env.nodegroups(key))
    return paged(v.Fields(clusterName=cluster), "nodegroups", names, req)


async def delete_nodegroup(env: EKSEnv, call: Call, req: dict) -> dict:
    cluster, name = req["name"], req["nodegroupName"]
    env.authorize(call, "eks:DeleteNodegroup", env.cluster_arn(call, cluster))
    env.cluster(call, cluster)
    key, n = nodegroup(env, call, cluster, name)
    if n["status"] == model.DELETING:
        return {"nodegroup": model.view(n)}
    if n["status"] in (model.CREATING, model.UPDATING):
        raise errors.resource_in_use(f"Nodegroup {name} cannot be deleted because it is in {n['status']} state",
                                     clusterName=cluster, nodegroupName=name)
    n["status"] = model.DELETING
    n["modifiedAt"] = env.now()
    await env.state.put("eks-nodegroups", key, n)
    env.kick("nodegroup", key)
    return {"nodegroup": model.view(n)}


def _ready_for_update(env: EKSEnv, key: str, n: dict, cluster: str) -> None:
    ckey = n["internal"]["clusterKey"]
    u = updates.in_progress(env, ckey, n["nodegroupName"])
    if u is not None:
        raise errors.resource_in_use(f"Nodegroup {n['nodegroupName']} currently has update {u['id']} in progress",
                                     clusterName=cluster, nodegroupName=n["nodegroupName"])
    if n["status"] not in (model.ACTIVE, model.DEGRADED):
        raise errors.resource_in_use(f"Nodegroup {n['nodegroupName']} is in {n['status']} state",
                                     clusterName=cluster, nodegroupName=n["nodegroupName"])


async def _start(env: EKSEnv, key: str, n: dict, type_: str, params: list, desired: dict) -> dict:
    u = await updates.create_update(env, n["internal"]["clusterKey"], type_, params, desired,
                                    nodegroup=n["nodegroupName"])
    n = env.state.get("eks-nodegroups", key) or n
    n["status"] = model.UPDATING
    n["modifiedAt"] = env.now()
    await env.state.put("eks-nodegroups", key, n)
    env.kick("nodegroup", key)
    return {"update": model.update_view(u)}


async def update_nodegroup_config(env: EKSEnv, call: Call, req: dict) -> dict:
    cluster, name = req["name"], req["nodegroupName"]
    ctx = v.Fields(clusterName=cluster, nodegroupName=name)
    env.authorize(call, "eks:UpdateNodegroupConfig", env.cluster_arn(call, cluster))
    env.cluster(call, cluster)
    key, n = nodegroup(env, call, cluster, name)
    replay = env.replay(call, "UpdateNodegroupConfig", req.get("clientRequestToken"))
    if replay is not None:
        return replay
    params: list[tuple[str, Any]] = []
    desired: dict[str, Any] = {}
    lab = v.struct(ctx, req, "labels")
    if lab is not None:
        add = v.string_map(ctx, lab, "addOrUpdateLabels") or {}
        remove = v.strings(ctx, lab, "removeLabels") or []
        v.labels(ctx, "labels.addOrUpdateLabels", add)
        overlap = set(add) & set(remove)
        if overlap:
            raise ctx.invalid(f"The label keys {sorted(overlap)} are in both addOrUpdateLabels and removeLabels")
        if add:
            params.append(("LabelsToAdd", add))
        if remove:
            params.append(("LabelsToRemove", remove))
        labels = {k: val for k, val in n.get("labels", {}).items() if k not in remove}
        labels.update(add)
        desired["labels"] = labels
    tnt = v.struct(ctx, req, "taints")
    if tnt is not None:
        add_t = v.taints(ctx, "taints.addOrUpdateTaints", tnt.get("addOrUpdateTaints") or [])
        rm_t = v.taints(ctx, "taints.removeTaints", tnt.get("removeTaints") or [])
        if add_t:
            params.append(("TaintsToAdd", add_t))
        if rm_t:
            params.append(("TaintsToRemove", rm_t))
        current = {(t["key"], t["effect"]): t for t in n.get("taints") or []}
        for t in rm_t:
            current.pop((t["key"], t["effect"]), None)
        for t in add_t:
            current[(t["key"], t["effect"])] = t
        if len(current) > 50:
            raise ctx.invalid("A node group can have at most 50 taints")
        desired["taints"] = list(current.values())
    sc = v.struct(ctx, req, "scalingConfig")
    if sc is not None:
        s = _scaling(ctx, sc, n["scalingConfig"])
        for field, ptype in (("desiredSize", "DesiredSize"), ("minSize", "MinSize"), ("maxSize", "MaxSize")):
            if sc.get(field) is not None:
                params.append((ptype, str(s[field])))
        desired["scalingConfig"] = s
    uc = _update_config(ctx, v.struct(ctx, req, "updateConfig"))
    if uc is not None:
        for field, ptype in (("maxUnavailable", "MaxUnavailable"),
                             ("maxUnavailablePercentage", "MaxUnavailablePercentage")):
            if field in uc:
                params.append((ptype, str(uc[field])))
        desired["updateConfig"] = uc
    if not desired:
        raise ctx.invalid("No changes needed: specify labels, taints, scalingConfig or updateConfig")
    _ready_for_update(env, key, n, cluster)
    resp = await _start(env, key, n, "ConfigUpdate", params, desired)
    await env.remember(call, "UpdateNodegroupConfig", req.get("clientRequestToken"), resp)
    return resp


async def update_nodegroup_version(env: EKSEnv, call: Call, req: dict) -> dict:
    cluster, name = req["name"], req["nodegroupName"]
    ctx = v.Fields(clusterName=cluster, nodegroupName=name)
    env.authorize(call, "eks:UpdateNodegroupVersion", env.cluster_arn(call, cluster))
    _, c = env.cluster(call, cluster)
    key, n = nodegroup(env, call, cluster, name)
    replay = env.replay(call, "UpdateNodegroupVersion", req.get("clientRequestToken"))
    if replay is not None:
        return replay
    version = v.string(ctx, req, "version") or c["version"]
    if version != c["version"]:
        raise ctx.invalid(f"Requested Nodegroup version {version} is invalid. Nodegroup version must match the "
                          f"cluster version {c['version']}.")
    release = v.string(ctx, req, "releaseVersion") or release_version(version)
    if release != release_version(version):
        raise ctx.invalid(f"Requested release version {release} is not valid for kubernetes version {version}.")
    force = v.boolean(ctx, req, "force") or False
    _ready_for_update(env, key, n, cluster)
    resp = await _start(env, key, n, "VersionUpdate", [("Version", version), ("ReleaseVersion", release)],
                        {"version": version, "releaseVersion": release, "force": force, "replace": True})
    await env.remember(call, "UpdateNodegroupVersion", req.get("clientRequestToken"), resp)
    return resp


OPERATIONS = {"CreateNodegroup": create_nodegroup, "DescribeNodegroup": describe_nodegroup,
              "ListNodegroups": list_nodegroups, "DeleteNodegroup": delete_nodegroup,
              "UpdateNodegroupConfig": update_nodegroup_config, "UpdateNodegroupVersion": update_nodegroup_version}
