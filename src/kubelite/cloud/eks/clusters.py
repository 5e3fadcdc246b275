"""Cluster operations: CreateCluster, DescribeCluster, ListClusters, DeleteCluster.

CreateCluster validates everything EKS validates that matters here (name, role and its trust
of `eks.amazonaws.com`, `iam:PassRole`, subnets in at least two zones of one VPC, service
CIDR, access config), records the cluster `CREATING` and wakes the controller, which starts a
real control plane and moves it to `ACTIVE` (or `FAILED` with a health issue). With no subnets
(`--resources-vpc-config '{}'`) the account's default VPC subnets are used.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kubelite.cloud.api import errors
from kubelite.cloud.api.gateway import Call
from kubelite.cloud.iam import policy

from . import access, model
from . import validation as v
from .service import EKSEnv, paged

SUPPORT_TYPES = ("STANDARD", "EXTENDED")


def check_role(env: EKSEnv, ctx: v.Fields, call: Call, role_arn: str, service: str) -> None:
    """The role exists and trusts `service`; the caller may pass it."""
    p = v.role_arn(ctx, role_arn, "roleArn" if service == "eks.amazonaws.com" else "nodeRole")
    env.authorize(call, "iam:PassRole", role_arn)
    role = env.iam.role_by_arn(role_arn) if p.account == call.principal.account else None
    ok = False
    if role is not None:
        trust = policy.parse(role["AssumeRolePolicyDocument"], trust=True)
        ok = policy.trust_decision(trust, policy.Caller("", (), service=service), "sts:AssumeRole") is not None
    if not ok:
        raise ctx.invalid(f"Role with arn: {role_arn}, could not be assumed because it does not exist or the "
                          f"trusted entity is not correct")


def vpc_config(env: EKSEnv, ctx: v.Fields, call: Call, req: dict) -> dict:
    subnet_ids = v.strings(ctx, req, "subnetIds") or []
    sg_ids = v.strings(ctx, req, "securityGroupIds") or []
    public = v.boolean(ctx, req, "endpointPublicAccess")
    private = v.boolean(ctx, req, "endpointPrivateAccess")
    cidrs = v.strings(ctx, req, "publicAccessCidrs")
    account, region = call.principal.account, call.region
    if not subnet_ids:
        vpc = env.network.default_vpc(account, region)
        subnet_ids = [s["subnetId"] for s in env.network.subnets(account, region) if s["vpcId"] == vpc["vpcId"]] \
            if vpc else []
    subnets = []
    for sid in subnet_ids:
        s = env.network.subnet(account, region, sid)
        if s is None:
            raise ctx.invalid(f"The subnet ID '{sid}' does not exist (Service: AmazonEC2; Status Code: 400; "
                              f"Error Code: InvalidSubnetID.NotFound)")
        subnets.append(s)
    if len({s["vpcId"] for s in subnets}) > 1:
        raise ctx.invalid("Subnets specified must belong to the same VPC.")
    if len({s["availabilityZone"] for s in subnets}) < 2:
        raise ctx.invalid("Subnets specified must be in at least two different AZs")
    vpc_id = subnets[0]["vpcId"]
    groups = {g["groupId"]: g for g in env.network.security_groups(account, region)}
    missing = [g for g in sg_ids if g not in groups]
    if missing:
        raise ctx.invalid(f"Security group(s) [{', '.join(missing)}] not found")
    for c in cidrs or []:
        try:
            ipaddress.ip_network(c, strict=True)
        except ValueError:
            raise ctx.invalid(f"The public access CIDR block {c} is not a valid CIDR block.") from None
    if public is False and private is False:
        raise ctx.invalid("The endpoint access configuration is invalid: at least one of endpointPublicAccess "
                          "and endpointPrivateAccess must be true")
    cluster_sg = next((g["groupId"] for g in groups.values() if g["vpcId"] == vpc_id and g["groupName"] == "default"),
                      "")
    return {"subnetIds": subnet_ids, "securityGroupIds": sg_ids, "clusterSecurityGroupId": cluster_sg,
            "vpcId": vpc_id, "endpointPublicAccess": True if public is None else public,
            "endpointPrivateAccess": bool(private), "publicAccessCidrs": cidrs or ["0.0.0.0/0"]}


def logging_config(ctx: v.Fields, req: dict | None) -> dict:
    enabled: set[str] = set()
    for i, setup in enumerate((req or {}).get("clusterLogging") or []):
        if not isinstance(setup, dict):
            raise ctx.invalid(f"Invalid type for parameter logging.clusterLogging[{i}]")
        types = v.strings(ctx, setup, "types") or []
        bad = [t for t in types if t not in model.LOG_TYPES]
        if bad:
            raise ctx.invalid(f"1 validation error detected: Value '{bad}' at 'logging.clusterLogging.{i + 1}."
                              f"member.types' failed to satisfy constraint: Member must satisfy enum value set: "
                              f"[{', '.join(model.LOG_TYPES)}]")
        on = v.boolean(ctx, setup, "enabled")
        for t in types:
            (enabled.add if on else enabled.discard)(t)
    return logging_view(enabled)


def logging_view(enabled: set[str]) -> dict:
    on = [t for t in model.LOG_TYPES if t in enabled]
    off = [t for t in model.LOG_TYPES if t not in enabled]
    setups = []
    if on:
        setups.append({"types": on, "enabled": True})
    if off:
        setups.append({"types": off, "enabled": False})
    return {"clusterLogging": setups}


async def create_cluster(env: EKSEnv, call: Call, req: dict) -> dict:
    replay = env.replay(call, "CreateCluster", req.get("clientRequestToken"))
    if replay is not None:
        return replay
    name = v.string(v.Fields(), req, "name", required_=True, min_len=1, max_len=100,
                    pattern=v.CLUSTER_NAME_RE) or ""
    ctx = v.Fields(clusterName=name)
    role_arn = v.string(ctx, req, "roleArn", required_=True) or ""
    vpc_req = v.struct(ctx, req, "resourcesVpcConfig", required_=True) or {}
    version = v.string(ctx, req, "version") or env.config.default_version
    if version not in env.config.versions:
        raise ctx.invalid(f"unsupported Kubernetes version {version}")
    net_req = v.struct(ctx, req, "kubernetesNetworkConfig") or {}
    ip_family = v.string(ctx, net_req, "ipFamily", enum=("ipv4", "ipv6")) or "ipv4"
    if ip_family == "ipv6":
        raise ctx.invalid("ipFamily ipv6 is not supported by this service")
    access_req = v.struct(ctx, req, "accessConfig") or {}
    mode = v.string(ctx, access_req, "authenticationMode", enum=model.AUTH_MODES) or "CONFIG_MAP"
    bootstrap = v.boolean(ctx, access_req, "bootstrapClusterCreatorAdminPermissions")
    bootstrap = True if bootstrap is None else bootstrap
    if not bootstrap and mode == "CONFIG_MAP":
        raise ctx.invalid("bootstrapClusterCreatorAdminPermissions must be true if cluster authentication mode "
                          "is set to CONFIG_MAP")
    tags = v.tags(ctx, req) or {}
    upgrade = v.struct(ctx, req, "upgradePolicy") or {}
    support = v.string(ctx, upgrade, "supportType", enum=SUPPORT_TYPES) or "STANDARD"
    deletion_protection = v.boolean(ctx, req, "deletionProtection")
    encryption = req.get("encryptionConfig")
    if encryption is not None and not isinstance(encryption, list):
        raise ctx.invalid("Invalid type for parameter encryptionConfig, valid types: <class 'list'>")
    log_cfg = logging_config(ctx, v.struct(ctx, req, "logging"))

    arn = env.cluster_arn(call, name)
    env.authorize(call, "eks:CreateCluster", arn)
    check_role(env, ctx, call, role_arn, "eks.amazonaws.com")
    await env.network.ensure_default_vpc(call.principal.account, call.region)
    vpc = vpc_config(env, ctx, call, vpc_req)
    vpc_cidr = (env.network.vpc(call.principal.account, call.region, vpc["vpcId"]) or {}).get("cidrBlock")
    service_cidr = net_req.get("serviceIpv4Cidr")
    service_cidr = v.service_cidr(ctx, service_cidr, vpc_cidr) if service_cidr else env.config.default_service_cidr
    key = env.cluster_key(call, name)
    if env.state.has("eks-clusters", key):
        raise errors.resource_in_use(f"Cluster already exists with name: {name}", clusterName=name)

    cluster_id = env.ids.uuid()
    record: dict[str, Any] = {
        "name": name, "arn": arn, "createdAt": env.now(), "version": version, "roleArn": role_arn,
        "resourcesVpcConfig": vpc,
        "kubernetesNetworkConfig": {"serviceIpv4Cidr": service_cidr, "ipFamily": ip_family,
                                    "elasticLoadBalancing": {"enabled": False}},
        "logging": log_cfg,
        "identity": {"oidc": {"issuer": f"https://oidc.eks.{call.region}.amazonaws.com/id/"
                                        f"{env.ids.hex(32).upper()}"}},
        "status": model.CREATING, "platformVersion": model.PLATFORM_VERSION, "tags": tags,
        "health": {"issues": []},
        "accessConfig": {"bootstrapClusterCreatorAdminPermissions": bootstrap, "authenticationMode": mode},
        "upgradePolicy": {"supportType": support}, "id": cluster_id,
        "internal": {"account": call.principal.account, "region": call.region,
                     "creator": call.principal.canonical_arn, "webhookSecret": env.ids.token(40),
                     "port": 0, "dataDir": "", "vpcCidr": vpc_cidr or ""},
    }
    if encryption:
        record["encryptionConfig"] = encryption
    if deletion_protection is not None:
        record["deletionProtection"] = deletion_protection
    if req.get("clientRequestToken"):
        record["clientRequestToken"] = req["clientRequestToken"]
    await env.state.put("eks-clusters", key, record)
    if bootstrap and mode in ("API", "API_AND_CONFIG_MAP"):
        await access.put_entry(env, key, record, call.principal.canonical_arn, type_="STANDARD",
                               policies=[{"policyArn": model.access_policy_arn("AmazonEKSClusterAdminPolicy"),
                                          "accessScope": {"type": "cluster", "namespaces": []}}])
    env.kick("cluster", key)
    response = {"cluster": model.view(record)}
    await env.remember(call, "CreateCluster", req.get("clientRequestToken"), response)
    return response


async def describe_cluster(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    env.authorize(call, "eks:DescribeCluster", env.cluster_arn(call, name))
    _, c = env.cluster(call, name)
    return {"cluster": model.view(c)}


async def list_clusters(env: EKSEnv, call: Call, req: dict) -> dict:
    env.authorize(call, "eks:ListClusters", "*")
    prefix = f"{call.principal.account}/{call.region}/"
    names = sorted(c["name"] for c in env.state.values("eks-clusters", prefix))
    return paged(v.Fields(), "clusters", names, req)


async def delete_cluster(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    env.authorize(call, "eks:DeleteCluster", env.cluster_arn(call, name))
    key, c = env.cluster(call, name)
    if c["status"] == model.DELETING:
        return {"cluster": model.view(c)}
    if env.nodegroups(key):
        raise errors.resource_in_use("Cluster has nodegroups attached", clusterName=name)
    if env.state.values("eks-fargate-profiles", key + "/"):
        raise errors.resource_in_use("Cluster has fargate profiles attached", clusterName=name)
    if c.get("deletionProtection"):
        raise errors.invalid_request(f"Cannot delete cluster {name} because deletion protection is enabled. "
                                     f"Disable it with UpdateClusterConfig first.", clusterName=name)
    if c["status"] in (model.CREATING, model.UPDATING):
        raise errors.resource_in_use(f"Cannot delete cluster {name} while it is in {c['status']} state",
                                     clusterName=name)
    c["status"] = model.DELETING
    await env.state.put("eks-clusters", key, c)
    env.kick("cluster", key)
    return {"cluster": model.view(c)}


OPERATIONS = {"CreateCluster": create_cluster, "DescribeCluster": describe_cluster, "ListClusters": list_clusters,
              "DeleteCluster": delete_cluster}
