"""`kubelite agent`: run a node agent that joins a cluster with a kubeconfig."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from pathlib import Path

import click

from kubelite.agent.config import DEFAULT_DATA_DIR
from kubelite.controlplane.process import run_async

log = logging.getLogger(__name__)


@click.command("agent")
@click.option("--server", default=None, help="API server URL (default: the kubeconfig's).")
@click.option("--kubeconfig", type=click.Path(path_type=Path, exists=True), default=None,
              help="Credentials for the API server (or join with --server and --token).")
@click.option("--token", default=None, help="A join token (`kubelite token create`) to join with.")
@click.option("--ca-cert-hash", "ca_cert_hashes", multiple=True,
              help="Pin the cluster CA when joining: sha256:<hex of its public key info>.")
@click.option("--node-name", default=None, help="Name of the node (default: the host name).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True,
              help="Kubelet state (pod volumes) and, unless --log-dir, container logs.")
@click.option("--run-dir", type=click.Path(path_type=Path), default=None,
              help="Runtime state, CNI cache and IPAM (default: /run/kubelite/<node>).")
@click.option("--log-dir", type=click.Path(path_type=Path), default=None, help="Container logs.")
@click.option("--image-dir", type=click.Path(path_type=Path), default=None,
              help="Image store (default: /var/lib/kubelite/images).")
@click.option("--cgroup-root", default="kubelite", show_default=True)
@click.option("--node-ip", default="", help="The node's InternalIP.")
@click.option("--node-netns", default="", help="Path of the node's network namespace (default: this host's).")
@click.option("--host-bridge", default="kubelite0", show_default=True,
              help="Host bridge carrying --node-ip when the node is the host ('' to skip).")
@click.option("--cni-bridge", default="cni0", show_default=True)
@click.option("--netns-prefix", default="cni", show_default=True)
@click.option("--pod-cidr", default="", help="Pod CIDR to set on the Node when the cluster does not allocate one (the Node's "
                   "spec.podCIDR wins when it is set).")
@click.option("--allocate-pod-cidr", is_flag=True,
              help="Without a pod CIDR from the controller after a few seconds, take the plan's first /24.")
@click.option("--cluster-dns", multiple=True, help="DNS server for pods (default: 198.18.128.10).")
@click.option("--cluster-domain", default="cluster.local", show_default=True)
@click.option("--pull-registry", "pull_registries", multiple=True,
              help="A registry this node may pull from ('*' for any); loopback registries always.")
@click.option("--node-label", "node_labels", multiple=True, help="key=value label for the Node.")
@click.option("--registries", type=click.Path(), envvar="KUBELITE_REGISTRIES", default="",
              help="Registries file (mirrors, rewrites, credentials); changes are picked up without a restart.")
def agent_cmd(server, kubeconfig, token, ca_cert_hashes, node_name, data_dir, run_dir, log_dir, image_dir, cgroup_root, node_ip, node_netns,
              host_bridge, cni_bridge, netns_prefix, pod_cidr, allocate_pod_cidr, cluster_dns, cluster_domain,
              pull_registries, node_labels, registries):
    """Run a node agent: real containers for the pods bound to this node."""
    from kubelite.agent import Agent, AgentConfig
    from kubelite.client import Client, load_kubeconfig

    labels = {}
    for item in node_labels:
        k, _, v = item.partition("=")
        labels[k] = v
    cfg = AgentConfig(
        node_name=node_name or socket.gethostname(), data_dir=data_dir, run_dir=run_dir, log_dir=log_dir,
        image_dir=image_dir, cgroup_root=cgroup_root, node_ip=node_ip, node_netns=node_netns,
        host_bridge=host_bridge, cni_bridge=cni_bridge, netns_prefix=netns_prefix, pod_cidr=pod_cidr,
        allocate_pod_cidr=allocate_pod_cidr, cluster_dns=list(cluster_dns) or None, cluster_domain=cluster_domain,
        pull_registries=list(pull_registries), node_labels=labels, registries=registries,
    )
    if kubeconfig is None:
        if not (server and token):
            raise click.UsageError("give --kubeconfig, or --server and --token to join")
        from kubelite.bootstrap.join import JoinConfig, JoinError, join

        try:
            kubeconfig = asyncio.run(join(JoinConfig(server, token, cfg.node_name, data_dir / "kubelet.kubeconfig",
                                                     list(ca_cert_hashes))))
        except JoinError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
    client_cfg = load_kubeconfig(kubeconfig)
    if server:
        client_cfg.server = server
    # The API server's client certificate (exec, logs, port-forward) chains to the cluster CA.
    ca_pem = client_cfg.ca_data or (Path(client_cfg.ca_file).read_bytes() if client_cfg.ca_file else None)
    if ca_pem:
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "cluster-ca.crt").write_bytes(ca_pem)
        cfg.client_ca_file = data_dir / "cluster-ca.crt"

    async def main() -> None:
        client = Client.from_config(client_cfg)
        try:
            await Agent(cfg, client).run()
        finally:
            await client.close()

    run_async(main(), uvloop_ok=False)


commands = [agent_cmd]


@click.command("reset")
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path("/var/lib/kubelite"), show_default=True,
              help="The server's data dir (its host agent lives in <data-dir>/agent).")
@click.option("--node-name", default=None, help="Node name (default: the host name).")
@click.option("--remove-data", is_flag=True, help="Also delete the data dir (state, volumes, logs, images).")
def reset_cmd(data_dir, node_name, remove_data):
    """Stop every container and remove everything kubelite's host agent made on this machine."""
    import asyncio

    from kubelite.agent.config import AgentConfig
    from kubelite.agent.reset import reset

    cfg = AgentConfig(node_name=node_name or socket.gethostname(), data_dir=Path(data_dir) / "agent")
    for line in asyncio.run(reset(cfg)):
        click.echo(f"removed {line}")
    if remove_data:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
        click.echo(f"removed {data_dir}")


commands.append(reset_cmd)
