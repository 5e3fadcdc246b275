"""`CloudService`: the whole managed service in one process — state, IAM, STS, EC2 and EKS
behind one endpoint, the EKS controller, and the control planes and node instances it runs.

    service = CloudService(CloudConfig(data_dir=..., port=4566))
    await service.run()          # until cancelled; stops its control planes on the way out

Seams are injected (`control_planes`, `instances`, `clock`, `ids`): the EKS API tests use the
fakes; `kubelite cloud` uses child processes and node agents.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from aiohttp import web

from kubelite.client.clock import REAL_CLOCK
from kubelite.storage import open_backend

from . import config as cfgmod
from .api.gateway import Gateway
from .config import CloudConfig
from .ec2.network import Network
from .ec2.service import EC2Service
from .eks.authenticator import CLUSTERS_PREFIX, INSTANCES_PREFIX, TokenReviewer
from .eks.controller import Controller
from .eks.service import EKSEnv, EKSService
from .iam.service import IAMService
from .iam.store import IAMStore
from .ids import Ids
from .provisioner.interface import ControlPlanes, Instances, InstanceSpec, ProvisionError
from .state import State
from .sts.service import STSService

log = logging.getLogger(__name__)


class NoInstances:
    """Node groups without node agents: every launch fails with a clear reason."""

    def __init__(self, reason: str):
        self.reason = reason

    async def launch(self, spec: InstanceSpec) -> None:
        raise ProvisionError(self.reason)

    async def terminate(self, instance_id: str) -> None:
        return None

    def running(self) -> list[str]:
        return []

    async def close(self) -> None:
        return None


def default_instances(config: CloudConfig) -> Instances:
    """Real node agents when this machine can run them (root, runc, CNI plugins), else none."""
    try:
        from kubelite.agent.testing import missing_reason

        from .provisioner.nodes import AgentInstances
    except ImportError as e:
        return NoInstances(f"node agents are not available on this machine ({e})")
    reason = "node agents need root" if os.geteuid() != 0 else missing_reason()
    if reason:
        return NoInstances(f"node agents cannot run on this machine: {reason}")
    return AgentInstances(config.data_dir / "instances")


class CloudService:
    def __init__(self, config: CloudConfig, *, control_planes: ControlPlanes | None = None,
                 instances: Instances | None = None, clock: Any = None, ids: Ids | None = None,
                 resync: float = 30.0):
        if config.port == 0:
            from .provisioner.process import free_port

            config.port = free_port(config.host)
        self.config = config
        self.clock = clock or REAL_CLOCK
        self.ids = ids or Ids()
        self.state = State(open_backend(config.datastore_url))
        self.iam = IAMStore(self.state, self.ids, self.clock)
        self.network = Network(self.state, self.ids, pool=config.vpc_pool, zones_per_region=config.zones_per_region)
        if control_planes is None:
            from .provisioner.process import ProcessControlPlanes

            control_planes = ProcessControlPlanes(extra_args=config.extra_child_args)
        self.control_planes = control_planes
        self.instances = instances or default_instances(config)
        self.env = EKSEnv(self.state, self.iam, self.network, config, self.ids, self.clock, self._kick)
        self.controller = Controller(self.env, control_planes, self.instances, webhook_url=self.webhook_url,
                                     metadata_url=f"{config.endpoint_url}{INSTANCES_PREFIX}", resync=resync)
        local = {f"{config.host}:{config.port}", f"localhost:{config.port}", f"127.0.0.1:{config.port}"}
        self.reviewer = TokenReviewer(self.env, control_planes, local_hosts=local)
        self.gateway = Gateway([EKSService(self.env), IAMService(self.iam), STSService(self.iam),
                                EC2Service(self.network, self.iam)], self.iam, self.clock, strict=config.strict,
                               fallback_key=cfgmod.STARTER_ACCESS_KEY_ID, default_region=config.default_region)
        self.gateway.add_internal(CLUSTERS_PREFIX, self.reviewer.handle_token_review)
        self.gateway.add_internal(INSTANCES_PREFIX, self.reviewer.handle_instance_credentials)
        self.gateway.add_internal("/_kubelite/healthz", self._healthz)
        self.ready = asyncio.Event()
        self.port = config.port

    async def _healthz(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    def _kick(self, kind: str, key: str) -> None:
        self.controller.kick(kind, key)

    def webhook_url(self, cluster_id: str) -> str:
        return f"http://127.0.0.1:{self.port}{CLUSTERS_PREFIX}{cluster_id}/authenticate"

    async def bootstrap(self) -> None:
        """The starter account (see `config`) and its default VPC."""
        await self.iam.bootstrap(
            cfgmod.STARTER_ACCOUNT_ID, user=cfgmod.STARTER_USER, access_key_id=cfgmod.STARTER_ACCESS_KEY_ID,
            secret=cfgmod.STARTER_SECRET_ACCESS_KEY,
            roles={cfgmod.STARTER_CLUSTER_ROLE: ("eks.amazonaws.com", ["AmazonEKSClusterPolicy"]),
                   cfgmod.STARTER_NODE_ROLE: ("ec2.amazonaws.com", ["AmazonEKSWorkerNodePolicy",
                                                                   "AmazonEKS_CNI_Policy",
                                                                   "AmazonEC2ContainerRegistryReadOnly"])})
        await self.network.ensure_default_vpc(cfgmod.STARTER_ACCOUNT_ID, self.config.default_region)

    async def run(self) -> None:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        await self.state.load()
        runner: web.AppRunner | None = None
        try:
            await self.bootstrap()
            runner = web.AppRunner(self.gateway.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
            await runner.setup()
            site = web.TCPSite(runner, self.config.host, self.config.port, reuse_address=True)
            await site.start()
            log.info("kubelite cloud listening on http://%s:%d", self.config.host, self.port)
            self.ready.set()
            await self.controller.run()
        finally:
            await self.control_planes.close()
            await self.instances.close()
            if runner is not None:
                await runner.cleanup()
            await self.state.close()
