"""Authorization: may this user do this? RBAC as Kubernetes evaluates it, over the watch caches of
Roles, ClusterRoles, RoleBindings and ClusterRoleBindings (so a decision never touches storage).

Members of `system:masters` may do everything (Kubernetes' superuser group). Aggregated
ClusterRoles (`aggregationRule`) are expanded at evaluation time from the labelled ClusterRoles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from kubelite.machinery import labels

from kubelite.registry.generic.store import UserInfo


@dataclass
class Attributes:
    user: UserInfo
    verb: str
    namespace: str = ""
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    is_resource_request: bool = True
    path: str = ""


ALLOW = "allow"
NO_OPINION = "no-opinion"


def _verb_matches(rule: dict, verb: str) -> bool:
    vs = rule.get("verbs") or []
    return "*" in vs or verb in vs


def _group_matches(rule: dict, group: str) -> bool:
    gs = rule.get("apiGroups") or []
    return "*" in gs or group in gs


def _resource_matches(rule: dict, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for r in rule.get("resources") or []:
        if r == "*" or r == combined:
            return True
        if subresource and r == f"*/{subresource}":
            return True
    return False


def _name_matches(rule: dict, name: str) -> bool:
    names = rule.get("resourceNames") or []
    if not names:
        return True
    return bool(name) and name in names


def _non_resource_matches(rule: dict, path: str) -> bool:
    for u in rule.get("nonResourceURLs") or []:
        if u == "*" or u == path:
            return True
        if u.endswith("*") and path.startswith(u[:-1]):
            return True
    return False


def rule_allows(rule: dict, a: Attributes) -> bool:
    if not _verb_matches(rule, a.verb):
        return False
    if a.is_resource_request:
        return (_group_matches(rule, a.api_group) and _resource_matches(rule, a.resource, a.subresource)
                and _name_matches(rule, a.name))
    return _non_resource_matches(rule, a.path)


ObjectsFn = Callable[[], Iterable[dict]]


def _subject_key(subject: dict, binding_namespace: str) -> tuple | None:
    kind = subject.get("kind")
    name = subject.get("name", "")
    if kind in ("User", "Group"):
        return (kind, name)
    if kind == "ServiceAccount":
        return ("ServiceAccount", subject.get("namespace") or binding_namespace, name)
    return None


def _user_keys(user: UserInfo) -> list[tuple]:
    keys: list[tuple] = [("User", user.username)] + [("Group", g) for g in user.groups]
    parts = user.username.split(":")
    if len(parts) == 4 and parts[0] == "system" and parts[1] == "serviceaccount":
        keys.append(("ServiceAccount", parts[2], parts[3]))
    return keys


class _Index:
    """Bindings by subject and roles by name, rebuilt when any RBAC object changes, so a decision
    costs O(the user's groups) and not O(every binding in the cluster)."""

    def __init__(self, roles, cluster_roles, role_bindings, cluster_role_bindings):
        self.cluster_roles = {r["metadata"]["name"]: r for r in cluster_roles}
        self.roles = {(r["metadata"].get("namespace", ""), r["metadata"]["name"]): r for r in roles}
        self.crb: dict[tuple, list[dict]] = {}
        for b in cluster_role_bindings:
            for s in b.get("subjects") or []:
                k = _subject_key(s, "")
                if k is not None:
                    self.crb.setdefault(k, []).append(b)
        self.rb: dict[str, dict[tuple, list[dict]]] = {}
        for b in role_bindings:
            ns = b["metadata"].get("namespace", "")
            for s in b.get("subjects") or []:
                k = _subject_key(s, ns)
                if k is not None:
                    self.rb.setdefault(ns, {}).setdefault(k, []).append(b)
        self._expanded: dict[str, list[dict]] = {}

    def cluster_role_rules(self, name: str) -> list[dict]:
        rules = self._expanded.get(name)
        if rules is None:
            rules = self._expanded[name] = self._expand(name, set())
        return rules

    def _expand(self, name: str, seen: set[str]) -> list[dict]:
        """A ClusterRole's rules, aggregated ones included transitively (the aggregation
        controller stores the same union; expanding here keeps decisions right before it runs)."""
        role = self.cluster_roles.get(name)
        if role is None or name in seen:
            return []
        seen.add(name)
        rules: list[dict] = list(role.get("rules") or [])
        agg = role.get("aggregationRule")
        if agg:
            for sel in agg.get("clusterRoleSelectors") or []:
                try:
                    s = labels.selector_from_label_selector(sel)
                except labels.SelectorError:
                    continue
                for other_name, other in self.cluster_roles.items():
                    if other_name != name and s.matches(other["metadata"].get("labels")):
                        rules.extend(self._expand(other_name, seen))
        return rules

    def role_rules(self, namespace: str, name: str) -> list[dict]:
        r = self.roles.get((namespace, name))
        return list(r.get("rules") or []) if r is not None else []

    def cluster_bindings_for(self, user: UserInfo) -> list[dict]:
        out: dict[int, dict] = {}
        for k in _user_keys(user):
            for b in self.crb.get(k, ()):
                out[id(b)] = b
        return list(out.values())

    def bindings_for(self, user: UserInfo, namespace: str) -> list[dict]:
        by_subject = self.rb.get(namespace)
        if not by_subject:
            return []
        out: dict[int, dict] = {}
        for k in _user_keys(user):
            for b in by_subject.get(k, ()):
                out[id(b)] = b
        return list(out.values())

    def binding_rules(self, b: dict, namespace: str) -> list[dict]:
        ref = b.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole":
            return self.cluster_role_rules(ref.get("name", ""))
        return self.role_rules(namespace, ref.get("name", ""))


class RBACAuthorizer:
    def __init__(self, *, roles: ObjectsFn, cluster_roles: ObjectsFn, role_bindings: ObjectsFn,
                 cluster_role_bindings: ObjectsFn, version: Callable[[], object] | None = None):
        """`version()` changes whenever any RBAC object does (e.g. the watch caches' revisions);
        without it the index is rebuilt for every decision."""
        self._roles = roles
        self._cluster_roles = cluster_roles
        self._role_bindings = role_bindings
        self._cluster_role_bindings = cluster_role_bindings
        self._version = version
        self._index: _Index | None = None
        self._index_version: object = object()

    def index(self) -> _Index:
        v = self._version() if self._version is not None else None
        if self._index is None or v is None or v != self._index_version:
            self._index = _Index(self._roles(), self._cluster_roles(), self._role_bindings(),
                                 self._cluster_role_bindings())
            self._index_version = v
        return self._index

    def _cluster_role_rules(self, name: str) -> list[dict]:
        return self.index().cluster_role_rules(name)

    def rules_for(self, user: UserInfo, namespace: str) -> list[dict]:
        """Every rule that applies to `user` in `namespace` (cluster-wide rules included)."""
        idx = self.index()
        rules: list[dict] = []
        for b in idx.cluster_bindings_for(user):
            rules.extend(idx.cluster_role_rules(b.get("roleRef", {}).get("name", "")))
        if namespace:
            for b in idx.bindings_for(user, namespace):
                rules.extend(idx.binding_rules(b, namespace))
        return rules

    def authorize(self, a: Attributes) -> tuple[str, str]:
        if "system:masters" in a.user.groups:
            return ALLOW, ""
        idx = self.index()
        for b in idx.cluster_bindings_for(a.user):
            name = b.get("roleRef", {}).get("name", "")
            for rule in idx.cluster_role_rules(name):
                if rule_allows(rule, a):
                    return ALLOW, f'RBAC: allowed by ClusterRoleBinding "{b["metadata"]["name"]}" of ' \
                                  f'ClusterRole "{name}" to User "{a.user.username}"'
        if a.namespace and a.is_resource_request:
            for b in idx.bindings_for(a.user, a.namespace):
                ref = b.get("roleRef") or {}
                for rule in idx.binding_rules(b, a.namespace):
                    if rule_allows(rule, a):
                        return ALLOW, f'RBAC: allowed by RoleBinding "{b["metadata"]["name"]}/{a.namespace}" ' \
                                      f'of {ref.get("kind")} "{ref.get("name")}" to User "{a.user.username}"'
        return NO_OPINION, ""


def forbidden_message(a: Attributes) -> str:
    """Kubernetes' Forbidden wording, e.g. `User "bob" cannot list resource "pods" in API group "" in the
    namespace "default"`."""
    if not a.is_resource_request:
        return f'User "{a.user.username}" cannot {a.verb} path "{a.path}"'
    res = f'{a.resource}/{a.subresource}' if a.subresource else a.resource
    msg = f'User "{a.user.username}" cannot {a.verb} resource "{res}" in API group "{a.api_group}"'
    if a.namespace:
        msg += f' in the namespace "{a.namespace}"'
    else:
        msg += " at the cluster scope"
    return msg


def _pod_references(pod: dict) -> dict[str, set[str]]:
    """Secrets, ConfigMaps, PVCs and the service account a pod uses."""
    spec = pod.get("spec") or {}
    refs: dict[str, set[str]] = {"secrets": set(), "configmaps": set(), "persistentvolumeclaims": set(),
                                 "serviceaccounts": {spec.get("serviceAccountName") or "default"}}
    for s in spec.get("imagePullSecrets") or []:
        refs["secrets"].add(s.get("name", ""))
    for v in spec.get("volumes") or []:
        if "secret" in v:
            refs["secrets"].add((v["secret"] or {}).get("secretName", ""))
        if "configMap" in v:
            refs["configmaps"].add((v["configMap"] or {}).get("name", ""))
        if "persistentVolumeClaim" in v:
            refs["persistentvolumeclaims"].add((v["persistentVolumeClaim"] or {}).get("claimName", ""))
        for src in ((v.get("projected") or {}).get("sources") or []):
            if "secret" in src:
                refs["secrets"].add((src["secret"] or {}).get("name", ""))
            if "configMap" in src:
                refs["configmaps"].add((src["configMap"] or {}).get("name", ""))
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []) + \
            (spec.get("ephemeralContainers") or []):
        for e in c.get("env") or []:
            vf = e.get("valueFrom") or {}
            if "secretKeyRef" in vf:
                refs["secrets"].add((vf["secretKeyRef"] or {}).get("name", ""))
            if "configMapKeyRef" in vf:
                refs["configmaps"].add((vf["configMapKeyRef"] or {}).get("name", ""))
        for ef in c.get("envFrom") or []:
            if "secretRef" in ef:
                refs["secrets"].add((ef["secretRef"] or {}).get("name", ""))
            if "configMapRef" in ef:
                refs["configmaps"].add((ef["configMapRef"] or {}).get("name", ""))
    return refs


