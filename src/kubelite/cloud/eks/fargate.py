"""Fargate profiles: CreateFargateProfile, DescribeFargateProfile, ListFargateProfiles,
DeleteFargateProfile.

A profile has a pod execution role (trusting `eks-fargate-pods.amazonaws.com`), subnets of the
cluster's VPC (default: the cluster's) and one to five selectors (`namespace`, optional `labels`,
`*`/`?` wildcards). Profiles are immutable; `CREATING → ACTIVE` once the cluster's API server
routes matching pods to the Fargate scheduler and the role may register Fargate nodes;
`DELETING → gone` once its pods are deleted. One profile at a time may be `CREATING` or
`DELETING` in a cluster (EKS's rule). What runs the pods is `fargate_sync`.

Records: `eks-fargate-profiles`, key `<account>/<region>/<cluster>/<profile>`.
"""

from __future__ import annotations

from typing import Any

from kubelite.cloud import arn as arns
from kubelite.cloud.api import errors
from kubelite.cloud.api.gateway import Call

from . import access, model
from . import validation as v
from .clusters import check_role
from .service import EKSEnv, paged

TABLE = "eks-fargate-profiles"
MAX_SELECTORS = 5
MAX_LABELS = 5
FARGATE_PRINCIPAL = "eks-fargate-pods.amazonaws.com"


def profiles(env: EKSEnv, cluster_key: str) -> list[dict]:
    return env.state.values(TABLE, cluster_key + "/")


def _profile(env: EKSEnv, call: Call, cluster: str, name: str) -> tuple[str, dict]:
    key = model.child_key(env.cluster_key(call, cluster), name)
    p = env.state.get(TABLE, key)
    if p is None:
        raise errors.resource_not_found(f"No Fargate Profile found with name: {name}.", clusterName=cluster,
                                        fargateProfileName=name)
    return key, p


def _selectors(ctx: v.Fields, value: Any) -> list[dict]:
    if not value:
        raise ctx.invalid("Fargate Profile requires at least one selector.")
    if not isinstance(value, list):
        raise ctx.invalid("Invalid type for parameter selectors, valid types: <class 'list'>")
    if len(value) > MAX_SELECTORS:
        raise ctx.invalid(f"Fargate Profile supports a maximum of {MAX_SELECTORS} selectors.")
    out = []
    for s in value:
        if not isinstance(s, dict) or not s.get("namespace"):
            raise ctx.invalid("Fargate Profile must have at least one selector with at least one namespace value.")
        labels = s.get("labels") or {}
        if not isinstance(labels, dict) or any(not isinstance(k, str) or not isinstance(x, str)
                                                for k, x in labels.items()):
            raise ctx.invalid("Fargate Profile selector labels must be a map of strings.")
        if len(labels) > MAX_LABELS:
            raise ctx.invalid(f"Fargate Profile selectors support a maximum of {MAX_LABELS} labels.")
        out.append({"namespace": str(s["namespace"]), **({"labels": dict(labels)} if labels else {})})
    return out


