"""The default address plan, all inside 198.18.0.0/15 (reserved for network testing, so it collides
with no LAN, VPN or cloud VPC). Every range is configurable; these are the embedded defaults.

| range            | use                                                        |
|------------------|------------------------------------------------------------|
| 198.18.0.0/20    | node addresses (.1 is the host on the `kubelite0` bridge)   |
| 198.18.64.0/18   | VPC blocks of the EKS-compatible cloud (one /21 per VPC)   |
| 198.18.128.0/20  | Service ClusterIPs (`kubernetes` = .1, `kube-dns` = .10)   |
| 198.18.192.0/20  | LoadBalancer addresses                                     |
| 198.19.0.0/16    | pod addresses, one /24 per node                            |
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class AddressPlan:
    node_cidr: str = "198.18.0.0/20"
    service_cidr: str = "198.18.128.0/20"
    load_balancer_cidr: str = "198.18.192.0/20"
    vpc_pool: str = "198.18.64.0/18"
    cluster_cidr: str = "198.19.0.0/16"
    node_pod_prefix: int = 24
    node_port_range: tuple[int, int] = (30000, 32767)

    def service_ip(self, index: int) -> str:
        return str(ipaddress.ip_network(self.service_cidr)[index])

    @property
    def host_address(self) -> str:
        """The host's own address on the node network: where the API server is advertised."""
        return str(ipaddress.ip_network(self.node_cidr)[1])

    @property
    def kubernetes_service_ip(self) -> str:
        return self.service_ip(1)

    @property
    def dns_service_ip(self) -> str:
        return self.service_ip(10)

    def pod_cidr(self, index: int) -> str:
        """The pod CIDR of the node with this index (0-based)."""
        subnets = ipaddress.ip_network(self.cluster_cidr).subnets(new_prefix=self.node_pod_prefix)
        for i, s in enumerate(subnets):
            if i == index:
                return str(s)
        raise ValueError("cluster CIDR exhausted")


DEFAULT = AddressPlan()
