"""`PodLookup`: how the kubelet's server finds a pod's containers and sandbox by name.

The kubelet core implements it from its pod workers; `FakePodLookup` is a table for tests and
simulated nodes. Results may be returned directly or as awaitables.
"""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple, Protocol


class ContainerRef(NamedTuple):
    container_id: str
    log_path: str  # the current CRI log file (".../<container>/<restart>.log")
    previous_log_path: str  # the last terminated instance's log ("" if none)
    running: bool


class PodRef(NamedTuple):
    uid: str
    sandbox_id: str


class PodLookup(Protocol):
    def find_container(self, namespace: str, pod: str, container: str) -> ContainerRef | None:
        """The container by pod namespace/name and container name; None if the pod or container
        is not on this node."""

    def find_pod(self, namespace: str, pod: str) -> PodRef | None:
        """The pod's UID and current sandbox (for port-forward); None if not on this node."""


async def resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class FakePodLookup:
    """A table of pods and containers, filled by the test."""

    def __init__(self) -> None:
        self.containers: dict[tuple[str, str, str], ContainerRef] = {}
        self.pods: dict[tuple[str, str], PodRef] = {}

    def add_pod(self, namespace: str, pod: str, uid: str, sandbox_id: str) -> None:
        self.pods[(namespace, pod)] = PodRef(uid, sandbox_id)

    def add_container(self, namespace: str, pod: str, container: str, container_id: str, log_path: str = "",
                      previous_log_path: str = "", running: bool = True) -> None:
        self.containers[(namespace, pod, container)] = ContainerRef(container_id, log_path, previous_log_path,
                                                                   running)

    def set_running(self, namespace: str, pod: str, container: str, running: bool) -> None:
        self.containers[(namespace, pod, container)] = self.containers[(namespace, pod, container)]._replace(
            running=running)

    def find_container(self, namespace: str, pod: str, container: str) -> ContainerRef | None:
        return self.containers.get((namespace, pod, container))

    def find_pod(self, namespace: str, pod: str) -> PodRef | None:
        return self.pods.get((namespace, pod))
