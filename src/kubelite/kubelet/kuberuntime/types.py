"""The runtime's view of one pod, as the kubelet reads it back (Kubernetes' `kubecontainer.PodStatus`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..runtime.interface import ContainerState, ContainerStatus, PodSandboxState, PodSandboxStatus
from . import labels as lb


@dataclass
class ContainerInfo:
    """One container instance of the pod (running, created or exited)."""

    status: ContainerStatus
    info: lb.AnnotatedInfo

    @property
    def id(self) -> str:
        return self.status.id

    @property
    def name(self) -> str:
        return self.status.labels.get(lb.CONTAINER_NAME) or self.status.name

    @property
    def state(self) -> ContainerState:
        return self.status.state

    @property
    def restart_count(self) -> int:
        return self.info.restart_count

    @property
    def exit_code(self) -> int:
        return self.status.exit_code

    @property
    def running(self) -> bool:
        return self.status.state == ContainerState.RUNNING

    @property
    def exited(self) -> bool:
        return self.status.state == ContainerState.EXITED


@dataclass
class RuntimePodStatus:
    uid: str
    name: str = ""
    namespace: str = ""
    sandboxes: list[PodSandboxStatus] = field(default_factory=list)  # newest first
    containers: list[ContainerInfo] = field(default_factory=list)  # newest first
    ips: list[str] = field(default_factory=list)  # of the newest ready sandbox

    def latest(self, container_name: str) -> ContainerInfo | None:
        for c in self.containers:
            if c.name == container_name:
                return c
        return None

    def instances(self, container_name: str) -> list[ContainerInfo]:
        return [c for c in self.containers if c.name == container_name]

    def latest_exited(self, container_name: str) -> ContainerInfo | None:
        for c in self.containers:
            if c.name == container_name and c.exited:
                return c
        return None

    @property
    def sandbox(self) -> PodSandboxStatus | None:
        return self.sandboxes[0] if self.sandboxes else None

    @property
    def sandbox_ready(self) -> bool:
        sb = self.sandbox
        return sb is not None and sb.state == PodSandboxState.READY

    def running_containers(self) -> list[ContainerInfo]:
        return [c for c in self.containers if c.running or c.state == ContainerState.CREATED]

    def is_empty(self) -> bool:
        return not self.sandboxes and not self.containers
