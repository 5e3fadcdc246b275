"""`AgentConfig`: everything one node agent needs to know about its node."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubelite.machinery.addressplan import DEFAULT, AddressPlan

DEFAULT_DATA_DIR = Path("/var/lib/kubelite/agent")
DEFAULT_RUN_DIR = Path("/run/kubelite")


@dataclass
class AgentConfig:
    node_name: str = field(default_factory=socket.gethostname)
    data_dir: Path = DEFAULT_DATA_DIR  # kubelet state (pod volumes) and, by default, logs
    run_dir: Path | None = None  # runtime state, CNI cache and IPAM (default /run/kubelite/<node>)
    log_dir: Path | None = None  # container logs (default <data_dir>/logs)
    image_dir: Path | None = None  # the image store (default /var/lib/kubelite/images)
    cgroup_root: str = "kubelite"
    node_ip: str = ""  # InternalIP (default: the plan's host address when the node is the host)
    node_netns: str = ""  # path of the node's network namespace ("" = this host's)
    host_bridge: str = "kubelite0"  # made on the host with node_ip when node_netns is "" ("" = skip)
    cni_bridge: str = "cni0"
    cni_network_name: str = "kubelite"
    netns_prefix: str = "cni"  # pod network namespaces: /var/run/netns/<prefix>-<sandbox id>
    pod_cidr: str = ""  # set on the Node at once if it has none (the Node's spec.podCIDR wins)
    allocate_pod_cidr: bool = False  # no CIDR from the controller in a few seconds: take the plan's first /24
    plan: AddressPlan = DEFAULT
    cluster_dns: list[str] | None = None  # default: the plan's DNS Service IP
    cluster_domain: str = "cluster.local"
    kubelet_port: int = 10250
    pull_registries: list[str] = field(default_factory=list)
    registries: str = ""  # registries file: mirrors, rewrites, credentials (k3s registries.yaml / hosts.toml)
    node_labels: dict[str, str] = field(default_factory=dict)
    kubelet: dict[str, Any] = field(default_factory=dict)  # extra KubeletConfig fields
    # The kubelet's HTTPS server (logs, exec, attach, port-forward, stats): its serving pair
    # (self-signed in data_dir when absent) and the CA the API server's client certificate chains to.
    kubelet_cert_file: Path | None = None
    kubelet_key_file: Path | None = None
    client_ca_file: Path | None = None
    kubelet_server: bool = True
    proxy: bool = True  # run the Service proxy (nftables) for this node

    @property
    def runtime_dir(self) -> Path:
        return self.run_dir or (DEFAULT_RUN_DIR / self.node_name)

    @property
    def pod_log_dir(self) -> Path:
        return self.log_dir or (self.data_dir / "logs")

    @property
    def images_dir(self) -> Path:
        return self.image_dir or Path("/var/lib/kubelite/images")

    @property
    def address(self) -> str:
        return self.node_ip or (self.plan.host_address if not self.node_netns else "")
