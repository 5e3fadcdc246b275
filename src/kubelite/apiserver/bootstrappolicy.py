"""The default RBAC policy every cluster starts with (Kubernetes' bootstrap policy): the user-facing
roles (cluster-admin, admin, edit, view, built by aggregation), the discovery roles, and the roles
of the components that run beside the API server, each with only what it needs.
"""

from __future__ import annotations

RBAC = "rbac.authorization.k8s.io"
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]


def rule(groups, resources, verbs, names=None) -> dict:
    r = {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs)}
    if names:
        r["resourceNames"] = list(names)
    return r


def nonresource(urls, verbs) -> dict:
    return {"nonResourceURLs": list(urls), "verbs": list(verbs)}


VIEW_RULES = [
    rule([""], ["pods", "pods/log", "pods/status", "replicationcontrollers", "replicationcontrollers/scale",
                "replicationcontrollers/status", "services", "services/status", "endpoints", "persistentvolumeclaims",
                "persistentvolumeclaims/status", "configmaps", "serviceaccounts", "limitranges", "resourcequotas",
                "resourcequotas/status", "events", "bindings", "namespaces", "namespaces/status"], READ),
    rule(["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                    "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets",
                    "statefulsets/scale", "statefulsets/status"], READ),
    rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], READ),
    rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], READ),
    rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], READ),
    rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], READ),
    rule(["discovery.k8s.io"], ["endpointslices"], READ),
    rule(["events.k8s.io"], ["events"], READ),
    rule(["metrics.k8s.io"], ["pods", "nodes"], READ),
]

EDIT_RULES = [
    rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], WRITE),
    rule([""], ["pods/eviction"], ["create"]),
    rule([""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy",
                "endpoints"], WRITE),
    rule([""], ["serviceaccounts/token"], ["create"]),
    rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"], READ),
    rule([""], ["serviceaccounts"], ["impersonate"]),
    rule(["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                    "replicasets/scale", "statefulsets", "statefulsets/scale"], WRITE),
    rule(["autoscaling"], ["horizontalpodautoscalers"], WRITE),
    rule(["batch"], ["cronjobs", "jobs"], WRITE),
    rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], WRITE),
    rule(["policy"], ["poddisruptionbudgets"], WRITE),
    rule(["discovery.k8s.io"], ["endpointslices"], WRITE),
    rule(["coordination.k8s.io"], ["leases"], READ + WRITE),
]

ADMIN_RULES = [
    rule([RBAC], ["rolebindings", "roles"], READ + WRITE),
    rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
]

SCHEDULER_RULES = [
    rule(["", "events.k8s.io"], ["events"], ["create", "patch", "update"]),
    rule(["coordination.k8s.io"], ["leases"], ["create", "get", "list", "watch", "update", "patch"]),
    rule([""], ["endpoints"], ["create", "get", "update"]),
    rule([""], ["nodes"], READ),
    rule([""], ["pods"], ["delete", "get", "list", "watch"]),
    rule([""], ["bindings", "pods/binding"], ["create"]),
    rule([""], ["pods/status"], ["patch", "update"]),
    rule([""], ["replicationcontrollers", "services", "namespaces", "persistentvolumeclaims",
                "persistentvolumes"], READ),
    rule(["apps"], ["replicasets", "statefulsets"], READ),
    rule(["policy"], ["poddisruptionbudgets"], READ),
    rule(["scheduling.k8s.io"], ["priorityclasses"], READ),
    rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
]

# The controller manager runs every controller; together they read and reconcile every resource
# (the garbage collector and namespace controller delete anything). They never escalate, bind or
# impersonate.
CONTROLLER_MANAGER_RULES = [
    rule(["*"], ["*"], READ + WRITE),
    # the ClusterRole aggregation controller writes aggregated rules (Kubernetes grants it escalate)
    rule([RBAC], ["clusterroles"], ["escalate", "bind"]),
    rule([""], ["serviceaccounts/token"], ["create"]),
    rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
]

PROXIER_RULES = [
    rule([""], ["endpoints", "services", "nodes"], READ),
    rule(["discovery.k8s.io"], ["endpointslices"], READ),
    rule(["", "events.k8s.io"], ["events"], ["create", "patch", "update"]),
]

DNS_RULES = [
    rule([""], ["endpoints", "services", "pods", "namespaces"], ["list", "watch"]),
    rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"]),
]

