"""Fakes of the provisioner seams for the EKS API tests: control planes that "start" at once (or
fail, or wait for the test) with a `FakeAPIServer` behind their admin client, and instances
that register a Ready Node in that fake API server."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from kubelite.client.testing import FakeAPIServer

from .interface import ControlPlaneSpec, Endpoint, InstanceSpec, ProvisionError

FAKE_CA = b"-----BEGIN CERTIFICATE-----\nZmFrZSBjYQ==\n-----END CERTIFICATE-----\n"


class FakeControlPlanes:
    def __init__(self) -> None:
        self.specs: dict[str, ControlPlaneSpec] = {}
        self.apis: dict[str, FakeAPIServer] = {}
        self._running: set[str] = set()
        self.started: list[str] = []
        self.destroyed: list[str] = []
        self.fail: dict[str, str] = {}          # cluster name -> error message
        self.gate: asyncio.Event | None = None  # when set by a test, start() waits for it
        self._clients: dict[str, Any] = {}
        self._next_port = 30443

    async def start(self, spec: ControlPlaneSpec) -> Endpoint:
        if self.gate is not None:
            await self.gate.wait()
        if spec.name in self.fail:
            raise ProvisionError(self.fail[spec.name])
        self.specs[spec.cluster_id] = spec
        if spec.cluster_id not in self.apis:
            self.apis[spec.cluster_id] = FakeAPIServer()
            client = self.client(spec.cluster_id)
            for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
                await client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        port = spec.port or self._next_port
        self._next_port += 1
        self._running.add(spec.cluster_id)
        self.started.append(spec.name)
        return Endpoint(f"https://127.0.0.1:{port}", port, FAKE_CA)

    async def stop(self, cluster_id: str) -> None:
        self._running.discard(cluster_id)

    async def destroy(self, spec: ControlPlaneSpec) -> None:
        cluster_id = spec.cluster_id
        self._running.discard(cluster_id)
        self.specs.pop(cluster_id, None)
        self.apis.pop(cluster_id, None)
        client = self._clients.pop(cluster_id, None)
        if client is not None:
            await client.close()
        self.destroyed.append(spec.name)

    def running(self, cluster_id: str) -> bool:
        return cluster_id in self._running

    def client(self, cluster_id: str) -> Any:
        if cluster_id not in self._clients:
            self._clients[cluster_id] = self.apis[cluster_id].client()
        return self._clients[cluster_id]

    async def close(self) -> None:
        for c in self._clients.values():
            await c.close()
        self._clients.clear()
        self._running.clear()


class FakeInstances:
    """Instances that register (and on terminate delete) a Ready Node in the cluster's fake API."""

    def __init__(self, control_planes: FakeControlPlanes, *, on_launch: Callable[[InstanceSpec], None] | None = None):
        self.control_planes = control_planes
        self.specs: dict[str, InstanceSpec] = {}
        self.on_launch = on_launch
        self.fail_next: str = ""

    async def launch(self, spec: InstanceSpec) -> None:
        if self.fail_next:
            msg, self.fail_next = self.fail_next, ""
            raise ProvisionError(msg)
        if self.on_launch is not None:
            self.on_launch(spec)
        self.specs[spec.instance_id] = spec
        client = self.control_planes.client(spec.cluster_id)
        taints = [dict(t) for t in spec.taints]
        await client.create("nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": spec.node_name, "labels": dict(spec.labels)},
            "spec": {"providerID": f"aws:///{spec.zone}/{spec.instance_id}", **({"taints": taints} if taints else {})},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                       "addresses": [{"type": "InternalIP", "address": spec.private_ip},
                                     {"type": "Hostname", "address": spec.node_name}]}})

    async def terminate(self, instance_id: str) -> None:
        spec = self.specs.pop(instance_id, None)
        if spec is None:
            return
        try:
            client = self.control_planes.client(spec.cluster_id)
            await client.delete("nodes", spec.node_name)
        except Exception:
            pass

    def running(self) -> list[str]:
        return sorted(self.specs)

    async def update_registries(self, instance_id: str, registries: dict) -> None:
        if instance_id in self.specs:
            self.specs[instance_id].registries = registries

    async def close(self) -> None:
        self.specs.clear()
