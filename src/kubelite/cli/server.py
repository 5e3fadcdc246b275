"""`kubelite server` and `kubelite kubeconfig`."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from kubelite.controlplane.config import DEFAULT_DATA_DIR, ServerConfig
from kubelite.controlplane.process import run_async

log = logging.getLogger(__name__)


@click.command("server")
@click.option("--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True,
              help="Where state, certificates and credentials live.")
@click.option("--bind-address", default="0.0.0.0", show_default=True)
@click.option("--https-port", "port", type=int, default=6443, show_default=True)
@click.option("--advertise-address", default=None,
              help="The address nodes and the `kubernetes` Service use to reach the API server "
                   "(default: the host's address on the node network, 198.18.0.1).")
@click.option("--datastore", default="", help="sqlite:///path (default: <data-dir>/state.db) or etcd://h1:2379,...")
@click.option("--write-kubeconfig", type=click.Path(path_type=Path), default=None,
              help="Where to write the admin kubeconfig (default: <data-dir>/admin.kubeconfig).")
@click.option("--no-agent", is_flag=True, help="Run the control plane only, no node agent on this host.")
@click.option("--node-name", default=None, help="Name of this host's node (default: the host name).")
@click.option("--tls-san", multiple=True, help="Extra names or addresses for the serving certificate.")
@click.option("--audit-log-path", type=click.Path(path_type=Path), default=None,
              help="Audit log (JSON lines; default: <data-dir>/audit.log).")
@click.option("--audit-policy-file", type=click.Path(path_type=Path, exists=True), default=None,
              help="An audit.k8s.io/v1 Policy (default: Metadata for everything but health checks).")
@click.option("--controllers", "controller_names", default="*", show_default=True,
              help="Controllers to run: '*' for all, 'name' to enable, '-name' to disable (comma-separated).")
@click.option("--disable-scheduler", is_flag=True, help="Do not run the scheduler in this server.")
@click.option("--disable-cluster-dns", is_flag=True, help="Do not serve cluster DNS from this server.")
@click.option("--registries", type=click.Path(), envvar="KUBELITE_REGISTRIES", default="",
              help="Registries file for the host agent (mirrors, rewrites, credentials); re-read on change.")
@click.option("--cluster-dns-address", default="", help="Where cluster DNS listens (default: 198.18.0.1, the "
                                                          "host's node-network address).")
@click.option("--leader-elect/--no-leader-elect", default=None,
              help="Elect one active controller manager and scheduler among several servers (default: on with "
                   "an etcd datastore).")
@click.option("--join-ca-from", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None,
              help="Another server's data dir to share the CA, service-account and encryption keys with (HA).")
@click.option("--controller-option", "controller_options", multiple=True,
              help="key=value option for the controllers (e.g. node_monitor_grace_period=10).")
def server_cmd(data_dir, bind_address, port, advertise_address, datastore, write_kubeconfig, no_agent, node_name,
               tls_san, audit_log_path, audit_policy_file, controller_names, disable_scheduler, disable_cluster_dns,
               leader_elect, join_ca_from, controller_options, registries, cluster_dns_address):
    """Run the control plane (API server, controllers, scheduler) and a node agent for this host."""
    from kubelite.controlplane import components
    from kubelite.controlplane.run import ControlPlane

    cfg = ServerConfig(data_dir=data_dir, bind_address=bind_address, port=port, datastore=datastore, write_kubeconfig=write_kubeconfig, agent=not no_agent,
                       extra_sans=list(tls_san), audit_log=audit_log_path, audit_policy=audit_policy_file,
                       controller_names=controller_names, scheduler=not disable_scheduler,
                       cluster_dns=not disable_cluster_dns)
    if node_name:
        cfg.node_name = node_name
    if advertise_address:
        cfg.advertise_address = advertise_address
    cfg.leader_elect = leader_elect if leader_elect is not None else datastore.startswith(("etcd", "http"))
    cfg.join_ca_from = join_ca_from
    cfg.cluster_dns_address = cluster_dns_address
    cfg.registries = registries
    for item in controller_options:
        k, sep, v = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected key=value", param_hint="--controller-option")
        cfg.controller_options[k] = _option_value(v)
    if logging.getLogger().level > logging.INFO:
        logging.getLogger("kubelite").setLevel(logging.INFO)
    cp = ControlPlane(cfg)
    components.attach(cp)

    async def main():
        async def announce():
            await cp.ready.wait()
            click.echo(f"kubelite is running: API {cfg.server_url}", err=True)
            click.echo(f"admin kubeconfig: {cfg.kubeconfig_path}  (export KUBECONFIG={cfg.kubeconfig_path})",
                       err=True)

        t = asyncio.ensure_future(announce())
        try:
            await cp.run()
        finally:
            t.cancel()

    from kubelite.controlplane.ha import DatastoreUnavailable

    try:
        run_async(main(), uvloop_ok=no_agent)
    except (OSError, DatastoreUnavailable) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except BaseExceptionGroup as eg:  # a component failed at start: say what, not a traceback
        first = eg
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        if isinstance(first, (OSError, DatastoreUnavailable)):
            click.echo(f"error: {first}", err=True)
            sys.exit(1)
        raise


def _option_value(v: str):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(v.lower(), v)


@click.command("kubeconfig")
@click.option("--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True)
def kubeconfig_cmd(data_dir):
    """Print the admin kubeconfig of the server using this data dir."""
    p = ServerConfig(data_dir=data_dir).kubeconfig_path
    if not p.exists():
        click.echo(f"error: no kubeconfig at {p}; start `kubelite server --data-dir {data_dir}` first", err=True)
        sys.exit(1)
    click.echo(p.read_text(), nl=False)


commands = [server_cmd, kubeconfig_cmd]


@click.group("encryption")
def encryption_group():
    """Manage the keys that encrypt Secrets at rest."""


@encryption_group.command("rotate")
@click.option("--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True)
def encryption_rotate(data_dir):
    """Add a new primary key. Restart the server to re-encrypt every Secret, then `prune`."""
    from kubelite.apiserver import encryption

    name = encryption.rotate(Path(data_dir) / "encryption.json")
    click.echo(f"new primary key {name}; restart `kubelite server` to re-encrypt, then run "
               f"`kubelite encryption prune`")


@encryption_group.command("prune")
@click.option("--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True)
def encryption_prune(data_dir):
    """Drop every key but the primary (after the server re-encrypted the Secrets)."""
    from kubelite.apiserver import encryption

    dropped = encryption.prune(Path(data_dir) / "encryption.json")
    click.echo(f"dropped keys: {', '.join(dropped) or 'none'}")


commands.append(encryption_group)
