"""core/v1: Service, Endpoints, Node, Namespace, ConfigMap, Secret, ServiceAccount, Event,
LimitRange, ResourceQuota, Binding and the object references they share.
"""

from __future__ import annotations

from kubelite.api.schema import (
    BOOL, BYTES, F, INT32, INT64, INT_OR_STRING, MICRO_TIME, QUANTITY, STRING, TIME, define,
    type_meta_fields,
)

from .common import CORE, META, PROTOCOLS


define(CORE + "AttachedVolume", [
    F(1, "name", STRING, required=True),
    F(2, "devicePath", STRING, required=True),
])

define(CORE + "Binding", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "target", CORE + "ObjectReference", required=True),
])

define(CORE + "ClientIPConfig", [
    F(1, "timeoutSeconds", INT32),
])

define(CORE + "ConfigMap", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "data", STRING, map=True),
    F(3, "binaryData", BYTES, map=True),
    F(4, "immutable", BOOL),
])

define(CORE + "ConfigMapList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "ConfigMap", repeated=True, required=True),
])

define(CORE + "ConfigMapNodeConfigSource", [
    F(1, "namespace", STRING, required=True),
    F(2, "name", STRING, required=True),
    F(3, "uid", STRING),
    F(4, "resourceVersion", STRING),
    F(5, "kubeletConfigKey", STRING, required=True),
])

define(CORE + "ContainerImage", [
    F(1, "names", STRING, repeated=True, list_type="atomic"),
    F(2, "sizeBytes", INT64),
])

define(CORE + "DaemonEndpoint", [
    F(1, "Port", INT32, required=True),
])

define(CORE + "EndpointAddress", [
    F(1, "ip", STRING, required=True),
    F(2, "targetRef", CORE + "ObjectReference"),
    F(3, "hostname", STRING),
    F(4, "nodeName", STRING),
], map_type="atomic")

define(CORE + "EndpointPort", [
    F(1, "name", STRING),
    F(2, "port", INT32, required=True),
    F(3, "protocol", STRING, enum=PROTOCOLS),
    F(4, "appProtocol", STRING),
], map_type="atomic")

define(CORE + "EndpointSubset", [
    F(1, "addresses", CORE + "EndpointAddress", repeated=True, list_type="atomic"),
    F(2, "notReadyAddresses", CORE + "EndpointAddress", repeated=True, list_type="atomic"),
    F(3, "ports", CORE + "EndpointPort", repeated=True, list_type="atomic"),
])

define(CORE + "Endpoints", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "subsets", CORE + "EndpointSubset", repeated=True, list_type="atomic"),
])

define(CORE + "EndpointsList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "Endpoints", repeated=True, required=True),
])

define(CORE + "Event", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta", required=True),
    F(2, "involvedObject", CORE + "ObjectReference", required=True),
    F(3, "reason", STRING),
    F(4, "message", STRING),
    F(5, "source", CORE + "EventSource"),
    F(6, "firstTimestamp", TIME),
    F(7, "lastTimestamp", TIME),
    F(8, "count", INT32),
    F(9, "type", STRING),
    F(10, "eventTime", MICRO_TIME),
    F(11, "series", CORE + "EventSeries"),
    F(12, "action", STRING),
    F(13, "related", CORE + "ObjectReference"),
    F(14, "reportingComponent", STRING),
    F(15, "reportingInstance", STRING),
])

define(CORE + "EventList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "Event", repeated=True, required=True),
])

define(CORE + "EventSeries", [
    F(1, "count", INT32),
    F(2, "lastObservedTime", MICRO_TIME),
])

define(CORE + "EventSource", [
    F(1, "component", STRING),
    F(2, "host", STRING),
])

define(CORE + "LimitRange", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", CORE + "LimitRangeSpec"),
])

define(CORE + "LimitRangeItem", [
    F(1, "type", STRING, required=True),
    F(2, "max", QUANTITY, map=True),
    F(3, "min", QUANTITY, map=True),
    F(4, "default", QUANTITY, map=True),
    F(5, "defaultRequest", QUANTITY, map=True),
    F(6, "maxLimitRequestRatio", QUANTITY, map=True),
])

define(CORE + "LimitRangeList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "LimitRange", repeated=True, required=True),
])

define(CORE + "LimitRangeSpec", [
    F(1, "limits", CORE + "LimitRangeItem", repeated=True, required=True, list_type="atomic"),
])

define(CORE + "LoadBalancerIngress", [
    F(1, "ip", STRING),
    F(2, "hostname", STRING),
    F(3, "ipMode", STRING, enum=("Proxy", "VIP")),
    F(4, "ports", CORE + "PortStatus", repeated=True, list_type="atomic"),
])

define(CORE + "LoadBalancerStatus", [
    F(1, "ingress", CORE + "LoadBalancerIngress", repeated=True, list_type="atomic"),
])

define(CORE + "LocalObjectReference", [
    F(1, "name", STRING),
], map_type="atomic")

