"""`kubelite reset`: remove everything a node agent made on this machine — containers and their
monitors, pod network namespaces and IP allocations, mounts (pod volumes included), cgroups (parents too), the Service
proxy's and the egress guard's nftables tables, the node's bridges and its runtime state.

Pods are stopped without grace (this is a teardown, not a drain). The data dir (volumes, logs,
images) is kept unless asked for.
"""

from __future__ import annotations

import asyncio
import logging
import shutil

from kubelite.kubelet.network.cni.config import node_conflist
from kubelite.kubelet.network.cni.plugin import CNINetworkPlugin, CNIOptions
from kubelite.kubelet.runtime.runc import RuncOptions, RuncRuntime
from kubelite.kubelet.runtime.runc.cgroups import Cgroups
from kubelite.kubelet.volumes.mount import mount_points_under, unmount

from . import hostnet
from .config import AgentConfig

log = logging.getLogger(__name__)

PROXY_TABLES = ("ip kubelite-proxy", "ip6 kubelite-proxy")


async def _run(*argv: str) -> int:
    p = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL,
                                             stderr=asyncio.subprocess.DEVNULL)
    return await p.wait()


def _in_netns(netns: str, argv: list[str]) -> list[str]:
    return ["nsenter", f"--net={netns}", *argv] if netns else argv


async def reset(cfg: AgentConfig, *, remove_data: bool = False) -> list[str]:
    """Tear the node down; returns a line per thing removed (for the CLI to print)."""
    done: list[str] = []
    run = cfg.runtime_dir
    if (run / "runtime").exists():
        network = CNINetworkPlugin(CNIOptions(
            conflist=node_conflist(pod_cidr=cfg.pod_cidr or cfg.plan.pod_cidr(0), data_dir=str(run / "ipam"),
                                   name=cfg.cni_network_name, bridge=cfg.cni_bridge),
            cache_dir=run / "cni", node_netns=cfg.node_netns, netns_prefix=cfg.netns_prefix))
        runtime = RuncRuntime(RuncOptions(root=run / "runtime", cgroup_root=cfg.cgroup_root,
                                          node_netns=cfg.node_netns), network)
        for c in await runtime.list_containers():
            try:
                await runtime.stop_container(c.id, 0)
                await runtime.remove_container(c.id)
                done.append(f"container {c.id[:12]}")
            except Exception as e:  # noqa: BLE001 - keep going: a reset must get as far as it can
                log.warning("container %s: %s", c.id[:12], e)
        for s in await runtime.list_pod_sandbox():
            try:
                await runtime.stop_pod_sandbox(s.id)
                await runtime.remove_pod_sandbox(s.id)
                done.append(f"pod sandbox {s.id[:12]}")
            except Exception as e:  # noqa: BLE001
                log.warning("sandbox %s: %s", s.id[:12], e)
    for point in mount_points_under(cfg.data_dir):   # pod volumes (tmpfs) a stopped kubelet left mounted
        try:
            unmount(point)
            done.append(f"mount {point}")
        except OSError as e:
            log.warning("%s", e)
    for table in PROXY_TABLES:
        if await _run(*_in_netns(cfg.node_netns, ["nft", "delete", "table", *table.split()])) == 0:
            done.append(f"nftables table {table}")
    if await _run(*_in_netns(cfg.node_netns, ["ip", "link", "delete", cfg.cni_bridge])) == 0:
        done.append(f"bridge {cfg.cni_bridge}")
    if not cfg.node_netns:
        if await _run("nft", "delete", "table", "inet", hostnet.GUARD_TABLE) == 0:
            done.append(f"nftables table inet {hostnet.GUARD_TABLE}")
        if cfg.host_bridge and await _run("ip", "link", "delete", cfg.host_bridge) == 0:
            done.append(f"bridge {cfg.host_bridge}")
    try:
        cg = Cgroups()
        for qos in ("burstable", "besteffort", ""):
            cg.remove(f"/{cfg.cgroup_root}/{qos}".rstrip("/"), up_to=f"/{cfg.cgroup_root}")
        done.append(f"cgroup /{cfg.cgroup_root}")
    except (OSError, ValueError) as e:
        log.warning("cgroups: %s", e)
    if run.exists():
        shutil.rmtree(run, ignore_errors=True)
        done.append(f"runtime state {run}")
    if remove_data and cfg.data_dir.exists():
        shutil.rmtree(cfg.data_dir, ignore_errors=True)
        done.append(f"data {cfg.data_dir}")
    return done
