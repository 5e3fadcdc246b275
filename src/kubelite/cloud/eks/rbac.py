"""Access policies as RBAC (pure): the bindings that give each access entry's group
(`mapper.entry_group`) the ClusterRole its access policies stand for.

A cluster-scoped association becomes a ClusterRoleBinding; a namespace-scoped one a RoleBinding
in each named namespace (names may use `*` and `?` wildcards, matched against the namespaces
that exist). Every binding carries the label `cloud.kubelite.io/managed-by=eks-access-entries`
so the service can find and prune them; nothing else in the cluster is touched.
"""

from __future__ import annotations

import hashlib
import re

from .mapper import entry_group
from .model import ACCESS_POLICIES, access_policy_name

MANAGED_BY = "cloud.kubelite.io/managed-by"
MANAGER = "eks-access-entries"
ENTRY_LABEL = "cloud.kubelite.io/access-entry"
SELECTOR = f"{MANAGED_BY}={MANAGER}"
RBAC = "rbac.authorization.k8s.io"


def _wild(pattern: str, value: str) -> bool:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value) is not None


def entry_hash(principal_arn: str) -> str:
    return hashlib.sha256(principal_arn.encode()).hexdigest()[:12]


def _binding(kind: str, name: str, namespace: str, role: str, principal_arn: str) -> dict:
    md: dict = {"name": name, "labels": {MANAGED_BY: MANAGER, ENTRY_LABEL: entry_hash(principal_arn)},
                "annotations": {"cloud.kubelite.io/principal-arn": principal_arn}}
    if namespace:
        md["namespace"] = namespace
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": md,
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": entry_group(principal_arn)}]}


def desired_bindings(entries: list[dict], namespaces: list[str]) -> list[dict]:
    """ClusterRoleBindings and RoleBindings for every access policy association."""
    out: dict[tuple[str, str, str], dict] = {}
    for e in entries:
        h = entry_hash(e["principalArn"])
        for assoc in e.get("associatedAccessPolicies") or []:
            name = access_policy_name(assoc["policyArn"])
            role = ACCESS_POLICIES.get(name or "", "")
            if not role:
                continue
            binding_name = f"eks-access-entry-{h}-{name}"
            scope = assoc.get("accessScope") or {}
            if scope.get("type", "cluster") == "cluster":
                out[("ClusterRoleBinding", "", binding_name)] = _binding("ClusterRoleBinding", binding_name, "",
                                                                         role, e["principalArn"])
                continue
            for pattern in scope.get("namespaces") or []:
                for ns in namespaces:
                    if _wild(pattern, ns):
                        out[("RoleBinding", ns, binding_name)] = _binding("RoleBinding", binding_name, ns, role,
                                                                          e["principalArn"])
    return list(out.values())


def same(a: dict, b: dict) -> bool:
    return a.get("roleRef") == b.get("roleRef") and a.get("subjects") == b.get("subjects")
