"""`kubelite cluster create|delete|list`: local multi-node clusters (see `kubelite.cluster`)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click


def _fail(msg: str) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(1)


def _option_pairs(items: tuple[str, ...], what: str) -> dict:
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k:
            _fail(f"{what} must be name=value, got {item!r}")
        try:
            out[k] = float(v) if "." in v else int(v)
        except ValueError:
            out[k] = v
    return out


@click.group("cluster")
def cluster_group():
    """Local clusters: a control plane and N nodes (network namespaces) on this machine."""


@cluster_group.command("create")
@click.option("--name", default="kubelite", show_default=True, help="Cluster name (nodes are <name>-node<X>).")
@click.option("--nodes", type=int, default=1, show_default=True, help="How many nodes (1-15).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Where the cluster's state lives (default: /var/lib/kubelite/clusters/<name>).")
@click.option("--write-kubeconfig", type=click.Path(path_type=Path), default=None,
              help="Also write the admin kubeconfig here.")
@click.option("--https-port", "port", type=int, default=None, help="API server port (default: 6443 if free).")
@click.option("--datastore", default="", help="sqlite:///path (default) or etcd://h1:2379,...")
@click.option("--controller-option", "controller_options", multiple=True,
              help="name=value for the controller manager, e.g. node_monitor_grace_period=10.")
@click.option("--kubelet-option", "kubelet_options", multiple=True,
              help="name=value for every node's kubelet, e.g. node_status_update_frequency=2.")
@click.option("--timeout", type=float, default=90.0, show_default=True, help="Seconds to wait for Ready nodes.")
@click.option("--retain", is_flag=True, help="Keep what was made if creation fails (to look at its logs).")
def create_cmd(name, nodes, data_dir, write_kubeconfig, port, datastore, controller_options, kubelet_options, timeout,
               retain):
    """Create a cluster and wait until its nodes are Ready."""
    from kubelite.client import TransportError
    from kubelite.cluster import manager
    from kubelite.cluster.netlink import NetlinkError
    from kubelite.machinery.errors import StatusError

    opts = manager.CreateOptions(name=name, nodes=nodes, data_dir=data_dir, write_kubeconfig=write_kubeconfig,
                                 port=port, timeout=timeout, datastore=datastore, retain=retain,
                                 controller_options=_option_pairs(controller_options, "--controller-option"),
                                 kubelet=_option_pairs(kubelet_options, "--kubelet-option"))
    try:
        st = asyncio.run(manager.create(opts))
    except (manager.ClusterError, NetlinkError, StatusError, TransportError, ValueError, OSError) as e:
        hint = f"kept for inspection; remove it with `kubelite cluster delete --name {name}`" if retain \
            else "nothing was left behind"
        _fail(f"{e}\n({hint})")
        return
    kc = st.extra_kubeconfig or st.kubeconfig
    click.echo(f'cluster "{name}" is running: {nodes} node(s), API {st.server_url}', err=True)
    click.echo(f"export KUBECONFIG={kc}", err=True)


@cluster_group.command("delete")
@click.option("--name", default="kubelite", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="List everything that was removed.")
def delete_cmd(name, verbose):
    """Delete a cluster and everything it created (also after a crash)."""
    from kubelite.cluster import manager

    try:
        removed = asyncio.run(manager.delete(name))
    except (manager.ClusterError, ValueError, OSError) as e:
        _fail(str(e))
        return
    if not removed:
        click.echo(f'no cluster "{name}" and nothing left of one', err=True)
        return
    if verbose:
        for r in removed:
            click.echo(f"removed {r}")
    click.echo(f'cluster "{name}" deleted', err=True)


@cluster_group.command("list")
def list_cmd():
    """List local clusters."""
    from kubelite.cluster import manager

    rows = manager.list_clusters()
    if not rows:
        click.echo("No local clusters.", err=True)
        return
    click.echo(f"{'NAME':<20} {'STATUS':<10} {'NODES':<6} {'SERVER':<28} KUBECONFIG")
    for r in rows:
        click.echo(f"{r['name']:<20} {r['status']:<10} {r['nodes']:<6} {r['server']:<28} {r.get('kubeconfig', '')}")


commands = [cluster_group]
