"""Validation of API objects, as Kubernetes' `pkg/apis/<group>/validation` does it.

Pure functions over plain JSON dicts. Each returns a list of `FieldError`s whose paths and
detail texts are Kubernetes' own, because kubectl prints them (`metadata.name: Required value:
name or generateName is required`). The registry turns a non-empty list into one `Invalid`
StatusError.

- `validate_create`: ObjectMeta (name format per kind, namespace by scope, labels, annotations,
  owner references, finalizers) plus the kind's own rules.
- `validate_update`: ObjectMeta update rules (name, namespace, uid... unchanged), the kind's rules
  on the new object, and the kind's immutability rules against the old one.
- `validate_status_update`: ObjectMeta update rules and the kind's status rules.

One module per group (`core`, `apps`, ...); `meta` and `names` hold the shared pieces.
May import: `kubelite.machinery`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from kubelite.machinery.errors import FieldError

from . import (apps, authorization, autoscaling, batch, certificates, coordination, core, networking, pod, policy,
               rbac, scheduling, service)
from .meta import NameFn, validate_object_meta, validate_object_meta_update
from .names import (name_any, name_is_dns1035_label, name_is_dns_label, name_is_dns_subdomain,
                    name_is_path_segment)

Body = Callable[[dict], list[FieldError]]
Pair = Callable[[dict, dict], list[FieldError]]


@dataclass(frozen=True)
class Rules:
    """How one kind is validated."""

    name: NameFn = name_is_dns_subdomain
    body: Body | None = None          # on create and on update (new object)
    create: Body | None = None        # create only
    update: Pair | None = None        # update only (immutability), given (new, old)
    update_body: Pair | None = None   # replaces `body` on update when the rules need the old object
    status: Pair | None = None        # status updates, given (new, old)
    meta: bool = True                 # False for kinds without a stored ObjectMeta (reviews, Binding)


def _selector_immutable(new: dict, old: dict) -> list[FieldError]:
    return apps.selector_immutable(new, old)


_R = Rules
RULES: dict[tuple[str, str], Rules] = {
    # core/v1
    ("", "Pod"): _R(body=pod.validate_pod, create=pod.validate_pod_create, update=pod.validate_pod_update,
                    status=pod.validate_pod_status_update),
    ("", "PodTemplate"): _R(body=core.validate_pod_template),
    ("", "Service"): _R(name=name_is_dns1035_label, body=service.validate_service,
                        update=service.validate_service_update, status=service.validate_service_status),
    ("", "Namespace"): _R(name=name_is_dns_label, body=core.validate_namespace,
                          status=core.validate_namespace_status),
    ("", "ConfigMap"): _R(body=core.validate_config_map, update=core.validate_config_map_update),
    ("", "Secret"): _R(body=core.validate_secret, update=core.validate_secret_update),
    ("", "Node"): _R(body=core.validate_node, update=core.validate_node_update, status=core.validate_node_status),
    ("", "Endpoints"): _R(body=core.validate_endpoints),
    ("", "Event"): _R(body=core.validate_event),
    ("", "LimitRange"): _R(body=core.validate_limit_range),
    ("", "ResourceQuota"): _R(body=core.validate_resource_quota, status=core.validate_resource_quota_status),
    ("", "ServiceAccount"): _R(),
    ("", "Binding"): _R(body=core.validate_binding, meta=False),
    # apps/v1
    ("apps", "Deployment"): _R(body=apps.validate_deployment, update=_selector_immutable,
                               status=apps.validate_deployment_status),
    ("apps", "ReplicaSet"): _R(body=apps.validate_replica_set, update=_selector_immutable,
                               status=apps.validate_replica_set_status),
    ("apps", "StatefulSet"): _R(name=name_is_dns_label, body=apps.validate_stateful_set,
                                update=apps.validate_stateful_set_update, status=apps.validate_stateful_set_status),
    ("apps", "DaemonSet"): _R(body=apps.validate_daemon_set, update=_selector_immutable,
                              status=apps.validate_daemon_set_status),
    ("apps", "ControllerRevision"): _R(body=apps.validate_controller_revision,
                                       update=apps.validate_controller_revision_update),
    # batch/v1
    ("batch", "Job"): _R(body=batch.validate_job, update=batch.validate_job_update, status=batch.validate_job_status),
    ("batch", "CronJob"): _R(body=batch.validate_cron_job, create=batch.validate_cron_job_create,
                             update_body=batch.validate_cron_job_update),
    # events.k8s.io/v1
    ("events.k8s.io", "Event"): _R(body=core.validate_events_v1),
    # networking.k8s.io/v1, discovery.k8s.io/v1
    ("networking.k8s.io", "Ingress"): _R(body=networking.validate_ingress, status=networking.validate_ingress_status),
    ("networking.k8s.io", "IngressClass"): _R(body=networking.validate_ingress_class,
                                              update=networking.validate_ingress_class_update),
    ("networking.k8s.io", "NetworkPolicy"): _R(body=networking.validate_network_policy),
    ("discovery.k8s.io", "EndpointSlice"): _R(body=networking.validate_endpoint_slice,
                                              update=networking.validate_endpoint_slice_update),
    # policy/v1, autoscaling
    ("policy", "PodDisruptionBudget"): _R(body=policy.validate_pod_disruption_budget,
                                          status=policy.validate_pod_disruption_budget_status),
    ("autoscaling", "HorizontalPodAutoscaler"): _R(body=autoscaling.validate_hpa_v2,
                                                   status=autoscaling.validate_hpa_status),
    # rbac.authorization.k8s.io/v1
    ("rbac.authorization.k8s.io", "Role"): _R(name=name_is_path_segment, body=rbac.validate_role),
    ("rbac.authorization.k8s.io", "ClusterRole"): _R(name=name_is_path_segment, body=rbac.validate_cluster_role),
    ("rbac.authorization.k8s.io", "RoleBinding"): _R(name=name_is_path_segment, body=rbac.validate_role_binding,
                                                     update=rbac.validate_binding_update),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _R(name=name_is_path_segment,
                                                            body=rbac.validate_cluster_role_binding,
                                                            update=rbac.validate_binding_update),
    # scheduling, coordination, certificates
    ("scheduling.k8s.io", "PriorityClass"): _R(body=scheduling.validate_priority_class,
                                               update=scheduling.validate_priority_class_update),
    ("coordination.k8s.io", "Lease"): _R(body=coordination.validate_lease),
    ("certificates.k8s.io", "CertificateSigningRequest"): _R(name=name_any, body=certificates.validate_csr,
                                                             status=certificates.validate_csr_status),
    # reviews: virtual, never stored
    ("authorization.k8s.io", "SubjectAccessReview"): _R(body=authorization.validate_subject_access_review,
                                                        meta=False),
    ("authorization.k8s.io", "SelfSubjectAccessReview"): _R(
        body=authorization.validate_self_subject_access_review, meta=False),
    ("authorization.k8s.io", "LocalSubjectAccessReview"): _R(
        body=authorization.validate_local_subject_access_review, meta=False),
    ("authorization.k8s.io", "SelfSubjectRulesReview"): _R(meta=False),
    ("authentication.k8s.io", "TokenReview"): _R(meta=False),
    ("authentication.k8s.io", "SelfSubjectReview"): _R(meta=False),
    ("metrics.k8s.io", "NodeMetrics"): _R(meta=False),
    ("metrics.k8s.io", "PodMetrics"): _R(meta=False),
}

# Kinds whose rules differ between served versions.
VERSIONED_RULES: dict[tuple[str, str, str], Rules] = {
    ("autoscaling", "v1", "HorizontalPodAutoscaler"): _R(body=autoscaling.validate_hpa_v1,
                                                         status=autoscaling.validate_hpa_status),
}

_GENERIC = Rules()


def _unique(errs: list[FieldError]) -> list[FieldError]:
    """Drop repeated errors, as Kubernetes' aggregate does when it prints them."""
    seen: set[str] = set()
    out = []
    for e in errs:
        m = e.message()
        if m not in seen:
            seen.add(m)
            out.append(e)
    return out


