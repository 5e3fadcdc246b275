"""`CloudService`: the whole managed service in one process — state, IAM, STS, EC2, EKS, ELBv2,
ACM and ECR behind one endpoint, the EKS controller, the controllers it runs against each
cluster (load balancers, Fargate), the load balancers themselves, the ECR registry, and the
control planes and node instances it runs.

    service = CloudService(CloudConfig(data_dir=..., port=4566))
    await service.run()          # until cancelled; stops its control planes on the way out

Seams are injected (`control_planes`, `instances`, `clock`, `ids`): the EKS API tests use the
fakes; `kubelite cloud` uses child processes and node agents.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
from typing import Any

from aiohttp import web

from kubelite.client.clock import REAL_CLOCK
from kubelite.storage import open_backend

from . import config as cfgmod
from kubelite.controllers.base import ControllerContext

from .acm import ACMService
from .api.gateway import Gateway
from .config import CloudConfig
from .ec2.network import Network
from .ec2.service import EC2Service
from .eks.authenticator import CLUSTERS_PREFIX, INSTANCES_PREFIX, TokenReviewer
from .eks.controller import Controller
from .ecr import repositories as ecr_repos
from .ecr.registry import ECRRegistry
from .ecr.repositories import Repositories
from .ecr.service import ECRService
from .ecr.tokens import Tokens
from .eks.fargate_sync import FargateScheduler, teardown_node
from .eks.incluster import InClusterControllers
from .elb.controller import LoadBalancerController
from .elb.fleet import Fleet
from .elb.service import ELBv2Service
from .hosts import FakeHosts, Hosts, HostsFile
from .eks.service import EKSEnv, EKSService
from .iam.service import IAMService
from .iam.store import IAMStore
from .ids import Ids
from .provisioner.interface import ControlPlanes, Instances, InstanceSpec, ProvisionError
from .provisioner.vpcnet import FakeHostNetwork, HostNetwork, HostNetworks
from .state import State
from .sts.service import STSService

log = logging.getLogger(__name__)

NODE_TOKEN_REFRESH = 3 * 3600.0


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

    async def update_registries(self, instance_id: str, registries: dict) -> None:
        return None

    async def close(self) -> None:
        return None


def default_instances(config: CloudConfig, host_network: HostNetworks) -> Instances:
    """Real node agents when this machine can run them (root, runc, CNI plugins), else none."""
    try:
        from kubelite.agent.testing import missing_reason

        from .provisioner.nodes import AgentInstances
    except ImportError as e:
        return NoInstances(f"node agents are not available on this machine ({e})")
    reason = "node agents need root" if os.geteuid() != 0 else missing_reason()
    if reason:
        return NoInstances(f"node agents cannot run on this machine: {reason}")
    return AgentInstances(config.data_dir / "instances", host_network=host_network)


class CloudService:
    def __init__(self, config: CloudConfig, *, control_planes: ControlPlanes | None = None,
                 instances: Instances | None = None, clock: Any = None, ids: Ids | None = None,
                 resync: float = 30.0, host_network: HostNetworks | None = None):
        if config.port == 0:
            from .provisioner.process import free_port

            config.port = free_port(config.host)
        self.config = config
        self.clock = clock or REAL_CLOCK
        self.ids = ids or Ids()
        self.state = State(open_backend(config.datastore_url))
        self.iam = IAMStore(self.state, self.ids, self.clock)
        self.network = Network(self.state, self.ids, pool=config.vpc_pool, zones_per_region=config.zones_per_region)
        real = control_planes is None
        if control_planes is None:
            from .provisioner.process import ProcessControlPlanes

            control_planes = ProcessControlPlanes(extra_args=config.extra_child_args)
        self.control_planes = control_planes
        # The VPCs' bridges and the host's addresses on them: real with real control planes on a
        # machine where we may change the network (root).
        if host_network is None:
            host_network = HostNetwork() if real and os.geteuid() == 0 else FakeHostNetwork()
        self.host_network = host_network
        self.instances = instances or default_instances(config, host_network)
        self.env = EKSEnv(self.state, self.iam, self.network, config, self.ids, self.clock, self._kick)
        self.controller = Controller(self.env, control_planes, self.instances, webhook_url=self.webhook_url,
                                     metadata_url=f"{config.endpoint_url}{INSTANCES_PREFIX}", resync=resync,
                                     host_network=host_network)
        # Names that resolve on this machine (load balancers, the ECR registry).
        real_net = isinstance(host_network, HostNetwork)
        self.hosts: Hosts = HostsFile(f"kubelite-cloud {config.endpoint_url}", config.hosts_file) \
            if real_net and config.hosts_file else FakeHosts()
        self.acm = ACMService(self.state, self.iam, self.ids, self.env.now)
        self.fleet = Fleet(self.state, self.network, host_network, self.hosts, public_pool=config.lb_pool)
        # ECR: the API, its tokens and repositories, and the registry behind the repository URIs.
        self.ecr_tokens = Tokens(self.state, self.ids, self.clock)
        self.ecr_repos = Repositories(self.state, self.iam)
        self.ecr_public = real_net and not config.ecr_address
        ecr_addr = config.ecr_address or (str(next(ipaddress.ip_network(config.lb_pool).hosts())) if real_net
                                          else "127.0.0.1")
        self.registry = ECRRegistry(config.data_dir, self.ecr_repos, self.ecr_tokens, address=ecr_addr,
                                    port=config.ecr_port if real_net or config.ecr_address else 0)
        self.ecr = ECRService(self.ecr_repos, self.ecr_tokens, self.iam, self.registry.storage, now=self.env.now,
                              on_registry=self._registry_host)
        self.controller.nodegroup_sync.registries = self.node_registries
        self.in_cluster = InClusterControllers(self.env, control_planes, [self._lb_controller,
                                                                           self._fargate_scheduler])
        self.controller.cluster_sync.on_delete += [self.in_cluster.stop, self._delete_load_balancers,
                                                   self._delete_fargate_nodes]
        local = {f"{config.host}:{config.port}", f"localhost:{config.port}", f"127.0.0.1:{config.port}"}
        self.reviewer = TokenReviewer(self.env, control_planes, local_hosts=local)
        self.gateway = Gateway([EKSService(self.env), IAMService(self.iam), STSService(self.iam),
                                EC2Service(self.network, self.iam), ELBv2Service(self.fleet, self.iam), self.acm,
                                self.ecr],
                               self.iam, self.clock, strict=config.strict,
                               fallback_key=cfgmod.STARTER_ACCESS_KEY_ID, default_region=config.default_region)
        self.gateway.add_internal(CLUSTERS_PREFIX, self.reviewer.handle_token_review)
        self.gateway.add_internal(INSTANCES_PREFIX, self.reviewer.handle_instance_credentials)
        self.gateway.add_internal("/_kubelite/healthz", self._healthz)
        self.ready = asyncio.Event()
        self.port = config.port
        self._ecr_hosts: set[str] = set()

    def _lb_controller(self, key: str, c: dict, ctx: ControllerContext) -> LoadBalancerController:
        return LoadBalancerController(ctx, cluster_key=key, cluster=lambda: self.env.state.get("eks-clusters", key),
                                      fleet=self.fleet, certificate=self.acm.certificate)

    def _fargate_scheduler(self, key: str, c: dict, ctx: ControllerContext) -> FargateScheduler:
        return FargateScheduler(ctx, env=self.env, cluster_key=key, instances=self.instances,
                                metadata_url=f"{self.config.endpoint_url}{INSTANCES_PREFIX}",
                                registries=self.node_registries)

    # -- ECR -----------------------------------------------------------------------------------------
    async def _registry_host(self, account: str, region: str) -> None:
        """`<account>.dkr.ecr.<region>.amazonaws.com` resolves to the registry; clients trust it."""
        host = ecr_repos.registry_host(account, region)
        self._ecr_hosts.add(host)
        await self.hosts.set(host, self.registry.address)
        await asyncio.to_thread(self.registry.write_client_config, sorted(self._ecr_hosts))

    async def node_registries(self, c: dict, role_arn: str, session: str) -> dict:
        """A managed node's registries file: its role's ECR token for its cluster's registry."""
        internal = c["internal"]
        creds = await self.iam.assume_role_as_service(role_arn, session)
        principal = self.iam.principal_for_key(creds["AccessKeyId"], creds["SessionToken"])
        password, _ = await self.ecr_tokens.issue(principal)
        await self._registry_host(internal["account"], internal["region"])
        return self.registry.node_registries(ecr_repos.registry_host(internal["account"], internal["region"]),
                                             password)

    async def _refresh_node_registries(self) -> None:
        """ECR tokens last 12 hours: give every node a fresh one every few hours."""
        while True:
            await asyncio.sleep(NODE_TOKEN_REFRESH)
            running = set(self.instances.running())
            for _, n in self.state.items("eks-nodegroups"):
                c = self.state.get("eks-clusters", n["internal"]["clusterKey"])
                for i in n["internal"]["instances"]:
                    if c is not None and i["instanceId"] in running:
                        await self.instances.update_registries(
                            i["instanceId"], await self.node_registries(c, n["nodeRole"], i["instanceId"]))
            for _, f in self.state.items("eks-fargate-nodes"):
                c = self.state.get("eks-clusters", f["clusterKey"])
                if c is not None and f["instanceId"] in running:
                    await self.instances.update_registries(
                        f["instanceId"], await self.node_registries(c, f["roleArn"], f["nodeName"]))

    async def _delete_load_balancers(self, key: str, c: dict) -> None:
        await self.fleet.remove_cluster(key)

    async def _delete_fargate_nodes(self, key: str, c: dict) -> None:
        client = self.control_planes.client(c["id"]) if self.control_planes.running(c["id"]) else None
        for rec in self.state.values("eks-fargate-nodes", key + "/"):
            await teardown_node(self.env, self.instances, client, rec, c)

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
                                                                   "AmazonEC2ContainerRegistryReadOnly"]),
                   cfgmod.STARTER_FARGATE_ROLE: ("eks-fargate-pods.amazonaws.com",
                                                 ["AmazonEKSFargatePodExecutionRolePolicy"])})
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
            if self.ecr_public:
                await self.host_network.add_public(self.registry.address)
            await self.registry.start()
            for r in self.ecr_repos.all():
                await self._registry_host(r["registryId"], r["repositoryArn"].split(":")[3])
            await self._registry_host(cfgmod.STARTER_ACCOUNT_ID, self.config.default_region)
            self.ready.set()
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._refresh_node_registries(), name="ecr-node-tokens")
                tg.create_task(self.fleet.run(), name="load-balancers")
                tg.create_task(self.in_cluster.run(), name="in-cluster-controllers")
                await self.controller.run()
        finally:
            await self.fleet.close()
            await self.registry.stop()
            if self.ecr_public:
                await self.host_network.remove_public(self.registry.address)
            await self.hosts.clear()
            await self.control_planes.close()
            await self.instances.close()
            if runner is not None:
                await runner.cleanup()
            await self.state.close()
