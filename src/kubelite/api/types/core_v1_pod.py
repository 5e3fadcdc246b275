"""core/v1: Pod and what its spec and status reach (containers, probes, lifecycle, security,
affinity, tolerations, resources), PodTemplate, and the query options of the pod subresources.
"""

from __future__ import annotations

from kubelite.api.schema import (
    BOOL, F, INT32, INT64, INT_OR_STRING, QUANTITY, STRING, TIME, define, type_meta_fields,
)

from . import core_v1  # noqa: F401  (defines LocalObjectReference, embedded here)
from .common import CORE, META, PROTOCOLS, define_embedding


define(CORE + "EphemeralContainerCommon", [
    F(1, "name", STRING, required=True),
    F(2, "image", STRING),
    F(3, "command", STRING, repeated=True, list_type="atomic"),
    F(4, "args", STRING, repeated=True, list_type="atomic"),
    F(5, "workingDir", STRING),
    F(6, "ports", CORE + "ContainerPort", repeated=True, merge_key="containerPort", patch_strategy="merge", list_type="map", list_map_keys=("containerPort", "protocol")),
    F(7, "env", CORE + "EnvVar", repeated=True, merge_key="name", patch_strategy="merge", list_type="map", list_map_keys=("name",)),
    F(8, "resources", CORE + "ResourceRequirements"),
    F(9, "volumeMounts", CORE + "VolumeMount", repeated=True, merge_key="mountPath", patch_strategy="merge", list_type="map", list_map_keys=("mountPath",)),
    F(10, "livenessProbe", CORE + "Probe"),
    F(11, "readinessProbe", CORE + "Probe"),
    F(12, "lifecycle", CORE + "Lifecycle"),
    F(13, "terminationMessagePath", STRING),
    F(14, "imagePullPolicy", STRING, enum=("Always", "IfNotPresent", "Never")),
    F(15, "securityContext", CORE + "SecurityContext"),
    F(16, "stdin", BOOL),
    F(17, "stdinOnce", BOOL),
    F(18, "tty", BOOL),
    F(19, "envFrom", CORE + "EnvFromSource", repeated=True, list_type="atomic"),
    F(20, "terminationMessagePolicy", STRING, enum=("FallbackToLogsOnError", "File")),
    F(21, "volumeDevices", CORE + "VolumeDevice", repeated=True, merge_key="devicePath", patch_strategy="merge", list_type="map", list_map_keys=("devicePath",)),
    F(22, "startupProbe", CORE + "Probe"),
    F(23, "resizePolicy", CORE + "ContainerResizePolicy", repeated=True, list_type="atomic"),
    F(24, "restartPolicy", STRING),
])

define(CORE + "ProbeHandler", [
    F(1, "exec", CORE + "ExecAction"),
    F(2, "httpGet", CORE + "HTTPGetAction"),
    F(3, "tcpSocket", CORE + "TCPSocketAction"),
    F(4, "grpc", CORE + "GRPCAction"),
])

define(CORE + "Affinity", [
    F(1, "nodeAffinity", CORE + "NodeAffinity"),
    F(2, "podAffinity", CORE + "PodAffinity"),
    F(3, "podAntiAffinity", CORE + "PodAntiAffinity"),
])

define(CORE + "AppArmorProfile", [
    F(1, "type", STRING, required=True, enum=("Localhost", "RuntimeDefault", "Unconfined")),
    F(2, "localhostProfile", STRING),
])

define(CORE + "Capabilities", [
    F(1, "add", STRING, repeated=True, list_type="atomic"),
    F(2, "drop", STRING, repeated=True, list_type="atomic"),
])

define_embedding(CORE + "ConfigMapEnvSource", [
    F(2, "optional", BOOL),
], embedded=((1, CORE + "LocalObjectReference"),))

define_embedding(CORE + "ConfigMapKeySelector", [
    F(2, "key", STRING, required=True),
    F(3, "optional", BOOL),
], embedded=((1, CORE + "LocalObjectReference"),), map_type="atomic")

