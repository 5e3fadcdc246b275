"""The Endpoints controller (Kubernetes' `pkg/controller/endpoint`): one Endpoints object per
Service with a selector, listing the ready and not-ready addresses of the pods it selects, with
named target ports resolved per pod.

- `controller`: `EndpointsController` (handlers, `sync_service`).
- `subsets`: building, repacking and truncating subsets (pure).

Pod addresses, ports, hostnames and trigger times come from `controllers.util.endpoint`, shared
with the EndpointSlice controller.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`,
`kubelite.controllers.util`.
"""

from .controller import EndpointsController

__all__ = ["EndpointsController"]
