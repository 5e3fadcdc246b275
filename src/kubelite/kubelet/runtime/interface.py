"""The container runtime seam in CRI roles: `RuntimeService` and the data it takes and returns.

Shapes follow the CRI (`k8s.io/cri-api` `RuntimeService`): a pod sandbox holds the pod's shared
namespaces and cgroup; containers are created in a sandbox, started, stopped, removed. Times are
nanoseconds since the epoch. IDs are opaque strings chosen by the runtime. Configs are plain
dataclasses so they can be written to disk and read back by a restarted agent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from kubelite.images.interface import Image

from ..network.interface import PortMapping

__all__ = [
    "ContainerFilter", "ContainerImage", "ContainerConfig", "ContainerReason", "ContainerState",
    "ContainerStats", "ContainerStatus", "Container", "Device", "DNSConfig", "ExecSyncResult",
    "KeyValue", "LinuxContainerResources", "Mount", "MountPropagation", "PodSandbox",
    "PodSandboxConfig", "PodSandboxFilter", "PodSandboxState", "PodSandboxStats",
    "PodSandboxStatus", "PortMapping", "ProcessHandle", "RuntimeCondition", "RuntimeService",
    "RuntimeStatus", "SecurityContext", "StdinWriter", "VersionInfo",
]


class PodSandboxState(StrEnum):
    READY = "SANDBOX_READY"
    NOTREADY = "SANDBOX_NOTREADY"


class ContainerState(StrEnum):
    CREATED = "CONTAINER_CREATED"
    RUNNING = "CONTAINER_RUNNING"
    EXITED = "CONTAINER_EXITED"
    UNKNOWN = "CONTAINER_UNKNOWN"


class ContainerReason(StrEnum):
    """`ContainerStatus.reason` of an exited container, as the kubelet shows it."""

    COMPLETED = "Completed"
    ERROR = "Error"
    OOM_KILLED = "OOMKilled"
    CONTAINER_CANNOT_RUN = "ContainerCannotRun"


class MountPropagation(StrEnum):
    PRIVATE = "PROPAGATION_PRIVATE"
    HOST_TO_CONTAINER = "PROPAGATION_HOST_TO_CONTAINER"
    BIDIRECTIONAL = "PROPAGATION_BIDIRECTIONAL"


class Seccomp(StrEnum):
    RUNTIME_DEFAULT = "RuntimeDefault"
    UNCONFINED = "Unconfined"
    LOCALHOST = "Localhost"


@dataclass
class KeyValue:
    key: str
    value: str


@dataclass
class DNSConfig:
    servers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


@dataclass
class LinuxContainerResources:
    """cgroup settings; 0 means "not set". CPU values are already in cgroup units (kubelet's
    `MilliCPUToShares` / `MilliCPUToQuota`)."""

    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    memory_limit_in_bytes: int = 0
    pids_limit: int = 0
    oom_score_adj: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""


@dataclass
class PodSandboxConfig:
    name: str
    namespace: str
    uid: str
    attempt: int = 0
    hostname: str = ""  # "" = the pod name
    log_directory: str = ""  # container log paths are relative to it
    dns_config: DNSConfig | None = None  # None = copy the node's resolv.conf
    port_mappings: list[PortMapping] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    share_process_namespace: bool = False
    qos_class: str = "BestEffort"  # Guaranteed | Burstable | BestEffort: picks the cgroup parent
    cgroup_parent: str = ""  # pod cgroup below the runtime's cgroup root; "" = from qos_class
    sysctls: dict[str, str] = field(default_factory=dict)
    resources: LinuxContainerResources | None = None  # pod-level limits on the pod cgroup


@dataclass
class ContainerImage:
    """The image a container runs: the reference, its ID, its config and its unpacked layers."""

    image: str = ""
    image_id: str = ""
    config: dict[str, Any] = field(default_factory=dict)  # OCI image config's `config` section
    lowerdirs: list[str] = field(default_factory=list)  # layer dirs, lowest first

    @classmethod
    def from_image(cls, image: Image, lowerdirs: list[Any], ref: str = "") -> ContainerImage:
        """From the image store: `ContainerImage.from_image(img, await store.unpack(img))`."""
        return cls(
            image=ref or (image.repo_tags[0] if image.repo_tags else image.id),
            image_id=image.id,
            config=dict(image.container_config),
            lowerdirs=[str(d) for d in lowerdirs],
        )


@dataclass
class Mount:
    container_path: str
    host_path: str
    readonly: bool = False
    propagation: MountPropagation = MountPropagation.PRIVATE


@dataclass
class Device:
    container_path: str
    host_path: str
    permissions: str = "rwm"


@dataclass
class SecurityContext:
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_username: str = ""
    supplemental_groups: list[int] = field(default_factory=list)
    capabilities_add: list[str] = field(default_factory=list)  # "NET_ADMIN" or "CAP_NET_ADMIN", "ALL"
    capabilities_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    readonly_rootfs: bool = False
    no_new_privs: bool = False  # allowPrivilegeEscalation: false
    seccomp: Seccomp = Seccomp.RUNTIME_DEFAULT
    seccomp_localhost_ref: str = ""  # profile file for Seccomp.LOCALHOST
    masked_paths: list[str] | None = None  # None = the runtime defaults; [] = none (procMount Unmasked)
    readonly_paths: list[str] | None = None


@dataclass
class ContainerConfig:
    name: str
    image: ContainerImage = field(default_factory=ContainerImage)
    attempt: int = 0
    command: list[str] = field(default_factory=list)  # Kubernetes `command` (replaces Entrypoint)
    args: list[str] = field(default_factory=list)  # Kubernetes `args` (replaces Cmd)
    working_dir: str = ""
    envs: list[KeyValue] = field(default_factory=list)  # `$(VAR)` already expanded by the kubelet
    mounts: list[Mount] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    log_path: str = ""  # relative to the sandbox's log_directory (absolute if that is empty)
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False
    resources: LinuxContainerResources = field(default_factory=LinuxContainerResources)
    security: SecurityContext = field(default_factory=SecurityContext)
    stop_signal: str = ""  # "" = the image's StopSignal, else SIGTERM
    termination_message_path: str = ""  # in-container file whose content becomes the status message


@dataclass
class PodSandbox:
    id: str
    name: str
    namespace: str
    uid: str
    attempt: int
    state: PodSandboxState
    created_at: int
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class PodSandboxStatus(PodSandbox):
    ip: str = ""
    additional_ips: list[str] = field(default_factory=list)
    host_network: bool = False
    netns: str = ""
    cgroup_parent: str = ""  # absolute pod cgroup path, e.g. "/kubelite/besteffort/pod<uid>"


@dataclass
class Container:
    id: str
    pod_sandbox_id: str
    name: str
    attempt: int
    image: str
    image_id: str
    state: ContainerState
    created_at: int
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerStatus(Container):
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    log_path: str = ""  # absolute
    pid: int = 0  # host PID of the container's init while it runs
    mounts: list[Mount] = field(default_factory=list)


@dataclass
class ContainerFilter:
    id: str = ""
    state: ContainerState | None = None
    pod_sandbox_id: str = ""
    label_selector: dict[str, str] = field(default_factory=dict)


@dataclass
class PodSandboxFilter:
    id: str = ""
    state: PodSandboxState | None = None
    label_selector: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerStats:
    container_id: str
    name: str
    timestamp: int
    cpu_usage_core_nano_seconds: int = 0
    memory_usage_bytes: int = 0
    memory_working_set_bytes: int = 0  # usage - inactive file, as cAdvisor reports it
    memory_rss_bytes: int = 0
    pids: int = 0


@dataclass
class PodSandboxStats:
    pod_sandbox_id: str
    timestamp: int
    cpu_usage_core_nano_seconds: int = 0
    memory_usage_bytes: int = 0
    memory_working_set_bytes: int = 0
    pids: int = 0
    containers: list[ContainerStats] = field(default_factory=list)


@dataclass
class RuntimeCondition:
    type: str  # RuntimeReady | NetworkReady
    status: bool
    reason: str = ""
    message: str = ""


@dataclass
class RuntimeStatus:
    conditions: list[RuntimeCondition] = field(default_factory=list)

    def condition(self, type: str) -> RuntimeCondition | None:
        return next((c for c in self.conditions if c.type == type), None)


@dataclass
class VersionInfo:
    version: str  # the CRI API version the kubelet speaks
    runtime_name: str
    runtime_version: str
    runtime_api_version: str


class ExecSyncResult(NamedTuple):
    exit_code: int
    stdout: bytes
    stderr: bytes


class StdinWriter(Protocol):
    """The write side of a process's stdin (`asyncio.StreamWriter` fits)."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...


