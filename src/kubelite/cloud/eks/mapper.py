"""From an IAM identity to a Kubernetes user, as EKS maps it (pure).

Order, by the cluster's authentication mode: access entries (modes `API`,
`API_AND_CONFIG_MAP`), then the cluster creator (`CONFIG_MAP` mode: EKS makes the creator an
admin without any mapping, as `kubernetes-admin` in `system:masters`), then the `aws-auth`
ConfigMap (`mapRoles`, `mapUsers`, `mapAccounts`; modes `CONFIG_MAP`, `API_AND_CONFIG_MAP`).
ARNs compare case-insensitively on the canonical ARN (an assumed-role session is its role);
access entries for roles may carry a path, so roles match on account and name.

Usernames and groups are templates: `{{AccountID}}`, `{{SessionName}}` (`@` → `-`),
`{{SessionNameRaw}}`, `{{AccessKeyID}}`, `{{EC2PrivateDNSName}}` (the session name is a node
instance's id; the node's name comes from the service's instances).

Each access entry with access policies also puts the user in the group
`eks-access-entry:<principal ARN>`, which the RBAC bindings for its policies name (`rbac`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

from kubelite.cloud import arn as arns

log = logging.getLogger(__name__)

ACCESS_ENTRY_GROUP_PREFIX = "eks-access-entry:"
NODE_GROUPS = ["system:bootstrappers", "system:nodes"]


@dataclass
class User:
    username: str
    uid: str
    groups: list[str] = field(default_factory=list)
    extra: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"username": self.username, "uid": self.uid, "groups": list(self.groups), "extra": self.extra}


def entry_group(principal_arn: str) -> str:
    return ACCESS_ENTRY_GROUP_PREFIX + principal_arn


class TemplateError(Exception):
    pass


def render(template: str, principal: Any, node_name_for: Callable[[str], str | None]) -> str:
    session = principal.session_name
    out = template.replace("{{AccountID}}", principal.account)
    out = out.replace("{{SessionNameRaw}}", session).replace("{{SessionName}}", session.replace("@", "-"))
    out = out.replace("{{AccessKeyID}}", principal.access_key_id)
    if "{{EC2PrivateDNSName}}" in out:
        node = node_name_for(session) if session.startswith("i-") else None
        if not node:
            raise TemplateError(f"no instance {session!r} to render {{{{EC2PrivateDNSName}}}}")
        out = out.replace("{{EC2PrivateDNSName}}", node)
    if "{{" in out:
        raise TemplateError(f"unknown template in {template!r}")
    return out


def _same_principal(entry_arn: str, principal: Any) -> bool:
    canonical = principal.canonical_arn.lower()
    if entry_arn.lower() == canonical:
        return True
    p = arns.principal(entry_arn)
    if p is None or principal.kind != "assumed-role" or p.kind != "role":
        return False
    return p.account == principal.account and p.name.lower() == principal.name.lower()


def _parse_list(text: Any, what: str) -> list:
    if not text:
        return []
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        log.warning("aws-auth %s is not valid YAML: %s", what, e)
        return []
    return doc if isinstance(doc, list) else []


def identity(principal: Any) -> tuple[str, dict[str, list[str]]]:
    """The uid and `extra` aws-iam-authenticator attaches to every mapped user."""
    principal_id = principal.user_id.split(":", 1)[0]
    extra = {"arn": [principal.arn], "canonicalArn": [principal.canonical_arn],
             "sessionName": [principal.session_name], "accessKeyId": [principal.access_key_id],
             "principalId": [principal_id], "sigs.k8s.io/aws-iam-authenticator/principalId": [principal_id]}
    return f"aws-iam-authenticator:{principal.account}:{principal_id}", extra


def map_user(principal: Any, cluster: dict, entries: list[dict], aws_auth: dict | None,
             node_name_for: Callable[[str], str | None]) -> User | None:
    """The Kubernetes user for `principal` on `cluster`, or None (not mapped: Unauthorized)."""
    uid, extra = identity(principal)
    mode = (cluster.get("accessConfig") or {}).get("authenticationMode", "CONFIG_MAP")
    internal = cluster.get("internal") or {}
    try:
        if mode in ("API", "API_AND_CONFIG_MAP"):
            for e in entries:
                if _same_principal(e["principalArn"], principal):
                    username = render(e.get("username") or principal.arn, principal, node_name_for)
                    groups = list(e.get("kubernetesGroups") or [])
                    if e.get("type", "STANDARD") in ("EC2_LINUX", "EC2_WINDOWS", "HYBRID_LINUX"):
                        groups = list(dict.fromkeys(["system:bootstrappers", *groups]))
                    if e.get("associatedAccessPolicies"):
                        groups.append(entry_group(e["principalArn"]))
                    return User(username, uid, groups, extra)
        if mode in ("CONFIG_MAP",) and internal.get("creator") and \
                internal["creator"].lower() == principal.canonical_arn.lower():
            return User("kubernetes-admin", uid, ["system:masters"], extra)
        if mode in ("CONFIG_MAP", "API_AND_CONFIG_MAP") and aws_auth:
            canonical = principal.canonical_arn.lower()
            for m in _parse_list(aws_auth.get("mapRoles"), "mapRoles"):
                if isinstance(m, dict) and str(m.get("rolearn", "")).lower() == canonical:
                    return _mapped(m, principal, uid, extra, node_name_for)
            for m in _parse_list(aws_auth.get("mapUsers"), "mapUsers"):
                if isinstance(m, dict) and str(m.get("userarn", "")).lower() == canonical:
                    return _mapped(m, principal, uid, extra, node_name_for)
            if principal.account in [str(a) for a in _parse_list(aws_auth.get("mapAccounts"), "mapAccounts")]:
                return User(principal.canonical_arn, uid, [], extra)
    except TemplateError as e:
        log.info("cannot map %s: %s", principal.arn, e)
        return None
    return None


def _mapped(m: dict, principal: Any, uid: str, extra: dict, node_name_for: Callable[[str], str | None]) -> User:
    username = render(str(m.get("username") or principal.canonical_arn), principal, node_name_for)
    groups = [render(str(g), principal, node_name_for) for g in (m.get("groups") or [])]
    return User(username, uid, groups, extra)
