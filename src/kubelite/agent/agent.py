"""`Agent`: one node's runtime, pod network, image store and kubelet, in one TaskGroup."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubelite.images.store import LocalImageStore
from kubelite.kubelet.config import KubeletConfig
from kubelite.kubelet.kubelet import Kubelet
from kubelite.kubelet.network.cni.config import node_conflist
from kubelite.kubelet.network.cni.plugin import CNINetworkPlugin, CNIOptions
from kubelite.kubelet.runtime.runc import RuncOptions, RuncRuntime

from . import hostnet
from .config import AgentConfig
from .network import DeferredNetwork

log = logging.getLogger(__name__)

EXECUTOR_THREADS = 32
PLAN_CIDR = "198.18.0.0/15"  # everything of the address plan: nodes, Services, load balancers, pods


class Agent:
    def __init__(self, cfg: AgentConfig, client: Any):
        self.cfg = cfg
        self.client = client
        self.network = DeferredNetwork()
        self.image_store = LocalImageStore(cfg.images_dir)
        self.runtime = RuncRuntime(RuncOptions(root=cfg.runtime_dir / "runtime", cgroup_root=cfg.cgroup_root,
                                               node_netns=cfg.node_netns), self.network)
        self.kubelet = Kubelet(self.kubelet_config(), client, self.runtime, self.image_store)
        self.pod_cidr = ""
        self.network_ready = asyncio.Event()

    def kubelet_config(self) -> KubeletConfig:
        cfg = self.cfg
        fallback = cfg.pod_cidr or (cfg.plan.pod_cidr(0) if cfg.allocate_pod_cidr else "")
        opts: dict[str, Any] = dict(
            node_name=cfg.node_name, root_dir=cfg.data_dir / "kubelet", log_dir=cfg.pod_log_dir,
            node_ips=[cfg.address] if cfg.address else [], node_netns=cfg.node_netns,
            node_labels=dict(cfg.node_labels), kubelet_port=cfg.kubelet_port, fallback_pod_cidr=fallback,
            pod_cidr_timeout=0.0 if cfg.pod_cidr else 3.0,
            cluster_dns=list(cfg.cluster_dns) if cfg.cluster_dns is not None else [cfg.plan.dns_service_ip],
            cluster_domain=cfg.cluster_domain, pull_registries=list(cfg.pull_registries),
            registries=cfg.registries,
        )
        opts.update(cfg.kubelet)
        return KubeletConfig(**opts)

    async def bootstrap_network(self) -> None:
        cfg = self.cfg
        if cfg.node_netns:
            await hostnet.enable_forwarding(cfg.node_netns)
        else:
            if cfg.host_bridge and cfg.address:
                await hostnet.ensure_bridge(cfg.host_bridge, cfg.address, cfg.plan.node_cidr)
                await hostnet.ensure_plan_routes(cfg.host_bridge, cfg.address,
                                                 [cfg.plan.service_cidr, cfg.plan.load_balancer_cidr])
            await hostnet.ensure_egress_guard(cfg.plan.cluster_cidr, PLAN_CIDR)

    async def _pod_network(self) -> None:
        await self.kubelet.node_status.registered.wait()
        cidr = await self.kubelet.node_status.wait_pod_cidr()
        self.pod_cidr = cidr
        run = self.cfg.runtime_dir
        conflist = node_conflist(pod_cidr=cidr, data_dir=str(run / "ipam"), name=self.cfg.cni_network_name,
                                 bridge=self.cfg.cni_bridge)
        plugin = CNINetworkPlugin(CNIOptions(conflist=conflist, cache_dir=run / "cni", node_netns=self.cfg.node_netns,
                                             netns_prefix=self.cfg.netns_prefix))
        self.network.set(plugin)
        self.network_ready.set()
        log.info("node %s: pod network %s on bridge %s", self.cfg.node_name, cidr, self.cfg.cni_bridge)
        await self.kubelet.refresh_node_status()

    async def run(self) -> None:
        # the runtime does its file and cgroup work in threads: room for a burst of pods
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=EXECUTOR_THREADS,
                                                                           thread_name_prefix="agent"))
        await self.bootstrap_network()
        await self.image_store.start()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.kubelet.run(), name="kubelet")
            tg.create_task(self._pod_network(), name="pod-network")
            if self.cfg.kubelet_server:
                tg.create_task(self._kubelet_server(), name="kubelet-server")
            if self.cfg.proxy:
                tg.create_task(self._proxy(), name="proxy")

    async def _kubelet_server(self) -> None:
        """The kubelet's HTTPS API (logs, exec, attach, port-forward, stats) for the API server."""
        from kubelite.kubelet.server.server import KubeletServer, KubeletServerOptions, serving_ssl_context

        cfg = self.cfg
        if cfg.client_ca_file is None:
            log.warning("node %s: no client CA for the kubelet server: logs, exec and port-forward are off",
                        cfg.node_name)
            return
        cert, key = cfg.kubelet_cert_file, cfg.kubelet_key_file
        if cert is None or key is None:
            cert, key = await asyncio.to_thread(self_signed_serving_pair, cfg.data_dir, cfg.node_name,
                                                cfg.address)
        ctx = serving_ssl_context(str(cert), str(key), str(cfg.client_ca_file))
        server = KubeletServer(self.runtime, self.kubelet.lookup, node_name=cfg.node_name,
                               options=KubeletServerOptions(port=cfg.kubelet_port, ssl_context=ctx))
        await server.run()

    async def _proxy(self) -> None:
        """The Service proxy for this node: nftables rules in the node's network namespace."""
        from kubelite.proxy.proxier import Proxier

        await self.network_ready.wait()
        cfg = self.cfg
        await Proxier(self.client, cfg.node_name, netns=cfg.node_netns or None,
                      node_ips=[cfg.address] if cfg.address else None).run()


def self_signed_serving_pair(data_dir: Path, node_name: str, address: str) -> tuple[Path, Path]:
    """A self-signed serving certificate for the kubelet (the API server, like Kubernetes without
    --kubelet-certificate-authority, does not verify it)."""
    from kubelite.client import pki

    d = Path(data_dir) / "pki"
    d.mkdir(parents=True, exist_ok=True)
    cert, key = d / "kubelet.crt", d / "kubelet.key"
    if not cert.exists() or not key.exists():
        ca = pki.new_ca(f"{node_name}-kubelet-ca")
        ck = pki.sign(ca, common_name=node_name, dns_names=[node_name, "localhost"],
                      ip_addresses=[a for a in (address, "127.0.0.1") if a], server=True)
        ck.save(cert, key)
    return cert, key


def host_agent_config(server_cfg: Any) -> AgentConfig:
    """The agent `kubelite server` runs for its own host."""
    data_dir = Path(getattr(server_cfg, "data_dir"))
    plan = getattr(server_cfg, "plan")
    return AgentConfig(
        node_name=getattr(server_cfg, "node_name"),
        data_dir=data_dir / "agent",
        image_dir=data_dir / "images",
        node_ip=getattr(server_cfg, "advertise_address", "") or plan.host_address,
        allocate_pod_cidr=True,
        plan=plan,
        node_labels={"node-role.kubernetes.io/control-plane": ""},
        client_ca_file=data_dir / "tls" / "ca.crt",
        registries=str(getattr(server_cfg, "registries", "") or ""),
    )


async def run_host_agent(client: Any, cfg: Any) -> None:
    """Run the node agent for this host; `cfg` is an `AgentConfig` or the server's config."""
    agent_cfg = cfg if isinstance(cfg, AgentConfig) else host_agent_config(cfg)
    await Agent(agent_cfg, client).run()
