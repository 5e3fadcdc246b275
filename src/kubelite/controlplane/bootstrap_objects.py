"""Objects every cluster starts with: the system namespaces, the `kubernetes` Service and its
endpoints, and the RBAC objects that give `system:masters` its power. Created (or repaired) at
every start through the stores, as Kubernetes' bootstrap controllers do.
"""

from __future__ import annotations

import logging

from kubelite.apiserver.server import APIServer
from kubelite.machinery import errors
from kubelite.registry.generic.store import WriteOptions

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


async def _ensure(server: APIServer, plural: str, group: str, namespace: str, obj: dict) -> None:
    store = server.store(plural, group)
    if await store.get_or_none(namespace, obj["metadata"]["name"]) is not None:
        return
    try:
        await store.create(namespace, obj, WriteOptions(field_manager="kubelite-bootstrap"))
    except errors.StatusError as e:
        if not errors.is_already_exists(e):
            raise


async def ensure(server: APIServer, *, advertise_address: str, port: int) -> None:
    for ns in SYSTEM_NAMESPACES:
        await _ensure(server, "namespaces", "", "", {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": ns, "labels": {
                                                         "kubernetes.io/metadata.name": ns}}})
    plan = server.options.plan
    await _ensure(server, "services", "", "default", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": plan.kubernetes_service_ip, "sessionAffinity": "None",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]}})
    endpoints = {"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": {"name": "kubernetes", "namespace": "default",
                              "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                 "subsets": [{"addresses": [{"ip": advertise_address}],
                              "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]}
    await _ensure(server, "endpoints", "", "default", endpoints)
    await _ensure(server, "endpointslices", "discovery.k8s.io", "default", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes",
                                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [advertise_address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})
    rbac = "rbac.authorization.k8s.io"
    await _ensure(server, "clusterroles", rbac, "", {
        "apiVersion": f"{rbac}/v1", "kind": "ClusterRole",
        "metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                     "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                  {"nonResourceURLs": ["*"], "verbs": ["*"]}]})
    await _ensure(server, "clusterrolebindings", rbac, "", {
        "apiVersion": f"{rbac}/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                     "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
        "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": rbac, "kind": "Group", "name": "system:masters"}]})
    # The in-process components. (They get least-privilege roles with the RBAC defaults; until then
    # cluster-admin.)
    for user in ("system:kube-controller-manager", "system:kube-scheduler"):
        name = user.replace("system:", "kubelite:")
        await _ensure(server, "clusterrolebindings", rbac, "", {
            "apiVersion": f"{rbac}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": rbac, "kind": "User", "name": user}]})
    for name, rules in DISCOVERY_ROLES.items():
        await _ensure(server, "clusterroles", rbac, "", {
            "apiVersion": f"{rbac}/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "rules": rules})
        await _ensure(server, "clusterrolebindings", rbac, "", {
            "apiVersion": f"{rbac}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": rbac, "kind": "Group", "name": g} for g in DISCOVERY_GROUPS[name]]})


DISCOVERY_ROLES = {
    "system:discovery": [{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                              "/openapi", "/openapi/*", "/readyz", "/version", "/version/"],
                          "verbs": ["get"]}],
    "system:public-info-viewer": [{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
                                   "verbs": ["get"]}],
    "system:basic-user": [{"apiGroups": ["authorization.k8s.io"],
                           "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                           "verbs": ["create"]},
                          {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"],
                           "verbs": ["create"]}],
}
DISCOVERY_GROUPS = {
    "system:discovery": ["system:authenticated"],
    "system:public-info-viewer": ["system:authenticated", "system:unauthenticated"],
    "system:basic-user": ["system:authenticated"],
}
