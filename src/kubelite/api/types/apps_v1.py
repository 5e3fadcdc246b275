"""apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet and ControllerRevision.

ControllerRevision's `data` is a RawExtension: any JSON value.
"""

from __future__ import annotations

from kubelite.api.schema import (
    BOOL, F, INT32, INT64, INT_OR_STRING, RAW, STRING, TIME, define, type_meta_fields,
)

from .common import APPS, CORE, META


define(APPS + "ControllerRevision", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "data", RAW),
    F(3, "revision", INT64, required=True),
])

define(APPS + "ControllerRevisionList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", APPS + "ControllerRevision", repeated=True, required=True),
])

define(APPS + "DaemonSet", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", APPS + "DaemonSetSpec"),
    F(3, "status", APPS + "DaemonSetStatus"),
])

define(APPS + "DaemonSetCondition", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
    F(3, "lastTransitionTime", TIME),
    F(4, "reason", STRING),
    F(5, "message", STRING),
])

define(APPS + "DaemonSetList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", APPS + "DaemonSet", repeated=True, required=True),
])

define(APPS + "DaemonSetSpec", [
    F(1, "selector", META + "LabelSelector", required=True),
    F(2, "template", CORE + "PodTemplateSpec", required=True),
    F(3, "updateStrategy", APPS + "DaemonSetUpdateStrategy"),
    F(4, "minReadySeconds", INT32),
    F(6, "revisionHistoryLimit", INT32),
])

define(APPS + "DaemonSetStatus", [
    F(1, "currentNumberScheduled", INT32, required=True),
    F(2, "numberMisscheduled", INT32, required=True),
    F(3, "desiredNumberScheduled", INT32, required=True),
    F(4, "numberReady", INT32, required=True),
    F(5, "observedGeneration", INT64),
    F(6, "updatedNumberScheduled", INT32),
    F(7, "numberAvailable", INT32),
    F(8, "numberUnavailable", INT32),
    F(9, "collisionCount", INT32),
    F(10, "conditions", APPS + "DaemonSetCondition", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
])

define(APPS + "DaemonSetUpdateStrategy", [
    F(1, "type", STRING, enum=("OnDelete", "RollingUpdate")),
    F(2, "rollingUpdate", APPS + "RollingUpdateDaemonSet"),
])

define(APPS + "Deployment", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", APPS + "DeploymentSpec"),
    F(3, "status", APPS + "DeploymentStatus"),
])

define(APPS + "DeploymentCondition", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
    F(4, "reason", STRING),
    F(5, "message", STRING),
    F(6, "lastUpdateTime", TIME),
    F(7, "lastTransitionTime", TIME),
])

define(APPS + "DeploymentList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", APPS + "Deployment", repeated=True, required=True),
])

define(APPS + "DeploymentSpec", [
    F(1, "replicas", INT32),
    F(2, "selector", META + "LabelSelector", required=True),
    F(3, "template", CORE + "PodTemplateSpec", required=True),
    F(4, "strategy", APPS + "DeploymentStrategy", patch_strategy="retainKeys"),
    F(5, "minReadySeconds", INT32),
    F(6, "revisionHistoryLimit", INT32),
    F(7, "paused", BOOL),
    F(9, "progressDeadlineSeconds", INT32),
])

define(APPS + "DeploymentStatus", [
    F(1, "observedGeneration", INT64),
    F(2, "replicas", INT32),
    F(3, "updatedReplicas", INT32),
    F(4, "availableReplicas", INT32),
    F(5, "unavailableReplicas", INT32),
    F(6, "conditions", APPS + "DeploymentCondition", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
    F(7, "readyReplicas", INT32),
    F(8, "collisionCount", INT32),
])

define(APPS + "DeploymentStrategy", [
    F(1, "type", STRING, enum=("Recreate", "RollingUpdate")),
    F(2, "rollingUpdate", APPS + "RollingUpdateDeployment"),
])

define(APPS + "ReplicaSet", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", APPS + "ReplicaSetSpec"),
    F(3, "status", APPS + "ReplicaSetStatus"),
])