class NodeAuthorizer:
    """Kubernetes' Node authorizer: a node (`system:node:<name>` in `system:nodes`) may read the
    Secrets, ConfigMaps and PVCs of pods bound to it and request tokens for their service accounts;
    everything else it may do comes from the static node rules."""

    def __init__(self, pods: ObjectsFn, node_rules: list[dict]):
        self._pods = pods
        self.node_rules = node_rules

    @staticmethod
    def node_of(user: UserInfo) -> str | None:
        if "system:nodes" in user.groups and user.username.startswith("system:node:"):
            return user.username[len("system:node:"):]
        return None

    def authorize(self, a: Attributes) -> tuple[str, str]:
        node = self.node_of(a.user)
        if node is None:
            return NO_OPINION, ""
        graph = {"secrets", "configmaps", "persistentvolumeclaims"}
        if a.is_resource_request and a.api_group == "" and a.resource in graph and not a.subresource:
            if a.verb not in ("get", "list", "watch") or not a.name:
                return NO_OPINION, ""
            for pod in self._pods():
                md = pod.get("metadata") or {}
                if md.get("namespace") == a.namespace and (pod.get("spec") or {}).get("nodeName") == node and \
                        a.name in _pod_references(pod)[a.resource]:
                    return ALLOW, f'node "{node}" uses {a.resource} "{a.namespace}/{a.name}"'
            return NO_OPINION, f'no relationship found between node "{node}" and this object'
        if a.is_resource_request and a.resource == "serviceaccounts" and a.subresource == "token":
            if a.verb != "create":
                return NO_OPINION, ""
            for pod in self._pods():
                md = pod.get("metadata") or {}
                if md.get("namespace") == a.namespace and (pod.get("spec") or {}).get("nodeName") == node and \
                        a.name in _pod_references(pod)["serviceaccounts"]:
                    return ALLOW, ""
            return NO_OPINION, ""
        for rule in self.node_rules:
            if rule_allows(rule, a):
                return ALLOW, f'node "{node}" is allowed by the node rules'
        return NO_OPINION, ""


class Authorizers:
    """The authorizer chain: the first ALLOW wins (Node, then RBAC)."""

    def __init__(self, node: NodeAuthorizer, rbac: RBACAuthorizer):
        self.node = node
        self.rbac = rbac

    def authorize(self, a: Attributes) -> tuple[str, str]:
        d, reason = self.node.authorize(a)
        if d == ALLOW:
            return d, reason
        return self.rbac.authorize(a)

    def rules_for(self, user: UserInfo, namespace: str) -> list[dict]:
        rules = self.rbac.rules_for(user, namespace)
        if self.node.node_of(user) is not None:
            rules = list(self.node.node_rules) + rules
        return rules
