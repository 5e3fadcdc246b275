"""One node of a local cluster, as a process inside the node's network namespace:

    nsenter --net=/var/run/netns/kl-<cluster>-node<X> python -m kubelite.cluster.node <config.json>

It joins with the cluster's bootstrap token (or reuses the credentials a previous run obtained),
then runs the node agent (`kubelite.agent.Agent`) with its own data, runtime, log and image
directories, cgroup root and pod network namespace prefix, and the Service proxy when the agent
does not run one itself. The token is read from a 0600 file, never from the command line.
SIGTERM/SIGINT stop it; its containers keep running (the agent adopts them when it comes back).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class NodeConfig:
    node_name: str
    node_ip: str
    netns_path: str
    server: str
    token_file: str
    kubeconfig: str
    data_dir: str
    run_dir: str
    log_dir: str
    image_dir: str
    cgroup_root: str
    netns_prefix: str
    ca_cert_hashes: list[str] = field(default_factory=list)
    kubelet: dict[str, Any] = field(default_factory=dict)
    proxy: bool = True
    join_timeout: float = 120.0

    @classmethod
    def load(cls, path: Path) -> NodeConfig:
        doc = json.loads(path.read_text())
        return cls(**{k: v for k, v in doc.items() if k in cls.__dataclass_fields__})


def agent_config(cfg: NodeConfig, client_ca_file: Path | None = None):
    from kubelite.agent import AgentConfig

    fields = AgentConfig.__dataclass_fields__
    kw: dict[str, Any] = dict(
        node_name=cfg.node_name, data_dir=Path(cfg.data_dir), run_dir=Path(cfg.run_dir), log_dir=Path(cfg.log_dir),
        image_dir=Path(cfg.image_dir), cgroup_root=cfg.cgroup_root, node_ip=cfg.node_ip, node_netns=cfg.netns_path,
        host_bridge="", cni_bridge="cni0", netns_prefix=cfg.netns_prefix, kubelet=dict(cfg.kubelet),
        client_ca_file=client_ca_file)
    if "proxy" in fields:  # the agent runs the Service proxy itself
        kw["proxy"] = cfg.proxy
    return AgentConfig(**{k: v for k, v in kw.items() if k in fields})


async def run_node(cfg: NodeConfig) -> None:
    from kubelite.agent import Agent, AgentConfig
    from kubelite.bootstrap.join import JoinConfig, join
    from kubelite.client import Client, load_kubeconfig

    from kubelite.bootstrap.join import JoinError, reusable

    token = Path(cfg.token_file).read_text().strip() if Path(cfg.token_file).exists() else ""
    if not token and not reusable(Path(cfg.kubeconfig), cfg.node_name, list(cfg.ca_cert_hashes), timedelta(hours=1)):
        raise JoinError(f"no join token in {cfg.token_file} and no usable credentials in {cfg.kubeconfig}")
    kc = await join(JoinConfig(server=cfg.server, token=token, node_name=cfg.node_name,
                               kubeconfig=Path(cfg.kubeconfig), ca_cert_hashes=list(cfg.ca_cert_hashes),
                               timeout=cfg.join_timeout))
    client_cfg = await asyncio.to_thread(load_kubeconfig, kc)
    # the kubelet's HTTPS API trusts client certificates of the cluster CA (the API server's)
    ca_file = Path(cfg.data_dir) / "ca.crt"
    if client_cfg.ca_data:
        await asyncio.to_thread(_write, ca_file, client_cfg.ca_data)
    client = Client.from_config(client_cfg)
    try:
        agent = Agent(agent_config(cfg, ca_file if ca_file.exists() else None), client)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(agent.run(), name="agent")
            if cfg.proxy and "proxy" not in AgentConfig.__dataclass_fields__:
                tg.create_task(_proxy(client, cfg), name="proxy")
    finally:
        await client.close()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


async def _proxy(client, cfg: NodeConfig) -> None:
    try:
        from kubelite.proxy import Proxier
    except ImportError:
        log.warning("no Service proxy available on node %s", cfg.node_name)
        return
    await Proxier(client, cfg.node_name, node_ips=[cfg.node_ip]).run()


def main(argv: list[str] | None = None) -> None:
    from kubelite.bootstrap.join import JoinError
    from kubelite.controlplane.process import run_async

    args = argv if argv is not None else sys.argv[1:]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    cfg = NodeConfig.load(Path(args[0]))
    try:
        run_async(run_node(cfg))
    except JoinError as e:
        print(f"error: node {cfg.node_name} cannot join: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