define(CORE + "Container", [
    F(1, "name", STRING, required=True),
    F(2, "image", STRING),
    F(3, "command", STRING, repeated=True, list_type="atomic"),
    F(4, "args", STRING, repeated=True, list_type="atomic"),
    F(5, "workingDir", STRING),
    F(6, "ports", CORE + "ContainerPort", repeated=True, merge_key="containerPort", patch_strategy="merge", list_type="map", list_map_keys=("containerPort", "protocol")),
    F(7, "env", CORE + "EnvVar", repeated=True, merge_key="name", patch_strategy="merge", list_type="map", list_map_keys=("name",)),
    F(8, "resources", CORE + "ResourceRequirements"),
    F(9, "volumeMounts", CORE + "VolumeMount", repeated=True, merge_key="mountPath", patch_strategy="merge", list_type="map", list_map_keys=("mountPath",)),
    F(10, "livenessProbe", CORE + "Probe"),
    F(11, "readinessProbe", CORE + "Probe"),
    F(12, "lifecycle", CORE + "Lifecycle"),
    F(13, "terminationMessagePath", STRING),
    F(14, "imagePullPolicy", STRING, enum=("Always", "IfNotPresent", "Never")),
    F(15, "securityContext", CORE + "SecurityContext"),
    F(16, "stdin", BOOL),
    F(17, "stdinOnce", BOOL),
    F(18, "tty", BOOL),
    F(19, "envFrom", CORE + "EnvFromSource", repeated=True, list_type="atomic"),
    F(20, "terminationMessagePolicy", STRING, enum=("FallbackToLogsOnError", "File")),
    F(21, "volumeDevices", CORE + "VolumeDevice", repeated=True, merge_key="devicePath", patch_strategy="merge", list_type="map", list_map_keys=("devicePath",)),
    F(22, "startupProbe", CORE + "Probe"),
    F(23, "resizePolicy", CORE + "ContainerResizePolicy", repeated=True, list_type="atomic"),
    F(24, "restartPolicy", STRING, enum=("Always",)),
])

define(CORE + "ContainerPort", [
    F(1, "name", STRING),
    F(2, "hostPort", INT32),
    F(3, "containerPort", INT32, required=True),
    F(4, "protocol", STRING, enum=PROTOCOLS),
    F(5, "hostIP", STRING),
])

define(CORE + "ContainerResizePolicy", [
    F(1, "resourceName", STRING, required=True),
    F(2, "restartPolicy", STRING, required=True, enum=("NotRequired", "RestartContainer")),
])

define(CORE + "ContainerState", [
    F(1, "waiting", CORE + "ContainerStateWaiting"),
    F(2, "running", CORE + "ContainerStateRunning"),
    F(3, "terminated", CORE + "ContainerStateTerminated"),
])

define(CORE + "ContainerStateRunning", [
    F(1, "startedAt", TIME),
])

define(CORE + "ContainerStateTerminated", [
    F(1, "exitCode", INT32, required=True),
    F(2, "signal", INT32),
    F(3, "reason", STRING),
    F(4, "message", STRING),
    F(5, "startedAt", TIME),
    F(6, "finishedAt", TIME),
    F(7, "containerID", STRING),
])

define(CORE + "ContainerStateWaiting", [
    F(1, "reason", STRING),
    F(2, "message", STRING),
])

define(CORE + "ContainerStatus", [
    F(1, "name", STRING, required=True),
    F(2, "state", CORE + "ContainerState"),
    F(3, "lastState", CORE + "ContainerState"),
    F(4, "ready", BOOL, required=True),
    F(5, "restartCount", INT32, required=True),
    F(6, "image", STRING, required=True),
    F(7, "imageID", STRING, required=True),
    F(8, "containerID", STRING),
    F(9, "started", BOOL),
    F(10, "allocatedResources", QUANTITY, map=True),
    F(11, "resources", CORE + "ResourceRequirements"),
    F(12, "volumeMounts", CORE + "VolumeMountStatus", repeated=True, merge_key="mountPath", patch_strategy="merge", list_type="map", list_map_keys=("mountPath",)),
    F(13, "user", CORE + "ContainerUser"),
    F(14, "allocatedResourcesStatus", CORE + "ResourceStatus", repeated=True, merge_key="name", patch_strategy="merge", list_type="map", list_map_keys=("name",)),
])

