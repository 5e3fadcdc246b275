"""The EndpointSlice controller (Kubernetes' `pkg/controller/endpointslice`): EndpointSlices of at
most 100 endpoints for every Service with a selector, with ready/serving/terminating conditions,
per-pod named ports, hostnames, node names and zones.

- `controller`: `EndpointSliceController` (handlers, `sync_service`, stale-cache guard).
- `reconciler`: desired endpoints and the create/update/delete plan (pure).
- `_endpointutil`: pod addresses, ports, hostnames and trigger times, shared in shape with the
  Endpoints controller; to move into `controllers/util`.

Option: `max_endpoints_per_slice` (100). Not yet: topology hints, mirroring of custom Endpoints.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`.
"""

from .controller import EndpointSliceController

__all__ = ["EndpointSliceController"]
