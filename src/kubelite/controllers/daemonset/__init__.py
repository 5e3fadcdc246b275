"""The DaemonSet controller (Kubernetes' `pkg/controller/daemon`): a pod on every node that fits
the DaemonSet, kept to its template by RollingUpdate (`maxUnavailable`, `maxSurge`) or OnDelete,
with ControllerRevisions for history.

- `controller`: `DaemonSetController` (handlers, `sync_daemonset`, manage, status).
- `placement`: which nodes should run a daemon pod (selectors, affinity, taints; pure).
- `update`: one RollingUpdate step (pure).
- `history`: ControllerRevisions and template hashes.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`,
`kubelite.controllers.util`.
"""

from .controller import DaemonSetController

__all__ = ["DaemonSetController"]