# What every node may do regardless of which pods it runs (the Node authorizer adds object-level
# checks for secrets, configmaps and service account tokens; NodeRestriction limits writes).
NODE_RULES = [
    rule([""], ["nodes"], ["create", "get", "list", "watch", "update", "patch", "delete"]),
    rule([""], ["nodes/status"], ["patch", "update"]),
    rule(["", "events.k8s.io"], ["events"], ["create", "patch", "update"]),
    rule([""], ["pods"], ["get", "list", "watch", "create", "delete"]),
    rule([""], ["pods/status"], ["patch", "update"]),
    rule([""], ["pods/eviction"], ["create"]),
    rule([""], ["services", "endpoints"], READ),
    rule(["discovery.k8s.io"], ["endpointslices"], READ),
    rule(["coordination.k8s.io"], ["leases"], ["get", "create", "update", "patch", "delete"]),
    rule(["certificates.k8s.io"], ["certificatesigningrequests"], ["create", "get", "list", "watch"]),
    rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    rule(["authorization.k8s.io"], ["subjectaccessreviews", "localsubjectaccessreviews"], ["create"]),
]


def _role(name: str, rules: list[dict] | None = None, labels: dict | None = None,
          aggregate_from: list[str] | None = None) -> dict:
    md = {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults", **(labels or {})},
          "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}
    obj = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": md}
    if aggregate_from is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {lbl: "true"}} for lbl in aggregate_from]}
        obj["rules"] = []
    else:
        obj["rules"] = rules or []
    return obj


def _binding(name: str, role: str, subjects: list[dict]) -> dict:
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role}, "subjects": subjects}


def user(name: str) -> dict:
    return {"apiGroup": RBAC, "kind": "User", "name": name}


def group(name: str) -> dict:
    return {"apiGroup": RBAC, "kind": "Group", "name": name}


AGG = "rbac.authorization.k8s.io/aggregate-to-"


def cluster_roles() -> list[dict]:
    return [
        _role("cluster-admin", [rule(["*"], ["*"], ["*"]), nonresource(["*"], ["*"])]),
        _role("admin", aggregate_from=[AGG + "admin"]),
        _role("edit", aggregate_from=[AGG + "edit"], labels={AGG + "admin": "true"}),
        _role("view", aggregate_from=[AGG + "view"], labels={AGG + "edit": "true"}),
        _role("system:aggregate-to-admin", ADMIN_RULES, labels={AGG + "admin": "true"}),
        _role("system:aggregate-to-edit", EDIT_RULES, labels={AGG + "edit": "true"}),
        _role("system:aggregate-to-view", VIEW_RULES, labels={AGG + "view": "true"}),
        _role("system:discovery", [nonresource(["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                                 "/openapi", "/openapi/*", "/readyz", "/version", "/version/"],
                                                ["get"])]),
        _role("system:public-info-viewer", [nonresource(["/healthz", "/livez", "/readyz", "/version", "/version/"],
                                                         ["get"])]),
        _role("system:basic-user", [
            rule(["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], ["create"]),
            rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"])]),
        _role("system:monitoring", [nonresource(["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics",
                                                  "/readyz", "/readyz/*"], ["get"])]),
        _role("system:kube-scheduler", SCHEDULER_RULES),
        _role("system:kube-controller-manager", CONTROLLER_MANAGER_RULES),
        _role("system:node-proxier", PROXIER_RULES),
        _role("system:kube-dns", DNS_RULES),
        _role("system:node", NODE_RULES),
    ]


def cluster_role_bindings() -> list[dict]:
    return [
        _binding("cluster-admin", "cluster-admin", [group("system:masters")]),
        _binding("system:discovery", "system:discovery", [group("system:authenticated")]),
        _binding("system:public-info-viewer", "system:public-info-viewer",
                 [group("system:authenticated"), group("system:unauthenticated")]),
        _binding("system:basic-user", "system:basic-user", [group("system:authenticated")]),
        _binding("system:monitoring", "system:monitoring", [group("system:monitoring")]),
        _binding("system:kube-scheduler", "system:kube-scheduler", [user("system:kube-scheduler")]),
        _binding("system:kube-controller-manager", "system:kube-controller-manager",
                 [user("system:kube-controller-manager")]),
        _binding("system:node-proxier", "system:node-proxier", [user("system:kube-proxy")]),
        _binding("system:kube-dns", "system:kube-dns", [user("system:kube-dns")]),
    ]
