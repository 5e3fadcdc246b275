"""autoscaling/v1 (Scale, the HorizontalPodAutoscaler with a CPU target) and autoscaling/v2
(HorizontalPodAutoscaler with metrics and behavior).
"""

from __future__ import annotations

from kubelite.api.schema import F, INT32, INT64, QUANTITY, STRING, TIME, define, type_meta_fields

from .common import AUTOSCALING_V1, AUTOSCALING_V2, META


define(AUTOSCALING_V1 + "CrossVersionObjectReference", [
    F(1, "kind", STRING, required=True),
    F(2, "name", STRING, required=True),
    F(3, "apiVersion", STRING),
], map_type="atomic")

define(AUTOSCALING_V1 + "HorizontalPodAutoscaler", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", AUTOSCALING_V1 + "HorizontalPodAutoscalerSpec"),
    F(3, "status", AUTOSCALING_V1 + "HorizontalPodAutoscalerStatus"),
])

define(AUTOSCALING_V1 + "HorizontalPodAutoscalerList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", AUTOSCALING_V1 + "HorizontalPodAutoscaler", repeated=True, required=True),
])

define(AUTOSCALING_V1 + "HorizontalPodAutoscalerSpec", [
    F(1, "scaleTargetRef", AUTOSCALING_V1 + "CrossVersionObjectReference", required=True),
    F(2, "minReplicas", INT32),
    F(3, "maxReplicas", INT32, required=True),
    F(4, "targetCPUUtilizationPercentage", INT32),
])

define(AUTOSCALING_V1 + "HorizontalPodAutoscalerStatus", [
    F(1, "observedGeneration", INT64),
    F(2, "lastScaleTime", TIME),
    F(3, "currentReplicas", INT32, required=True),
    F(4, "desiredReplicas", INT32, required=True),
    F(5, "currentCPUUtilizationPercentage", INT32),
])

define(AUTOSCALING_V1 + "Scale", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", AUTOSCALING_V1 + "ScaleSpec"),
    F(3, "status", AUTOSCALING_V1 + "ScaleStatus"),
])

define(AUTOSCALING_V1 + "ScaleSpec", [
    F(1, "replicas", INT32),
])

define(AUTOSCALING_V1 + "ScaleStatus", [
    F(1, "replicas", INT32, required=True),
    F(2, "selector", STRING),
])

define(AUTOSCALING_V2 + "ContainerResourceMetricSource", [
    F(1, "name", STRING, required=True),
    F(2, "target", AUTOSCALING_V2 + "MetricTarget", required=True),
    F(3, "container", STRING, required=True),
])

define(AUTOSCALING_V2 + "ContainerResourceMetricStatus", [
    F(1, "name", STRING, required=True),
    F(2, "current", AUTOSCALING_V2 + "MetricValueStatus", required=True),
    F(3, "container", STRING, required=True),
])

define(AUTOSCALING_V2 + "CrossVersionObjectReference", [
    F(1, "kind", STRING, required=True),
    F(2, "name", STRING, required=True),
    F(3, "apiVersion", STRING),
])

define(AUTOSCALING_V2 + "ExternalMetricSource", [
    F(1, "metric", AUTOSCALING_V2 + "MetricIdentifier", required=True),
    F(2, "target", AUTOSCALING_V2 + "MetricTarget", required=True),
])

define(AUTOSCALING_V2 + "ExternalMetricStatus", [
    F(1, "metric", AUTOSCALING_V2 + "MetricIdentifier", required=True),
    F(2, "current", AUTOSCALING_V2 + "MetricValueStatus", required=True),
])

define(AUTOSCALING_V2 + "HPAScalingPolicy", [
    F(1, "type", STRING, required=True),
    F(2, "value", INT32, required=True),
    F(3, "periodSeconds", INT32, required=True),
])

define(AUTOSCALING_V2 + "HPAScalingRules", [
    F(1, "selectPolicy", STRING),
    F(2, "policies", AUTOSCALING_V2 + "HPAScalingPolicy", repeated=True, list_type="atomic"),
    F(3, "stabilizationWindowSeconds", INT32),
])

define(AUTOSCALING_V2 + "HorizontalPodAutoscaler", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", AUTOSCALING_V2 + "HorizontalPodAutoscalerSpec"),
    F(3, "status", AUTOSCALING_V2 + "HorizontalPodAutoscalerStatus"),
])

define(AUTOSCALING_V2 + "HorizontalPodAutoscalerBehavior", [
    F(1, "scaleUp", AUTOSCALING_V2 + "HPAScalingRules"),
    F(2, "scaleDown", AUTOSCALING_V2 + "HPAScalingRules"),
])

