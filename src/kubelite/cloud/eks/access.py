"""Access entries and access policies: CreateAccessEntry, DescribeAccessEntry,
ListAccessEntries, UpdateAccessEntry, DeleteAccessEntry, AssociateAccessPolicy,
DisassociateAccessPolicy, ListAssociatedAccessPolicies, ListAccessPolicies.

An entry maps an IAM principal to a Kubernetes user (see `mapper`); the access policies
associated with it become RBAC bindings in the cluster (see `rbac`), which the controller keeps
in step after every change.
"""

from __future__ import annotations

from typing import Any

from kubelite.cloud import arn as arns
from kubelite.cloud.api import errors
from kubelite.cloud.api.gateway import Call

from . import model
from . import validation as v
from .service import EKSEnv, page

NOT_FOUND = ("The specified principalArn could not be found. You can view your available access entries with "
             "'list-access-entries'.")


def entry_view(e: dict) -> dict:
    return {k: e[k] for k in ("clusterName", "principalArn", "kubernetesGroups", "accessEntryArn", "createdAt",
                              "modifiedAt", "tags", "username", "type") if k in e}


def _require_api_mode(cluster: dict) -> None:
    mode = cluster["accessConfig"]["authenticationMode"]
    if mode not in ("API", "API_AND_CONFIG_MAP"):
        raise errors.invalid_request("The cluster's authentication mode must be set to one of [API, "
                                     "API_AND_CONFIG_MAP] to perform this operation.", clusterName=cluster["name"])


def _principal(ctx: v.Fields, value: str) -> arns.IAMPrincipal:
    p = arns.principal(value)
    if p is None or p.kind not in ("user", "role"):
        raise ctx.invalid(f"The principalArn parameter format is not valid: {value}")
    return p


