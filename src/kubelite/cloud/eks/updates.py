"""Updates: UpdateClusterVersion, UpdateClusterConfig, DescribeUpdate, ListUpdates, and the
`Update` records node-group updates share.

An update is recorded `InProgress` with what it will change (`internal.desired`), the cluster or
node group goes `UPDATING`, and the controller applies it and marks it `Successful` (or `Failed`
with `errors`). One update at a time per cluster and per node group, as EKS enforces.
"""

from __future__ import annotations

import json
from typing import Any

from kubelite.cloud.api import errors
from kubelite.cloud.api.gateway import Call

from . import model
from . import validation as v
from .clusters import logging_config
from .service import EKSEnv, page


def in_progress(env: EKSEnv, cluster_key: str, nodegroup: str = "") -> dict | None:
    for u in env.state.values("eks-updates", cluster_key + "/"):
        if u["status"] == model.IN_PROGRESS and u["internal"].get("nodegroup", "") == nodegroup:
            return u
    return None


async def create_update(env: EKSEnv, cluster_key: str, type_: str, params: list[tuple[str, Any]],
                        desired: dict, *, nodegroup: str = "") -> dict:
    def text(x: Any) -> str:
        return x if isinstance(x, str) else json.dumps(x, separators=(",", ":")) if not isinstance(x, bool) \
            else str(x).lower()

    u = {"id": env.ids.uuid(), "status": model.IN_PROGRESS, "type": type_,
         "params": [{"type": t, "value": text(val)} for t, val in params], "createdAt": env.now(), "errors": [],
         "internal": {"nodegroup": nodegroup, "desired": desired}}
    await env.state.put("eks-updates", model.child_key(cluster_key, u["id"]), u)
    return u


def _cluster_busy(env: EKSEnv, key: str, c: dict, what: str) -> None:
    u = in_progress(env, key)
    if u is not None:
        raise errors.resource_in_use(f"Cannot {what} because cluster {c['name']} currently has update {u['id']} in "
                                     f"progress", clusterName=c["name"])
    if c["status"] != model.ACTIVE:
        raise errors.resource_in_use(f"Cannot {what} because cluster {c['name']} is in {c['status']} state",
                                     clusterName=c["name"])


async def _start(env: EKSEnv, key: str, c: dict, type_: str, params: list, desired: dict) -> dict:
    u = await create_update(env, key, type_, params, desired)
    c = env.state.get("eks-clusters", key) or c
    c["status"] = model.UPDATING
    await env.state.put("eks-clusters", key, c)
    env.kick("cluster", key)
    return {"update": model.update_view(u)}


