"""The `aws-auth` ConfigMap, as EKS writes it for node and Fargate roles: one `mapRoles` entry per
role, on the role's canonical ARN (the path dropped: aws-auth matches an assumed role's session on
its canonical ARN), added once and never duplicated."""

from __future__ import annotations

import yaml

from kubelite.cloud import arn as arns
from kubelite.machinery import errors as kerrors

NAMESPACE = "kube-system"


async def map_role(client, role_arn: str, username: str, groups: list[str]) -> None:
    p = arns.principal(role_arn)
    canonical = arns.iam(p.account, f"role/{p.name}") if p else role_arn
    try:
        cm = await client.get("configmaps", "aws-auth", NAMESPACE)
    except kerrors.StatusError as e:
        if not kerrors.is_not_found(e):
            raise
        cm = None
    roles = yaml.safe_load((cm or {}).get("data", {}).get("mapRoles") or "[]") or []
    if any(isinstance(r, dict) and str(r.get("rolearn", "")).lower() == canonical.lower() for r in roles):
        return
    roles.append({"rolearn": canonical, "username": username, "groups": list(groups)})
    data = dict((cm or {}).get("data") or {})
    data["mapRoles"] = yaml.safe_dump(roles, sort_keys=False)
    if cm is None:
        await client.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": "aws-auth", "namespace": NAMESPACE},
                                           "data": data}, NAMESPACE)
    else:
        cm["data"] = data
        await client.update("configmaps", cm, NAMESPACE)
