"""The LoadBalancer controller for plain clusters (as MetalLB does in layer 2, with kube-proxy
serving the traffic): every `type: LoadBalancer` Service without a `loadBalancerClass` gets an
address from the load-balancer pool of the address plan in `status.loadBalancer.ingress`;
the address is released when the Service goes or stops being a LoadBalancer. The node proxy
routes traffic for those addresses like any other Service address.
"""

from .controller import ServiceLBController

__all__ = ["ServiceLBController"]
