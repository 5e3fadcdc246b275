"""scheduling.k8s.io/v1: PriorityClass.
"""

from __future__ import annotations

from kubelite.api.schema import BOOL, F, INT32, STRING, define, type_meta_fields

from .common import META, SCHEDULING


define(SCHEDULING + "PriorityClass", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "value", INT32, required=True),
    F(3, "globalDefault", BOOL),
    F(4, "description", STRING),
    F(5, "preemptionPolicy", STRING, enum=("Never", "PreemptLowerPriority")),
])

define(SCHEDULING + "PriorityClassList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", SCHEDULING + "PriorityClass", repeated=True, required=True),
])
