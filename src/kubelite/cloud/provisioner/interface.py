"""The seams between the EKS service and what it runs:

- `ControlPlanes`: start, stop and destroy one Kubernetes control plane per cluster (its own CA,
  HTTPS endpoint, datastore and version), and give the service an admin client for it.
- `Instances`: launch and terminate node "instances" (node agents that join a cluster), for
  managed node groups.

Each has a real implementation (`process.ProcessControlPlanes`, `nodes.AgentInstances`) and a
fake (`fake.FakeControlPlanes`, `fake.FakeInstances`) for the EKS API tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class ProvisionError(Exception):
    """A control plane or an instance could not be started; the message is shown to the user
    (cluster or node-group health issue)."""


@dataclass
class ControlPlaneSpec:
    cluster_id: str                   # unique for the life of the cluster (the EKS `id`)
    name: str                         # the cluster name (bound into EKS tokens)
    version: str                      # Kubernetes minor, e.g. "1.32"
    data_dir: Path
    port: int = 0                     # 0: pick a free port
    service_cidr: str = ""
    webhook_url: str = ""             # the token-review webhook the API server calls
    webhook_token: str = ""           # its bearer token
    # The control plane's network interface in the cluster's VPC: the address its API server is
    # advertised at and cluster DNS listens on, reachable from the VPC's nodes and pods.
    vpc_address: str = ""
    # Controllers the control plane runs (kube-controller-manager's --controllers syntax).
    controllers: str = "*"


@dataclass
class Endpoint:
    url: str                          # https://127.0.0.1:<port>
    port: int
    ca_pem: bytes


class ControlPlanes(Protocol):
    async def start(self, spec: ControlPlaneSpec) -> Endpoint:
        """Start (or adopt) the control plane and return once it serves; raise `ProvisionError`."""

    async def stop(self, cluster_id: str) -> None:
        """Stop its processes, keep its data (a restart of the service brings it back)."""

    async def destroy(self, spec: ControlPlaneSpec) -> None:
        """Stop it and remove everything it left on the machine (running or not)."""

    def running(self, cluster_id: str) -> bool: ...

    def client(self, cluster_id: str) -> Any:
        """An admin `kubelite.client.Client` for the running cluster (owned by the provisioner)."""

    async def close(self) -> None:
        """Stop every control plane (the service is shutting down)."""


@dataclass
class InstanceSpec:
    instance_id: str                  # i-<17 hex>
    cluster_id: str
    node_name: str                    # ip-198-18-64-10.ec2.internal
    private_ip: str
    subnet_cidr: str
    zone: str
    instance_type: str
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict] = field(default_factory=list)   # Kubernetes taints (key, value, effect)
    api_server: str = ""              # the URL the node reaches the API server at
    ca_pem: bytes = b""
    region: str = ""
    cluster_name: str = ""
    # Where the node gets its role's credentials (the service's instance-metadata endpoint) and
    # the secret that proves it is this instance (as EC2's instance profile credentials).
    metadata_url: str = ""
    instance_secret: str = ""
    version: str = ""
    # The VPC: its block (the node's eth0 carries that prefix), the subnet's block and the
    # secondary addresses of the subnet the node's pods get (VPC CNI).
    vpc_cidr: str = ""
    pod_addresses: list[str] = field(default_factory=list)
    max_pods: int = 110
    cluster_dns: str = ""             # the kube-dns Service address
    # A Fargate node: sized from its pod ({"cpus", "memory_bytes"}), else the machine's.
    capacity: dict = field(default_factory=dict)
    # A registries file for the node's pulls (k3s `registries.yaml` shape: ECR credentials).
    registries: dict = field(default_factory=dict)


class Instances(Protocol):
    async def launch(self, spec: InstanceSpec) -> None:
        """Start the node agent; return once it runs (not necessarily Ready)."""

    async def terminate(self, instance_id: str) -> None:
        """Stop the agent and remove everything it made (netns, containers, cgroups, dirs)."""

    def running(self) -> list[str]: ...

    async def update_registries(self, instance_id: str, registries: dict) -> None:
        """Replace the node's registries file (fresh ECR credentials); the agent rereads it."""

    async def close(self) -> None: ...
