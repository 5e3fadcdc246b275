"""The node IPAM controller (Kubernetes' `pkg/controller/nodeipam`, range allocator): a pod CIDR
per Node (`spec.podCIDR`/`podCIDRs`) from the cluster CIDR, never overlapping, released when the
node goes, rebuilt from the nodes on restart.

- `controller`: `NodeIPAMController`.
- `cidrset`: the per-node subnets of a cluster CIDR (pure).

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`.
"""

from .controller import NodeIPAMController

__all__ = ["NodeIPAMController"]
