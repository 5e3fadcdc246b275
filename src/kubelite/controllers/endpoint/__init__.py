"""The Endpoints controller (Kubernetes' `pkg/controller/endpoint`): one Endpoints object per
Service with a selector, listing the ready and not-ready addresses of the pods it selects, with
named target ports resolved per pod.

- `controller`: `EndpointsController` (handlers, `sync_service`).
- `subsets`: building, repacking and truncating subsets (pure).
- `_endpointutil`: pod addresses, ports, hostnames and trigger times, shared in shape with the
  EndpointSlice controller; to move into `controllers/util`.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`.
"""

from .controller import EndpointsController

__all__ = ["EndpointsController"]
