"""The ReplicaSet controller: keeps `spec.replicas` pods running for every ReplicaSet
(Kubernetes' `pkg/controller/replicaset`).

- `controller`: `ReplicaSetController` (handlers, `sync_replica_set`, `manage_replicas`).
- `status`: pure `calculate_status` and the ReplicaFailure condition helpers.

May import: `kubelite.controllers.base`, `kubelite.controllers.util`, `kubelite.client`,
`kubelite.api`, `kubelite.machinery`.
"""

from .controller import BURST_REPLICAS, ReplicaSetController
from .status import calculate_status

__all__ = ["BURST_REPLICAS", "ReplicaSetController", "calculate_status"]