define(CORE + "ContainerUser", [
    F(1, "linux", CORE + "LinuxContainerUser"),
])

define(CORE + "EnvFromSource", [
    F(1, "prefix", STRING),
    F(2, "configMapRef", CORE + "ConfigMapEnvSource"),
    F(3, "secretRef", CORE + "SecretEnvSource"),
])

define(CORE + "EnvVar", [
    F(1, "name", STRING, required=True),
    F(2, "value", STRING),
    F(3, "valueFrom", CORE + "EnvVarSource"),
])

define(CORE + "EnvVarSource", [
    F(1, "fieldRef", CORE + "ObjectFieldSelector"),
    F(2, "resourceFieldRef", CORE + "ResourceFieldSelector"),
    F(3, "configMapKeyRef", CORE + "ConfigMapKeySelector"),
    F(4, "secretKeyRef", CORE + "SecretKeySelector"),
])

define_embedding(CORE + "EphemeralContainer", [
    F(2, "targetContainerName", STRING),
], embedded=((1, CORE + "EphemeralContainerCommon"),))

define(CORE + "ExecAction", [
    F(1, "command", STRING, repeated=True, list_type="atomic"),
])

define(CORE + "GRPCAction", [
    F(1, "port", INT32, required=True),
    F(2, "service", STRING),
])

define(CORE + "HTTPGetAction", [
    F(1, "path", STRING),
    F(2, "port", INT_OR_STRING, required=True),
    F(3, "host", STRING),
    F(4, "scheme", STRING, enum=("HTTP", "HTTPS")),
    F(5, "httpHeaders", CORE + "HTTPHeader", repeated=True, list_type="atomic"),
])

define(CORE + "HTTPHeader", [
    F(1, "name", STRING, required=True),
    F(2, "value", STRING, required=True),
])

define(CORE + "HostAlias", [
    F(1, "ip", STRING, required=True),
    F(2, "hostnames", STRING, repeated=True, list_type="atomic"),
])

define(CORE + "HostIP", [
    F(1, "ip", STRING, required=True),
])

define(CORE + "Lifecycle", [
    F(1, "postStart", CORE + "LifecycleHandler"),
    F(2, "preStop", CORE + "LifecycleHandler"),
])

define(CORE + "LifecycleHandler", [
    F(1, "exec", CORE + "ExecAction"),
    F(2, "httpGet", CORE + "HTTPGetAction"),
    F(3, "tcpSocket", CORE + "TCPSocketAction"),
    F(4, "sleep", CORE + "SleepAction"),
])

define(CORE + "LinuxContainerUser", [
    F(1, "uid", INT64, required=True),
    F(2, "gid", INT64, required=True),
    F(3, "supplementalGroups", INT64, repeated=True, list_type="atomic"),
])

define(CORE + "NodeAffinity", [
    F(1, "requiredDuringSchedulingIgnoredDuringExecution", CORE + "NodeSelector"),
    F(2, "preferredDuringSchedulingIgnoredDuringExecution", CORE + "PreferredSchedulingTerm", repeated=True, list_type="atomic"),
])

define(CORE + "NodeSelector", [
    F(1, "nodeSelectorTerms", CORE + "NodeSelectorTerm", repeated=True, required=True, list_type="atomic"),
], map_type="atomic")

define(CORE + "NodeSelectorRequirement", [
    F(1, "key", STRING, required=True),
    F(2, "operator", STRING, required=True, enum=("DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn")),
    F(3, "values", STRING, repeated=True, list_type="atomic"),
])

define(CORE + "NodeSelectorTerm", [
    F(1, "matchExpressions", CORE + "NodeSelectorRequirement", repeated=True, list_type="atomic"),
    F(2, "matchFields", CORE + "NodeSelectorRequirement", repeated=True, list_type="atomic"),
], map_type="atomic")

