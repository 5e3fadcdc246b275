"""A cluster CIDR cut into equal per-node subnets (pure), as Kubernetes' `cidrset`: allocate the
next free subnet (round robin from the last one given out), occupy a known one, release one.
"""

from __future__ import annotations

import ipaddress


class CIDRSetError(ValueError):
    pass


class CIDRRangeFull(CIDRSetError):
    def __init__(self) -> None:
        super().__init__("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")


class CIDRSet:
    def __init__(self, cluster_cidr: str, node_mask_size: int) -> None:
        self.cluster = ipaddress.ip_network(cluster_cidr, strict=False)
        if node_mask_size < self.cluster.prefixlen or node_mask_size > self.cluster.max_prefixlen:
            raise CIDRSetError("New CIDR set failed; the node CIDR size is too big")
        if node_mask_size - self.cluster.prefixlen > 32:
            raise CIDRSetError("New CIDR set failed; the node CIDR size is too big")
        self.node_mask_size = node_mask_size
        self.max_cidrs = 1 << (node_mask_size - self.cluster.prefixlen)
        self._step = 1 << (self.cluster.max_prefixlen - node_mask_size)
        self._used: set[int] = set()
        self._next = 0

    @property
    def family(self) -> int:
        return self.cluster.version

    def _cidr(self, index: int) -> str:
        base = int(self.cluster.network_address) + index * self._step
        return str(ipaddress.ip_network((base, self.node_mask_size)))

    def _index(self, cidr: str) -> int:
        net = ipaddress.ip_network(cidr, strict=False)
        if net.version != self.cluster.version or not net.subnet_of(self.cluster):  # type: ignore[arg-type]
            raise CIDRSetError(f"cidr {cidr} is out the range of cluster cidr {self.cluster}")
        if net.prefixlen != self.node_mask_size:
            raise CIDRSetError(f"cidr {cidr} does not have the node mask size /{self.node_mask_size}")
        return (int(net.network_address) - int(self.cluster.network_address)) // self._step

    def allocate_next(self) -> str:
        for i in range(self.max_cidrs):
            index = (self._next + i) % self.max_cidrs
            if index not in self._used:
                self._used.add(index)
                self._next = (index + 1) % self.max_cidrs
                return self._cidr(index)
        raise CIDRRangeFull()

    def occupy(self, cidr: str) -> None:
        self._used.add(self._index(cidr))

    def release(self, cidr: str) -> None:
        self._used.discard(self._index(cidr))

    def is_used(self, cidr: str) -> bool:
        return self._index(cidr) in self._used

    def used(self) -> int:
        return len(self._used)
