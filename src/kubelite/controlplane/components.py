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
        await ControllerManager(client, leader_elect=cp.cfg.leader_elect,
                                controllers=select_controllers(cp.cfg.controller_names),
                                options={"root_ca_pem": cp.creds.ca.cert_pem.decode()}).run()
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


def attach(cp: ControlPlane) -> None:
    """Register the components the config asks for."""
    if cp.cfg.controllers:
        cp.components.append(("controller-manager", controller_manager))
    if cp.cfg.scheduler:
        cp.components.append(("scheduler", scheduler))