define(CORE + "ObjectFieldSelector", [
    F(1, "apiVersion", STRING),
    F(2, "fieldPath", STRING, required=True),
], map_type="atomic")

define(CORE + "Pod", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", CORE + "PodSpec"),
    F(3, "status", CORE + "PodStatus"),
])

define(CORE + "PodAffinity", [
    F(1, "requiredDuringSchedulingIgnoredDuringExecution", CORE + "PodAffinityTerm", repeated=True, list_type="atomic"),
    F(2, "preferredDuringSchedulingIgnoredDuringExecution", CORE + "WeightedPodAffinityTerm", repeated=True, list_type="atomic"),
])

define(CORE + "PodAffinityTerm", [
    F(1, "labelSelector", META + "LabelSelector"),
    F(2, "namespaces", STRING, repeated=True, list_type="atomic"),
    F(3, "topologyKey", STRING, required=True),
    F(4, "namespaceSelector", META + "LabelSelector"),
    F(5, "matchLabelKeys", STRING, repeated=True, list_type="atomic"),
    F(6, "mismatchLabelKeys", STRING, repeated=True, list_type="atomic"),
])

define(CORE + "PodAntiAffinity", [
    F(1, "requiredDuringSchedulingIgnoredDuringExecution", CORE + "PodAffinityTerm", repeated=True, list_type="atomic"),
    F(2, "preferredDuringSchedulingIgnoredDuringExecution", CORE + "WeightedPodAffinityTerm", repeated=True, list_type="atomic"),
])

define(CORE + "PodCondition", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
    F(3, "lastProbeTime", TIME),
    F(4, "lastTransitionTime", TIME),
    F(5, "reason", STRING),
    F(6, "message", STRING),
])

define(CORE + "PodDNSConfig", [
    F(1, "nameservers", STRING, repeated=True, list_type="atomic"),
    F(2, "searches", STRING, repeated=True, list_type="atomic"),
    F(3, "options", CORE + "PodDNSConfigOption", repeated=True, list_type="atomic"),
])

define(CORE + "PodDNSConfigOption", [
    F(1, "name", STRING),
    F(2, "value", STRING),
])

define(CORE + "PodIP", [
    F(1, "ip", STRING, required=True),
])

define(CORE + "PodList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "Pod", repeated=True, required=True),
])

define(CORE + "PodOS", [
    F(1, "name", STRING, required=True),
])

define(CORE + "PodReadinessGate", [
    F(1, "conditionType", STRING, required=True),
])

define(CORE + "PodResourceClaim", [
    F(1, "name", STRING, required=True),
    F(3, "resourceClaimName", STRING),
    F(4, "resourceClaimTemplateName", STRING),
])

define(CORE + "PodResourceClaimStatus", [
    F(1, "name", STRING, required=True),
    F(2, "resourceClaimName", STRING),
])

define(CORE + "PodSchedulingGate", [
    F(1, "name", STRING, required=True),
])

define(CORE + "PodSecurityContext", [
    F(1, "seLinuxOptions", CORE + "SELinuxOptions"),
    F(2, "runAsUser", INT64),
    F(3, "runAsNonRoot", BOOL),
    F(4, "supplementalGroups", INT64, repeated=True, list_type="atomic"),
    F(5, "fsGroup", INT64),
    F(6, "runAsGroup", INT64),
    F(7, "sysctls", CORE + "Sysctl", repeated=True, list_type="atomic"),
    F(8, "windowsOptions", CORE + "WindowsSecurityContextOptions"),
    F(9, "fsGroupChangePolicy", STRING, enum=("Always", "OnRootMismatch")),
    F(10, "seccompProfile", CORE + "SeccompProfile"),
    F(11, "appArmorProfile", CORE + "AppArmorProfile"),
    F(12, "supplementalGroupsPolicy", STRING, enum=("Merge", "Strict")),
    F(13, "seLinuxChangePolicy", STRING),
])

