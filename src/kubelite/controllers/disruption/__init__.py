"""The disruption controller (Kubernetes' `pkg/controller/disruption`): the status of
PodDisruptionBudgets (healthy, desired and expected pods, disruptions allowed, the
`DisruptionAllowed` condition), which the eviction API consults.

- `controller`: `DisruptionController`.

Not yet: resetting stale `DisruptionTarget` pod conditions.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`.
"""

from .controller import DisruptionController

__all__ = ["DisruptionController"]