class ProcessHandle(Protocol):
    """A process being streamed (exec or attach): for `kubectl exec/attach` over a WebSocket.
    With a tty there is one output stream (`stdout`) and `stderr` is None."""

    stdin: StdinWriter | None
    stdout: asyncio.StreamReader | None
    stderr: asyncio.StreamReader | None

    async def resize(self, width: int, height: int) -> None: ...

    async def wait(self) -> int:
        """The exit code (128+signal when killed by a signal)."""

    async def close(self) -> None:
        """Stop streaming and release the handle (an exec'd process is killed)."""


class RuntimeService(Protocol):
    # --- sandboxes -------------------------------------------------------------------------
    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        """Create and start the sandbox (network, cgroup, pause); returns its ID."""

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        """Kill every container of the sandbox and the pause, tear the network down. Idempotent."""

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        """Stop if needed, then remove the sandbox and its containers. A missing sandbox is fine."""

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus: ...

    async def list_pod_sandbox(self, filter: PodSandboxFilter | None = None) -> list[PodSandbox]: ...

    # --- containers ------------------------------------------------------------------------
    async def create_container(
        self, sandbox_id: str, config: ContainerConfig, sandbox_config: PodSandboxConfig
    ) -> str: ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, timeout: float) -> None:
        """Stop signal, then SIGKILL after `timeout` seconds. A stopped container is fine."""

    async def remove_container(self, container_id: str) -> None:
        """Kill if running and remove. A missing container is fine."""

    async def list_containers(self, filter: ContainerFilter | None = None) -> list[Container]: ...

    async def container_status(self, container_id: str) -> ContainerStatus: ...

    async def update_container_resources(
        self, container_id: str, resources: LinuxContainerResources
    ) -> None: ...

    async def reopen_container_log(self, container_id: str) -> None:
        """Make the runtime write to a fresh file at the container's log path (log rotation)."""

    # --- streaming -------------------------------------------------------------------------
    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float = 0) -> ExecSyncResult:
        """Run `cmd` in the container; `timeout` 0 = none. Raises `DeadlineExceeded` on timeout."""

    async def exec(
        self, container_id: str, cmd: list[str], *, tty: bool = False, stdin: bool = False
    ) -> ProcessHandle: ...

    async def attach(self, container_id: str, *, stdin: bool = False) -> ProcessHandle: ...

    # --- stats -----------------------------------------------------------------------------
    async def container_stats(self, container_id: str) -> ContainerStats: ...

    async def pod_stats(self, sandbox_id: str) -> PodSandboxStats: ...

    # --- runtime ---------------------------------------------------------------------------
    async def status(self) -> RuntimeStatus: ...

    async def version(self) -> VersionInfo: ...