define(CORE + "PodSpec", [
    F(1, "volumes", CORE + "Volume", repeated=True, merge_key="name", patch_strategy="merge,retainKeys", list_type="map", list_map_keys=("name",)),
    F(2, "containers", CORE + "Container", repeated=True, required=True, merge_key="name", patch_strategy="merge", list_type="map", list_map_keys=("name",)),
    F(3, "restartPolicy", STRING, enum=("Always", "Never", "OnFailure")),
    F(4, "terminationGracePeriodSeconds", INT64),
    F(5, "activeDeadlineSeconds", INT64),
    F(6, "dnsPolicy", STRING, enum=("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")),
    F(7, "nodeSelector", STRING, map=True, map_type="atomic"),
    F(8, "serviceAccountName", STRING),
    F(9, "serviceAccount", STRING),
    F(10, "nodeName", STRING),
    F(11, "hostNetwork", BOOL),
    F(12, "hostPID", BOOL),
    F(13, "hostIPC", BOOL),
    F(14, "securityContext", CORE + "PodSecurityContext"),
    F(15, "imagePullSecrets", CORE + "LocalObjectReference", repeated=True, merge_key="name", patch_strategy="merge", list_type="map", list_map_keys=("name",)),
    F(16, "hostname", STRING),
    F(17, "subdomain", STRING),
    F(18, "affinity", CORE + "Affinity"),
    F(19, "schedulerName", STRING),
    F(20, "initContainers", CORE + "Container", repeated=True, merge_key="name", patch_strategy="merge", list_type="map", list_map_keys=("name",)),
    F(21, "automountServiceAccountToken", BOOL),
    F(22, "tolerations", CORE + "Toleration", repeated=True, list_type="atomic"),
    F(23, "hostAliases", CORE + "HostAlias", repeated=True, merge_key="ip", patch_strategy="merge", list_type="map", list_map_keys=("ip",)),
    F(24, "priorityClassName", STRING),
    F(25, "priority", INT32),
    F(26, "dnsConfig", CORE + "PodDNSConfig"),
    F(27, "shareProcessNamespace", BOOL),
    F(28, "readinessGates", CORE + "PodReadinessGate", repeated=True, list_type="atomic"),
    F(29, "runtimeClassName", STRING),
    F(30, "enableServiceLinks", BOOL),
    F(31, "preemptionPolicy", STRING, enum=("Never", "PreemptLowerPriority")),
    F(32, "overhead", QUANTITY, map=True),
    F(33, "topologySpreadConstraints", CORE + "TopologySpreadConstraint", repeated=True, merge_key="topologyKey", patch_strategy="merge", list_type="map", list_map_keys=("topologyKey", "whenUnsatisfiable")),
    F(34, "ephemeralContainers", CORE + "EphemeralContainer", repeated=True, merge_key="name", patch_strategy="merge", list_type="map", list_map_keys=("name",)),
    F(35, "setHostnameAsFQDN", BOOL),
    F(36, "os", CORE + "PodOS"),
    F(37, "hostUsers", BOOL),
    F(38, "schedulingGates", CORE + "PodSchedulingGate", repeated=True, merge_key="name", patch_strategy="merge", list_type="map", list_map_keys=("name",)),
    F(39, "resourceClaims", CORE + "PodResourceClaim", repeated=True, merge_key="name", patch_strategy="merge,retainKeys", list_type="map", list_map_keys=("name",)),
    F(40, "resources", CORE + "ResourceRequirements"),
])

define(CORE + "PodStatus", [
    F(1, "phase", STRING, enum=("Failed", "Pending", "Running", "Succeeded", "Unknown")),
    F(2, "conditions", CORE + "PodCondition", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
    F(3, "message", STRING),
    F(4, "reason", STRING),
    F(5, "hostIP", STRING),
    F(6, "podIP", STRING),
    F(7, "startTime", TIME),
    F(8, "containerStatuses", CORE + "ContainerStatus", repeated=True, list_type="atomic"),
    F(9, "qosClass", STRING, enum=("BestEffort", "Burstable", "Guaranteed")),
    F(10, "initContainerStatuses", CORE + "ContainerStatus", repeated=True, list_type="atomic"),
    F(11, "nominatedNodeName", STRING),
    F(12, "podIPs", CORE + "PodIP", repeated=True, merge_key="ip", patch_strategy="merge", list_type="map", list_map_keys=("ip",)),
    F(13, "ephemeralContainerStatuses", CORE + "ContainerStatus", repeated=True, list_type="atomic"),
    F(14, "resize", STRING),
    F(15, "resourceClaimStatuses", CORE + "PodResourceClaimStatus", repeated=True, merge_key="name", patch_strategy="merge,retainKeys", list_type="map", list_map_keys=("name",)),
    F(16, "hostIPs", CORE + "HostIP", repeated=True, merge_key="ip", patch_strategy="merge", list_type="atomic"),
])

define(CORE + "PodTemplate", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "template", CORE + "PodTemplateSpec"),
])