define(CORE + "Namespace", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", CORE + "NamespaceSpec"),
    F(3, "status", CORE + "NamespaceStatus"),
])

define(CORE + "NamespaceCondition", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
    F(4, "lastTransitionTime", TIME),
    F(5, "reason", STRING),
    F(6, "message", STRING),
])

define(CORE + "NamespaceList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "Namespace", repeated=True, required=True),
])

define(CORE + "NamespaceSpec", [
    F(1, "finalizers", STRING, repeated=True, list_type="atomic"),
])

define(CORE + "NamespaceStatus", [
    F(1, "phase", STRING, enum=("Active", "Terminating")),
    F(2, "conditions", CORE + "NamespaceCondition", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
])

define(CORE + "Node", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", CORE + "NodeSpec"),
    F(3, "status", CORE + "NodeStatus"),
])

define(CORE + "NodeAddress", [
    F(1, "type", STRING, required=True),
    F(2, "address", STRING, required=True),
])

define(CORE + "NodeCondition", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
    F(3, "lastHeartbeatTime", TIME),
    F(4, "lastTransitionTime", TIME),
    F(5, "reason", STRING),
    F(6, "message", STRING),
])

define(CORE + "NodeConfigSource", [
    F(2, "configMap", CORE + "ConfigMapNodeConfigSource"),
])

define(CORE + "NodeConfigStatus", [
    F(1, "assigned", CORE + "NodeConfigSource"),
    F(2, "active", CORE + "NodeConfigSource"),
    F(3, "lastKnownGood", CORE + "NodeConfigSource"),
    F(4, "error", STRING),
])

define(CORE + "NodeDaemonEndpoints", [
    F(1, "kubeletEndpoint", CORE + "DaemonEndpoint"),
])

define(CORE + "NodeFeatures", [
    F(1, "supplementalGroupsPolicy", BOOL),
])

define(CORE + "NodeList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "Node", repeated=True, required=True),
])

define(CORE + "NodeRuntimeHandler", [
    F(1, "name", STRING),
    F(2, "features", CORE + "NodeRuntimeHandlerFeatures"),
])

define(CORE + "NodeRuntimeHandlerFeatures", [
    F(1, "recursiveReadOnlyMounts", BOOL),
    F(2, "userNamespaces", BOOL),
])

define(CORE + "NodeSpec", [
    F(1, "podCIDR", STRING),
    F(2, "externalID", STRING),
    F(3, "providerID", STRING),
    F(4, "unschedulable", BOOL),
    F(5, "taints", CORE + "Taint", repeated=True, list_type="atomic"),
    F(6, "configSource", CORE + "NodeConfigSource"),
    F(7, "podCIDRs", STRING, repeated=True, patch_strategy="merge", list_type="set"),
])

define(CORE + "NodeStatus", [
    F(1, "capacity", QUANTITY, map=True),
    F(2, "allocatable", QUANTITY, map=True),
    F(3, "phase", STRING),
    F(4, "conditions", CORE + "NodeCondition", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
    F(5, "addresses", CORE + "NodeAddress", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
    F(6, "daemonEndpoints", CORE + "NodeDaemonEndpoints"),
    F(7, "nodeInfo", CORE + "NodeSystemInfo"),
    F(8, "images", CORE + "ContainerImage", repeated=True, list_type="atomic"),
    F(9, "volumesInUse", STRING, repeated=True, list_type="atomic"),
    F(10, "volumesAttached", CORE + "AttachedVolume", repeated=True, list_type="atomic"),
    F(11, "config", CORE + "NodeConfigStatus"),
    F(12, "runtimeHandlers", CORE + "NodeRuntimeHandler", repeated=True, list_type="atomic"),
    F(13, "features", CORE + "NodeFeatures"),
])

define(CORE + "NodeSystemInfo", [
    F(1, "machineID", STRING, required=True),
    F(2, "systemUUID", STRING, required=True),
    F(3, "bootID", STRING, required=True),
    F(4, "kernelVersion", STRING, required=True),
    F(5, "osImage", STRING, required=True),
    F(6, "containerRuntimeVersion", STRING, required=True),
    F(7, "kubeletVersion", STRING, required=True),
    F(8, "kubeProxyVersion", STRING, required=True),
    F(9, "operatingSystem", STRING, required=True),
    F(10, "architecture", STRING, required=True),
])

define(CORE + "ObjectReference", [
    F(1, "kind", STRING),
    F(2, "namespace", STRING),
    F(3, "name", STRING),
    F(4, "uid", STRING),
    F(5, "apiVersion", STRING),
    F(6, "resourceVersion", STRING),
    F(7, "fieldPath", STRING),
], map_type="atomic")

define(CORE + "PortStatus", [
    F(1, "port", INT32, required=True),
    F(2, "protocol", STRING, required=True),
    F(3, "error", STRING),
])

define(CORE + "ResourceQuota", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", CORE + "ResourceQuotaSpec"),
    F(3, "status", CORE + "ResourceQuotaStatus"),
])

define(CORE + "ResourceQuotaList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "ResourceQuota", repeated=True, required=True),
])

