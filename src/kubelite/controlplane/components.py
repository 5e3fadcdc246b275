"""Which components run beside the API server in `kubelite server` (controllers, scheduler, agent)."""

from __future__ import annotations

import asyncio
import logging

from .run import ControlPlane

log = logging.getLogger(__name__)


async def controller_manager(cp: ControlPlane) -> None:
    from kubelite.controller_manager import ControllerManager

    client = cp.client_for("system:kube-controller-manager")
    try:
        assert cp.creds is not None
        tls = cp.cfg.tls_dir
        options = {"root_ca_pem": cp.creds.ca.cert_pem.decode(),
                   "cluster_signing_cert_file": str(tls / "ca.crt"),
                   "cluster_signing_key_file": str(tls / "ca.key"),
                   "ingress_bind_address": cp.cfg.advertise_address,
                   **cp.cfg.controller_options}
        await ControllerManager(client, leader_elect=cp.cfg.leader_elect,
                                controllers=select_controllers(cp.cfg.controller_names), options=options).run()
    finally:
        await client.close()


async def cluster_dns(cp: ControlPlane) -> None:
    """Serve cluster DNS on the host's node-network address (198.18.0.1:53) once that address exists
    (the host agent or `kubelite cluster` brings up the `kubelite0` bridge); the `kube-dns` Service
    sends pods there."""
    import socket

    from kubelite.dns.server import DNSServer

    addr = cp.cfg.cluster_dns_address or cp.cfg.plan.host_address

    def present() -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((addr, 0))
                return True
            except OSError:
                return False

    logged = False
    while not present():
        if not logged:
            log.info("cluster DNS waits for %s (the kubelite0 bridge) to exist", addr)
            logged = True
        await asyncio.sleep(0.1)   # a bind test is cheap; pods may start the moment the bridge exists
    client = cp.client_for("system:kube-dns")
    delay = 2.0
    try:
        while True:
            try:
                log.info("cluster DNS serving on %s:53", addr)
                await DNSServer(client, address=addr, port=53).run()
                return
            except* OSError as eg:  # e.g. another kubelite server on this host serves DNS there
                log.warning("cluster DNS cannot listen on %s:53 (%s); retrying in %.0fs", addr,
                            eg.exceptions[0], delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
    finally:
        await client.close()


def select_controllers(spec: str) -> list[str]:
    """kube-controller-manager's `--controllers`: `*` for all, a name to enable, `-name` to disable."""
    from kubelite.controller_manager import CONTROLLERS

    names: list[str] = []
    disabled = set()
    for part in (p.strip() for p in spec.split(",")):
        if part == "*":
            names.extend(n for n in CONTROLLERS if n not in names)
        elif part.startswith("-"):
            disabled.add(part[1:])
        elif part:
            if part not in CONTROLLERS:
                raise ValueError(f"unknown controller {part!r}; known: {', '.join(CONTROLLERS)}")
            names.append(part)
    return [n for n in names if n not in disabled]


async def scheduler(cp: ControlPlane) -> None:
    from kubelite.client import LeaderElector
    from kubelite.scheduler.scheduler import run_scheduler

    client = cp.client_for("system:kube-scheduler")
    try:
        if not cp.cfg.leader_elect:
            await run_scheduler(client)
            return
        import socket
        import uuid

        elector = LeaderElector(client, name="kube-scheduler", namespace="kube-system",
                                identity=f"{socket.gethostname()}_{uuid.uuid4()}")
        while True:
            try:
                async with elector.leading():
                    await run_scheduler(client)
            except Exception as e:  # noqa: BLE001 - lost the lease: stop scheduling, try again
                log.warning("scheduler lost leadership: %s", e)
                await asyncio.sleep(1)
    finally:
        await client.close()


async def host_agent(cp: ControlPlane) -> None:
    """The node agent for this host, with its own node identity (system:node:<name>)."""
    from kubelite.agent import run_host_agent

    client = cp.client_for(f"system:node:{cp.cfg.node_name}")
    try:
        await run_host_agent(client, cp.cfg)
    finally:
        await client.close()


def attach(cp: ControlPlane) -> None:
    """Register the components the config asks for."""
    if cp.cfg.controllers:
        cp.components.append(("controller-manager", controller_manager))
    if cp.cfg.scheduler:
        cp.components.append(("scheduler", scheduler))
    if cp.cfg.cluster_dns:
        cp.components.append(("cluster-dns", cluster_dns))
    if cp.cfg.agent:
        cp.components.append(("host-agent", host_agent))