define(CORE + "PodTemplateList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "PodTemplate", repeated=True, required=True),
])

define(CORE + "PodTemplateSpec", [
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", CORE + "PodSpec"),
])

define(CORE + "PreferredSchedulingTerm", [
    F(1, "weight", INT32, required=True),
    F(2, "preference", CORE + "NodeSelectorTerm", required=True),
])

define_embedding(CORE + "Probe", [
    F(2, "initialDelaySeconds", INT32),
    F(3, "timeoutSeconds", INT32),
    F(4, "periodSeconds", INT32),
    F(5, "successThreshold", INT32),
    F(6, "failureThreshold", INT32),
    F(7, "terminationGracePeriodSeconds", INT64),
], embedded=((1, CORE + "ProbeHandler"),))

define(CORE + "ResourceClaim", [
    F(1, "name", STRING, required=True),
    F(2, "request", STRING),
])

define(CORE + "ResourceFieldSelector", [
    F(1, "containerName", STRING),
    F(2, "resource", STRING, required=True),
    F(3, "divisor", QUANTITY),
], map_type="atomic")

define(CORE + "ResourceHealth", [
    F(1, "resourceID", STRING, required=True),
    F(2, "health", STRING),
])

define(CORE + "ResourceRequirements", [
    F(1, "limits", QUANTITY, map=True),
    F(2, "requests", QUANTITY, map=True),
    F(3, "claims", CORE + "ResourceClaim", repeated=True, list_type="map", list_map_keys=("name",)),
])

define(CORE + "ResourceStatus", [
    F(1, "name", STRING, required=True),
    F(2, "resources", CORE + "ResourceHealth", repeated=True, list_type="map", list_map_keys=("resourceID",)),
])

define(CORE + "SELinuxOptions", [
    F(1, "user", STRING),
    F(2, "role", STRING),
    F(3, "type", STRING),
    F(4, "level", STRING),
])

define(CORE + "SeccompProfile", [
    F(1, "type", STRING, required=True, enum=("Localhost", "RuntimeDefault", "Unconfined")),
    F(2, "localhostProfile", STRING),
])

define_embedding(CORE + "SecretEnvSource", [
    F(2, "optional", BOOL),
], embedded=((1, CORE + "LocalObjectReference"),))

define_embedding(CORE + "SecretKeySelector", [
    F(2, "key", STRING, required=True),
    F(3, "optional", BOOL),
], embedded=((1, CORE + "LocalObjectReference"),), map_type="atomic")

define(CORE + "SecurityContext", [
    F(1, "capabilities", CORE + "Capabilities"),
    F(2, "privileged", BOOL),
    F(3, "seLinuxOptions", CORE + "SELinuxOptions"),
    F(4, "runAsUser", INT64),
    F(5, "runAsNonRoot", BOOL),
    F(6, "readOnlyRootFilesystem", BOOL),
    F(7, "allowPrivilegeEscalation", BOOL),
    F(8, "runAsGroup", INT64),
    F(9, "procMount", STRING, enum=("Default", "Unmasked")),
    F(10, "windowsOptions", CORE + "WindowsSecurityContextOptions"),
    F(11, "seccompProfile", CORE + "SeccompProfile"),
    F(12, "appArmorProfile", CORE + "AppArmorProfile"),
])

define(CORE + "SleepAction", [
    F(1, "seconds", INT64, required=True),
])

