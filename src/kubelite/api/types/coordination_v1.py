"""coordination.k8s.io/v1: Lease.
"""

from __future__ import annotations

from kubelite.api.schema import F, INT32, MICRO_TIME, STRING, define, type_meta_fields

from .common import COORDINATION, META


define(COORDINATION + "Lease", [
    *type_meta_fields(),
    F(1, "metadata", META + "ObjectMeta"),
    F(2, "spec", COORDINATION + "LeaseSpec"),
])

define(COORDINATION + "LeaseList", [
    *type_meta_fields(),
    F(1, "metadata", META + "ListMeta"),
    F(2, "items", COORDINATION + "Lease", repeated=True, required=True),
])

define(COORDINATION + "LeaseSpec", [
    F(1, "holderIdentity", STRING),
    F(2, "leaseDurationSeconds", INT32),
    F(3, "acquireTime", MICRO_TIME),
    F(4, "renewTime", MICRO_TIME),
    F(5, "leaseTransitions", INT32),
    F(6, "strategy", STRING),
    F(7, "preferredHolder", STRING),
])
