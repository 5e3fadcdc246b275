"""The built-in resources kubelite serves, in Kubernetes' discovery order."""

from __future__ import annotations

from .scheme import ALL_VERBS, CREATE_ONLY, Resource, Scheme, Subresource

GET_UPDATE_PATCH = ("get", "patch", "update")
GET_LIST = ("get", "list")


def _sub(name: str, kind: str, verbs=GET_UPDATE_PATCH, group: str | None = None,
         version: str | None = None) -> Subresource:
    """A subresource; without a group/version its response kind lives in the parent's group/version."""
    return Subresource(name, group, version or ("v1" if group is not None else None), kind, tuple(verbs))  # type: ignore[arg-type]


def build_scheme() -> Scheme:
    s = Scheme()
    core = "io.k8s.api.core.v1."

    def add(group, version, kind, plural, singular, namespaced, *, short=(), cats=(), verbs=ALL_VERBS,
            subs=(), message=None, stored=True):
        pkg = group.split(".")[0] if group else "core"
        if group.endswith(".k8s.io") and group not in ("rbac.authorization.k8s.io",):
            pkg = group[: -len(".k8s.io")].replace(".", "")
        if group == "rbac.authorization.k8s.io":
            pkg = "rbac"
        msg = message or f"io.k8s.api.{pkg}.{version}.{kind}"
        subs = tuple(Subresource(x.name, group if x.group is None else x.group,
                                 version if x.version is None else x.version, x.kind, x.verbs) for x in subs)
        return s.add(Resource(group, version, kind, plural, singular, namespaced, tuple(short), tuple(cats),
                              tuple(verbs), subs, msg, stored))

    # core/v1
    add("", "v1", "Binding", "bindings", "binding", True, verbs=CREATE_ONLY, stored=False)
    add("", "v1", "ConfigMap", "configmaps", "configmap", True, short=("cm",))
    add("", "v1", "Endpoints", "endpoints", "endpoints", True, short=("ep",))
    add("", "v1", "Event", "events", "event", True, short=("ev",))
    add("", "v1", "LimitRange", "limitranges", "limitrange", True, short=("limits",))
    add("", "v1", "Namespace", "namespaces", "namespace", False, short=("ns",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        subs=(_sub("finalize", "Namespace", ("update",)), _sub("status", "Namespace")))
    add("", "v1", "Node", "nodes", "node", False, short=("no",),
        subs=(_sub("proxy", "NodeProxyOptions", ("create", "delete", "get", "patch", "update")),
              _sub("status", "Node")))
    add("", "v1", "Pod", "pods", "pod", True, short=("po",), cats=("all",),
        subs=(_sub("attach", "PodAttachOptions", ("create", "get")),
              _sub("binding", "Binding", ("create",)),
              _sub("ephemeralcontainers", "Pod"),
              _sub("eviction", "Eviction", ("create",), group="policy"),
              _sub("exec", "PodExecOptions", ("create", "get")),
              _sub("log", "Pod", ("get",)),
              _sub("portforward", "PodPortForwardOptions", ("create", "get")),
              _sub("proxy", "PodProxyOptions", ("create", "delete", "get", "patch", "update")),
              _sub("resize", "Pod"),
              _sub("status", "Pod")))
    add("", "v1", "PodTemplate", "podtemplates", "podtemplate", True)
    add("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", True, short=("quota",),
        subs=(_sub("status", "ResourceQuota"),))
    add("", "v1", "Secret", "secrets", "secret", True)
    add("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True, short=("sa",),
        subs=(_sub("token", "TokenRequest", ("create",), group="authentication.k8s.io"),))
    add("", "v1", "Service", "services", "service", True, short=("svc",), cats=("all",),
        subs=(_sub("proxy", "ServiceProxyOptions", ("create", "delete", "get", "patch", "update")),
              _sub("status", "Service")))

    # apps/v1
    add("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", True)
    add("apps", "v1", "DaemonSet", "daemonsets", "daemonset", True, short=("ds",), cats=("all",),
        subs=(_sub("status", "DaemonSet"),))
    add("apps", "v1", "Deployment", "deployments", "deployment", True, short=("deploy",), cats=("all",),
        subs=(_sub("scale", "Scale", group="autoscaling"), _sub("status", "Deployment")))
    add("apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, short=("rs",), cats=("all",),
        subs=(_sub("scale", "Scale", group="autoscaling"), _sub("status", "ReplicaSet")))
    add("apps", "v1", "StatefulSet", "statefulsets", "statefulset", True, short=("sts",), cats=("all",),
        subs=(_sub("scale", "Scale", group="autoscaling"), _sub("status", "StatefulSet")))

    # events.k8s.io/v1
    add("events.k8s.io", "v1", "Event", "events", "event", True, short=("ev",))

    # authentication.k8s.io/v1
    add("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview", False,
        verbs=CREATE_ONLY, stored=False)
    add("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", False,
        verbs=CREATE_ONLY, stored=False)

    # authorization.k8s.io/v1
    add("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
        "localsubjectaccessreview", True, verbs=CREATE_ONLY, stored=False)
    add("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
        "selfsubjectaccessreview", False, verbs=CREATE_ONLY, stored=False)
    add("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
        "selfsubjectrulesreview", False, verbs=CREATE_ONLY, stored=False)
    add("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", "subjectaccessreview",
        False, verbs=CREATE_ONLY, stored=False)

    # autoscaling
    add("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler",
        True, short=("hpa",), cats=("all",), subs=(_sub("status", "HorizontalPodAutoscaler", version="v2",
                                                        group="autoscaling"),))
    add("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler",
        True, short=("hpa",), cats=("all",), subs=(_sub("status", "HorizontalPodAutoscaler", group="autoscaling"),))

    # batch/v1
    add("batch", "v1", "CronJob", "cronjobs", "cronjob", True, short=("cj",), cats=("all",),
        subs=(_sub("status", "CronJob", group="batch"),))
    add("batch", "v1", "Job", "jobs", "job", True, cats=("all",), subs=(_sub("status", "Job", group="batch"),))

    # certificates.k8s.io/v1
    add("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests",
        "certificatesigningrequest", False, short=("csr",),
        subs=(_sub("approval", "CertificateSigningRequest", group="certificates.k8s.io"),
              _sub("status", "CertificateSigningRequest", group="certificates.k8s.io")))

    # networking.k8s.io/v1
    add("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", False)
    add("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", True, short=("ing",),
        subs=(_sub("status", "Ingress", group="networking.k8s.io"),))
    add("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", True, short=("netpol",))

    # policy/v1
    add("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", True,
        short=("pdb",), subs=(_sub("status", "PodDisruptionBudget", group="policy"),))

    # rbac.authorization.k8s.io/v1
    for kind, plural, ns in (("ClusterRoleBinding", "clusterrolebindings", False),
                             ("ClusterRole", "clusterroles", False),
                             ("RoleBinding", "rolebindings", True),
                             ("Role", "roles", True)):
        add("rbac.authorization.k8s.io", "v1", kind, plural, kind.lower(), ns)

    # scheduling.k8s.io/v1
    add("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", False, short=("pc",))

    # coordination.k8s.io/v1
    add("coordination.k8s.io", "v1", "Lease", "leases", "lease", True)

    # discovery.k8s.io/v1
    add("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", True)

    # metrics.k8s.io/v1beta1 (served from node statistics, not stored)
    add("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", "", False, verbs=GET_LIST, stored=False,
        message="io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics")
    add("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", "", True, verbs=GET_LIST, stored=False,
        message="io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics")
    _ = core
    return s


SCHEME = build_scheme()
