"""TagResource, UntagResource, ListTagsForResource on clusters, node groups and access entries
(tagging is allowed while an update is in progress, as on EKS)."""

from __future__ import annotations

from kubelite.cloud import arn as arns
from kubelite.cloud.api import errors
from kubelite.cloud.api.gateway import Call

from . import validation as v
from .service import EKSEnv

TABLES = {"cluster": ("eks-clusters", "arn"), "nodegroup": ("eks-nodegroups", "nodegroupArn"),
          "access-entry": ("eks-access-entries", "accessEntryArn")}


def _resource(env: EKSEnv, call: Call, resource_arn: str) -> tuple[str, str, dict]:
    a = arns.parse(resource_arn)
    if a is None or a.service != "eks" or a.resource_type not in TABLES:
        raise errors.bad_request(f"Invalid ARN: {resource_arn}")
    if a.account != call.principal.account or a.region != call.region:
        raise errors.not_found()
    table, field = TABLES[a.resource_type]
    prefix = f"{a.account}/{a.region}/"
    for key, obj in env.state.items(table, prefix):
        if obj.get(field) == resource_arn:
            return table, key, obj
    raise errors.not_found()


async def tag_resource(env: EKSEnv, call: Call, req: dict) -> dict:
    arn = req["resourceArn"]
    tags = v.string_map(v.Fields(), req, "tags")
    if not tags:
        raise errors.bad_request("1 validation error detected: Value null at 'tags' failed to satisfy constraint: "
                                 "Member must not be null" if tags is None else "The tags map must not be empty")
    env.authorize(call, "eks:TagResource", arn)
    table, key, obj = _resource(env, call, arn)
    merged = dict(obj.get("tags") or {})
    merged.update(tags)
    try:
        v.check_tags(v.Fields(), merged)
    except errors.ServiceError as e:
        raise errors.bad_request(e.message) from None
    obj["tags"] = merged
    await env.state.put(table, key, obj)
    return {}


async def untag_resource(env: EKSEnv, call: Call, req: dict) -> dict:
    arn = req["resourceArn"]
    keys = req.get("tagKeys")
    if not keys:
        raise errors.bad_request("1 validation error detected: Value null at 'tagKeys' failed to satisfy "
                                 "constraint: Member must not be null")
    keys = keys if isinstance(keys, list) else [keys]
    env.authorize(call, "eks:UntagResource", arn)
    table, key, obj = _resource(env, call, arn)
    obj["tags"] = {k: val for k, val in (obj.get("tags") or {}).items() if k not in keys}
    await env.state.put(table, key, obj)
    return {}


async def list_tags_for_resource(env: EKSEnv, call: Call, req: dict) -> dict:
    arn = req["resourceArn"]
    env.authorize(call, "eks:ListTagsForResource", arn)
    _, _, obj = _resource(env, call, arn)
    return {"tags": obj.get("tags") or {}}


OPERATIONS = {"TagResource": tag_resource, "UntagResource": untag_resource,
              "ListTagsForResource": list_tags_for_resource}
