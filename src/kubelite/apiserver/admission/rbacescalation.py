"""RBAC escalation prevention: nobody may create or change a Role/ClusterRole granting permissions
they do not hold (unless allowed to `escalate` it), nor bind a role whose permissions they do not
hold (unless allowed to `bind` it) — Kubernetes' rule, with its message.
"""

from __future__ import annotations

from typing import Callable

from kubelite.machinery import errors
from kubelite.registry.generic.store import AdmissionAttributes, UserInfo

from ..authz import ALLOW, Attributes, RBACAuthorizer

RBAC = "rbac.authorization.k8s.io"


def _atoms(rule: dict) -> list[tuple]:
    out = []
    if rule.get("nonResourceURLs"):
        for u in rule["nonResourceURLs"]:
            for v in rule.get("verbs") or []:
                out.append(("nonresource", u, v))
        return out
    for g in rule.get("apiGroups") or [""]:
        for r in rule.get("resources") or []:
            for v in rule.get("verbs") or []:
                for n in rule.get("resourceNames") or [""]:
                    out.append(("resource", g, r, v, n))
    return out


def _covered(atom: tuple, rules: list[dict]) -> bool:
    for rule in rules:
        verbs = rule.get("verbs") or []
        if atom[0] == "nonresource":
            _, url, verb = atom
            if not ("*" in verbs or verb in verbs):
                continue
            for u in rule.get("nonResourceURLs") or []:
                if u == "*" or u == url or (u.endswith("*") and url.startswith(u[:-1])):
                    return True
            continue
        _, g, r, v, n = atom
        if not ("*" in verbs or v in verbs):
            continue
        groups = rule.get("apiGroups") or []
        if not ("*" in groups or g in groups):
            continue
        resources = rule.get("resources") or []
        sub = r.split("/", 1)[1] if "/" in r else ""
        if not ("*" in resources or r in resources or (sub and f"*/{sub}" in resources)):
            continue
        names = rule.get("resourceNames") or []
        if names and (not n or n not in names):
            continue
        return True
    return False


def _fmt(rule: dict) -> str:
    if rule.get("nonResourceURLs"):
        return f'{{NonResourceURLs:{rule["nonResourceURLs"]}, Verbs:{rule.get("verbs")}}}'.replace("'", '"')
    s = f'{{APIGroups:{rule.get("apiGroups") or [""]}, Resources:{rule.get("resources")}'
    if rule.get("resourceNames"):
        s += f', ResourceNames:{rule["resourceNames"]}'
    return (s + f', Verbs:{rule.get("verbs")}}}').replace("'", '"')


class RBACEscalation:
    def __init__(self, authorizer: RBACAuthorizer, role_rules: Callable[[str, str, str], list[dict] | None]):
        """`role_rules(kind, namespace, name)` returns a referenced role's rules (None if missing)."""
        self.authorizer = authorizer
        self.role_rules = role_rules

    async def admit(self, a: AdmissionAttributes) -> None:
        return None

    def _allowed(self, user: UserInfo, verb: str, plural: str, ns: str, name: str) -> bool:
        d, _ = self.authorizer.authorize(Attributes(user, verb, ns, RBAC, plural, "", name, True))
        return d == ALLOW

    def _check_rules(self, user: UserInfo, rules: list[dict], ns: str, what: str, name: str, plural: str) -> None:
        held = self.authorizer.rules_for(user, ns) if "system:masters" not in user.groups else None
        if held is None:
            return
        missing = [rule for rule in rules if not all(_covered(at, held) for at in _atoms(rule))]
        if missing:
            groups = ",".join(f'"{g}"' for g in user.groups)
            msg = (f'user "{user.username}" (groups=[{groups}]) is attempting to grant RBAC permissions not '
                   f'currently held:\n' + "\n".join(_fmt(r) for r in missing))
            raise errors.new_forbidden(RBAC, plural, name, msg)

    async def validate(self, a: AdmissionAttributes) -> None:
        if a.resource.group != RBAC or a.operation not in ("CREATE", "UPDATE") or a.user is None:
            return
        obj = a.obj or {}
        kind = a.resource.kind
        ns = a.namespace if a.resource.namespaced else ""
        name = (obj.get("metadata") or {}).get("name", "")
        if kind in ("Role", "ClusterRole"):
            if self._allowed(a.user, "escalate", a.resource.plural, ns, name):
                return
            self._check_rules(a.user, list(obj.get("rules") or []), ns, kind, name, a.resource.plural)
        elif kind in ("RoleBinding", "ClusterRoleBinding"):
            ref = obj.get("roleRef") or {}
            ref_plural = "clusterroles" if ref.get("kind") == "ClusterRole" else "roles"
            if self._allowed(a.user, "bind", ref_plural, ns if ref_plural == "roles" else ns, ref.get("name", "")):
                return
            rules = self.role_rules(ref.get("kind", ""), ns, ref.get("name", ""))
            if rules is None:
                return  # binding to a missing role grants nothing (Kubernetes allows it)
            self._check_rules(a.user, rules, ns, kind, name, a.resource.plural)
