"""`ClusterControlPlane`: `kubelite server`'s control plane plus what joining nodes need, with
the controller options (timings, the cluster's pod block) set by the caller.

It adds to `controlplane.ControlPlane`:
- node joining: the bootstrap token authenticator, CSR admission and `/approval`
  (`bootstrap.server.install`), the joining RBAC and `cluster-info` (`bootstrap.server.ensure`);
- the certificate controllers (CSR approving and signing with the cluster CA, bootstrap signer,
  token cleaner) next to the standard ones;
- a scheduler when `controlplane.components` does not attach one yet;
- in-process clients that use the address the server is bound to (it may not be loopback).

The pieces are separate functions (`attach_joining`, `controller_options`) so `kubelite
server` can use them too.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from kubelite.controlplane.config import ServerConfig
from kubelite.controlplane.run import Component, ControlPlane

log = logging.getLogger(__name__)

# Until kubelite.controller_manager.CONTROLLERS lists them (name -> "module:Class").
CERTIFICATE_CONTROLLERS = {
    "csrapproving": "certificates:CSRApprovingController",
    "csrsigning": "certificates:CSRSigningController",
    "bootstrapsigner": "certificates:BootstrapSignerController",
    "tokencleaner": "certificates:TokenCleaner",
}


def register_certificate_controllers() -> None:
    from kubelite.controller_manager import CONTROLLERS

    for name, target in CERTIFICATE_CONTROLLERS.items():
        CONTROLLERS.setdefault(name, target)


def controller_options(cp: ControlPlane, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    assert cp.creds is not None
    tls = cp.cfg.tls_dir
    opts: dict[str, Any] = {"root_ca_pem": cp.creds.ca.cert_pem.decode(),
                            "cluster_signing_cert_file": str(tls / "ca.crt"),
                            "cluster_signing_key_file": str(tls / "ca.key")}
    opts.update(extra or {})
    return opts


def advertised_url(cfg: ServerConfig) -> str:
    return f"https://{cfg.advertise_address}:{cfg.port}"


async def joining(cp: ControlPlane) -> None:
    """The node-joining pieces of the API server (a component that finishes once done)."""
    from kubelite.bootstrap import server as bootstrap_server

    assert cp.server is not None and cp.creds is not None
    bootstrap_server.install(cp.server)
    await bootstrap_server.ensure(cp.server, server_url=advertised_url(cp.cfg), ca_pem=cp.creds.ca.cert_pem)


def attach_joining(cp: ControlPlane, *, options: dict[str, Any] | None = None) -> None:
    """Add node joining and the certificate controllers to a control plane's components."""
    register_certificate_controllers()
    cp.components.insert(0, ("joining", joining))

    async def controller_manager(cp: ControlPlane) -> None:
        from kubelite.controller_manager import ControllerManager

        names = None
        spec = getattr(cp.cfg, "controller_names", None)
        if spec:
            from kubelite.controlplane.components import select_controllers

            names = select_controllers(spec)
        client = cp.client_for("system:kube-controller-manager")
        try:
            await ControllerManager(client, leader_elect=cp.cfg.leader_elect, controllers=names,
                                    options=controller_options(cp, options)).run()
        finally:
            await client.close()

    cp.components[:] = [(n, controller_manager if n == "controller-manager" else c) for n, c in cp.components]
    if cp.cfg.controllers and not any(n == "controller-manager" for n, _ in cp.components):
        cp.components.append(("controller-manager", controller_manager))


def optional(name: str, component: Component) -> Component:
    """A component whose failure to start (an address in use) must not stop the control plane."""

    async def run(cp: ControlPlane) -> None:
        try:
            await component(cp)
        except* OSError as eg:
            log.warning("%s is not running: %s", name, "; ".join(str(e) for e in eg.exceptions))

    return run


async def scheduler(cp: ControlPlane) -> None:
    from kubelite.scheduler import run_scheduler

    client = cp.client_for("system:kube-scheduler")
    try:
        await run_scheduler(client)
    finally:
        await client.close()


class ClusterControlPlane(ControlPlane):
    def __init__(self, cfg: ServerConfig, *, controller_options: dict[str, Any] | None = None):
        super().__init__(cfg)
        from kubelite.controlplane import components

        components.attach(self)
        attach_joining(self, options=controller_options)
        # several local clusters share the host bridge: only one can serve DNS on 198.18.0.1:53
        self.components[:] = [(n, optional(n, c) if n == "cluster-dns" else c) for n, c in self.components]
        if cfg.scheduler and not any("scheduler" in n for n, _ in self.components):
            if importlib.util.find_spec("kubelite.scheduler") is not None:
                self.components.append(("scheduler", scheduler))
            else:
                log.warning("no scheduler available: pods will stay Pending")

    def client_for(self, user: str):
        from kubelite.client import Client, ClientConfig

        assert self.creds is not None
        ck = self.creds.components[user]
        cfg = ClientConfig(server=self.cfg.server_url, ca_data=self.creds.ca.cert_pem, cert_data=ck.cert_pem,
                           key_data=ck.key_pem, user_agent=f"{user.split(':')[-1]}/kubelite")
        return Client.from_config(cfg)
