"""The control-plane process of a local cluster:

    python -m kubelite.cluster.supervisor --name <cluster> <data dir>/cluster.json

runs `ClusterControlPlane` bound to the host's bridge address (198.18.0.1) with the cluster's
pod block and timings, and the host-gw `RouteSyncer` for the cluster's node namespaces. The node
agents are separate processes (`kubelite.cluster.node`), so a test can stop and restart one.
SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from kubelite.controlplane.config import ServerConfig

from .layout import Layout
from .state import ClusterState

log = logging.getLogger(__name__)


def server_config(st: ClusterState) -> ServerConfig:
    lay = Layout(st.name, st.slot)
    return ServerConfig(data_dir=Path(st.data_dir) / "server", bind_address=lay.host_ip, port=st.port,
                        advertise_address=lay.host_ip, agent=False, node_name=f"{st.name}-control-plane",
                        datastore=st.datastore)


async def supervise(st: ClusterState) -> None:
    from kubelite.client import Client, load_kubeconfig

    from .controlplane import ClusterControlPlane
    from .routes import RouteSyncer

    lay = Layout(st.name, st.slot)
    cfg = server_config(st)
    cp = ClusterControlPlane(cfg, controller_options={"cluster_cidr": lay.cluster_cidr, **st.controller_options})
    by_node = {lay.node_name(x): lay.netns(x) for x in range(1, 16)}

    async def routes() -> None:
        await cp.ready.wait()
        client = Client.from_config(await asyncio.to_thread(load_kubeconfig, cfg.kubeconfig_path))
        try:
            await RouteSyncer(client, lay.cluster_cidr, by_node.get).run()
        finally:
            await client.close()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(cp.run(), name="control-plane")
        tg.create_task(routes(), name="routes")


def main(argv: list[str] | None = None) -> None:
    from kubelite.controlplane.process import run_async

    args = argv if argv is not None else sys.argv[1:]
    if len(args) == 3 and args[0] == "--name":
        args = args[2:]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    st = ClusterState.load(Path(args[0]))
    try:
        run_async(supervise(st))
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
