"""The EKS controller: one worker per cluster, node group and Fargate profile (`workers.Workers`),
each driving its object to what its record asks for (`cluster_sync`, `nodegroup_sync`,
`fargate_sync`). The API
wakes them with `kick(kind, key)`; at start every recorded object is kicked, so a restarted
service brings its clusters and nodes back."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from ..provisioner.interface import ControlPlanes, Instances
from .cluster_sync import ClusterSync
from .fargate_sync import FargateProfileSync
from .nodegroup_sync import NodegroupSync
from .service import EKSEnv
from .workers import Workers


class Controller:
    def __init__(self, env: EKSEnv, control_planes: ControlPlanes, instances: Instances, *,
                 webhook_url: Callable[[str], str], metadata_url: str = "", resync: float = 30.0,
                 node_ready_timeout: float = 180.0, drain_timeout: float = 120.0, host_network: Any = None,
                 registries: Any = None):
        self.env = env
        self.cluster_sync = ClusterSync(env, control_planes, webhook_url, host_network=host_network)
        kw = {"registries": registries} if registries is not None else {}
        self.nodegroup_sync = NodegroupSync(env, control_planes, instances, metadata_url=metadata_url,
                                            ready_timeout=node_ready_timeout, drain_timeout=drain_timeout, **kw)
        self.fargate_sync = FargateProfileSync(env, control_planes, lambda c: self.cluster_sync.spec(c).data_dir)
        self.clusters = Workers("cluster", self._sync_cluster, resync=resync)
        self.nodegroups = Workers("nodegroup", self.nodegroup_sync.sync, resync=resync)
        self.fargate = Workers("fargate", self.fargate_sync.sync, resync=resync)

    async def _sync_cluster(self, key: str) -> bool:
        gone = await self.cluster_sync.sync(key)
        if not gone:
            for k, _ in self.env.state.items("eks-nodegroups", key + "/"):
                self.nodegroups.kick(k)
            for k, _ in self.env.state.items("eks-fargate-profiles", key + "/"):
                self.fargate.kick(k)
        return gone

    def kick(self, kind: str, key: str) -> None:
        {"cluster": self.clusters, "fargate": self.fargate}.get(kind, self.nodegroups).kick(key)

    async def run(self) -> None:
        for key, _ in self.env.state.items("eks-clusters"):
            self.clusters.kick(key)
        for key, _ in self.env.state.items("eks-nodegroups"):
            self.nodegroups.kick(key)
        for key, _ in self.env.state.items("eks-fargate-profiles"):
            self.fargate.kick(key)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.clusters.run(), name="eks-cluster-workers")
            tg.create_task(self.nodegroups.run(), name="eks-nodegroup-workers")
            tg.create_task(self.fargate.run(), name="eks-fargate-workers")
