"""`FakeNetworkPlugin`: hands out IPs from a CIDR and records calls; pins no netns (the runtime
then gives the pod a private, unwired one)."""

from __future__ import annotations

import ipaddress

from .interface import NetworkError, NetworkStatus, PodNetworkRequest, PodNetworkStatus


class FakeNetworkPlugin:
    def __init__(self, cidr: str = "198.19.0.0/24", *, ready: bool = True):
        self._hosts = ipaddress.ip_network(cidr).hosts()
        next(self._hosts)  # the gateway
        self.pods: dict[str, PodNetworkStatus] = {}
        self.calls: list[tuple[str, str]] = []
        self.ready = ready
        self.setup_error: Exception | None = None  # raised (once) by the next setup_pod

    async def setup_pod(self, request: PodNetworkRequest) -> PodNetworkStatus:
        self.calls.append(("setup_pod", request.sandbox_id))
        if self.setup_error is not None:
            err, self.setup_error = self.setup_error, None
            raise NetworkError(str(err)) from err
        if request.sandbox_id not in self.pods:
            ip = str(next(self._hosts))
            self.pods[request.sandbox_id] = PodNetworkStatus(ip=ip, ips=[ip])
        return self.pods[request.sandbox_id]

    async def teardown_pod(self, request: PodNetworkRequest) -> None:
        self.calls.append(("teardown_pod", request.sandbox_id))
        self.pods.pop(request.sandbox_id, None)

    async def status(self) -> NetworkStatus:
        if self.ready:
            return NetworkStatus(True)
        return NetworkStatus(False, "NetworkPluginNotReady", "fake network is not ready")
