"""Options of `kubelite cloud`, and the documented starter account.

The starter account is what a fresh data dir contains: account `000000000000`, an IAM user
`admin` with `AdministratorAccess`, its access key below, and two roles EKS users need:
`eksClusterRole` (trusts `eks.amazonaws.com`), `AmazonEKSNodeRole` (trusts `ec2.amazonaws.com`)
and `AmazonEKSFargatePodExecutionRole` (trusts `eks-fargate-pods.amazonaws.com`). `kubelite cloud configure` writes them into an AWS CLI profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kubelite import KUBERNETES_VERSION

STARTER_ACCOUNT_ID = "000000000000"
STARTER_USER = "admin"
STARTER_ACCESS_KEY_ID = "AKIAKUBELITESTARTER0"
STARTER_SECRET_ACCESS_KEY = "kubelite+starter+secret+access+key+00000"
STARTER_CLUSTER_ROLE = "eksClusterRole"
STARTER_NODE_ROLE = "AmazonEKSNodeRole"
STARTER_FARGATE_ROLE = "AmazonEKSFargatePodExecutionRole"

DEFAULT_DATA_DIR = Path("/var/lib/kubelite/cloud")
DEFAULT_REGION = "us-east-1"
# Kubernetes minor versions a cluster may run: the one this kubelite serves.
SUPPORTED_VERSIONS = (KUBERNETES_VERSION.lstrip("v").rsplit(".", 1)[0],)


@dataclass
class CloudConfig:
    data_dir: Path = DEFAULT_DATA_DIR
    host: str = "127.0.0.1"
    port: int = 4566
    default_region: str = DEFAULT_REGION
    zones_per_region: int = 3
    versions: tuple[str, ...] = SUPPORTED_VERSIONS
    # Each account's default VPC is the next /20 of this pool (inside the address plan's
    # 198.18.0.0/15 and outside its node, Service, load-balancer and pod ranges).
    vpc_pool: str = "198.18.64.0/18"
    default_service_cidr: str = "198.18.128.0/20"
    # Internet-facing load balancers' addresses (held on `lo`), inside the address plan's
    # load-balancer range; internal ones take addresses of their cluster's subnets.
    lb_pool: str = "198.18.200.0/21"
    # Where DNS names of load balancers and the ECR registry resolve: the service's own block of
    # this hosts file ("" = nowhere; only with real networking, as root).
    hosts_file: str = "/etc/hosts"
    # The ECR registry (every `<account>.dkr.ecr.<region>.amazonaws.com`): "" = the first address
    # of `lb_pool` with real networking (held on `lo`), else 127.0.0.1; port 443 (0: any).
    ecr_address: str = ""
    ecr_port: int = 443
    # strict: every request's SigV4 signature is verified against the IAM store. Permissive:
    # unknown access keys act as the starter admin (for tools that insist on `test`/`test`).
    strict: bool = True
    datastore: str = ""                      # default: sqlite:///<data_dir>/cloud.db
    # How long a cluster may take to become ready before it is FAILED.
    cluster_start_timeout: float = 120.0
    extra_child_args: list[str] = field(default_factory=list)

    @property
    def datastore_url(self) -> str:
        return self.datastore or f"sqlite://{self.data_dir / 'cloud.db'}"

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def clusters_dir(self) -> Path:
        return self.data_dir / "clusters"

    @property
    def default_version(self) -> str:
        return self.versions[-1]
