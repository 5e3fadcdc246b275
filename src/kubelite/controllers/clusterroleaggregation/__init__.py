"""The ClusterRole aggregation controller (Kubernetes' `pkg/controller/clusterroleaggregation`):
fills the `rules` of ClusterRoles that have an `aggregationRule` from the ClusterRoles it selects
(how `admin`, `edit` and `view` pick up the rules of custom resources).

- `controller`: `ClusterRoleAggregationController`.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`.
"""

from .controller import ClusterRoleAggregationController

__all__ = ["ClusterRoleAggregationController"]
