"""meta/v1: object and list metadata, label selectors, owner references, managed fields, conditions,
Status, DeleteOptions and WatchEvent.
"""

from __future__ import annotations

from kubelite.api.schema import BOOL, F, FIELDS_V1, INT32, INT64, RAW, STRING, TIME, define, type_meta_fields

from .common import META


define(META + "Condition", [
    F(1, "type", STRING, required=True),
    F(2, "status", STRING, required=True),
    F(3, "observedGeneration", INT64),
    F(4, "lastTransitionTime", TIME, required=True),
    F(5, "reason", STRING, required=True),
    F(6, "message", STRING, required=True),
])

define(META + "DeleteOptions", [
    *type_meta_fields(),
    F(1, "gracePeriodSeconds", INT64),
    F(2, "preconditions", META + "Preconditions"),
    F(3, "orphanDependents", BOOL),
    F(4, "propagationPolicy", STRING, enum=("Background", "Foreground", "Orphan")),
    F(5, "dryRun", STRING, repeated=True, list_type="atomic"),
    F(6, "ignoreStoreReadErrorWithClusterBreakingPotential", BOOL),
])

define(META + "FieldSelectorRequirement", [
    F(1, "key", STRING, required=True),
    F(2, "operator", STRING, required=True),
    F(3, "values", STRING, repeated=True, list_type="atomic"),
])

define(META + "LabelSelector", [
    F(1, "matchLabels", STRING, map=True),
    F(2, "matchExpressions", META + "LabelSelectorRequirement", repeated=True, list_type="atomic"),
], map_type="atomic")

define(META + "LabelSelectorRequirement", [
    F(1, "key", STRING, required=True),
    F(2, "operator", STRING, required=True),
    F(3, "values", STRING, repeated=True, list_type="atomic"),
])

define(META + "ListMeta", [
    F(1, "selfLink", STRING),
    F(2, "resourceVersion", STRING),
    F(3, "continue", STRING),
    F(4, "remainingItemCount", INT64),
])

define(META + "ManagedFieldsEntry", [
    F(1, "manager", STRING),
    F(2, "operation", STRING, enum=("Apply", "Update")),
    F(3, "apiVersion", STRING),
    F(4, "time", TIME),
    F(6, "fieldsType", STRING),
    F(7, "fieldsV1", FIELDS_V1),
    F(8, "subresource", STRING),
])

define(META + "ObjectMeta", [
    F(1, "name", STRING),
    F(2, "generateName", STRING),
    F(3, "namespace", STRING),
    F(4, "selfLink", STRING),
    F(5, "uid", STRING),
    F(6, "resourceVersion", STRING),
    F(7, "generation", INT64),
    F(8, "creationTimestamp", TIME),
    F(9, "deletionTimestamp", TIME),
    F(10, "deletionGracePeriodSeconds", INT64),
    F(11, "labels", STRING, map=True),
    F(12, "annotations", STRING, map=True),
    F(13, "ownerReferences", META + "OwnerReference", repeated=True, merge_key="uid", patch_strategy="merge", list_type="map", list_map_keys=("uid",)),
    F(14, "finalizers", STRING, repeated=True, patch_strategy="merge", list_type="set"),
    F(17, "managedFields", META + "ManagedFieldsEntry", repeated=True, list_type="atomic"),
])

define(META + "OwnerReference", [
    F(1, "kind", STRING, required=True),
    F(3, "name", STRING, required=True),
    F(4, "uid", STRING, required=True),
    F(5, "apiVersion", STRING, required=True),
    F(6, "controller", BOOL),
    F(7, "blockOwnerDeletion", BOOL),
], map_type="atomic")

define(META + "Preconditions", [
    F(1, "uid", STRING),
    F(2, "resourceVersion", STRING),
])

define(META + "Status", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "status", STRING),
    F(3, "message", STRING),
    F(4, "reason", STRING),
    F(5, "details", META + "StatusDetails", list_type="atomic"),
    F(6, "code", INT32),
])

define(META + "StatusCause", [
    F(1, "reason", STRING),
    F(2, "message", STRING),
    F(3, "field", STRING),
])

define(META + "StatusDetails", [
    F(1, "name", STRING),
    F(2, "group", STRING),
    F(3, "kind", STRING),
    F(4, "causes", META + "StatusCause", repeated=True, list_type="atomic"),
    F(5, "retryAfterSeconds", INT32),
    F(6, "uid", STRING),
])

define(META + "WatchEvent", [
    F(1, "type", STRING, required=True),
    F(2, "object", RAW, required=True),
])
