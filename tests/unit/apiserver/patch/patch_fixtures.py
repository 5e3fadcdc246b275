"""Small test types (`test.patch.v1.*`) with Kubernetes' patch markers, and object builders.

They copy the markers of the real Deployment, Pod, Node and Service types that the patch code
depends on, under their own names so they never collide with `kubelite.api.types`.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone

from kubelite.api.schema import BOOL, INT32, INT_OR_STRING, MESSAGES, QUANTITY, STRING, TIME, F, define

P = "test.patch.v1."
DEPLOYMENT = P + "Deployment"
POD = P + "Pod"
NODE = P + "Node"
SERVICE = P + "Service"

T0 = datetime(2026, 11, 25, 21, 44, 32, tzinfo=timezone.utc)
T1 = datetime(2026, 11, 25, 21, 50, 0, tzinfo=timezone.utc)
T2 = datetime(2026, 11, 25, 22, 0, 0, tzinfo=timezone.utc)


def _define_all() -> None:
    define(P + "OwnerReference", [F(1, "apiVersion", STRING), F(2, "kind", STRING), F(3, "name", STRING),
                                  F(4, "uid", STRING), F(6, "controller", BOOL)], map_type="atomic")
    define(P + "ManagedFieldsEntry", [F(1, "manager", STRING), F(2, "operation", STRING),
                                      F(3, "apiVersion", STRING), F(4, "time", TIME),
                                      F(6, "fieldsType", STRING), F(7, "fieldsV1", "FieldsV1"),
                                      F(8, "subresource", STRING)])
    define(P + "ObjectMeta", [
        F(1, "name", STRING), F(2, "generateName", STRING), F(3, "namespace", STRING),
        F(5, "uid", STRING), F(6, "resourceVersion", STRING), F(7, "generation", INT32),
        F(8, "creationTimestamp", TIME), F(11, "labels", STRING, map=True),
        F(12, "annotations", STRING, map=True),
        F(13, "ownerReferences", P + "OwnerReference", repeated=True, merge_key="uid", patch_strategy="merge",
          list_type="map", list_map_keys=("uid",)),
        F(14, "finalizers", STRING, repeated=True, patch_strategy="merge", list_type="set"),
        F(17, "managedFields", P + "ManagedFieldsEntry", repeated=True, list_type="atomic"),
    ])
    define(P + "LabelSelector", [F(1, "matchLabels", STRING, map=True)], map_type="atomic")
    define(P + "EnvVar", [F(1, "name", STRING), F(2, "value", STRING)])
    define(P + "ContainerPort", [F(1, "name", STRING), F(3, "containerPort", INT32), F(4, "protocol", STRING)])
    define(P + "VolumeMount", [F(1, "name", STRING), F(3, "mountPath", STRING)])
    define(P + "ResourceRequirements", [F(1, "limits", QUANTITY, map=True), F(2, "requests", QUANTITY, map=True)])
    define(P + "Container", [
        F(1, "name", STRING), F(2, "image", STRING), F(3, "command", STRING, repeated=True, list_type="atomic"),
        F(4, "args", STRING, repeated=True, list_type="atomic"),
        F(6, "ports", P + "ContainerPort", repeated=True, merge_key="containerPort", patch_strategy="merge",
          list_type="map", list_map_keys=("containerPort", "protocol")),
        F(7, "env", P + "EnvVar", repeated=True, merge_key="name", patch_strategy="merge", list_type="map",
          list_map_keys=("name",)),
        F(8, "resources", P + "ResourceRequirements"),
        F(9, "volumeMounts", P + "VolumeMount", repeated=True, merge_key="mountPath", patch_strategy="merge",
          list_type="map", list_map_keys=("mountPath",)),
        F(14, "imagePullPolicy", STRING),
    ])
    define(P + "EmptyDirVolumeSource", [F(1, "medium", STRING)])
    define(P + "HostPathVolumeSource", [F(1, "path", STRING)])
    define(P + "ConfigMapVolumeSource", [F(1, "name", STRING)])
    define(P + "Volume", [F(1, "name", STRING), F(2, "hostPath", P + "HostPathVolumeSource"),
                          F(3, "emptyDir", P + "EmptyDirVolumeSource"),
                          F(19, "configMap", P + "ConfigMapVolumeSource")])
    define(P + "Toleration", [F(1, "key", STRING), F(2, "operator", STRING), F(3, "value", STRING),
                              F(4, "effect", STRING)])
    define(P + "PodCondition", [F(1, "type", STRING), F(2, "status", STRING), F(5, "reason", STRING)])
    define(P + "PodSpec", [
        F(1, "volumes", P + "Volume", repeated=True, merge_key="name", patch_strategy="merge,retainKeys",
          list_type="map", list_map_keys=("name",)),
        F(2, "containers", P + "Container", repeated=True, merge_key="name", patch_strategy="merge",
          list_type="map", list_map_keys=("name",)),
        F(3, "restartPolicy", STRING), F(7, "nodeSelector", STRING, map=True, map_type="atomic"),
        F(10, "nodeName", STRING),
        F(20, "initContainers", P + "Container", repeated=True, merge_key="name", patch_strategy="merge",
          list_type="map", list_map_keys=("name",)),
        F(22, "tolerations", P + "Toleration", repeated=True, list_type="atomic"),
    ])
    define(P + "PodStatus", [F(1, "phase", STRING),
                             F(2, "conditions", P + "PodCondition", repeated=True, merge_key="type",
                               patch_strategy="merge", list_type="map", list_map_keys=("type",))])
    define(POD, [F(0, "apiVersion", STRING), F(0, "kind", STRING), F(1, "metadata", P + "ObjectMeta"),
                 F(2, "spec", P + "PodSpec"), F(3, "status", P + "PodStatus")])
    define(P + "PodTemplateSpec", [F(1, "metadata", P + "ObjectMeta"), F(2, "spec", P + "PodSpec")])
    define(P + "RollingUpdateDeployment", [F(1, "maxUnavailable", INT_OR_STRING), F(2, "maxSurge", INT_OR_STRING)])
    define(P + "DeploymentStrategy", [F(1, "type", STRING),
                                      F(2, "rollingUpdate", P + "RollingUpdateDeployment")])
    define(P + "DeploymentSpec", [
        F(1, "replicas", INT32), F(2, "selector", P + "LabelSelector"), F(3, "template", P + "PodTemplateSpec"),
        F(4, "strategy", P + "DeploymentStrategy", patch_strategy="retainKeys"), F(7, "paused", BOOL),
        F(6, "revisionHistoryLimit", INT32),
    ])
    define(P + "DeploymentStatus", [F(2, "replicas", INT32)])
    define(DEPLOYMENT, [F(0, "apiVersion", STRING), F(0, "kind", STRING), F(1, "metadata", P + "ObjectMeta"),
                        F(2, "spec", P + "DeploymentSpec"), F(3, "status", P + "DeploymentStatus")])
    define(P + "NodeSpec", [F(1, "podCIDR", STRING), F(4, "unschedulable", BOOL)])
    define(NODE, [F(0, "apiVersion", STRING), F(0, "kind", STRING), F(1, "metadata", P + "ObjectMeta"),
                  F(2, "spec", P + "NodeSpec")])
    define(P + "ServicePort", [F(1, "name", STRING), F(2, "protocol", STRING), F(3, "port", INT32),
                               F(4, "targetPort", INT_OR_STRING)])
    define(P + "ServiceSpec", [
        F(1, "ports", P + "ServicePort", repeated=True, merge_key="port", patch_strategy="merge", list_type="map",
          list_map_keys=("port", "protocol")),
        F(2, "selector", STRING, map=True, map_type="atomic"), F(4, "type", STRING)])
    define(SERVICE, [F(0, "apiVersion", STRING), F(0, "kind", STRING), F(1, "metadata", P + "ObjectMeta"),
                     F(2, "spec", P + "ServiceSpec")])


if DEPLOYMENT not in MESSAGES:
    _define_all()


def deployment(**overrides) -> dict:
    """A stored Deployment `web` with one nginx container, as the server would keep it."""
    d = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "u-1", "resourceVersion": "10",
                     "generation": 1, "creationTimestamp": "2026-11-25T21:00:00Z", "labels": {"app": "web"},
                     "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                         "env": [{"name": "A", "value": "1"}],
                                         "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
                         "restartPolicy": "Always"},
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
        },
        "status": {"replicas": 2},
    }
    for dotted, v in overrides.items():
        node = d
        *parents, last = dotted.split("__")
        for p in parents:
            node = node[p]
        node[last] = v
    return d


def node(**spec) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "n-1"}, "spec": dict(spec)}


def pod() -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default", "uid": "p-1", "finalizers": ["a", "b"],
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                                          "uid": "rs-1", "controller": True}]},
        "spec": {
            "containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}],
            "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}],
            "tolerations": [{"key": "k1", "operator": "Exists"}, {"key": "k2", "operator": "Exists"}],
            "nodeSelector": {"disk": "ssd", "zone": "a"},
        },
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"},
                                                       {"type": "PodScheduled", "status": "True"}]},
    }


def clone(obj: dict) -> dict:
    return copy.deepcopy(obj)