def default_username(principal_arn: str, type_: str) -> str:
    p = arns.principal(principal_arn)
    if type_ in ("EC2_LINUX", "EC2_WINDOWS", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX"):
        return "system:node:{{EC2PrivateDNSName}}" if type_ != "HYBRID_LINUX" else "system:node:{{SessionName}}"
    if type_ == "FARGATE_LINUX":
        return "system:node:{{SessionName}}"
    if p is not None and p.kind == "role":
        return arns.sts_assumed_role(p.account, p.name, "{{SessionName}}")
    return principal_arn


def default_groups(type_: str) -> list[str]:
    if type_ in ("EC2_LINUX", "EC2_WINDOWS", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX", "FARGATE_LINUX"):
        return ["system:nodes"]
    return []


async def grant_role(env: EKSEnv, cluster_key: str, cluster: dict, role_arn: str, type_: str) -> None:
    """The access entry EKS makes for a node or Fargate role, when the cluster uses access entries and
    the role has none yet."""
    if cluster["accessConfig"]["authenticationMode"] in ("API", "API_AND_CONFIG_MAP") and not any(
            e["principalArn"] == role_arn for e in env.state.values("eks-access-entries", cluster_key + "/")):
        await put_entry(env, cluster_key, cluster, role_arn, type_=type_)


async def put_entry(env: EKSEnv, cluster_key: str, cluster: dict, principal_arn: str, *,
                    type_: str = "STANDARD", username: str = "", groups: list[str] | None = None,
                    tags: dict | None = None, policies: list[dict] | None = None) -> dict:
    """Create an access entry (no checks: callers validate; CreateCluster and CreateNodegroup use it)."""
    p = arns.principal(principal_arn)
    now = env.now()
    kind, name = (p.kind, p.name) if p else ("user", principal_arn)
    e: dict[str, Any] = {
        "clusterName": cluster["name"], "principalArn": principal_arn,
        "kubernetesGroups": list(groups) if groups is not None else default_groups(type_),
        "accessEntryArn": arns.eks(cluster["internal"]["region"], cluster["internal"]["account"],
                                   f"access-entry/{cluster['name']}/{kind}/{p.account if p else ''}/{name}/"
                                   f"{env.ids.uuid()}"),
        "createdAt": now, "modifiedAt": now, "tags": dict(tags or {}),
        "username": username or default_username(principal_arn, type_), "type": type_,
        "associatedAccessPolicies": [{**pol, "associatedAt": now, "modifiedAt": now} for pol in (policies or [])],
    }
    await env.state.put("eks-access-entries", model.child_key(cluster_key, principal_arn), e)
    env.kick("cluster", cluster_key)
    return e


def _entry(env: EKSEnv, cluster_key: str, principal_arn: str, cluster: str) -> tuple[str, dict]:
    key = model.child_key(cluster_key, principal_arn)
    e = env.state.get("eks-access-entries", key)
    if e is None:
        raise errors.resource_not_found(NOT_FOUND, clusterName=cluster)
    return key, e


async def create_access_entry(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    ctx = v.Fields(clusterName=name)
    principal_arn = v.string(ctx, req, "principalArn", required_=True) or ""
    env.authorize(call, "eks:CreateAccessEntry", env.cluster_arn(call, name))
    key, c = env.cluster(call, name)
    _require_api_mode(c)
    p = _principal(ctx, principal_arn)
    type_ = v.string(ctx, req, "type", enum=model.ACCESS_ENTRY_TYPES) or "STANDARD"
    username = v.string(ctx, req, "username") or ""
    groups = v.strings(ctx, req, "kubernetesGroups")
    tags = v.tags(ctx, req) or {}
    if type_ != "STANDARD":
        if p.kind != "role":
            raise ctx.invalid(f"The principalArn must be an IAM role for access entries of type {type_}.")
        if username or groups:
            raise ctx.invalid(f"The username and kubernetesGroups cannot be specified for access entries of "
                              f"type {type_}.")
    if username.startswith(model.RESERVED_USERNAME_PREFIXES):
        raise ctx.invalid(f"The username {username} can't start with system:, eks:, aws:, amazon:, or iam:.")
    for g in groups or []:
        if g.startswith("system:"):
            raise ctx.invalid(f"The kubernetesGroups value {g} can't start with system:.")
    if env.state.has("eks-access-entries", model.child_key(key, principal_arn)):
        raise errors.resource_in_use("The specified access entry resource is already in use on this cluster.",
                                     clusterName=name)
    e = await put_entry(env, key, c, principal_arn, type_=type_, username=username, groups=groups, tags=tags)
    return {"accessEntry": entry_view(e)}


async def describe_access_entry(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    env.authorize(call, "eks:DescribeAccessEntry", env.cluster_arn(call, name))
    key, _ = env.cluster(call, name)
    _, e = _entry(env, key, req["principalArn"], name)
    return {"accessEntry": entry_view(e)}


async def list_access_entries(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    ctx = v.Fields(clusterName=name)
    env.authorize(call, "eks:ListAccessEntries", env.cluster_arn(call, name))
    key, c = env.cluster(call, name)
    _require_api_mode(c)
    entries = env.state.values("eks-access-entries", key + "/")
    policy = req.get("associatedPolicyArn")
    if policy:
        entries = [e for e in entries if any(a["policyArn"] == policy for a in e["associatedAccessPolicies"])]
    items, token = page(ctx, sorted(e["principalArn"] for e in entries), req.get("maxResults"),
                        req.get("nextToken"))
    out: dict[str, Any] = {"accessEntries": items}
    if token:
        out["nextToken"] = token
    return out


async def update_access_entry(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    ctx = v.Fields(clusterName=name)
    env.authorize(call, "eks:UpdateAccessEntry", env.cluster_arn(call, name))
    key, _ = env.cluster(call, name)
    ekey, e = _entry(env, key, req["principalArn"], name)
    username = v.string(ctx, req, "username")
    groups = v.strings(ctx, req, "kubernetesGroups")
    if e["type"] != "STANDARD" and (username or groups is not None):
        raise ctx.invalid(f"The username and kubernetesGroups cannot be updated for access entries of type "
                          f"{e['type']}.")
    if username:
        if username.startswith(model.RESERVED_USERNAME_PREFIXES):
            raise ctx.invalid(f"The username {username} can't start with system:, eks:, aws:, amazon:, or iam:.")
        e["username"] = username
    if groups is not None:
        e["kubernetesGroups"] = groups
    e["modifiedAt"] = env.now()
    await env.state.put("eks-access-entries", ekey, e)
    env.kick("cluster", key)
    return {"accessEntry": entry_view(e)}


async def delete_access_entry(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    env.authorize(call, "eks:DeleteAccessEntry", env.cluster_arn(call, name))
    key, _ = env.cluster(call, name)
    ekey, _ = _entry(env, key, req["principalArn"], name)
    await env.state.delete("eks-access-entries", ekey)
    env.kick("cluster", key)
    return {}


def _scope(ctx: v.Fields, req: dict) -> dict:
    scope = v.struct(ctx, req, "accessScope", required_=True) or {}
    type_ = v.string(ctx, scope, "type", required_=True, enum=("cluster", "namespace"))
    namespaces = v.strings(ctx, scope, "namespaces") or []
    if type_ == "namespace" and not namespaces:
        raise ctx.invalid("At least one namespace must be specified when the access scope type is namespace.")
    if type_ == "cluster" and namespaces:
        raise ctx.invalid("Namespaces can't be specified when the access scope type is cluster.")
    return {"type": type_, "namespaces": namespaces}


async def associate_access_policy(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    ctx = v.Fields(clusterName=name)
    policy_arn = v.string(ctx, req, "policyArn", required_=True) or ""
    scope = _scope(ctx, req)
    env.authorize(call, "eks:AssociateAccessPolicy", env.cluster_arn(call, name))
    key, _ = env.cluster(call, name)
    ekey, e = _entry(env, key, req["principalArn"], name)
    if model.access_policy_name(policy_arn) is None:
        raise errors.resource_not_found(f"The specified policy {policy_arn} could not be found. You can view "
                                        f"available policies with 'list-access-policies'.", clusterName=name)
    if e["type"] != "STANDARD":
        raise errors.invalid_request(f"Access policies can't be associated with access entries of type "
                                     f"{e['type']}.", clusterName=name)
    now = env.now()
    assoc = next((a for a in e["associatedAccessPolicies"] if a["policyArn"] == policy_arn), None)
    if assoc is None:
        assoc = {"policyArn": policy_arn, "accessScope": scope, "associatedAt": now, "modifiedAt": now}
        e["associatedAccessPolicies"].append(assoc)
    else:
        assoc.update(accessScope=scope, modifiedAt=now)
    await env.state.put("eks-access-entries", ekey, e)
    env.kick("cluster", key)
    return {"clusterName": name, "principalArn": e["principalArn"], "associatedAccessPolicy": assoc}


async def disassociate_access_policy(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    env.authorize(call, "eks:DisassociateAccessPolicy", env.cluster_arn(call, name))
    key, _ = env.cluster(call, name)
    ekey, e = _entry(env, key, req["principalArn"], name)
    before = len(e["associatedAccessPolicies"])
    e["associatedAccessPolicies"] = [a for a in e["associatedAccessPolicies"] if a["policyArn"] != req["policyArn"]]
    if len(e["associatedAccessPolicies"]) == before:
        raise errors.resource_not_found(f"The specified policy {req['policyArn']} is not associated with this "
                                        f"access entry.", clusterName=name)
    await env.state.put("eks-access-entries", ekey, e)
    env.kick("cluster", key)
    return {}


async def list_associated_access_policies(env: EKSEnv, call: Call, req: dict) -> dict:
    name = req["name"]
    ctx = v.Fields(clusterName=name)
    env.authorize(call, "eks:ListAssociatedAccessPolicies", env.cluster_arn(call, name))
    key, _ = env.cluster(call, name)
    _, e = _entry(env, key, req["principalArn"], name)
    by_arn = {a["policyArn"]: a for a in e["associatedAccessPolicies"]}
    items, token = page(ctx, sorted(by_arn), req.get("maxResults"), req.get("nextToken"))
    out: dict[str, Any] = {"clusterName": name, "principalArn": e["principalArn"],
                           "associatedAccessPolicies": [by_arn[a] for a in items]}
    if token:
        out["nextToken"] = token
    return out


async def list_access_policies(env: EKSEnv, call: Call, req: dict) -> dict:
    env.authorize(call, "eks:ListAccessPolicies", "*")
    names = sorted(model.ACCESS_POLICIES)
    items, token = page(v.Fields(), names, req.get("maxResults"), req.get("nextToken"))
    out: dict[str, Any] = {"accessPolicies": [{"name": n, "arn": model.access_policy_arn(n)} for n in items]}
    if token:
        out["nextToken"] = token
    return out


OPERATIONS = {
    "CreateAccessEntry": create_access_entry, "DescribeAccessEntry": describe_access_entry,
    "ListAccessEntries": list_access_entries, "UpdateAccessEntry": update_access_entry,
    "DeleteAccessEntry": delete_access_entry, "AssociateAccessPolicy": associate_access_policy,
    "DisassociateAccessPolicy": disassociate_access_policy,
    "ListAssociatedAccessPolicies": list_associated_access_policies, "ListAccessPolicies": list_access_policies,
}
