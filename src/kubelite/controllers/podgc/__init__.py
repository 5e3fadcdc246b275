"""The pod garbage collector (Kubernetes' `pkg/controller/podgc`): force-deletes terminated pods
over a threshold, orphaned pods of deleted nodes, terminating pods never scheduled, and
terminating pods on out-of-service nodes.

- `controller`: `PodGCController` (a periodic `gc()`, no work queue).

Options: `terminated_pod_gc_threshold` (12500), `pod_gc_period` (20 s), `pod_gc_quarantine` (40 s).

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`.
"""

from .controller import PodGCController

__all__ = ["PodGCController"]