async def update_cluster_version(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    ctx = v.Fields(clusterName=name)
    version = v.string(ctx, req, "version", required_=True) or ""
    env.authorize(call, "eks:UpdateClusterVersion", env.cluster_arn(call, name))
    key, c = env.cluster(call, name)
    replay = env.replay(call, "UpdateClusterVersion", req.get("clientRequestToken"))
    if replay is not None:
        return replay
    if c["status"] not in (model.ACTIVE, model.UPDATING):
        raise errors.ServiceError("InvalidStateException", f"Cluster {name} is in {c['status']} state", 400,
                                  clusterName=name)
    _cluster_busy(env, key, c, "update cluster version")

    def minor(ver: str) -> tuple[int, int]:
        try:
            a, b = ver.split(".")[:2]
            return int(a), int(b)
        except ValueError:
            raise ctx.invalid(f"Invalid Kubernetes version {ver}") from None

    cur, want = minor(c["version"]), minor(version)
    if want != (cur[0], cur[1] + 1) or version not in env.config.versions:
        raise ctx.invalid(f"Unsupported Kubernetes minor version update from {c['version']} to {version}")
    behind = [n["nodegroupName"] for n in env.nodegroups(key) if n["version"] != c["version"]]
    if behind:
        raise ctx.invalid(f"Nodegroups {behind} must be updated to match cluster version {c['version']} before "
                          f"updating cluster version")
    resp = await _start(env, key, c, "VersionUpdate", [("Version", version), ("PlatformVersion",
                                                                               model.PLATFORM_VERSION)],
                        {"version": version})
    await env.remember(call, "UpdateClusterVersion", req.get("clientRequestToken"), resp)
    return resp


CONFIG_KINDS = ("resourcesVpcConfig", "logging", "accessConfig", "upgradePolicy", "zonalShiftConfig",
                "computeConfig", "kubernetesNetworkConfig", "storageConfig", "remoteNetworkConfig",
                "deletionProtection", "controlPlaneScalingConfig")


async def update_cluster_config(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    ctx = v.Fields(clusterName=name)
    env.authorize(call, "eks:UpdateClusterConfig", env.cluster_arn(call, name))
    key, c = env.cluster(call, name)
    replay = env.replay(call, "UpdateClusterConfig", req.get("clientRequestToken"))
    if replay is not None:
        return replay
    kinds = [k for k in CONFIG_KINDS if req.get(k) is not None]
    if len(kinds) > 1:
        raise ctx.invalid("Only one type of update can be allowed.")
    if not kinds:
        raise ctx.invalid("No changes were requested: specify one of " + ", ".join(CONFIG_KINDS))
    kind = kinds[0]
    _cluster_busy(env, key, c, "update cluster config")
    if kind == "resourcesVpcConfig":
        req_vpc = v.struct(ctx, req, kind) or {}
        cur = c["resourcesVpcConfig"]
        public = v.boolean(ctx, req_vpc, "endpointPublicAccess")
        private = v.boolean(ctx, req_vpc, "endpointPrivateAccess")
        cidrs = v.strings(ctx, req_vpc, "publicAccessCidrs")
        if req_vpc.get("subnetIds") is not None or req_vpc.get("securityGroupIds") is not None:
            params = [("Subnets", req_vpc.get("subnetIds") or cur["subnetIds"]),
                      ("SecurityGroups", req_vpc.get("securityGroupIds") or cur["securityGroupIds"])]
            return await _start(env, key, c, "VpcConfigUpdate", params, {"resourcesVpcConfig": {
                k: req_vpc[k] for k in ("subnetIds", "securityGroupIds") if req_vpc.get(k) is not None}})
        new_public = cur["endpointPublicAccess"] if public is None else public
        new_private = cur["endpointPrivateAccess"] if private is None else private
        new_cidrs = cur["publicAccessCidrs"] if cidrs is None else cidrs
        if not new_public and not new_private:
            raise ctx.invalid("The endpoint access configuration is invalid: at least one of endpointPublicAccess "
                              "and endpointPrivateAccess must be true")
        if (new_public, new_private, new_cidrs) == (cur["endpointPublicAccess"], cur["endpointPrivateAccess"],
                                                    cur["publicAccessCidrs"]):
            raise ctx.invalid(f"Cluster is already at the desired configuration with endpointPrivateAccess: "
                              f"{str(new_private).lower()} and endpointPublicAccess: {str(new_public).lower()}")
        params = [("EndpointPublicAccess", new_public), ("EndpointPrivateAccess", new_private)]
        if cidrs is not None:
            params.append(("PublicAccessCidrs", new_cidrs))
        return await _start(env, key, c, "EndpointAccessUpdate", params, {"resourcesVpcConfig": {
            "endpointPublicAccess": new_public, "endpointPrivateAccess": new_private, "publicAccessCidrs": new_cidrs}})
    if kind == "logging":
        new = logging_config(ctx, v.struct(ctx, req, "logging"))
        merged = {t for s in c["logging"]["clusterLogging"] if s["enabled"] for t in s["types"]}
        for s in (req["logging"].get("clusterLogging") or []):
            for t in s.get("types") or []:
                (merged.add if s.get("enabled") else merged.discard)(t)
        from .clusters import logging_view

        new = logging_view(merged)
        if new == c["logging"]:
            raise ctx.invalid("No changes needed for the logging config provided")
        return await _start(env, key, c, "LoggingUpdate", [("ClusterLogging", new["clusterLogging"])],
                            {"logging": new})
    if kind == "accessConfig":
        acc = v.struct(ctx, req, kind) or {}
        mode = v.string(ctx, acc, "authenticationMode", enum=model.AUTH_MODES)
        cur_mode = c["accessConfig"]["authenticationMode"]
        if mode is None or mode == cur_mode:
            raise ctx.invalid(f"Unsupported authentication mode update from {cur_mode} to {mode}")
        if model.AUTH_MODE_ORDER[mode] < model.AUTH_MODE_ORDER[cur_mode]:
            raise ctx.invalid(f"Unsupported authentication mode update from {cur_mode} to {mode}")
        return await _start(env, key, c, "AccessConfigUpdate", [("AuthenticationMode", mode)],
                            {"accessConfig": {"authenticationMode": mode}})
    if kind == "upgradePolicy":
        up = v.struct(ctx, req, kind) or {}
        support = v.string(ctx, up, "supportType", required_=True, enum=("STANDARD", "EXTENDED"))
        return await _start(env, key, c, "UpgradePolicyUpdate", [("UpgradePolicy", {"supportType": support})],
                            {"upgradePolicy": {"supportType": support}})
    if kind == "deletionProtection":
        dp = v.boolean(ctx, req, kind)
        return await _start(env, key, c, "DeletionProtectionUpdate", [("DeletionProtection", dp)],
                            {"deletionProtection": dp})
    if kind == "zonalShiftConfig":
        z = v.struct(ctx, req, kind) or {}
        enabled = v.boolean(ctx, z, "enabled")
        return await _start(env, key, c, "ZonalShiftConfigUpdate", [("ZonalShiftConfig", {"enabled": enabled})],
                            {"zonalShiftConfig": {"enabled": enabled}})
    raise ctx.invalid(f"Updating {kind} is not supported by this service")


async def describe_update(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    env.authorize(call, "eks:DescribeUpdate", env.cluster_arn(call, name))
    key, _ = env.cluster(call, name)
    u = env.state.get("eks-updates", model.child_key(key, req["updateId"]))
    nodegroup = req.get("nodegroupName") or ""
    if u is None or u["internal"].get("nodegroup", "") != nodegroup:
        raise errors.resource_not_found(f"No update found for ID: {req['updateId']}", clusterName=name,
                                        nodegroupName=nodegroup or None)
    return {"update": model.update_view(u)}


async def list_updates(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    ctx = v.Fields(clusterName=name)
    env.authorize(call, "eks:ListUpdates", env.cluster_arn(call, name))
    key, _ = env.cluster(call, name)
    nodegroup = req.get("nodegroupName") or ""
    if nodegroup and not env.state.has("eks-nodegroups", model.child_key(key, nodegroup)):
        raise errors.resource_not_found(f"No node group found for name: {nodegroup}.", clusterName=name,
                                        nodegroupName=nodegroup)
    ups = [u for u in env.state.values("eks-updates", key + "/") if u["internal"].get("nodegroup", "") == nodegroup]
    ups.sort(key=lambda u: (u["createdAt"], u["id"]))
    ids = [u["id"] for u in ups]
    items, token = page(ctx, ids, req.get("maxResults"), req.get("nextToken"))
    out: dict[str, Any] = {"updateIds": items}
    if token:
        out["nextToken"] = token
    return out


OPERATIONS = {"UpdateClusterVersion": update_cluster_version, "UpdateClusterConfig": update_cluster_config,
              "DescribeUpdate": describe_update, "ListUpdates": list_updates}
