"""Defaulting: minimal objects come out as Kubernetes v1.32 writes them."""

from __future__ import annotations

import copy

import pytest

from kubelite.api.defaults import apply_defaults
from kubelite.api.defaults.core import image_tag, namespace_finalizers_on_create

POD_SPEC_DEFAULTS = {
    "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "securityContext": {},
    "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler",
}
CONTAINER_DEFAULTS = {
    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "resources": {},
}


def defaulted(group: str, version: str, kind: str, obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    apply_defaults(group, version, kind, obj)
    return obj


def test_kubectl_create_deployment_gets_kubernetes_defaults():
    # kubectl create deployment web --image=nginx:1.25 --replicas=2 --port=80 (kubectl-contract §11.1)
    sent = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                                       "ports": [{"containerPort": 80}], "resources": {}}]}},
                 "strategy": {}},
    }
    assert defaulted("apps", "v1", "Deployment", sent)["spec"] == {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
            "spec": {
                "containers": [{"name": "nginx", "image": "nginx:1.25",
                                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                "imagePullPolicy": "IfNotPresent", **CONTAINER_DEFAULTS}],
                **POD_SPEC_DEFAULTS,
            },
        },
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }


def test_kubectl_run_pod_gets_pod_only_defaults():
    # kubectl run p1 --image=busybox --labels=app=p1 -- sleep 3600 (kubectl-contract §11.2)
    sent = {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": "p1", "creationTimestamp": None, "labels": {"app": "p1"}},
            "spec": {"containers": [{"name": "p1", "image": "busybox", "args": ["sleep", "3600"], "resources": {}}],
                     "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"},
            "status": {}}
    out = defaulted("", "v1", "Pod", sent)
    assert out["spec"] == {
        "containers": [{"name": "p1", "image": "busybox", "args": ["sleep", "3600"],
                        "imagePullPolicy": "Always", **CONTAINER_DEFAULTS}],
        **POD_SPEC_DEFAULTS,
        "enableServiceLinks": True,
    }
    assert out["status"] == {} and out["metadata"] == sent["metadata"]


def test_kubectl_expose_service_gets_defaults():
    # kubectl expose deployment web --port=80 --target-port=8080 (kubectl-contract §11.3)
    sent = {"kind": "Service", "apiVersion": "v1", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"ports": [{"protocol": "TCP", "port": 80, "targetPort": 8080}], "selector": {"app": "web"}},
            "status": {"loadBalancer": {}}}
    assert defaulted("", "v1", "Service", sent)["spec"] == {
        "ports": [{"protocol": "TCP", "port": 80, "targetPort": 8080}], "selector": {"app": "web"},
        "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
    }


@pytest.mark.parametrize("image,policy", [
    ("nginx", "Always"),
    ("nginx:latest", "Always"),
    ("nginx:1.25", "IfNotPresent"),
    ("localhost:5000/app", "Always"),
    ("localhost:5000/app:v1", "IfNotPresent"),
    ("registry.example.com/team/app:latest", "Always"),
    ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
    ("busybox:1.36@sha256:" + "b" * 64, "IfNotPresent"),
], ids=["untagged", "latest", "tagged", "registry-port-untagged", "registry-port-tagged", "path-latest",
        "digest-only", "tag-and-digest"])
def test_image_pull_policy(image, policy):
    pod = defaulted("", "v1", "Pod", {"spec": {"containers": [{"name": "c", "image": image}]}})
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_image_tag_parses_like_kubernetes():
    assert image_tag("nginx") == "latest"
    assert image_tag("a/b:c") == "c"
    assert image_tag("") == ""


