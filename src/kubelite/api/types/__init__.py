"""The wire types kubelite serves, written in the schema language of `kubelite.api.schema`.

Importing this package registers every message in `kubelite.api.schema.MESSAGES`: each
resource's message in `kubelite.api.resources` and every message it reaches, named as
Kubernetes' OpenAPI names its definitions (`io.k8s.api.core.v1.Pod`), plus the meta/v1 types
(Status, DeleteOptions, WatchEvent, ...), the subresource bodies (Scale, Eviction, Binding,
TokenRequest) and the subresource query options.

The fields are those of Kubernetes v1.32: JSON names, protobuf field numbers, the fields
Kubernetes' OpenAPI marks required, and the strategic-merge-patch and server-side-apply markers
(`+patchMergeKey`, `+patchStrategy`, `+listType`, `+listMapKey`, `+mapType`, `+structType`).
Go struct embedding is recorded in `EMBEDDED` (see `common`).

One module per group/version; core/v1 is split into pods, volumes and the rest. Pure data: may
import only `kubelite.api.schema`.
"""

from __future__ import annotations

from . import (  # noqa: F401  (imported for their definitions)
    apps_v1,
    authentication_v1,
    authorization_v1,
    autoscaling,
    batch_v1,
    certificates_v1,
    coordination_v1,
    core_v1,
    core_v1_pod,
    core_v1_volume,
    discovery_v1,
    events_v1,
    meta_v1,
    metrics_v1beta1,
    networking_v1,
    policy_v1,
    rbac_v1,
    scheduling_v1,
)
from .common import EMBEDDED

__all__ = ["EMBEDDED"]
