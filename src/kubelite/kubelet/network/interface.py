"""The pod network seam: `NetworkPlugin` (CNI-shaped) and the data it takes and returns.

The runtime calls `setup_pod` while it runs a pod sandbox, before the pause container starts,
and `teardown_pod` when the sandbox stops. The plugin owns the pod's network namespace: it pins
one, wires it (loopback, then the pod interface) and returns its path, which the pause container
joins. A plugin that returns no `netns` (the fake) lets the runtime create a private one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class PortMapping:
    """A hostPort: traffic to `host_ip:host_port` goes to the pod's `container_port`."""

    container_port: int
    host_port: int = 0
    protocol: str = "TCP"  # TCP | UDP | SCTP, as in the Pod spec
    host_ip: str = ""


@dataclass
class PodNetworkRequest:
    """What the plugin needs to know about one pod sandbox."""

    sandbox_id: str
    name: str
    namespace: str
    uid: str
    port_mappings: list[PortMapping] = field(default_factory=list)


@dataclass
class PodNetworkStatus:
    ip: str = ""  # the pod IP (first of `ips`), "" when the pod has none
    ips: list[str] = field(default_factory=list)
    netns: str = ""  # path of the pod's pinned network namespace; "" = none pinned


@dataclass
class NetworkStatus:
    """`NetworkReady` as the runtime reports it: ready, or why not."""

    ready: bool
    reason: str = ""
    message: str = ""


class NetworkError(Exception):
    """Setting up or tearing down a pod network failed."""


class NetworkPlugin(Protocol):
    async def setup_pod(self, request: PodNetworkRequest) -> PodNetworkStatus:
        """Pin a netns and wire it. Idempotent: calling it again for the same sandbox returns the
        cached status. On failure everything done so far is torn down and `NetworkError` raised."""

    async def teardown_pod(self, request: PodNetworkRequest) -> None:
        """Undo `setup_pod`; safe to repeat, safe after a failed or never-run setup, works after
        an agent restart (from what `setup_pod` persisted)."""

    async def status(self) -> NetworkStatus: ...
