"""Instance types a node group may ask for, with what decides their pod count on EKS: the number
of network interfaces (ENIs) and of IPv4 addresses per ENI (`amazon-vpc-cni-k8s`,
`misc/eni-max-pods.txt`). Without prefix delegation, EKS sets the kubelet's `maxPods` to

    ENIs × (IPv4 addresses per ENI − 1) + 2

(each ENI's primary address is the node's own; the + 2 are the host-network `aws-node` and
`kube-proxy` pods). The VPC CNI gives a node ENIs × (IPv4 per ENI − 1) secondary addresses from
its subnet, one per pod. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    enis: int
    ipv4_per_eni: int

    @property
    def secondary_addresses(self) -> int:
        """Pod addresses the VPC CNI can give pods on one node of this type."""
        return self.enis * (self.ipv4_per_eni - 1)

    @property
    def max_pods(self) -> int:
        return self.secondary_addresses + 2


def _t(name: str, vcpus: int, gib: float, enis: int, ips: int) -> InstanceType:
    return InstanceType(name, vcpus, int(gib * 1024), enis, ips)


# The common general-purpose, compute and memory types (EC2's published limits).
_TABLE = [
    _t("t2.micro", 1, 1, 2, 2), _t("t2.small", 1, 2, 3, 4), _t("t2.medium", 2, 4, 3, 6),
    _t("t2.large", 2, 8, 3, 12), _t("t2.xlarge", 4, 16, 3, 15), _t("t2.2xlarge", 8, 32, 3, 15),
    _t("t3.nano", 2, 0.5, 2, 2), _t("t3.micro", 2, 1, 2, 2), _t("t3.small", 2, 2, 3, 4),
    _t("t3.medium", 2, 4, 3, 6), _t("t3.large", 2, 8, 3, 12), _t("t3.xlarge", 4, 16, 4, 15),
    _t("t3.2xlarge", 8, 32, 4, 15),
    _t("t3a.nano", 2, 0.5, 2, 2), _t("t3a.micro", 2, 1, 2, 2), _t("t3a.small", 2, 2, 2, 4),
    _t("t3a.medium", 2, 4, 3, 6), _t("t3a.large", 2, 8, 3, 12), _t("t3a.xlarge", 4, 16, 4, 15),
    _t("t3a.2xlarge", 8, 32, 4, 15),
    _t("m5.large", 2, 8, 3, 10), _t("m5.xlarge", 4, 16, 4, 15), _t("m5.2xlarge", 8, 32, 4, 15),
    _t("m5.4xlarge", 16, 64, 8, 30), _t("m5.8xlarge", 32, 128, 8, 30), _t("m5.12xlarge", 48, 192, 8, 30),
    _t("m6i.large", 2, 8, 3, 10), _t("m6i.xlarge", 4, 16, 4, 15), _t("m6i.2xlarge", 8, 32, 4, 15),
    _t("m7i.large", 2, 8, 3, 10), _t("m7i.xlarge", 4, 16, 4, 15),
    _t("c5.large", 2, 4, 3, 10), _t("c5.xlarge", 4, 8, 4, 15), _t("c5.2xlarge", 8, 16, 4, 15),
    _t("c5.4xlarge", 16, 32, 8, 30),
    _t("c6i.large", 2, 4, 3, 10), _t("c6i.xlarge", 4, 8, 4, 15),
    _t("r5.large", 2, 16, 3, 10), _t("r5.xlarge", 4, 32, 4, 15), _t("r5.2xlarge", 8, 64, 4, 15),
    _t("r6i.large", 2, 16, 3, 10), _t("r6i.xlarge", 4, 32, 4, 15),
]

INSTANCE_TYPES: dict[str, InstanceType] = {t.name: t for t in _TABLE}
DEFAULT_INSTANCE_TYPE = "t3.medium"


def instance_type(name: str) -> InstanceType | None:
    return INSTANCE_TYPES.get(name)


def max_pods(name: str) -> int:
    """The kubelet's maxPods for a node of this type (110, Kubernetes' default, when unknown)."""
    t = INSTANCE_TYPES.get(name)
    return t.max_pods if t else 110
