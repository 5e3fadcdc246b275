"""The Deployment controller: rollouts through ReplicaSets (Kubernetes' `pkg/controller/deployment`).

- `controller`: `DeploymentController` (handlers, claiming ReplicaSets, `sync_deployment`).
- `sync`: the new ReplicaSet and revisions, proportional scaling, history cleanup, status.
- `rolling`, `recreate`: the two strategies.
- `progress`: the Progressing condition and progress deadlines.
- `util`: pure helpers (annotations, fenceposts, orderings, conditions).

May import: `kubelite.controllers.base`, `kubelite.controllers.util`, `kubelite.client`,
`kubelite.api`, `kubelite.machinery`.
"""

from .controller import DeploymentController

__all__ = ["DeploymentController"]