define(AUTOSCALING_V2 + "HorizontalPodAutoscalerCondition", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
    F(3, "lastTransitionTime", TIME),
    F(4, "reason", STRING),
    F(5, "message", STRING),
])

define(AUTOSCALING_V2 + "HorizontalPodAutoscalerList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", AUTOSCALING_V2 + "HorizontalPodAutoscaler", repeated=True, required=True),
])

define(AUTOSCALING_V2 + "HorizontalPodAutoscalerSpec", [
    F(1, "scaleTargetRef", AUTOSCALING_V2 + "CrossVersionObjectReference", required=True),
    F(2, "minReplicas", INT32),
    F(3, "maxReplicas", INT32, required=True),
    F(4, "metrics", AUTOSCALING_V2 + "MetricSpec", repeated=True, list_type="atomic"),
    F(5, "behavior", AUTOSCALING_V2 + "HorizontalPodAutoscalerBehavior"),
])

define(AUTOSCALING_V2 + "HorizontalPodAutoscalerStatus", [
    F(1, "observedGeneration", INT64),
    F(2, "lastScaleTime", TIME),
    F(3, "currentReplicas", INT32),
    F(4, "desiredReplicas", INT32, required=True),
    F(5, "currentMetrics", AUTOSCALING_V2 + "MetricStatus", repeated=True, list_type="atomic"),
    F(6, "conditions", AUTOSCALING_V2 + "HorizontalPodAutoscalerCondition", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
])

define(AUTOSCALING_V2 + "MetricIdentifier", [
    F(1, "name", STRING, required=True),
    F(2, "selector", META + "LabelSelector"),
])

define(AUTOSCALING_V2 + "MetricSpec", [
    F(1, "type", STRING, required=True),
    F(2, "object", AUTOSCALING_V2 + "ObjectMetricSource"),
    F(3, "pods", AUTOSCALING_V2 + "PodsMetricSource"),
    F(4, "resource", AUTOSCALING_V2 + "ResourceMetricSource"),
    F(5, "external", AUTOSCALING_V2 + "ExternalMetricSource"),
    F(7, "containerResource", AUTOSCALING_V2 + "ContainerResourceMetricSource"),
])

define(AUTOSCALING_V2 + "MetricStatus", [
    F(1, "type", STRING, required=True),
    F(2, "object", AUTOSCALING_V2 + "ObjectMetricStatus"),
    F(3, "pods", AUTOSCALING_V2 + "PodsMetricStatus"),
    F(4, "resource", AUTOSCALING_V2 + "ResourceMetricStatus"),
    F(5, "external", AUTOSCALING_V2 + "ExternalMetricStatus"),
    F(7, "containerResource", AUTOSCALING_V2 + "ContainerResourceMetricStatus"),
])

define(AUTOSCALING_V2 + "MetricTarget", [
    F(1, "type", STRING, required=True),
    F(2, "value", QUANTITY),
    F(3, "averageValue", QUANTITY),
    F(4, "averageUtilization", INT32),
])

define(AUTOSCALING_V2 + "MetricValueStatus", [
    F(1, "value", QUANTITY),
    F(2, "averageValue", QUANTITY),
    F(3, "averageUtilization", INT32),
])

define(AUTOSCALING_V2 + "ObjectMetricSource", [
    F(1, "describedObject", AUTOSCALING_V2 + "CrossVersionObjectReference", required=True),
    F(2, "target", AUTOSCALING_V2 + "MetricTarget", required=True),
    F(3, "metric", AUTOSCALING_V2 + "MetricIdentifier", required=True),
])

define(AUTOSCALING_V2 + "ObjectMetricStatus", [
    F(1, "metric", AUTOSCALING_V2 + "MetricIdentifier", required=True),
    F(2, "current", AUTOSCALING_V2 + "MetricValueStatus", required=True),
    F(3, "describedObject", AUTOSCALING_V2 + "CrossVersionObjectReference", required=True),
])

define(AUTOSCALING_V2 + "PodsMetricSource", [
    F(1, "metric", AUTOSCALING_V2 + "MetricIdentifier", required=True),
    F(2, "target", AUTOSCALING_V2 + "MetricTarget", required=True),
])

define(AUTOSCALING_V2 + "PodsMetricStatus", [
    F(1, "metric", AUTOSCALING_V2 + "MetricIdentifier", required=True),
    F(2, "current", AUTOSCALING_V2 + "MetricValueStatus", required=True),
])

define(AUTOSCALING_V2 + "ResourceMetricSource", [
    F(1, "name", STRING, required=True),
    F(2, "target", AUTOSCALING_V2 + "MetricTarget", required=True),
])

define(AUTOSCALING_V2 + "ResourceMetricStatus", [
    F(1, "name", STRING, required=True),
    F(2, "current", AUTOSCALING_V2 + "MetricValueStatus", required=True),
])
