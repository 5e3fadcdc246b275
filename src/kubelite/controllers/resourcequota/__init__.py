"""The resource quota controller (Kubernetes' `pkg/controller/resourcequota`): keeps
`status.used` of ResourceQuotas current with what their namespace holds (object counts, pod
requests and limits, quota scopes). Admission enforcement is the API server's.

- `controller`: `ResourceQuotaController`.
- `usage`: the evaluators (pure).

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`.
"""

from .controller import ResourceQuotaController

__all__ = ["ResourceQuotaController"]
