"""Defaulting of API objects, as Kubernetes' `SetDefaults_*` functions do it on decode.

`apply_defaults(group, version, kind, obj)` fills unset fields in place. It is idempotent
(defaulting a defaulted object changes nothing) and a no-op for kinds without defaults. Objects
embedding a pod template get the pod spec defaults there too; Pods also get the Pod-only ones
(limits copied into requests, `enableServiceLinks`).

One module per group. May import: `kubelite.machinery`.
"""

from __future__ import annotations

from typing import Callable

from . import apps, autoscaling, batch, core, networking, rbac, scheduling

Defaulter = Callable[[dict], None]

DEFAULTERS: dict[tuple[str, str], Defaulter] = {
    ("", "Pod"): core.pod,
    ("", "PodTemplate"): core.pod_template_object,
    ("", "Service"): core.service,
    ("", "Namespace"): core.namespace,
    ("", "Secret"): core.secret,
    ("", "Node"): core.node,
    ("", "Endpoints"): core.endpoints,
    ("", "LimitRange"): core.limit_range,
    ("apps", "Deployment"): apps.deployment,
    ("apps", "ReplicaSet"): apps.replica_set,
    ("apps", "StatefulSet"): apps.stateful_set,
    ("apps", "DaemonSet"): apps.daemon_set,
    ("batch", "Job"): batch.job,
    ("batch", "CronJob"): batch.cron_job,
    ("networking.k8s.io", "NetworkPolicy"): networking.network_policy,
    ("networking.k8s.io", "IngressClass"): networking.ingress_class,
    ("discovery.k8s.io", "EndpointSlice"): networking.endpoint_slice,
    ("autoscaling", "HorizontalPodAutoscaler"): autoscaling.hpa_v2,
    ("rbac.authorization.k8s.io", "RoleBinding"): rbac.binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): rbac.binding,
    ("scheduling.k8s.io", "PriorityClass"): scheduling.priority_class,
}

VERSIONED_DEFAULTERS: dict[tuple[str, str, str], Defaulter] = {
    ("autoscaling", "v1", "HorizontalPodAutoscaler"): autoscaling.hpa_v1,
}


def defaulter_for(group: str, version: str, kind: str) -> Defaulter | None:
    return VERSIONED_DEFAULTERS.get((group, version, kind)) or DEFAULTERS.get((group, kind))


def apply_defaults(group: str, version: str, kind: str, obj: dict) -> None:
    """Fill in Kubernetes' defaults for `kind`, in place."""
    fn = defaulter_for(group, version, kind)
    if fn is not None and isinstance(obj, dict):
        fn(obj)


__all__ = ["apply_defaults", "defaulter_for", "DEFAULTERS"]