define(CORE + "ResourceQuotaSpec", [
    F(1, "hard", QUANTITY, map=True),
    F(2, "scopes", STRING, repeated=True, list_type="atomic"),
    F(3, "scopeSelector", CORE + "ScopeSelector"),
])

define(CORE + "ResourceQuotaStatus", [
    F(1, "hard", QUANTITY, map=True),
    F(2, "used", QUANTITY, map=True),
])

define(CORE + "ScopeSelector", [
    F(1, "matchExpressions", CORE + "ScopedResourceSelectorRequirement", repeated=True, list_type="atomic"),
], map_type="atomic")

define(CORE + "ScopedResourceSelectorRequirement", [
    F(1, "scopeName", STRING, required=True),
    F(2, "operator", STRING, required=True),
    F(3, "values", STRING, repeated=True, list_type="atomic"),
])

define(CORE + "Secret", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "data", BYTES, map=True),
    F(3, "type", STRING),
    F(4, "stringData", STRING, map=True),
    F(5, "immutable", BOOL),
])

define(CORE + "SecretList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "Secret", repeated=True, required=True),
])

define(CORE + "Service", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", CORE + "ServiceSpec"),
    F(3, "status", CORE + "ServiceStatus"),
])

define(CORE + "ServiceAccount", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "secrets", CORE + "ObjectReference", repeated=True, merge_key="name", patch_strategy="merge", list_type="map", list_map_keys=("name",)),
    F(3, "imagePullSecrets", CORE + "LocalObjectReference", repeated=True, list_type="atomic"),
    F(4, "automountServiceAccountToken", BOOL),
])

define(CORE + "ServiceAccountList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "ServiceAccount", repeated=True, required=True),
])

define(CORE + "ServiceList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", CORE + "Service", repeated=True, required=True),
])

define(CORE + "ServicePort", [
    F(1, "name", STRING),
    F(2, "protocol", STRING, enum=PROTOCOLS),
    F(3, "port", INT32, required=True),
    F(4, "targetPort", INT_OR_STRING),
    F(5, "nodePort", INT32),
    F(6, "appProtocol", STRING),
])

define(CORE + "ServiceSpec", [
    F(1, "ports", CORE + "ServicePort", repeated=True, merge_key="port", patch_strategy="merge", list_type="map", list_map_keys=("port", "protocol")),
    F(2, "selector", STRING, map=True, map_type="atomic"),
    F(3, "clusterIP", STRING),
    F(4, "type", STRING, enum=("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")),
    F(5, "externalIPs", STRING, repeated=True, list_type="atomic"),
    F(7, "sessionAffinity", STRING, enum=("ClientIP", "None")),
    F(8, "loadBalancerIP", STRING),
    F(9, "loadBalancerSourceRanges", STRING, repeated=True, list_type="atomic"),
    F(10, "externalName", STRING),
    F(11, "externalTrafficPolicy", STRING, enum=("Cluster", "Local")),
    F(12, "healthCheckNodePort", INT32),
    F(13, "publishNotReadyAddresses", BOOL),
    F(14, "sessionAffinityConfig", CORE + "SessionAffinityConfig"),
    F(17, "ipFamilyPolicy", STRING, enum=("PreferDualStack", "RequireDualStack", "SingleStack")),
    F(18, "clusterIPs", STRING, repeated=True, list_type="atomic"),
    F(19, "ipFamilies", STRING, repeated=True, list_type="atomic", enum=("IPv4", "IPv6")),
    F(20, "allocateLoadBalancerNodePorts", BOOL),
    F(21, "loadBalancerClass", STRING),
    F(22, "internalTrafficPolicy", STRING, enum=("Cluster", "Local")),
    F(23, "trafficDistribution", STRING),
])

define(CORE + "ServiceStatus", [
    F(1, "loadBalancer", CORE + "LoadBalancerStatus"),
    F(2, "conditions", META + "Condition", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
])

define(CORE + "SessionAffinityConfig", [
    F(1, "clientIP", CORE + "ClientIPConfig"),
])

define(CORE + "Taint", [
    F(1, "key", STRING, required=True),
    F(2, "value", STRING),
    F(3, "effect", STRING, required=True, enum=("NoExecute", "NoSchedule", "PreferNoSchedule")),
    F(4, "timeAdded", TIME),
])

define(CORE + "TypedLocalObjectReference", [
    F(1, "apiGroup", STRING),
    F(2, "kind", STRING, required=True),
    F(3, "name", STRING, required=True),
], map_type="atomic")

# Query options of the node and service `proxy` subresources (no OpenAPI definition).
define(CORE + "NodeProxyOptions", [
    *type_meta_fields(),
    F(1, "path", STRING),
])
define(CORE + "ServiceProxyOptions", [
    *type_meta_fields(),
    F(1, "path", STRING),
])