async def create_fargate_profile(env: EKSEnv, call: Call, req: dict) -> dict:
    cluster_name = req["name"]
    replay = env.replay(call, "CreateFargateProfile", req.get("clientRequestToken"))
    if replay is not None:
        return replay
    ctx0 = v.Fields(clusterName=cluster_name)
    name = v.string(ctx0, req, "fargateProfileName", required_=True, min_len=1, max_len=100,
                    pattern=v.NODEGROUP_NAME_RE) or ""
    ctx = v.Fields(clusterName=cluster_name, fargateProfileName=name)
    role = v.string(ctx, req, "podExecutionRoleArn", required_=True) or ""
    selectors = _selectors(ctx, req.get("selectors"))
    subnet_ids = v.strings(ctx, req, "subnets")
    tags = v.tags(ctx, req) or {}
    env.authorize(call, "eks:CreateFargateProfile",
                  arns.eks(call.region, call.principal.account, f"fargateprofile/{cluster_name}/{name}/*"))
    ckey, c = env.cluster(call, cluster_name)
    if c["status"] != model.ACTIVE:
        raise errors.invalid_request(f"Cluster '{cluster_name}' is not in ACTIVE status", clusterName=cluster_name)
    check_role(env, ctx, call, role, FARGATE_PRINCIPAL)
    vpc_id = c["resourcesVpcConfig"]["vpcId"]
    subnet_ids = subnet_ids or list(c["resourcesVpcConfig"]["subnetIds"])
    for sid in subnet_ids:
        s = env.network.subnet(call.principal.account, call.region, sid)
        if s is None:
            raise ctx.invalid(f"The subnet ID '{sid}' does not exist (Service: AmazonEC2; Status Code: 400; "
                              f"Error Code: InvalidSubnetID.NotFound)")
        if s["vpcId"] != vpc_id:
            raise ctx.invalid(f"Subnet {sid} is not in the cluster's VPC {vpc_id}.")
    key = model.child_key(ckey, name)
    if env.state.has(TABLE, key):
        raise errors.resource_in_use("A Fargate Profile already exists with this name in this cluster.",
                                     clusterName=cluster_name)
    busy = [p for p in profiles(env, ckey) if p["status"] in (model.CREATING, model.DELETING)]
    if busy:
        raise errors.resource_in_use(f"Cannot create Fargate Profile {name} because cluster {cluster_name} "
                                     f"currently has Fargate profile {busy[0]['fargateProfileName']} in status "
                                     f"{busy[0]['status']}", clusterName=cluster_name)
    uid = env.ids.uuid()
    record: dict[str, Any] = {
        "fargateProfileName": name,
        "fargateProfileArn": arns.eks(call.region, call.principal.account, f"fargateprofile/{cluster_name}/{name}/"
                                                                           f"{uid}"),
        "clusterName": cluster_name, "createdAt": env.now(), "podExecutionRoleArn": role, "subnets": subnet_ids,
        "selectors": selectors, "status": model.CREATING, "tags": tags, "health": {"issues": []},
        "internal": {"clusterKey": ckey, "account": call.principal.account, "region": call.region},
    }
    await env.state.put(TABLE, key, record)
    await access.grant_role(env, ckey, c, role, "FARGATE_LINUX")
    env.kick("fargate", key)
    response = {"fargateProfile": model.view(record)}
    await env.remember(call, "CreateFargateProfile", req.get("clientRequestToken"), response)
    return response


async def describe_fargate_profile(env: EKSEnv, call: Call, req: dict) -> dict:
    cluster, name = req["name"], req["fargateProfileName"]
    env.authorize(call, "eks:DescribeFargateProfile", env.cluster_arn(call, cluster))
    env.cluster(call, cluster)
    _, p = _profile(env, call, cluster, name)
    return {"fargateProfile": model.view(p)}


async def list_fargate_profiles(env: EKSEnv, call: Call, req: dict) -> dict:
    cluster = req["name"]
    env.authorize(call, "eks:ListFargateProfiles", env.cluster_arn(call, cluster))
    key, _ = env.cluster(call, cluster)
    names = sorted(p["fargateProfileName"] for p in profiles(env, key))
    return paged(v.Fields(clusterName=cluster), "fargateProfileNames", names, req)


async def delete_fargate_profile(env: EKSEnv, call: Call, req: dict) -> dict:
    cluster, name = req["name"], req["fargateProfileName"]
    env.authorize(call, "eks:DeleteFargateProfile", env.cluster_arn(call, cluster))
    ckey, _ = env.cluster(call, cluster)
    key, p = _profile(env, call, cluster, name)
    if p["status"] == model.DELETING:
        return {"fargateProfile": model.view(p)}
    busy = [q for q in profiles(env, ckey) if q["status"] == model.DELETING]
    if busy:
        raise errors.resource_in_use(f"Cannot delete Fargate Profile {name} because cluster {cluster} currently has "
                                     f"Fargate profile {busy[0]['fargateProfileName']} in status DELETING",
                                     clusterName=cluster)
    p["status"] = model.DELETING
    await env.state.put(TABLE, key, p)
    env.kick("fargate", key)
    return {"fargateProfile": model.view(p)}


OPERATIONS = {"CreateFargateProfile": create_fargate_profile, "DescribeFargateProfile": describe_fargate_profile,
              "ListFargateProfiles": list_fargate_profiles, "DeleteFargateProfile": delete_fargate_profile}
