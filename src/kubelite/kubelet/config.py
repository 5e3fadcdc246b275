"""`KubeletConfig`: the node agent's settings (Kubernetes' `KubeletConfiguration`, the parts we use).

Directories are per node, so several agents can share one machine:

    root_dir/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>   volumes
    root_dir/pods/<uid>/etc-hosts                              the pod's /etc/hosts
    root_dir/pods/<uid>/containers/<name>/<id>                 termination-message files
    log_dir/<namespace>_<pod>_<uid>/<container>/<restart>.log  container logs (CRI format)
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

from kubelite import KUBERNETES_VERSION

DEFAULT_ROOT_DIR = Path("/var/lib/kubelite/kubelet")
DEFAULT_LOG_DIR = Path("/var/log/pods")


@dataclass
class KubeletConfig:
    node_name: str = field(default_factory=socket.gethostname)
    root_dir: Path = DEFAULT_ROOT_DIR
    log_dir: Path = DEFAULT_LOG_DIR
    node_ips: list[str] = field(default_factory=list)  # InternalIP addresses, first is the primary
    hostname: str = ""  # the Hostname address ("" = node_name)
    node_netns: str = ""  # path of the node's network namespace ("" = the agent's own)
    node_labels: dict[str, str] = field(default_factory=dict)
    register_node: bool = True
    kubelet_port: int = 10250
    kubelet_version: str = KUBERNETES_VERSION
    max_pods: int = 110
    # the node's pod CIDR: from node.spec.podCIDR; when it does not come within
    # `pod_cidr_timeout` and `fallback_pod_cidr` is set, the agent patches it in itself
    fallback_pod_cidr: str = ""
    pod_cidr_timeout: float = 3.0
    cluster_dns: list[str] = field(default_factory=list)
    cluster_domain: str = "cluster.local"
    resolv_conf: str = "/etc/resolv.conf"  # the node's, for dnsPolicy Default and search domains
    # resources
    pod_pids_limit: int = 4096  # per pod cgroup (Kubernetes' podPidsLimit; -1 = unlimited)
    cpu_cfs_quota: bool = True
    cpu_cfs_quota_period_us: int = 100_000
    system_reserved: dict[str, str] = field(default_factory=dict)
    eviction_hard_memory: str = "100Mi"  # memory.available hard eviction threshold (allocatable)
    eviction_hard_nodefs_percent: int = 10  # nodefs.available < 10%
    # timing (seconds)
    sync_frequency: float = 60.0  # periodic resync of every pod
    node_status_update_frequency: float = 10.0
    node_status_report_frequency: float = 300.0
    node_lease_duration_seconds: int = 40
    pleg_relist_period: float = 1.0
    housekeeping_period: float = 2.0
    error_backoff: float = 2.0  # requeue of a pod whose sync failed (a mount waiting for a ConfigMap)
    crash_backoff_initial: float = 10.0
    crash_backoff_max: float = 300.0
    image_backoff_initial: float = 10.0
    image_backoff_max: float = 300.0
    # logs
    container_log_max_size: int = 10 * 1024 * 1024
    container_log_max_files: int = 5
    container_log_monitor_period: float = 10.0
    # images: registries the agent may pull from ("*" = any). Loopback registries are always
    # allowed; anything else must be listed, so that a test machine never reaches out.
    pull_registries: list[str] = field(default_factory=list)
    registries: str = ""  # a registries file (mirrors, rewrites, credentials); "" = $KUBELITE_REGISTRIES or none
    serialize_image_pulls: bool = False
    # garbage collection of dead containers: keep this many per pod and container name
    max_per_pod_container: int = 1
    memory_backed_volumes: bool = True  # tmpfs for emptyDir medium Memory, secret and projected volumes
    seccomp_profile_root: Path | None = None  # Localhost profiles; default root_dir/seccomp

    @property
    def pods_dir(self) -> Path:
        return self.root_dir / "pods"

    @property
    def seccomp_root(self) -> Path:
        return self.seccomp_profile_root or (self.root_dir / "seccomp")

    @property
    def primary_node_ip(self) -> str:
        return self.node_ips[0] if self.node_ips else ""
