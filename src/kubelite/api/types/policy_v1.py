"""policy/v1: PodDisruptionBudget and Eviction (the pod `eviction` subresource body).
"""

from __future__ import annotations

from kubelite.api.schema import F, INT32, INT64, INT_OR_STRING, STRING, TIME, define, type_meta_fields

from .common import META, POLICY


define(POLICY + "Eviction", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "deleteOptions", META + "DeleteOptions"),
])

define(POLICY + "PodDisruptionBudget", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", POLICY + "PodDisruptionBudgetSpec"),
    F(3, "status", POLICY + "PodDisruptionBudgetStatus"),
])

define(POLICY + "PodDisruptionBudgetList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", POLICY + "PodDisruptionBudget", repeated=True, required=True),
])

define(POLICY + "PodDisruptionBudgetSpec", [
    F(1, "minAvailable", INT_OR_STRING),
    F(2, "selector", META + "LabelSelector", patch_strategy="replace"),
    F(3, "maxUnavailable", INT_OR_STRING),
    F(4, "unhealthyPodEvictionPolicy", STRING, enum=("AlwaysAllow", "IfHealthyBudget")),
])

define(POLICY + "PodDisruptionBudgetStatus", [
    F(1, "observedGeneration", INT64),
    F(2, "disruptedPods", TIME, map=True),
    F(3, "disruptionsAllowed", INT32, required=True),
    F(4, "currentHealthy", INT32, required=True),
    F(5, "desiredHealthy", INT32, required=True),
    F(6, "expectedPods", INT32, required=True),
    F(7, "conditions", META + "Condition", repeated=True, merge_key="type", patch_strategy="merge", list_type="map", list_map_keys=("type",)),
])
