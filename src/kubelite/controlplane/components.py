"""Which components run beside the API server in `kubelite server` (controllers, scheduler, agent)."""

from __future__ import annotations

import logging

from .run import ControlPlane

log = logging.getLogger(__name__)


async def controller_manager(cp: ControlPlane) -> None:
    from kubelite.controller_manager import ControllerManager

    client = cp.client_for("system:kube-controller-manager")
    try:
        assert cp.creds is not None
        await ControllerManager(client, leader_elect=cp.cfg.leader_elect,
                                options={"root_ca_pem": cp.creds.ca.cert_pem.decode()}).run()
    finally:
        await client.close()


def attach(cp: ControlPlane) -> None:
    """Register the components the config asks for."""
    if cp.cfg.controllers:
        cp.components.append(("controller-manager", controller_manager))
