"""The Ingress controller for plain kubelite clusters (IngressClass `kubelite`, controller
`kubelite.io/ingress-controller`, the default class unless told otherwise): Ingresses of that
class, or without a class while it is the default, are served by one `kubelite.lb` load
balancer running in the controller manager's process.

- `translate`: Ingresses + Services + EndpointSlices + Secrets -> a `LoadBalancerConfig`, plus
  the problems to report on each Ingress (pure).
- `controller`: `IngressController` (informers, the load balancer's life, the IngressClass,
  the frontend Service that gives it a pool address, Ingress status and events).
- `reasons`: event reasons.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.lb`.
"""

from .controller import CONTROLLER_NAME, IngressController

__all__ = ["CONTROLLER_NAME", "IngressController"]
