"""The EndpointSlice controller (Kubernetes' `pkg/controller/endpointslice`): EndpointSlices of at
most 100 endpoints for every Service with a selector, with ready/serving/terminating conditions,
per-pod named ports, hostnames, node names and zones.

- `controller`: `EndpointSliceController` (handlers, `sync_service`, stale-cache guard).
- `reconciler`: desired endpoints and the create/update/delete plan (pure).

Pod addresses, ports, hostnames and trigger times come from `controllers.util.endpoint`, shared
with the Endpoints controller.

Option: `max_endpoints_per_slice` (100). Not yet: topology hints, mirroring of custom Endpoints.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`,
`kubelite.controllers.util`.
"""

from .controller import EndpointSliceController

__all__ = ["EndpointSliceController"]
