"""metrics.k8s.io/v1beta1: NodeMetrics and PodMetrics, served from node statistics (never stored).

`window` is a Go duration string ("10.5s"); `usage` maps resource names to quantities.
"""

from __future__ import annotations

from kubelite.api.schema import DURATION, QUANTITY, STRING, TIME, F, define, type_meta_fields

from .common import META, METRICS

define(METRICS + "ContainerMetrics", [
    F(1, "name", STRING, required=True),
    F(2, "usage", QUANTITY, map=True, required=True),
])

define(METRICS + "NodeMetrics", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "timestamp", TIME, required=True),
    F(3, "window", DURATION, required=True),
    F(4, "usage", QUANTITY, map=True, required=True),
])

define(METRICS + "NodeMetricsList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", METRICS + "NodeMetrics", repeated=True, required=True),
])

define(METRICS + "PodMetrics", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "timestamp", TIME, required=True),
    F(3, "window", DURATION, required=True),
    F(4, "containers", METRICS + "ContainerMetrics", repeated=True, required=True),
])

define(METRICS + "PodMetricsList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", METRICS + "PodMetrics", repeated=True, required=True),
])
