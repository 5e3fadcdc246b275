"""The StatefulSet controller (Kubernetes' `pkg/controller/statefulset`): pods with stable names
and ordinals, created and deleted in order (`OrderedReady`) or all at once (`Parallel`), updated
by RollingUpdate (highest ordinal first, down to the partition) or OnDelete, with
ControllerRevisions for `currentRevision`/`updateRevision`.

- `controller`: `StatefulSetController` (handlers, `sync_statefulset`, status).
- `control`: one pass of the update algorithm over a `StatefulPodControl` seam.
- `identity`: names, ordinals, labels, hostname/subdomain, claim volumes (pure).
- `history`: ControllerRevisions.

PersistentVolumeClaims of `volumeClaimTemplates` are referenced by the pods but not created:
the scheme has no PersistentVolumeClaim resource yet.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`,
`kubelite.controllers.util`.
"""

from .controller import StatefulSetController

__all__ = ["StatefulSetController"]