POD_CASES = [
    ("probe-defaults",
     {"containers": [{"name": "c", "image": "i:1", "livenessProbe": {"httpGet": {"port": 80}},
                      "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 5}}]},
     lambda s: (s["containers"][0]["livenessProbe"] == {
         "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10,
         "successThreshold": 1, "failureThreshold": 3}
         and s["containers"][0]["readinessProbe"]["periodSeconds"] == 5)),
    ("limits-copied-into-requests",
     {"containers": [{"name": "c", "image": "i:1",
                      "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}}],
      "initContainers": [{"name": "i", "image": "i:1", "resources": {"limits": {"cpu": "2"}}}]},
     lambda s: (s["containers"][0]["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
                and s["initContainers"][0]["resources"]["requests"] == {"cpu": "2"})),
    ("env-field-ref-api-version",
     {"containers": [{"name": "c", "image": "i:1", "env": [
         {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
         {"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]}]},
     lambda s: (s["containers"][0]["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "metadata.name",
                                                                         "apiVersion": "v1"}
                and s["containers"][0]["env"][1]["valueFrom"]["resourceFieldRef"]["divisor"] == "0")),
    ("volume-defaults",
     {"containers": [{"name": "c", "image": "i:1"}],
      "volumes": [{"name": "a", "configMap": {"name": "cm"}}, {"name": "b", "secret": {"secretName": "s"}},
                  {"name": "c"}, {"name": "d", "hostPath": {"path": "/x"}},
                  {"name": "e", "downwardAPI": {"items": [{"path": "p", "fieldRef": {"fieldPath": "metadata.name"}}]}},
                  {"name": "f", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
                  {"name": "g", "secret": {"secretName": "s", "defaultMode": 256}}]},
     lambda s: s["volumes"] == [
         {"name": "a", "configMap": {"name": "cm", "defaultMode": 420}},
         {"name": "b", "secret": {"secretName": "s", "defaultMode": 420}},
         {"name": "c", "emptyDir": {}},
         {"name": "d", "hostPath": {"path": "/x", "type": ""}},
         {"name": "e", "downwardAPI": {"defaultMode": 420, "items": [
             {"path": "p", "fieldRef": {"fieldPath": "metadata.name", "apiVersion": "v1"}}]}},
         {"name": "f", "projected": {"defaultMode": 420, "sources": [
             {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]}},
         {"name": "g", "secret": {"secretName": "s", "defaultMode": 256}}]),
    ("host-network-host-ports",
     {"hostNetwork": True, "containers": [{"name": "c", "image": "i:1", "ports": [{"containerPort": 8080}]}]},
     lambda s: s["containers"][0]["ports"] == [{"containerPort": 8080, "protocol": "TCP", "hostPort": 8080}]),
    ("explicit-values-kept",
     {"restartPolicy": "Never", "dnsPolicy": "Default", "terminationGracePeriodSeconds": 0,
      "schedulerName": "mine", "enableServiceLinks": False,
      "containers": [{"name": "c", "image": "i", "imagePullPolicy": "Never"}]},
     lambda s: (s["restartPolicy"], s["dnsPolicy"], s["terminationGracePeriodSeconds"], s["schedulerName"],
                s["enableServiceLinks"], s["containers"][0]["imagePullPolicy"])
     == ("Never", "Default", 0, "mine", False, "Never")),
]


@pytest.mark.parametrize("spec,check", [(c[1], c[2]) for c in POD_CASES], ids=[c[0] for c in POD_CASES])
def test_pod_spec_defaults(spec, check):
    assert check(defaulted("", "v1", "Pod", {"spec": spec})["spec"])


def test_templates_do_not_get_pod_only_defaults():
    rs = defaulted("apps", "v1", "ReplicaSet", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "i:1", "resources": {"limits": {"cpu": "1"}}}]}}}})
    spec = rs["spec"]["template"]["spec"]
    assert "enableServiceLinks" not in spec
    assert spec["containers"][0]["resources"] == {"limits": {"cpu": "1"}}
    assert rs["spec"]["replicas"] == 1


WORKLOADS = [
    ("statefulset", "apps", "v1", "StatefulSet",
     {"spec": {"serviceName": "db", "template": {"spec": {"containers": [{"name": "c", "image": "i:1"}]}},
               "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}},
     lambda o: (o["spec"]["podManagementPolicy"] == "OrderedReady"
                and o["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
                and o["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain",
                                                                          "whenScaled": "Retain"}
                and o["spec"]["replicas"] == 1 and o["spec"]["revisionHistoryLimit"] == 10
                and o["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
                and o["spec"]["volumeClaimTemplates"][0]["status"] == {"phase": "Pending"}
                and o["spec"]["template"]["spec"]["restartPolicy"] == "Always")),
    ("daemonset", "apps", "v1", "DaemonSet",
     {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i:1"}]}}}},
     lambda o: (o["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
                and o["spec"]["revisionHistoryLimit"] == 10)),
    ("daemonset-ondelete", "apps", "v1", "DaemonSet",
     {"spec": {"updateStrategy": {"type": "OnDelete"}, "template": {"spec": {"containers": []}}}},
     lambda o: o["spec"]["updateStrategy"] == {"type": "OnDelete"}),
    ("deployment-recreate", "apps", "v1", "Deployment",
     {"spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"containers": []}}}},
     lambda o: o["spec"]["strategy"] == {"type": "Recreate"}),
    ("job", "batch", "v1", "Job",
     {"metadata": {"name": "j"}, "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {
         "restartPolicy": "Never", "containers": [{"name": "c", "image": "i:1"}]}}}},
     lambda o: ((o["spec"]["completions"], o["spec"]["parallelism"], o["spec"]["backoffLimit"],
                 o["spec"]["completionMode"], o["spec"]["suspend"], o["spec"]["podReplacementPolicy"])
                == (1, 1, 6, "NonIndexed", False, "TerminatingOrFailed")
                and o["metadata"]["labels"] == {"a": "b"}
                and o["spec"]["template"]["spec"]["restartPolicy"] == "Never")),
    ("job-parallel", "batch", "v1", "Job",
     {"spec": {"parallelism": 3, "template": {"spec": {"containers": []}}}},
     lambda o: "completions" not in o["spec"] and o["spec"]["parallelism"] == 3),
    ("job-completions-only", "batch", "v1", "Job",
     {"spec": {"completions": 5, "template": {"spec": {"containers": []}}}},
     lambda o: o["spec"]["completions"] == 5 and o["spec"]["parallelism"] == 1),
    ("job-pod-failure-policy", "batch", "v1", "Job",
     {"spec": {"podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]},
               "backoffLimitPerIndex": 1, "completionMode": "Indexed", "completions": 2,
               "template": {"spec": {"containers": []}}}},
     lambda o: (o["spec"]["podReplacementPolicy"] == "Failed" and o["spec"]["backoffLimit"] == 2147483647
                and o["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"] == "True")),
    ("cronjob", "batch", "v1", "CronJob",
     {"spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
         "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}},
     lambda o: ((o["spec"]["concurrencyPolicy"], o["spec"]["suspend"], o["spec"]["successfulJobsHistoryLimit"],
                 o["spec"]["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
                and "backoffLimit" not in o["spec"]["jobTemplate"]["spec"]
                and o["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"]
                == "Always")),
    ("podtemplate", "", "v1", "PodTemplate",
     {"template": {"spec": {"containers": [{"name": "c", "image": "i:2"}]}}},
     lambda o: o["template"]["spec"]["schedulerName"] == "default-scheduler"),
]


@pytest.mark.parametrize("group,version,kind,obj,check", [w[1:] for w in WORKLOADS], ids=[w[0] for w in WORKLOADS])
def test_workload_defaults(group, version, kind, obj, check):
    assert check(defaulted(group, version, kind, obj))


SERVICE_CASES = [
    ("nodeport", {"type": "NodePort", "ports": [{"port": 80}]},
     {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}], "sessionAffinity": "None",
      "externalTrafficPolicy": "Cluster", "internalTrafficPolicy": "Cluster"}),
    ("loadbalancer", {"type": "LoadBalancer", "ports": [{"port": 443, "targetPort": "https"}]},
     {"type": "LoadBalancer", "ports": [{"port": 443, "protocol": "TCP", "targetPort": "https"}],
      "sessionAffinity": "None", "externalTrafficPolicy": "Cluster", "internalTrafficPolicy": "Cluster",
      "allocateLoadBalancerNodePorts": True}),
    ("externalname", {"type": "ExternalName", "externalName": "example.com"},
     {"type": "ExternalName", "externalName": "example.com", "sessionAffinity": "None"}),
    ("clientip-affinity", {"ports": [{"port": 53, "protocol": "UDP"}], "sessionAffinity": "ClientIP"},
     {"ports": [{"port": 53, "protocol": "UDP", "targetPort": 53}], "sessionAffinity": "ClientIP",
      "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}}, "type": "ClusterIP",
      "internalTrafficPolicy": "Cluster"}),
    ("clusterip-external-ips", {"ports": [{"port": 80}], "externalIPs": ["198.18.0.10"]},
     {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}], "externalIPs": ["198.18.0.10"],
      "sessionAffinity": "None", "type": "ClusterIP", "externalTrafficPolicy": "Cluster",
      "internalTrafficPolicy": "Cluster"}),
]


@pytest.mark.parametrize("spec,expected", [c[1:] for c in SERVICE_CASES], ids=[c[0] for c in SERVICE_CASES])
def test_service_defaults(spec, expected):
    assert defaulted("", "v1", "Service", {"spec": spec})["spec"] == expected


OTHER_CASES = [
    ("namespace", "", "v1", "Namespace", {"metadata": {"name": "x"}},
     {"metadata": {"name": "x"}, "status": {"phase": "Active"}}),
    ("secret", "", "v1", "Secret", {"stringData": {"a": "hi"}, "data": {"b": "eA=="}},
     {"type": "Opaque", "data": {"a": "aGk=", "b": "eA=="}}),
    ("node-allocatable", "", "v1", "Node", {"status": {"capacity": {"cpu": "2", "memory": "4Gi"}}},
     {"status": {"capacity": {"cpu": "2", "memory": "4Gi"}, "allocatable": {"cpu": "2", "memory": "4Gi"}}}),
    ("endpoints", "", "v1", "Endpoints", {"subsets": [{"ports": [{"port": 80}]}]},
     {"subsets": [{"ports": [{"port": 80, "protocol": "TCP"}]}]}),
    ("endpointslice", "discovery.k8s.io", "v1", "EndpointSlice", {"addressType": "IPv4", "ports": [{"port": 80}]},
     {"addressType": "IPv4", "ports": [{"port": 80, "name": "", "protocol": "TCP"}]}),
    ("limitrange", "", "v1", "LimitRange",
     {"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}},
                          {"type": "Pod", "max": {"cpu": "4"}}]}},
     {"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"},
                           "default": {"cpu": "2"}, "defaultRequest": {"cpu": "2", "memory": "64Mi"}},
                          {"type": "Pod", "max": {"cpu": "4"}}]}}),
    ("networkpolicy-ingress", "networking.k8s.io", "v1", "NetworkPolicy",
     {"spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}},
     {"spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}],
               "policyTypes": ["Ingress"]}}),
    ("networkpolicy-egress", "networking.k8s.io", "v1", "NetworkPolicy",
     {"spec": {"podSelector": {}, "egress": [{}]}},
     {"spec": {"podSelector": {}, "egress": [{}], "policyTypes": ["Ingress", "Egress"]}}),
    ("ingressclass", "networking.k8s.io", "v1", "IngressClass",
     {"spec": {"controller": "a.io/b", "parameters": {"kind": "K", "name": "n"}}},
     {"spec": {"controller": "a.io/b", "parameters": {"kind": "K", "name": "n", "scope": "Cluster"}}}),
    ("priorityclass", "scheduling.k8s.io", "v1", "PriorityClass", {"value": 10},
     {"value": 10, "preemptionPolicy": "PreemptLowerPriority"}),
    ("rolebinding", "rbac.authorization.k8s.io", "v1", "RoleBinding",
     {"roleRef": {"kind": "Role", "name": "r"},
      "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "d"}]},
     {"roleRef": {"kind": "Role", "name": "r", "apiGroup": "rbac.authorization.k8s.io"},
      "subjects": [{"kind": "User", "name": "u", "apiGroup": "rbac.authorization.k8s.io"},
                   {"kind": "ServiceAccount", "name": "sa", "namespace": "d"}]}),
    ("hpa-v2", "autoscaling", "v2", "HorizontalPodAutoscaler",
     {"spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "web"}}},
     {"spec": {"maxReplicas": 5, "minReplicas": 1, "scaleTargetRef": {"kind": "Deployment", "name": "web"},
               "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                   "type": "Utilization", "averageUtilization": 80}}}]}}),
    ("hpa-v1", "autoscaling", "v1", "HorizontalPodAutoscaler", {"spec": {"maxReplicas": 5}},
     {"spec": {"maxReplicas": 5, "minReplicas": 1}}),
    ("configmap-untouched", "", "v1", "ConfigMap", {"data": {"a": "b"}}, {"data": {"a": "b"}}),
    ("lease-untouched", "coordination.k8s.io", "v1", "Lease", {"spec": {}}, {"spec": {}}),
    ("unknown-kind", "example.com", "v1", "Widget", {"spec": {}}, {"spec": {}}),
]


@pytest.mark.parametrize("group,version,kind,obj,expected", [c[1:] for c in OTHER_CASES],
                         ids=[c[0] for c in OTHER_CASES])
def test_other_defaults(group, version, kind, obj, expected):
    assert defaulted(group, version, kind, obj) == expected


def test_hpa_behavior_defaults_fill_unset_fields():
    out = defaulted("autoscaling", "v2", "HorizontalPodAutoscaler",
                    {"spec": {"maxReplicas": 3, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}})
    assert out["spec"]["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                 {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                      "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
    }


IDEMPOTENCE = [(c[0], c[1], c[2], c[3], c[4]) for c in OTHER_CASES] + [
    (w[0], w[1], w[2], w[3], w[4]) for w in WORKLOADS] + [
    ("pod-" + c[0], "", "v1", "Pod", {"spec": c[1]}) for c in POD_CASES] + [
    ("service-" + c[0], "", "v1", "Service", {"spec": c[1]}) for c in SERVICE_CASES]


@pytest.mark.parametrize("group,version,kind,obj", [c[1:] for c in IDEMPOTENCE], ids=[c[0] for c in IDEMPOTENCE])
def test_defaulting_is_idempotent(group, version, kind, obj):
    once = defaulted(group, version, kind, obj)
    assert defaulted(group, version, kind, once) == once


def test_namespace_finalizer_is_a_create_rule_not_a_default():
    ns = defaulted("", "v1", "Namespace", {"metadata": {"name": "x"}, "spec": {"finalizers": []}})
    assert ns["spec"] == {"finalizers": []}  # a /finalize body must keep its emptied list
    namespace_finalizers_on_create(ns)
    assert ns["spec"]["finalizers"] == ["kubernetes"]
