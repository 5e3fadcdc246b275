"""The TTL-after-finished controller (Kubernetes' `pkg/controller/ttlafterfinished`): finished Jobs
are deleted `spec.ttlSecondsAfterFinished` after they finished.

- `controller`: `TTLAfterFinishedController`.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`.
"""

from .controller import TTLAfterFinishedController

__all__ = ["TTLAfterFinishedController"]