define(CORE + "Sysctl", [
    F(1, "name", STRING, required=True),
    F(2, "value", STRING, required=True),
])

define(CORE + "TCPSocketAction", [
    F(1, "port", INT_OR_STRING, required=True),
    F(2, "host", STRING),
])

define(CORE + "Toleration", [
    F(1, "key", STRING),
    F(2, "operator", STRING, enum=("Equal", "Exists")),
    F(3, "value", STRING),
    F(4, "effect", STRING, enum=("NoExecute", "NoSchedule", "PreferNoSchedule")),
    F(5, "tolerationSeconds", INT64),
])

define(CORE + "TopologySpreadConstraint", [
    F(1, "maxSkew", INT32, required=True),
    F(2, "topologyKey", STRING, required=True),
    F(3, "whenUnsatisfiable", STRING, required=True, enum=("DoNotSchedule", "ScheduleAnyway")),
    F(4, "labelSelector", META + "LabelSelector"),
    F(5, "minDomains", INT32),
    F(6, "nodeAffinityPolicy", STRING, enum=("Honor", "Ignore")),
    F(7, "nodeTaintsPolicy", STRING, enum=("Honor", "Ignore")),
    F(8, "matchLabelKeys", STRING, repeated=True, list_type="atomic"),
])

define(CORE + "VolumeDevice", [
    F(1, "name", STRING, required=True),
    F(2, "devicePath", STRING, required=True),
])

define(CORE + "VolumeMount", [
    F(1, "name", STRING, required=True),
    F(2, "readOnly", BOOL),
    F(3, "mountPath", STRING, required=True),
    F(4, "subPath", STRING),
    F(5, "mountPropagation", STRING, enum=("Bidirectional", "HostToContainer", "None")),
    F(6, "subPathExpr", STRING),
    F(7, "recursiveReadOnly", STRING, enum=("Disabled", "Enabled", "IfPossible")),
])

define(CORE + "VolumeMountStatus", [
    F(1, "name", STRING, required=True),
    F(2, "mountPath", STRING, required=True),
    F(3, "readOnly", BOOL),
    F(4, "recursiveReadOnly", STRING),
])

define(CORE + "WeightedPodAffinityTerm", [
    F(1, "weight", INT32, required=True),
    F(2, "podAffinityTerm", CORE + "PodAffinityTerm", required=True),
])

define(CORE + "WindowsSecurityContextOptions", [
    F(1, "gmsaCredentialSpecName", STRING),
    F(2, "gmsaCredentialSpec", STRING),
    F(3, "runAsUserName", STRING),
    F(4, "hostProcess", BOOL),
])

# Query options of the pod subresources; Kubernetes publishes no OpenAPI definition for them.
define(CORE + "PodLogOptions", [
    *type_meta_fields(),
    F(1, "container", STRING),
    F(2, "follow", BOOL),
    F(3, "previous", BOOL),
    F(4, "sinceSeconds", INT64),
    F(5, "sinceTime", TIME),
    F(6, "timestamps", BOOL),
    F(7, "tailLines", INT64),
    F(8, "limitBytes", INT64),
    F(9, "insecureSkipTLSVerifyBackend", BOOL),
    F(10, "stream", STRING, enum=("All", "Stderr", "Stdout")),
])
define(CORE + "PodExecOptions", [
    *type_meta_fields(),
    F(1, "stdin", BOOL),
    F(2, "stdout", BOOL),
    F(3, "stderr", BOOL),
    F(4, "tty", BOOL),
    F(5, "container", STRING),
    F(6, "command", STRING, repeated=True),
])
define(CORE + "PodAttachOptions", [
    *type_meta_fields(),
    F(1, "stdin", BOOL),
    F(2, "stdout", BOOL),
    F(3, "stderr", BOOL),
    F(4, "tty", BOOL),
    F(5, "container", STRING),
])
define(CORE + "PodPortForwardOptions", [
    *type_meta_fields(),
    F(1, "ports", INT32, repeated=True),
])
define(CORE + "PodProxyOptions", [
    *type_meta_fields(),
    F(1, "path", STRING),
])