def rules_for(group: str, version: str, kind: str) -> Rules:
    return VERSIONED_RULES.get((group, version, kind)) or RULES.get((group, kind)) or _GENERIC


def validate_create(group: str, version: str, kind: str, obj: dict, *, namespaced: bool) -> list[FieldError]:
    r = rules_for(group, version, kind)
    errs: list[FieldError] = []
    if r.meta:
        errs += validate_object_meta(obj.get("metadata"), namespaced=namespaced, name_fn=r.name)
    if r.body:
        errs += r.body(obj)
    if r.create:
        errs += r.create(obj)
    return _unique(errs)


def validate_update(group: str, version: str, kind: str, new: dict, old: dict, *, namespaced: bool
                    ) -> list[FieldError]:
    r = rules_for(group, version, kind)
    errs: list[FieldError] = []
    if r.meta:
        errs += validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    if r.update_body:
        errs += r.update_body(new, old)
    elif r.body:
        errs += r.body(new)
    if r.update:
        errs += r.update(new, old)
    return _unique(errs)


def validate_status_update(group: str, version: str, kind: str, new: dict, old: dict, *, namespaced: bool
                           ) -> list[FieldError]:
    r = rules_for(group, version, kind)
    errs: list[FieldError] = []
    if r.meta:
        errs += validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    if r.status:
        errs += r.status(new, old)
    return _unique(errs)


__all__ = ["validate_create", "validate_update", "validate_status_update", "rules_for", "Rules", "RULES"]