define(APPS + "ReplicaSetCondition", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
    F(3, "lastTransitionTime", TIME),
    F(4, "reason", STRING),
    F(5, "message", STRING),
])

define(APPS + "ReplicaSetList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", APPS + "ReplicaSet", repeated=True, required=True),
])

define(APPS + "ReplicaSetSpec", [
    F(1, "replicas", INT32),
    F(2, "selector", META + "LabelSelector", required=True),
    F(3, "template", CORE + "PodTemplateSpec"),
    F(4, "minReadySeconds", INT32),
])

define(APPS + "ReplicaSetStatus", [
    F(1, "replicas", INT32, required=True),
    F(2, "fullyLabeledReplicas", INT32),
    F(3, "observedGeneration", INT64),
    F(4, "readyReplicas", INT32),
    F(5, "availableReplicas", INT32),
    F(6, "conditions", APPS + "ReplicaSetCondition", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
])

define(APPS + "RollingUpdateDaemonSet", [
    F(1, "maxUnavailable", INT_OR_STRING),
    F(2, "maxSurge", INT_OR_STRING),
])

define(APPS + "RollingUpdateDeployment", [
    F(1, "maxUnavailable", INT_OR_STRING),
    F(2, "maxSurge", INT_OR_STRING),
])

define(APPS + "RollingUpdateStatefulSetStrategy", [
    F(1, "partition", INT32),
    F(2, "maxUnavailable", INT_OR_STRING),
])

define(APPS + "StatefulSet", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", APPS + "StatefulSetSpec"),
    F(3, "status", APPS + "StatefulSetStatus"),
])

define(APPS + "StatefulSetCondition", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
    F(3, "lastTransitionTime", TIME),
    F(4, "reason", STRING),
    F(5, "message", STRING),
])

define(APPS + "StatefulSetList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", APPS + "StatefulSet", repeated=True, required=True),
])

define(APPS + "StatefulSetOrdinals", [
    F(1, "start", INT32),
])

define(APPS + "StatefulSetPersistentVolumeClaimRetentionPolicy", [
    F(1, "whenDeleted", STRING, enum=("Delete", "Retain")),
    F(2, "whenScaled", STRING, enum=("Delete", "Retain")),
])

define(APPS + "StatefulSetSpec", [
    F(1, "replicas", INT32),
    F(2, "selector", META + "LabelSelector", required=True),
    F(3, "template", CORE + "PodTemplateSpec", required=True),
    F(4, "volumeClaimTemplates", CORE + "PersistentVolumeClaim", repeated=True, list_type="atomic"),
    F(5, "serviceName", STRING, required=True),
    F(6, "podManagementPolicy", STRING, enum=("OrderedReady", "Parallel")),
    F(7, "updateStrategy", APPS + "StatefulSetUpdateStrategy"),
    F(8, "revisionHistoryLimit", INT32),
    F(9, "minReadySeconds", INT32),
    F(10, "persistentVolumeClaimRetentionPolicy", APPS + "StatefulSetPersistentVolumeClaimRetentionPolicy"),
    F(11, "ordinals", APPS + "StatefulSetOrdinals"),
])

define(APPS + "StatefulSetStatus", [
    F(1, "observedGeneration", INT64),
    F(2, "replicas", INT32, required=True),
    F(3, "readyReplicas", INT32),
    F(4, "currentReplicas", INT32),
    F(5, "updatedReplicas", INT32),
    F(6, "currentRevision", STRING),
    F(7, "updateRevision", STRING),
    F(9, "collisionCount", INT32),
    F(10, "conditions", APPS + "StatefulSetCondition", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
    F(11, "availableReplicas", INT32),
])

define(APPS + "StatefulSetUpdateStrategy", [
    F(1, "type", STRING, enum=("OnDelete", "RollingUpdate")),
    F(2, "rollingUpdate", APPS + "RollingUpdateStatefulSetStrategy"),
])
