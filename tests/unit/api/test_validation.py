"""Validation: Kubernetes' field paths and messages, kind by kind.

Objects are defaulted first, as the API server does before it validates. Every failing case
asserts the complete list of messages, exactly as kubectl would print them.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelite.api.defaults import apply_defaults
from kubelite.api.helpers import generate_job_selector
from kubelite.api.validation import validate_create, validate_status_update, validate_update
from kubelite.api.validation import cron, names
from kubelite.machinery.errors import CauseType, new_invalid

# Kubernetes' own texts (apimachinery util/validation), spelled out so that the tests do not
# depend on the implementation's constants.
SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
             "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
         "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
           "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
           "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
QUALIFIED = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
               "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
               "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
CONFIG_KEY = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
              "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
PORT_RANGE = "must be between 1 and 65535, inclusive"
NEG = "must be greater than or equal to 0"
IMMUTABLE = "field is immutable"


# -- object builders ---------------------------------------------------------------------------------

def container(**kw: Any) -> dict:
    return {"name": "c", "image": "nginx:1.25", **kw}


def tpl(labels: dict | None = None, **spec: Any) -> dict:
    return {"metadata": {"labels": labels or {"app": "web"}},
            "spec": {"containers": [container()], **spec}}


BASE: dict[str, tuple[str, str, str, bool, dict]] = {
    "pod": ("", "v1", "Pod", True, {"metadata": {"name": "p", "namespace": "default"},
                                     "spec": {"containers": [container()]}}),
    "deployment": ("apps", "v1", "Deployment", True, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": tpl()}}),
    "replicaset": ("apps", "v1", "ReplicaSet", True, {
        "metadata": {"name": "web-1", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": tpl()}}),
    "statefulset": ("apps", "v1", "StatefulSet", True, {
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "web"}}, "template": tpl()}}),
    "daemonset": ("apps", "v1", "DaemonSet", True, {
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": tpl()}}),
    "job": ("batch", "v1", "Job", True, {
        "metadata": {"name": "pi", "namespace": "default", "uid": "8f3c"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container()]}}}}),
    "cronjob": ("batch", "v1", "CronJob", True, {
        "metadata": {"name": "tick", "namespace": "default"},
        "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [container()]}}}}}}),
    "service": ("", "v1", "Service", True, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "web"},
                 "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ipFamilies": ["IPv4"],
                 "ipFamilyPolicy": "SingleStack"}}),
    "namespace": ("", "v1", "Namespace", False, {"metadata": {"name": "team-a"},
                                                 "spec": {"finalizers": ["kubernetes"]}}),
    "configmap": ("", "v1", "ConfigMap", True, {"metadata": {"name": "cfg", "namespace": "default"},
                                                "data": {"app.conf": "x=1"}}),
    "secret": ("", "v1", "Secret", True, {"metadata": {"name": "s", "namespace": "default"},
                                          "data": {"password": "aHVudGVyMg=="}}),
    "node": ("", "v1", "Node", False, {"metadata": {"name": "node-1"},
                                       "spec": {"podCIDRs": ["198.18.1.0/24"]}}),
    "endpoints": ("", "v1", "Endpoints", True, {"metadata": {"name": "web", "namespace": "default"},
                                                "subsets": [{"addresses": [{"ip": "198.18.1.5"}],
                                                             "ports": [{"port": 8080}]}]}),
    "event": ("", "v1", "Event", True, {"metadata": {"name": "p.17a", "namespace": "default"},
                                        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
                                        "reason": "Scheduled", "message": "ok", "type": "Normal"}),
    "events.k8s.io": ("events.k8s.io", "v1", "Event", True, {
        "metadata": {"name": "p.17b", "namespace": "default"}, "eventTime": "2024-01-01T00:00:00.000000Z",
        "reportingController": "kubelite.io/scheduler", "reportingInstance": "s-1", "action": "Binding",
        "reason": "Scheduled", "type": "Normal", "regarding": {"kind": "Pod", "name": "p"}}),
    "limitrange": ("", "v1", "LimitRange", True, {"metadata": {"name": "lr", "namespace": "default"},
                                                  "spec": {"limits": [{"type": "Container",
                                                                       "default": {"cpu": "500m"}}]}}),
    "resourcequota": ("", "v1", "ResourceQuota", True, {"metadata": {"name": "q", "namespace": "default"},
                                                        "spec": {"hard": {"pods": "10", "requests.cpu": "4"}}}),
    "serviceaccount": ("", "v1", "ServiceAccount", True, {"metadata": {"name": "default", "namespace": "default"}}),
    "podtemplate": ("", "v1", "PodTemplate", True, {"metadata": {"name": "pt", "namespace": "default"},
                                                    "template": tpl()}),
    "binding": ("", "v1", "Binding", True, {"metadata": {"name": "p", "namespace": "default"},
                                            "target": {"kind": "Node", "name": "node-1"}}),
    "ingress": ("networking.k8s.io", "v1", "Ingress", True, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "web.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}],
            "tls": [{"hosts": ["*.example.com"], "secretName": "tls"}]}}),
    "ingressclass": ("networking.k8s.io", "v1", "IngressClass", False, {
        "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}),
    "networkpolicy": ("networking.k8s.io", "v1", "NetworkPolicy", True, {
        "metadata": {"name": "np", "namespace": "default"},
        "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [
            {"from": [{"ipBlock": {"cidr": "198.18.0.0/16", "except": ["198.18.1.0/24"]}}],
             "ports": [{"port": 80, "endPort": 90}]}]}}),
    "endpointslice": ("discovery.k8s.io", "v1", "EndpointSlice", True, {
        "metadata": {"name": "web-abc", "namespace": "default"}, "addressType": "IPv4",
        "endpoints": [{"addresses": ["198.18.1.5"], "nodeName": "node-1"}], "ports": [{"name": "http", "port": 80}]}),
    "pdb": ("policy", "v1", "PodDisruptionBudget", True, {
        "metadata": {"name": "pdb", "namespace": "default"},
        "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}}),
    "hpa": ("autoscaling", "v2", "HorizontalPodAutoscaler", True, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"maxReplicas": 5, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}}),
    "hpa-v1": ("autoscaling", "v1", "HorizontalPodAutoscaler", True, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"maxReplicas": 5, "targetCPUUtilizationPercentage": 70,
                 "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}}),
    "role": ("rbac.authorization.k8s.io", "v1", "Role", True, {
        "metadata": {"name": "pod-reader", "namespace": "default"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}),
    "clusterrole": ("rbac.authorization.k8s.io", "v1", "ClusterRole", False, {
        "metadata": {"name": "system:health"}, "rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]}),
    "rolebinding": ("rbac.authorization.k8s.io", "v1", "RoleBinding", True, {
        "metadata": {"name": "read-pods", "namespace": "default"},
        "roleRef": {"kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "User", "name": "jane"}, {"kind": "ServiceAccount", "name": "default"}]}),
    "clusterrolebinding": ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", False, {
        "metadata": {"name": "admins"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "name": "system:masters"}]}),
    "priorityclass": ("scheduling.k8s.io", "v1", "PriorityClass", False, {"metadata": {"name": "high"},
                                                                          "value": 1000}),
    "lease": ("coordination.k8s.io", "v1", "Lease", True, {
        "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}),
    "csr": ("certificates.k8s.io", "v1", "CertificateSigningRequest", False, {
        "metadata": {"name": "node-csr-1"},
        "spec": {"request": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K",
                 "signerName": "kubernetes.io/kube-apiserver-client", "usages": ["client auth"]}}),
    "controllerrevision": ("apps", "v1", "ControllerRevision", True, {
        "metadata": {"name": "db-7c9", "namespace": "default"}, "data": {"spec": {}}, "revision": 1}),
    "ssar": ("authorization.k8s.io", "v1", "SelfSubjectAccessReview", False, {
        "metadata": {"creationTimestamp": None},
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}}}),
}


def build(kind_key: str, changes: dict[str, Any] | None = None) -> tuple[str, str, str, bool, dict]:
    group, version, kind, namespaced, base = BASE[kind_key]
    obj = copy.deepcopy(base)
    for path, value in (changes or {}).items():
        deep_set(obj, path, value)
    apply_defaults(group, version, kind, obj)
    if kind == "Job":
        generate_job_selector(obj)
    return group, version, kind, namespaced, obj


DELETE = object()


def deep_set(obj: Any, path: str, value: Any) -> None:
    value = value if value is DELETE else copy.deepcopy(value)
    parts = path.split(".")
    for p in parts[:-1]:
        obj = obj[int(p)] if isinstance(obj, list) else obj.setdefault(p, {})
    last = parts[-1]
    if isinstance(obj, list):
        obj[int(last)] = value
    elif value is DELETE:
        obj.pop(last, None)
    else:
        obj[last] = value


def create_messages(kind_key: str, changes: dict[str, Any] | None = None) -> list[str]:
    group, version, kind, namespaced, obj = build(kind_key, changes)
    return [e.message() for e in validate_create(group, version, kind, obj, namespaced=namespaced)]


# -- valid objects -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind_key", sorted(BASE))
def test_valid_objects_have_no_errors(kind_key):
    assert create_messages(kind_key) == []


# -- create rules ------------------------------------------------------------------------------------

CREATE_CASES = [
    # ObjectMeta
    ("name-required", "pod", {"metadata.name": DELETE},
     ["metadata.name: Required value: name or generateName is required"]),
    ("name-subdomain", "configmap", {"metadata.name": "My_Config"},
     [f'metadata.name: Invalid value: "My_Config": {SUBDOMAIN}']),
    ("name-too-long", "configmap", {"metadata.name": "a" * 254},
     [f'metadata.name: Invalid value: "{"a" * 254}": must be no more than 253 characters']),
    ("generate-name-prefix-ok", "pod", {"metadata.name": "web-abcde", "metadata.generateName": "web-"}, []),
    ("generate-name-invalid", "pod", {"metadata.name": "x", "metadata.generateName": "Web-"},
     [f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN}']),
    ("namespace-name-label", "namespace", {"metadata.name": "team.a"},
     [f'metadata.name: Invalid value: "team.a": {LABEL}']),
    ("service-name-dns1035", "service", {"metadata.name": "1web"},
     [f'metadata.name: Invalid value: "1web": {DNS1035}']),
    ("statefulset-name-label", "statefulset", {"metadata.name": "db.v1"},
     [f'metadata.name: Invalid value: "db.v1": {LABEL}']),
    ("rbac-name-path-segment", "role", {"metadata.name": "a/b%c"},
     ["metadata.name: Invalid value: \"a/b%c\": may not contain '/'",
      "metadata.name: Invalid value: \"a/b%c\": may not contain '%'"]),
    ("rbac-name-dots", "clusterrole", {"metadata.name": ".."},
     ["metadata.name: Invalid value: \"..\": may not be '..'"]),
    ("rbac-name-colons-ok", "clusterrole", {"metadata.name": "system:controller:x"}, []),
    ("namespace-required", "pod", {"metadata.namespace": DELETE}, ["metadata.namespace: Required value"]),
    ("namespace-format", "pod", {"metadata.namespace": "Team"},
     [f'metadata.namespace: Invalid value: "Team": {LABEL}']),
    ("namespace-forbidden-cluster-scope", "node", {"metadata.namespace": "default"},
     ["metadata.namespace: Forbidden: not allowed on this type"]),
    ("label-key", "pod", {"metadata.labels": {"-bad": "x"}}, [f'metadata.labels: Invalid value: "-bad": {QUALIFIED}']),
    ("label-key-prefix", "pod", {"metadata.labels": {"Example.com/x": "y"}},
     [f'metadata.labels: Invalid value: "Example.com/x": prefix part {SUBDOMAIN}']),
    ("label-value", "pod", {"metadata.labels": {"app": "web server"}},
     [f'metadata.labels: Invalid value: "web server": {LABEL_VALUE}']),
    ("label-value-too-long", "pod", {"metadata.labels": {"app": "x" * 64}},
     [f'metadata.labels: Invalid value: "{"x" * 64}": must be no more than 63 characters']),
    ("annotation-key-case-insensitive", "pod", {"metadata.annotations": {"Example.com/Note": "ok"}}, []),
    ("annotation-key", "pod", {"metadata.annotations": {"a/b/c": "x"}},
     ["metadata.annotations: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, "
      "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
      "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
      "subdomain prefix and '/' (e.g. 'example.com/MyName')"]),
    ("annotations-too-large", "pod", {"metadata.annotations": {"big": "x" * (256 * 1024)}},
     ["metadata.annotations: Too long: must have at most 262144 bytes"]),
    ("finalizer-not-qualified", "configmap", {"metadata.finalizers": ["cleanup"]},
     ['metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully '
      'qualified']),
    ("finalizer-qualified-ok", "configmap", {"metadata.finalizers": ["example.com/cleanup", "foregroundDeletion"]}, []),
    ("owner-reference-uid", "pod", {"metadata.ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                                  "name": "web-1"}]},
     ['metadata.ownerReferences.uid: Invalid value: "": uid must not be empty']),
    # Pod spec
    ("containers-required", "pod", {"spec.containers": []}, ["spec.containers: Required value"]),
    ("image-required", "pod", {"spec.containers": [{"name": "c"}]}, ["spec.containers[0].image: Required value"]),
    ("image-whitespace-pod-only", "pod", {"spec.containers.0.image": " nginx"},
     ['spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace']),
    ("container-name", "pod", {"spec.containers.0.name": "Web"},
     [f'spec.containers[0].name: Invalid value: "Web": {LABEL}']),
    ("container-name-duplicate", "pod", {"spec.containers": [container(), container()]},
     ['spec.containers[1].name: Duplicate value: "c"']),
    ("init-container-name-collides", "pod", {"spec.initContainers": [container()]},
     ['spec.initContainers[0].name: Duplicate value: "c"']),
    ("init-container-probe", "pod",
     {"spec.initContainers": [container(name="i", readinessProbe={"exec": {"command": ["x"]}})]},
     ["spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without "
      "restartPolicy=Always"]),
    ("sidecar-probe-ok", "pod", {"spec.initContainers": [container(name="i", restartPolicy="Always",
                                                                    readinessProbe={"exec": {"command": ["x"]}})]}, []),
    ("restart-policy-enum", "pod", {"spec.restartPolicy": "Sometimes"},
     ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"']),
    ("dns-policy-enum", "pod", {"spec.dnsPolicy": "Custom"},
     ['spec.dnsPolicy: Unsupported value: "Custom": supported values: "ClusterFirstWithHostNet", "ClusterFirst", '
      '"Default", "None"']),
    ("dns-none-needs-config", "pod", {"spec.dnsPolicy": "None"},
     ["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"]),
    ("pull-policy-enum", "pod", {"spec.containers.0.imagePullPolicy": "Sometimes"},
     ['spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", '
      '"IfNotPresent", "Never"']),
    ("container-port-range", "pod", {"spec.containers.0.ports": [{"containerPort": 70000}]},
     [f"spec.containers[0].ports[0].containerPort: Invalid value: 70000: {PORT_RANGE}"]),
    ("container-port-name", "pod", {"spec.containers.0.ports": [{"containerPort": 80, "name": "http-web-server-1"}]},
     ['spec.containers[0].ports[0].name: Invalid value: "http-web-server-1": must be no more than 15 characters']),
    ("container-port-protocol", "pod", {"spec.containers.0.ports": [{"containerPort": 80, "protocol": "HTTP"}]},
     ['spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"']),
    ("host-port-conflict", "pod", {"spec.containers": [container(ports=[{"containerPort": 80, "hostPort": 8080}]),
                                                       container(name="d", ports=[{"containerPort": 81,
                                                                                   "hostPort": 8080}])]},
     ['spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"']),
    ("probe-success-threshold", "pod", {"spec.containers.0.livenessProbe": {"tcpSocket": {"port": 80},
                                                                           "successThreshold": 3}},
     ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 3: must be 1"]),
    ("probe-negative", "pod", {"spec.containers.0.readinessProbe": {"httpGet": {"port": "http"}, "periodSeconds": -5}},
     [f"spec.containers[0].readinessProbe.periodSeconds: Invalid value: -5: {NEG}"]),
    ("probe-handler-required", "pod", {"spec.containers.0.startupProbe": {"periodSeconds": 5}},
     ["spec.containers[0].startupProbe: Required value: must specify a handler type"]),
    ("probe-two-handlers", "pod", {"spec.containers.0.livenessProbe": {"exec": {"command": ["true"]},
                                                                      "tcpSocket": {"port": 80}}},
     ["spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"]),
    ("probe-port", "pod", {"spec.containers.0.livenessProbe": {"httpGet": {"port": 0}}},
     [f"spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: {PORT_RANGE}"]),
    ("readiness-grace", "pod", {"spec.containers.0.readinessProbe": {"exec": {"command": ["x"]},
                                                                    "terminationGracePeriodSeconds": 5}},
     ["spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for "
      "readinessProbes"]),
    ("requests-above-limits", "pod",
     {"spec.containers.0.resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}},
     ['spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1']),
    ("resource-name", "pod", {"spec.containers.0.resources": {"limits": {"gpu": "1"}}},
     ['spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers',
      'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers']),
    ("resource-negative", "pod", {"spec.containers.0.resources": {"requests": {"memory": "-1Mi"}}},
     [f'spec.containers[0].resources.requests[memory]: Invalid value: "-1Mi": {NEG}']),
    ("extended-resource-must-equal-limit", "pod",
     {"spec.containers.0.resources": {"requests": {"example.com/dongle": "1"}, "limits": {"example.com/dongle": "2"}}},
     ['spec.containers[0].resources.requests: Invalid value: "1": must be equal to example.com/dongle limit of 2']),
    ("env-name", "pod", {"spec.containers.0.env": [{"name": "A=B", "value": "1"}]},
     ["spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only "
      "of printable ASCII characters other than '='"]),
    ("env-value-and-value-from", "pod", {"spec.containers.0.env": [
        {"name": "N", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]},
     ['spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty']),
    ("env-field-path", "pod", {"spec.containers.0.env": [{"name": "N", "valueFrom": {"fieldRef": {
        "fieldPath": "spec.host"}}}]},
     ['spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.host": supported values: '
      '"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", '
      '"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"']),
    ("env-labels-subscript-ok", "pod", {"spec.containers.0.env": [{"name": "N", "valueFrom": {"fieldRef": {
        "fieldPath": "metadata.labels['app']"}}}]}, []),
    ("volume-mount-not-found", "pod", {"spec.containers.0.volumeMounts": [{"name": "data", "mountPath": "/data"}]},
     ['spec.containers[0].volumeMounts[0].name: Not found: "data"']),
    ("volume-mount-unique", "pod", {"spec.volumes": [{"name": "a"}, {"name": "b"}],
                                    "spec.containers.0.volumeMounts": [{"name": "a", "mountPath": "/d"},
                                                                       {"name": "b", "mountPath": "/d"}]},
     ['spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/d": must be unique']),
    ("volume-name-duplicate", "pod", {"spec.volumes": [{"name": "a"}, {"name": "a"}]},
     ['spec.volumes[1].name: Duplicate value: "a"']),
    ("volume-two-sources", "pod", {"spec.volumes": [{"name": "a", "emptyDir": {}, "hostPath": {"path": "/x"}}]},
     ["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"]),
    ("host-path-type", "pod", {"spec.volumes": [{"name": "a", "hostPath": {"path": "/x", "type": "Dir"}}]},
     ['spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", '
      '"Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"']),
    ("host-path-backsteps", "pod", {"spec.volumes": [{"name": "a", "hostPath": {"path": "/x/../etc"}}]},
     ["spec.volumes[0].hostPath.path: Invalid value: \"/x/../etc\": must not contain '..'"]),
    ("secret-volume-name", "pod", {"spec.volumes": [{"name": "a", "secret": {}}]},
     ["spec.volumes[0].secret.secretName: Required value"]),
    ("config-map-mode", "pod", {"spec.volumes": [{"name": "a", "configMap": {"name": "c", "defaultMode": 1000}}]},
     ["spec.volumes[0].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), "
      "both inclusive"]),
    ("pvc-claim-name", "pod", {"spec.volumes": [{"name": "a", "persistentVolumeClaim": {}}]},
     ["spec.volumes[0].persistentVolumeClaim.claimName: Required value"]),
    ("toleration-operator", "pod", {"spec.tolerations": [{"key": "k", "operator": "Maybe"}]},
     ['spec.tolerations[0].operator: Unsupported value: "Maybe": supported values: "Equal", "Exists"']),
    ("toleration-seconds-effect", "pod", {"spec.tolerations": [{"key": "k", "operator": "Exists",
                                                                "effect": "NoSchedule", "tolerationSeconds": 5}]},
     ["spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when "
      "`tolerationSeconds` is set"]),
    ("node-selector-labels", "pod", {"spec.nodeSelector": {"disk": "fast ssd"}},
     [f'spec.nodeSelector: Invalid value: "fast ssd": {LABEL_VALUE}']),
    ("node-affinity-terms", "pod", {"spec.affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}},
     ["spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: "
      "must have at least one node selector term"]),
    ("pod-anti-affinity-topology-key", "pod", {"spec.affinity": {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {"matchLabels": {"app": "web"}}}]}}},
     ["spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: "
      "can not be empty"]),
    ("topology-spread", "pod", {"spec.topologySpreadConstraints": [
        {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]},
     ["spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero"]),
    ("active-deadline", "pod", {"spec.activeDeadlineSeconds": 0},
     ["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"]),
    ("run-as-user", "pod", {"spec.securityContext": {"runAsUser": -1}},
     ["spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive"]),
    ("ephemeral-on-create", "pod", {"spec.ephemeralContainers": [{"name": "debug", "image": "busybox"}]},
     ["spec.ephemeralContainers: Forbidden: cannot be set on create"]),
    ("host-network-port-mismatch", "pod", {"spec.hostNetwork": True,
                                           "spec.containers.0.ports": [{"containerPort": 80, "hostPort": 81}]},
     ["spec.containers[0].ports[0].hostPort: Invalid value: 81: must match `containerPort` when `hostNetwork` is "
      "true"]),
    # Deployment / ReplicaSet / StatefulSet / DaemonSet
    ("deployment-replicas", "deployment", {"spec.replicas": -1},
     [f"spec.replicas: Invalid value: -1: {NEG}"]),
    ("deployment-selector-required", "deployment", {"spec.selector": DELETE},
     ["spec.selector: Required value",
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match '
      'template `labels`']),
    ("deployment-selector-mismatch", "deployment", {"spec.selector": {"matchLabels": {"app": "api"}}},
     ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match '
      'template `labels`']),
    ("deployment-empty-selector", "deployment", {"spec.selector": {}},
     ["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
      "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"]),
    ("deployment-selector-expression", "deployment", {"spec.selector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": []}]}},
     ["spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or "
      "'NotIn'",
      "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
      "MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"app\", Operator:\"In\", "
      "Values:[]string{}}}}: invalid label selector"]),
    ("deployment-template-restart", "deployment", {"spec.template.spec.restartPolicy": "OnFailure"},
     ['spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"']),
    ("deployment-template-labels-path", "deployment", {"spec.template.metadata.labels": {"app": "web", "x": "a b"}},
     [f'spec.template.labels: Invalid value: "a b": {LABEL_VALUE}']),
    ("deployment-template-image", "deployment", {"spec.template.spec.containers.0.image": ""},
     ["spec.template.spec.containers[0].image: Required value"]),
    ("deployment-surge-and-unavailable-zero", "deployment", {"spec.strategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}},
     ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: '
      'may not be 0 when `maxSurge` is 0']),
    ("deployment-unavailable-over-100", "deployment", {"spec.strategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "150%"}}},
     ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, '
      'StrVal:"150%"}: must not be greater than 100%']),
    ("deployment-bad-percent", "deployment", {"spec.strategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": "1.5%"}}},
     ["spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"1.5%\"}: "
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used "
      "for validation is '[0-9]+%')"]),
    ("deployment-recreate-with-rolling", "deployment", {"spec.strategy": {"type": "Recreate",
                                                                          "rollingUpdate": {"maxSurge": 1}}},
     ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]),
    ("deployment-progress-deadline", "deployment", {"spec.minReadySeconds": 700},
     ["spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"]),
    ("replicaset-empty-selector", "replicaset", {"spec.selector": {}},
     ["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
      "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"]),
    ("statefulset-pod-management", "statefulset", {"spec.podManagementPolicy": "Fast"},
     ["spec.podManagementPolicy: Invalid value: \"Fast\": must be 'OrderedReady' or 'Parallel'"]),
    ("statefulset-mismatch", "statefulset", {"spec.template.metadata.labels": {"app": "db"}},
     ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"db"}: `selector` does not match '
      'template `labels`']),
    ("daemonset-surge-and-unavailable", "daemonset", {"spec.updateStrategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}}},
     ['spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:""}: '
      'may not be set when maxUnavailable is non-zero']),
    ("daemonset-both-zero", "daemonset", {"spec.updateStrategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}},
     ["spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"]),
    ("controllerrevision-data", "controllerrevision", {"data": DELETE}, ["data: Required value: data is mandatory"]),
    # Job / CronJob
    ("job-restart-always", "job", {"spec.template.spec.restartPolicy": "Always"},
     ['spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']),
    ("job-negative-backoff", "job", {"spec.backoffLimit": -1}, [f"spec.backoffLimit: Invalid value: -1: {NEG}"]),
    ("job-completion-mode", "job", {"spec.completionMode": "Sometimes"},
     ['spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"']),
    ("job-indexed-needs-completions", "job", {"spec.completionMode": "Indexed", "spec.parallelism": 2},
     ["spec.completions: Required value: when completion mode is Indexed"]),
    ("job-manual-selector-mismatch", "job", {"spec.manualSelector": True, "spec.selector": {"matchLabels": {"a": "b"}}},
     ["spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template "
      "`labels`"]),
    ("cronjob-schedule-fields", "cronjob", {"spec.schedule": "*/5 * * *"},
     ['spec.schedule: Invalid value: "*/5 * * *": expected exactly 5 fields, found 4: [*/5 * * *]']),
    ("cronjob-schedule-range", "cronjob", {"spec.schedule": "0 24 * * *"},
     ['spec.schedule: Invalid value: "0 24 * * *": end of range (24) above maximum (23): 24']),
    ("cronjob-schedule-descriptor", "cronjob", {"spec.schedule": "@fortnightly"},
     ['spec.schedule: Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly']),
    ("cronjob-schedule-tz", "cronjob", {"spec.schedule": "CRON_TZ=UTC 0 * * * *"},
     ['spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone '
      'field instead']),
    ("cronjob-macro-ok", "cronjob", {"spec.schedule": "@daily", "spec.timeZone": "Europe/Paris"}, []),
    ("cronjob-time-zone", "cronjob", {"spec.timeZone": "Mars/Olympus"},
     ['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus']),
    ("cronjob-concurrency", "cronjob", {"spec.concurrencyPolicy": "Sometimes"},
     ['spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"']),
    ("cronjob-name-length", "cronjob", {"metadata.name": "c" * 53},
     [f'metadata.name: Invalid value: "{"c" * 53}": must be no more than 52 characters']),
    ("cronjob-template-restart", "cronjob", {"spec.jobTemplate.spec.template.spec.restartPolicy": "Always"},
     ['spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
      '"OnFailure", "Never"']),
    # Service
    ("service-ports-required", "service", {"spec.ports": []}, ["spec.ports: Required value"]),
    ("service-headless-no-ports-ok", "service", {"spec.ports": [], "spec.clusterIP": "None",
                                                 "spec.clusterIPs": ["None"]}, []),
    ("service-port-range", "service", {"spec.ports": [{"port": 0}]},  # targetPort defaults to port
     [f"spec.ports[0].port: Invalid value: 0: {PORT_RANGE}",
      f"spec.ports[0].targetPort: Invalid value: 0: {PORT_RANGE}"]),
    ("service-port-names-required", "service", {"spec.ports": [{"port": 80}, {"port": 443, "name": "https"}]},
     ["spec.ports[0].name: Required value"]),
    ("service-duplicate-port", "service", {"spec.ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]},
     ['spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), '
      'Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}']),
    ("service-same-port-other-protocol-ok", "service", {"spec.ports": [{"port": 53, "name": "a"},
                                                                       {"port": 53, "name": "b", "protocol": "UDP"}]},
                                                                        []),
    ("service-type", "service", {"spec.type": "Internal"},
     ['spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", '
      '"NodePort"']),
    ("service-node-port-on-cluster-ip", "service", {"spec.ports.0.nodePort": 30080},
     ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]),
    ("service-session-affinity", "service", {"spec.sessionAffinity": "Cookie"},
     ['spec.sessionAffinity: Unsupported value: "Cookie": supported values: "ClientIP", "None"']),
    ("service-cluster-ip", "service", {"spec.clusterIP": "10.96.0.300", "spec.clusterIPs": ["10.96.0.300"]},
     ['spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or '
      '2001:db8::ffff)']),
    ("service-external-name-required", "service", {"spec.type": "ExternalName", "spec.clusterIP": DELETE,
                                                   "spec.clusterIPs": DELETE, "spec.ipFamilies": DELETE,
                                                   "spec.ipFamilyPolicy": DELETE, "spec.internalTrafficPolicy": DELETE},
     ["spec.externalName: Required value"]),
    ("service-etp-on-cluster-ip", "service", {"spec.externalTrafficPolicy": "Local"},
     ['spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services']),
    ("service-selector-labels", "service", {"spec.selector": {"app": "a b"}},
     [f'spec.selector: Invalid value: "a b": {LABEL_VALUE}']),
    # Namespace, ConfigMap, Secret, Node, Endpoints, Event, LimitRange, ResourceQuota, Binding
    ("namespace-finalizer", "namespace", {"spec.finalizers": ["custom"]},
     ['spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor is it fully '
      'qualified']),
    ("configmap-key", "configmap", {"data": {"a b": "x"}}, [f'data[a b]: Invalid value: "a b": {CONFIG_KEY}']),
    ("configmap-key-dots", "configmap", {"data": {"..x": "y"}},
     ["data[..x]: Invalid value: \"..x\": must not start with '..'"]),
    ("configmap-duplicate-binary", "configmap", {"binaryData": {"app.conf": "eA=="}},
     ['data[app.conf]: Invalid value: "app.conf": duplicate of key present in binaryData',
      'binaryData[app.conf]: Invalid value: "app.conf": duplicate of key present in data']),
    ("configmap-too-big", "configmap", {"data": {"a": "x" * (1024 * 1024 + 1)}},
     ["Too long: must have at most 1048576 bytes"]),  # Kubernetes reports it at the root path ""
    ("secret-tls-keys", "secret", {"type": "kubernetes.io/tls"},
     ["data[tls.crt]: Required value", "data[tls.key]: Required value"]),
    ("secret-basic-auth", "secret", {"type": "kubernetes.io/basic-auth", "data": {"token": "eA=="}},
     ["data[username]: Required value", "data[password]: Required value"]),
    ("secret-sa-token", "secret", {"type": "kubernetes.io/service-account-token"},
     ["metadata.annotations[kubernetes.io/service-account.name]: Required value"]),
    ("node-taint-effect", "node", {"spec.taints": [{"key": "dedicated", "effect": "Never"}]},
     ['metadata.taints[0].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", '
      '"NoExecute"']),
    ("node-pod-cidrs", "node", {"spec.podCIDRs": ["198.18.1.0/24", "198.18.2.0/24"]},
     ['spec.podCIDRs: Invalid value: []string{"198.18.1.0/24", "198.18.2.0/24"}: may specify no more than one CIDR '
      'for each IP family']),
    ("endpoints-loopback", "endpoints", {"subsets.0.addresses.0.ip": "127.0.0.1"},
     ['subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, '
      '::1/128)']),
    ("endpoints-address-required", "endpoints", {"subsets.0.addresses": []},
     ["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"]),
    ("event-namespace", "event", {"involvedObject.namespace": "kube-system"},
     ['involvedObject.namespace: Invalid value: "kube-system": does not match event.namespace']),
    ("events-v1-reporting", "events.k8s.io", {"reportingController": DELETE, "action": DELETE},
     ["reportingController: Required value",
      "reportingController: Invalid value: \"\": name part must be non-empty",
      f'reportingController: Invalid value: "": {QUALIFIED}',
      "action: Required value"]),
    ("limitrange-min-max", "limitrange", {"spec.limits": [{"type": "Pod", "min": {"cpu": "2"}, "max": {"cpu": "1"}}]},
     ['spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1']),
    ("limitrange-pod-default", "limitrange", {"spec.limits": [{"type": "Pod", "default": {"cpu": "1"}}]},
     ["spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'"]),
    ("resourcequota-name", "resourcequota", {"spec.hard": {"gpus": "1"}},
     ['spec.hard[gpus]: Invalid value: "gpus": must be a standard resource for quota']),
    ("binding-target", "binding", {"target": {"kind": "Pod"}},
     ['target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"', "target.name: Required value"]),
    # networking, discovery
    ("ingress-path-type-required", "ingress", {"spec.rules.0.http.paths.0.pathType": DELETE},
     ["spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"]),
    ("ingress-path-type-enum", "ingress", {"spec.rules.0.http.paths.0.pathType": "Regex"},
     ['spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", '
      '"ImplementationSpecific", "Prefix"']),
    ("ingress-path-absolute", "ingress", {"spec.rules.0.http.paths.0.path": "api"},
     ['spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path']),
    ("ingress-path-sequence", "ingress", {"spec.rules.0.http.paths.0.path": "/a//b"},
     ["spec.rules[0].http.paths[0].path: Invalid value: \"/a//b\": must not contain '//'"]),
    ("ingress-host-ip", "ingress", {"spec.rules.0.host": "198.18.0.1"},
     ['spec.rules[0].host: Invalid value: "198.18.0.1": must be a DNS name, not an IP address']),
    ("ingress-backend-port", "ingress", {"spec.rules.0.http.paths.0.backend": {"service": {"name": "web", "port": {}}}},
     ["spec.rules[0].http.paths[0].backend: Required value: port name or number is required"]),
    ("ingress-rules-or-backend", "ingress", {"spec.rules": DELETE},
     ["spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"]),
    ("ingressclass-controller", "ingressclass", {"spec.controller": "nginx"},
     ['spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")']),
    ("networkpolicy-peer", "networkpolicy", {"spec.ingress.0.from": [{}]},
     ["spec.ingress[0].from[0]: Required value: must specify a peer"]),
    ("networkpolicy-except", "networkpolicy", {"spec.ingress.0.from.0.ipBlock.except": ["10.0.0.0/8"]},
     ['spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`']),
    ("networkpolicy-end-port", "networkpolicy", {"spec.ingress.0.ports.0.endPort": 70},
     ["spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`"]),
    ("endpointslice-address-type", "endpointslice", {"addressType": "IPv5"},
     ['addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"']),
    ("endpointslice-addresses", "endpointslice", {"endpoints.0.addresses": []},
     ["endpoints[0].addresses: Required value: must contain at least 1 address"]),
    # policy, autoscaling, rbac, scheduling, coordination, certificates, reviews
    ("pdb-both", "pdb", {"spec.maxUnavailable": 1},
     ["spec: Invalid value: policy.PodDisruptionBudgetSpec{...}: minAvailable and maxUnavailable cannot be both set"]),
    ("pdb-negative", "pdb", {"spec.minAvailable": -1}, [f"spec.minAvailable: Invalid value: -1: {NEG}"]),
    ("hpa-max-below-min", "hpa", {"spec.minReplicas": 6},
     ["spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`"]),
    ("hpa-min-zero", "hpa", {"spec.minReplicas": 0},
     ["spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
      "spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero "
      "replicas"]),
    ("hpa-target-ref", "hpa", {"spec.scaleTargetRef": {"kind": "Deployment"}},
     ["spec.scaleTargetRef.name: Required value"]),
    ("hpa-utilization", "hpa", {"spec.metrics": [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 0}}}]},
     ["spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0"]),
    ("hpa-v1-target", "hpa-v1", {"spec.targetCPUUtilizationPercentage": 0},
     ["spec.targetCPUUtilizationPercentage: Invalid value: 0: must be greater than 0"]),
    ("role-verbs", "role", {"rules.0.verbs": []},
     ["rules[0].verbs: Required value: verbs must contain at least one value"]),
    ("role-resources", "role", {"rules.0.resources": []},
     ["rules[0].resources: Required value: resource rules must supply at least one resource"]),
    ("role-non-resource-urls", "role", {"rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]},
     ['rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource '
      'URLs']),
    ("clusterrole-mixed-rule", "clusterrole", {"rules.0.resources": ["pods"]},
     ['rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}: rules cannot apply to both regular resources '
      'and non-resource URLs']),
    ("rolebinding-role-kind", "rolebinding", {"roleRef.kind": "Group"},
     ['roleRef.kind: Unsupported value: "Group": supported values: "Role", "ClusterRole"']),
    ("clusterrolebinding-role-kind", "clusterrolebinding", {"roleRef.kind": "Role"},
     ['roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"']),
    ("clusterrolebinding-sa-namespace", "clusterrolebinding", {"subjects": [{"kind": "ServiceAccount", "name": "x"}]},
     ["subjects[0].namespace: Required value"]),
    ("rolebinding-subject-kind", "rolebinding", {"subjects": [{"kind": "Robot", "name": "r"}]},
     ['subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"']),
    ("priorityclass-value", "priorityclass", {"value": 2000000000},
     ["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]),
    ("priorityclass-system", "priorityclass", {"metadata.name": "system-critical"},
     ["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. "
      "error: system-critical is not a known system priority class"]),
    ("priorityclass-policy", "priorityclass", {"preemptionPolicy": "Sometimes"},
     ['preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"']),
    ("lease-duration", "lease", {"spec.leaseDurationSeconds": 0},
     ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]),
    ("csr-usages", "csr", {"spec.usages": []}, ["spec.usages: Required value"]),
    ("csr-signer", "csr", {"spec.signerName": "nope"},
     ['spec.signerName: Invalid value: "nope": must be a fully qualified domain and path of the form '
      "'example.com/signer-name'"]),
    ("ssar-attributes", "ssar", {"spec.resourceAttributes": DELETE},
     ["spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes "
      "must be specified"]),
]


@pytest.mark.parametrize("kind_key,changes,expected", [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES])
def test_create_rules(kind_key, changes, expected):
    assert create_messages(kind_key, changes) == expected


# -- update rules ------------------------------------------------------------------------------------

def update_messages(kind_key: str, old_changes: dict, new_changes: dict, *, status: bool = False) -> list[str]:
    group, version, kind, namespaced, old = build(kind_key, old_changes)
    old["metadata"].setdefault("uid", "6a1b")
    old["metadata"].update(resourceVersion="7", creationTimestamp="2024-01-01T00:00:00Z")
    new = copy.deepcopy(old)
    for path, value in new_changes.items():
        deep_set(new, path, value)
    apply_defaults(group, version, kind, new)
    fn = validate_status_update if status else validate_update
    return [e.message() for e in fn(group, version, kind, new, old, namespaced=namespaced)]


POD_UPDATE_PREFIX = ("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
                     "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                     "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                     "previously negative)\n")

UPDATE_CASES = [
    ("unchanged", "deployment", {}, {}, []),
    ("name-immutable", "configmap", {}, {"metadata.name": "other"},
     ['metadata.name: Invalid value: "other": field is immutable']),
    ("namespace-immutable", "configmap", {}, {"metadata.namespace": "other"},
     ['metadata.namespace: Invalid value: "other": field is immutable']),
    ("uid-immutable", "configmap", {}, {"metadata.uid": "zzz"},
     ['metadata.uid: Invalid value: "zzz": field is immutable']),
    ("uid-empty-means-unchanged", "configmap", {}, {"metadata.uid": ""}, []),
    ("creation-timestamp-immutable", "configmap", {}, {"metadata.creationTimestamp": "2030-01-01T00:00:00Z"},
     ['metadata.creationTimestamp: Invalid value: "2030-01-01T00:00:00Z": field is immutable']),
    ("labels-checked-on-update", "configmap", {}, {"metadata.labels": {"a": "b c"}},
     [f'metadata.labels: Invalid value: "b c": {LABEL_VALUE}']),
    ("no-new-finalizers-while-deleting", "configmap", {"metadata.deletionTimestamp": "2024-01-02T00:00:00Z"},
     {"metadata.finalizers": ["example.com/x"]},
     ['metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new '
      'finalizers []string{"example.com/x"}']),
    ("deployment-selector-immutable", "deployment", {},
     {"spec.selector": {"matchLabels": {"app": "web", "tier": "fe"}},
      "spec.template.metadata.labels": {"app": "web", "tier": "fe"}},
     ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"fe"}, '
      'MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable']),
    ("deployment-replicas-mutable", "deployment", {}, {"spec.replicas": 5}, []),
    ("deployment-update-revalidates-spec", "deployment", {}, {"spec.replicas": -3},
     [f"spec.replicas: Invalid value: -3: {NEG}"]),
    ("replicaset-selector-immutable", "replicaset", {},
     {"spec.selector": {"matchLabels": {"app": "web", "v": "2"}},
      "spec.template.metadata.labels": {"app": "web", "v": "2"}},
     ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "v":"2"}, '
      'MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable']),
    ("daemonset-selector-immutable", "daemonset", {},
     {"spec.selector": {"matchLabels": {"app": "web", "v": "2"}},
      "spec.template.metadata.labels": {"app": "web", "v": "2"}},
     ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "v":"2"}, '
      'MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable']),
    ("statefulset-forbidden-field", "statefulset", {}, {"spec.serviceName": "db-headless"},
     ["spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
      "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
      "forbidden"]),
    ("statefulset-template-mutable", "statefulset", {}, {"spec.template.spec.containers.0.image": "nginx:1.26",
                                                         "spec.replicas": 3}, []),
    ("job-template-immutable", "job", {}, {"spec.template.spec.containers.0.image": "busybox:2"},
     ["spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable"]),
    ("job-suspended-scheduling-directives-mutable", "job", {"spec.suspend": True},
     {"spec.template.spec.nodeSelector": {"zone": "a"}, "spec.suspend": False}, []),
    ("job-completions-immutable", "job", {}, {"spec.completions": 3},
     ["spec.completions: Invalid value: 3: field is immutable"]),
    ("job-parallelism-mutable", "job", {}, {"spec.parallelism": 4}, []),
    ("cronjob-schedule-mutable", "cronjob", {}, {"spec.schedule": "@hourly"}, []),
    ("service-cluster-ip-immutable", "service", {}, {"spec.clusterIP": "10.96.0.11", "spec.clusterIPs": ["10.96.0.11"]},
     ['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set']),
    ("service-ip-families-immutable", "service", {}, {"spec.ipFamilies": ["IPv6"]},
     ['spec.ipFamilies[0]: Invalid value: []string{"IPv6"}: may not change once set']),
    ("service-ports-mutable", "service", {}, {"spec.ports": [{"port": 81}]}, []),
    ("configmap-immutable-data", "configmap", {"immutable": True}, {"data": {"app.conf": "x=2"}},
     ["data: Forbidden: field is immutable when `immutable` is set"]),
    ("configmap-immutable-flag", "configmap", {"immutable": True}, {"immutable": False},
     ["immutable: Forbidden: field is immutable when `immutable` is set"]),
    ("configmap-mutable", "configmap", {}, {"data": {"app.conf": "x=2"}}, []),
    ("secret-immutable-data", "secret", {"immutable": True}, {"data": {"password": "eA=="}},
     ["data: Forbidden: field is immutable when `immutable` is set"]),
    ("secret-type-immutable", "secret", {}, {"type": "kubernetes.io/basic-auth", "data": {"username": "dQ=="}},
     ['type: Invalid value: "kubernetes.io/basic-auth": field is immutable']),
    ("pod-image-mutable", "pod", {}, {"spec.containers.0.image": "nginx:1.26"}, []),
    ("pod-restart-policy-forbidden", "pod", {}, {"spec.restartPolicy": "Never"},
     [POD_UPDATE_PREFIX + '  core.PodSpec{\n- \trestartPolicy: "Always",\n+ \trestartPolicy: "Never",\n  }']),
    ("pod-add-container", "pod", {}, {"spec.containers": [container(), container(name="d")]},
     ["spec.containers: Forbidden: pod updates may not add or remove containers"]),
    ("pod-remove-image", "pod", {}, {"spec.containers.0.image": ""},
     ["spec.containers[0].image: Required value"]),  # reported twice, printed once
    ("pod-add-toleration", "pod", {}, {"spec.tolerations": [{"key": "k", "operator": "Exists"}]}, []),
    ("pod-remove-toleration", "pod", {"spec.tolerations": [{"key": "k", "operator": "Exists"}]},
     {"spec.tolerations": []},
     ["spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"]),
    ("pod-active-deadline-increase", "pod", {"spec.activeDeadlineSeconds": 30}, {"spec.activeDeadlineSeconds": 60},
     ["spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value"]),
    ("pod-scheduling-gate-removal", "pod", {"spec.schedulingGates": [{"name": "example.com/wait"}]},
     {"spec.schedulingGates": []}, []),
    ("rolebinding-role-ref-immutable", "rolebinding", {}, {"roleRef.name": "pod-writer"},
     ['roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"pod-writer"}: '
      'cannot change roleRef']),
    ("priorityclass-value-immutable", "priorityclass", {}, {"value": 5},
     ["value: Forbidden: may not be changed in an update."]),
    ("endpointslice-address-type-immutable", "endpointslice", {}, {"addressType": "FQDN", "endpoints": []},
     ['addressType: Invalid value: "FQDN": field is immutable']),
    ("ingressclass-controller-immutable", "ingressclass", {}, {"spec.controller": "example.com/other"},
     ['spec.controller: Invalid value: "example.com/other": field is immutable']),
    ("node-pod-cidr", "node", {}, {"spec.podCIDRs": ["198.18.2.0/24"]},
     ['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid']),
    ("node-pod-cidr-first-assignment", "node", {"spec.podCIDRs": DELETE}, {"spec.podCIDRs": ["198.18.2.0/24"]}, []),
]


@pytest.mark.parametrize("kind_key,old_changes,new_changes,expected", [c[1:] for c in UPDATE_CASES],
                         ids=[c[0] for c in UPDATE_CASES])
def test_update_rules(kind_key, old_changes, new_changes, expected):
    assert update_messages(kind_key, old_changes, new_changes) == expected


STATUS_CASES = [
    ("pod-phase-ok", "pod", {}, {"status": {"phase": "Running", "podIP": "198.18.1.9",
                                            "podIPs": [{"ip": "198.18.1.9"}]}}, []),
    ("pod-node-name", "pod", {}, {"spec.nodeName": "node-9"},
     ["status.nodeName: Forbidden: may not be changed directly"]),
    ("pod-pod-ip", "pod", {}, {"status": {"podIPs": [{"ip": "nope"}]}},
     ['status.podIPs[0].ip: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']),
    ("pod-terminated-stays-terminated", "pod",
     {"spec.restartPolicy": "Never",
      "status": {"containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 0}}}]}},
     {"status": {"containerStatuses": [{"name": "c", "state": {"running": {}}}]}},
     ["status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state"]),
    ("pod-qos-immutable", "pod", {"status": {"qosClass": "BestEffort"}}, {"status": {"qosClass": "Guaranteed"}},
     ['status.qosClass: Invalid value: "Guaranteed": field is immutable']),
    ("namespace-active", "namespace", {"status": {"phase": "Active"}}, {"status": {"phase": "Terminating"}},
     ["status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty"]),
    ("namespace-terminating", "namespace", {"metadata.deletionTimestamp": "2024-01-02T00:00:00Z"},
     {"status": {"phase": "Terminating"}}, []),
    ("deployment-status", "deployment", {}, {"status": {"replicas": 1, "readyReplicas": 2, "availableReplicas": 1}},
     ["status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas"]),
    ("deployment-status-negative", "deployment", {}, {"status": {"replicas": 2, "availableReplicas": -1}},
     [f"status.availableReplicas: Invalid value: -1: {NEG}"]),
    ("deployment-status-counts-default-to-zero", "deployment", {}, {"status": {"replicas": -1}},
     [f"status.replicas: Invalid value: -1: {NEG}",
      "status.updatedReplicas: Invalid value: 0: cannot be greater than status.replicas",
      "status.readyReplicas: Invalid value: 0: cannot be greater than status.replicas",
      "status.availableReplicas: Invalid value: 0: cannot be greater than status.replicas"]),
    ("deployment-collision-count", "deployment", {"status": {"collisionCount": 2}}, {"status": {"collisionCount": 1}},
     ["status.collisionCount: Invalid value: 1: cannot be decremented"]),
    ("replicaset-status", "replicaset", {}, {"status": {"replicas": 2, "fullyLabeledReplicas": 3}},
     ["status.fullyLabeledReplicas: Invalid value: 3: cannot be greater than the number of replicas"]),
    ("job-status", "job", {}, {"status": {"active": -1}}, [f"status.active: Invalid value: -1: {NEG}"]),
    ("pdb-status", "pdb", {}, {"status": {"disruptionsAllowed": -1}},
     [f"status.disruptionsAllowed: Invalid value: -1: {NEG}"]),
    ("service-lb-ip", "service", {}, {"status": {"loadBalancer": {"ingress": [{"ip": "198.18.0.50"}]}}}, []),
    ("configmap-no-status-rules", "configmap", {}, {}, []),
]


@pytest.mark.parametrize("kind_key,old_changes,new_changes,expected", [c[1:] for c in STATUS_CASES],
                         ids=[c[0] for c in STATUS_CASES])
def test_status_update_rules(kind_key, old_changes, new_changes, expected):
    assert update_messages(kind_key, old_changes, new_changes, status=True) == expected


# -- error shapes ------------------------------------------------------------------------------------

def test_errors_carry_kubernetes_cause_types():
    group, version, kind, namespaced, obj = build("deployment", {"spec.replicas": -1, "metadata.name": DELETE,
                                                                 "spec.strategy.type": "Blue"})
    errs = validate_create(group, version, kind, obj, namespaced=namespaced)
    assert [(e.type, e.field) for e in errs] == [
        (CauseType.REQUIRED, "metadata.name"), (CauseType.INVALID, "spec.replicas"),
        (CauseType.NOT_SUPPORTED, "spec.strategy")]


def test_invalid_status_message_as_kubectl_prints_it():
    group, version, kind, namespaced, obj = build("deployment", {"spec.replicas": -1})
    err = new_invalid(group, kind, "web", validate_create(group, version, kind, obj, namespaced=namespaced))
    assert err.message == ('Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: '
                           'must be greater than or equal to 0')


# -- name and format checks --------------------------------------------------------------------------

@pytest.mark.parametrize("fn,value,ok", [
    (names.is_dns1123_label, "a-1", True), (names.is_dns1123_label, "a.1", False),
    (names.is_dns1123_label, "a" * 64, False), (names.is_dns1123_subdomain, "a.b-c", True),
    (names.is_dns1123_subdomain, "-a", False), (names.is_dns1035_label, "a1", True),
    (names.is_dns1035_label, "1a", False), (names.is_qualified_name, "example.com/My.Name", True),
    (names.is_qualified_name, "/x", False), (names.is_valid_label_value, "", True),
    (names.is_valid_label_value, "a_", False), (names.is_valid_port_name, "http", True),
    (names.is_valid_port_name, "80", False), (names.is_valid_port_name, "a--b", False),
    (names.is_config_map_key, ".env", True), (names.is_config_map_key, "..", False),
    (names.is_valid_path_segment_name, "system:node", True), (names.is_valid_path_segment_name, ".", False),
], ids=lambda v: v.__name__ if callable(v) else repr(v)[:20])
def test_format_checks(fn, value, ok):
    assert (fn(value) == []) is ok


def test_generate_name_prefix_may_end_with_dash():
    assert names.name_is_dns_subdomain("web-", True) == []
    assert names.name_is_dns_subdomain("web-", False) != []


@pytest.mark.parametrize("spec", [
    "* * * * *", "*/15 0-6 * * 1-5", "0 0 1 jan,jul *", "30 2 * * sun", "0 */2 1-15/3 * mon-fri", "@hourly",
    "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "@every 1h30m", "5 4 ? * *",
])
def test_cron_accepts(spec):
    assert cron.validate(spec) is None


@pytest.mark.parametrize("spec,message", [
    ("", "empty spec string"),
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
    ("60 * * * *", "end of range (60) above maximum (59): 60"),
    ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("* * * * 7", "end of range (7) above maximum (6): 7"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("1/2/3 * * * *", "too many slashes: 1/2/3"),
    ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
    ("* * * foo *", 'failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax'),
    ("@reboot", "unrecognized descriptor: @reboot"),
    ("@every 5", 'failed to parse duration @every 5: time: missing unit in duration "5"'),
], ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None)
def test_cron_rejects(spec, message):
    assert cron.validate(spec) == message


def test_cron_schedule_sets():
    s = cron.parse("0 */6 1,15 * mon-fri")
    assert s.minutes == {0} and s.hours == {0, 6, 12, 18} and s.days_of_month == {1, 15}
    assert s.days_of_week == {1, 2, 3, 4, 5} and s.months == set(range(1, 13))


def test_statefulset_mounts_may_name_volume_claim_templates():
    """The standard StatefulSet example: a mount names a claim template, not a volume."""
    mount = {"spec.template.spec.containers.0.volumeMounts": [{"name": "www", "mountPath": "/data"}]}
    assert create_messages("statefulset", mount) == [
        'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "www"']
    claims = {"spec.volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}
    assert create_messages("statefulset", {**mount, **claims}) == []
