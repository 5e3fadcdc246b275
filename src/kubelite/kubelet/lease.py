"""The node's heartbeat: a Lease in `kube-node-lease` named after the node, renewed every
`leaseDurationSeconds / 4` (Kubernetes' `nodelease` controller)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubelite.client import Clock, RealClock
from kubelite.machinery.errors import StatusError, is_not_found
from kubelite.machinery.timeutil import rfc3339_micro

log = logging.getLogger(__name__)

NAMESPACE = "kube-node-lease"


class NodeLease:
    def __init__(self, client: Any, node_name: str, *, duration: int = 40, clock: Clock | None = None):
        self.client = client
        self.node_name = node_name
        self.duration = duration
        self.clock = clock or RealClock()
        self.node_uid = ""
        self.renewals = 0

    def _lease(self) -> dict:
        md: dict = {"name": self.node_name, "namespace": NAMESPACE}
        if self.node_uid:
            md["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": self.node_name,
                                      "uid": self.node_uid}]
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": md,
                "spec": {"holderIdentity": self.node_name, "leaseDurationSeconds": self.duration,
                         "renewTime": rfc3339_micro(self.clock.now())}}

    async def renew(self) -> None:
        now = rfc3339_micro(self.clock.now())
        try:
            await self.client.patch("leases", self.node_name,
                                    {"spec": {"holderIdentity": self.node_name, "renewTime": now,
                                              "leaseDurationSeconds": self.duration}},
                                    NAMESPACE, patch_type="merge")
        except StatusError as e:
            if not is_not_found(e):
                raise
            await self.client.create("leases", self._lease(), NAMESPACE)
        self.renewals += 1

    async def run(self) -> None:
        interval = self.duration / 4
        while True:
            try:
                await self.renew()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("node %s: renewing the lease failed: %s", self.node_name, e)
                await self.clock.sleep(min(interval, 1.0))
                continue
            await self.clock.sleep(interval)
