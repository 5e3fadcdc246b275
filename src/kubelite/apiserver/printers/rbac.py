"""Printers for rbac.authorization.k8s.io/v1 bindings.

Role and ClusterRole have no printer of their own: they get the default table.
"""

from __future__ import annotations

from datetime import datetime

from .columns import AGE, NAME, Column, Printer, wide
from .format import created, meta


def _columns(what: str) -> tuple[Column, ...]:
    return (
        NAME,
        Column("Role", "string", "The role bound, as kind/name."),
        AGE,
        wide("Users", f"Users named in the {what}."),
        wide("Groups", f"Groups named in the {what}."),
        wide("ServiceAccounts", f"Service accounts named in the {what}, as namespace/name."),
    )


ROLEBINDING_COLUMNS = _columns("role binding")
CLUSTERROLEBINDING_COLUMNS = _columns("cluster role binding")


def subjects(binding: dict) -> tuple[list[str], list[str], list[str]]:
    """Users, groups and service accounts (`namespace/name`) of a binding's subjects."""
    users, groups, service_accounts = [], [], []
    for s in binding.get("subjects") or []:
        kind = s.get("kind")
        if kind == "ServiceAccount":
            service_accounts.append(f"{s.get('namespace', '')}/{s.get('name', '')}")
        elif kind == "User":
            users.append(s.get("name", ""))
        elif kind == "Group":
            groups.append(s.get("name", ""))
    return users, groups, service_accounts


def binding_cells(binding: dict, now: datetime) -> list:
    ref = binding.get("roleRef") or {}
    users, groups, service_accounts = subjects(binding)
    return [meta(binding).get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}", created(binding, now),
            ", ".join(users), ", ".join(groups), ", ".join(service_accounts)]


PRINTERS = {
    ("rbac.authorization.k8s.io", "RoleBinding"): Printer(ROLEBINDING_COLUMNS, binding_cells),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): Printer(CLUSTERROLEBINDING_COLUMNS, binding_cells),
}
