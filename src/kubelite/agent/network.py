"""`DeferredNetwork`: the pod network of a node that does not have its pod CIDR yet.

Until `set(plugin)` it reports NetworkReady=false (so the node is not Ready and pods needing the
pod network wait); afterwards it is the CNI plugin. Teardowns wait a little for the plugin, so
sandboxes adopted after an agent restart can still be torn down."""

from __future__ import annotations

import asyncio

from kubelite.kubelet.network.interface import (
    NetworkError,
    NetworkPlugin,
    NetworkStatus,
    PodNetworkRequest,
    PodNetworkStatus,
)


class DeferredNetwork:
    def __init__(self, teardown_wait: float = 30.0):
        self.plugin: NetworkPlugin | None = None
        self._set = asyncio.Event()
        self.teardown_wait = teardown_wait

    def set(self, plugin: NetworkPlugin) -> None:
        self.plugin = plugin
        self._set.set()

    async def setup_pod(self, request: PodNetworkRequest) -> PodNetworkStatus:
        if self.plugin is None:
            raise NetworkError("network is not ready: cni plugin not initialized (no pod CIDR yet)")
        return await self.plugin.setup_pod(request)

    async def teardown_pod(self, request: PodNetworkRequest) -> None:
        if self.plugin is None:
            try:
                async with asyncio.timeout(self.teardown_wait):
                    await self._set.wait()
            except TimeoutError:
                raise NetworkError("network is not ready: cni plugin not initialized") from None
        assert self.plugin is not None
        await self.plugin.teardown_pod(request)

    async def status(self) -> NetworkStatus:
        if self.plugin is None:
            return NetworkStatus(False, "NetworkPluginNotReady", "Network plugin returns error: cni plugin not "
                                                                   "initialized")
        return await self.plugin.status()
