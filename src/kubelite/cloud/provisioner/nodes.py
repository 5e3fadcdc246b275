"""`AgentInstances`: managed-node "instances" (node-group nodes and Fargate micro-nodes) as real
node agents (root, runc, CNI).

Each instance is a network namespace `kln-<instance id>` whose `eth0` (a veth `klw…` to the VPC's
host bridge, see `vpcnet`) has the instance's private address from its subnet with the VPC's
prefix, proxy ARP on (its pods' secondary addresses are answered for there) and no default route;
and a node-agent process (`node_agent`, a `vpc_agent.VPCAgent`) that keeps the node's pods, their
VPC-CNI network, its kubelet server and its Service proxy in that namespace. The agent itself runs
in the host's namespace, so it reaches its cluster's API server and the service's instance-metadata
endpoint on 127.0.0.1; it authenticates as EKS nodes do, with an IAM token for the node role
(`node_token`, an exec credential plugin). Pods anywhere in the VPC reach each other directly.

Everything an instance makes is named from its id (netns, veth, cgroup root, pod namespaces)
and lives under `<base>/<instance id>/`; `terminate` stops the agent by PID and removes it all.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import shutil
import signal
import sys
from pathlib import Path

import yaml

from kubelite.kubelet.runtime.runc.cgroups import kill_and_remove_tree

from .interface import InstanceSpec, ProvisionError
from .vpcnet import HostNetwork, HostNetworks

log = logging.getLogger(__name__)

NETNS_DIR = "/var/run/netns"


def names(instance_id: str) -> dict[str, str]:
    short = instance_id.replace("i-", "")[-10:]
    return {"netns": f"kln-{instance_id}", "veth": f"klw{short}", "cgroup": f"kln{short}",
            "pods": f"klp{short}"}


class _Instance:
    def __init__(self, spec: InstanceSpec, base: Path):
        self.spec = spec
        self.dir = base / spec.instance_id
        self.names = names(spec.instance_id)
        self.proc: asyncio.subprocess.Process | None = None


class AgentInstances:
    def __init__(self, base: Path | None = None, *, image_dir: Path | None = None,
                 host_network: HostNetworks | None = None):
        self.base = base or Path("/var/lib/kubelite/cloud/instances")
        self.image_dir = image_dir or self.base.parent / "images"
        self.host_network = host_network or HostNetwork()
        self._instances: dict[str, _Instance] = {}

    def running(self) -> list[str]:
        return sorted(k for k, i in self._instances.items() if i.proc is not None and i.proc.returncode is None)

    async def launch(self, spec: InstanceSpec) -> None:
        from kubelite.cluster import netlink

        inst = self._instances.get(spec.instance_id)
        if inst is not None and inst.proc is not None and inst.proc.returncode is None:
            return
        inst = self._instances[spec.instance_id] = _Instance(spec, self.base)
        n = inst.names
        try:
            inst.dir.mkdir(parents=True, exist_ok=True)
            bridge = await self.host_network.ensure_vpc(spec.vpc_cidr)
            if n["netns"] not in netlink.list_netns(n["netns"]):
                await netlink.add_netns(n["netns"])
            if not await netlink.link_exists(n["veth"]):
                prefix = ipaddress.ip_network(spec.vpc_cidr, strict=False).prefixlen
                await netlink.add_node_link(n["netns"], n["veth"], bridge, spec.private_ip, prefix)
            # The VPC delivers a node's secondary addresses to it: answer ARP for the pods.
            await netlink.run("ip", "netns", "exec", n["netns"], "sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
                              "net.ipv4.conf.eth0.proxy_arp=1")
            await self._write_credentials(inst)
            await self.update_registries(spec.instance_id, spec.registries)
            await self._start_agent(inst)
        except Exception as e:
            await self.terminate(spec.instance_id)
            raise ProvisionError(f"cannot start instance {spec.instance_id}: {e}") from e

    async def _write_credentials(self, inst: _Instance) -> None:
        spec = inst.spec
        secret = inst.dir / "instance-secret"
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(spec.instance_secret)
        import base64

        kubeconfig = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": spec.cluster_name, "cluster": {
                "server": spec.api_server, "certificate-authority-data": base64.b64encode(spec.ca_pem).decode()}}],
            "users": [{"name": "node", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
                "args": ["-m", "kubelite.cloud.provisioner.node_token", "--metadata-url",
                         f"{spec.metadata_url}{spec.instance_id}/credentials", "--secret-file", str(secret),
                         "--cluster-name", spec.cluster_name, "--region", spec.region]}}}],
            "contexts": [{"name": "node", "context": {"cluster": spec.cluster_name, "user": "node"}}],
            "current-context": "node"}
        path = inst.dir / "kubeconfig"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(kubeconfig, f)

    async def _start_agent(self, inst: _Instance) -> None:
        import json

        spec, n, d = inst.spec, inst.names, inst.dir
        (d / "ca.crt").write_bytes(spec.ca_pem)
        agent = {"node_name": spec.node_name, "node_ip": spec.private_ip,
                 "node_netns": f"{NETNS_DIR}/{n['netns']}", "host_bridge": "",
                 "netns_prefix": n["pods"], "cgroup_root": n["cgroup"], "data_dir": str(d / "data"),
                 "run_dir": str(d / "run"), "log_dir": str(d / "logs"), "image_dir": str(self.image_dir),
                 "node_labels": dict(spec.labels), "kubelet_server": True, "client_ca_file": str(d / "ca.crt"),
                 "registries": str(d / "registries.yaml"), "pull_registries": list(spec.registries.get("allow") or []),
                 "cluster_dns": [spec.cluster_dns] if spec.cluster_dns else None,
                 "kubelet": {"max_pods": spec.max_pods}}
        vpc = {"addresses": list(spec.pod_addresses), "subnet_cidr": spec.subnet_cidr}
        (d / "agent.json").write_text(json.dumps({"agent": agent, "vpc": vpc, "capacity": spec.capacity,
                                                  "kubeconfig": str(d / "kubeconfig"),
                                                  "parent_pid": os.getpid()}))
        args = [sys.executable, "-m", "kubelite.cloud.provisioner.node_agent", str(d / "agent.json")]
        log_file = open(d / "agent.log", "ab")
        try:
            inst.proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.DEVNULL, stdout=log_file,
                                                             stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        finally:
            log_file.close()
        await asyncio.sleep(0.5)
        if inst.proc.returncode is not None:
            tail = (d / "agent.log").read_text(errors="replace")[-500:]
            raise ProvisionError(f"the node agent exited with code {inst.proc.returncode}: {tail}")
        log.info("instance %s: node %s agent pid %d", spec.instance_id, spec.node_name, inst.proc.pid)

    async def terminate(self, instance_id: str) -> None:
        from kubelite.cluster import netlink
        from kubelite.kubelet.runtime.testsuite import force_cleanup

        inst = self._instances.pop(instance_id, None)
        n = names(instance_id)
        d = (inst.dir if inst else self.base / instance_id)
        if inst is not None and inst.proc is not None and inst.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                inst.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(inst.proc.wait(), 10)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    inst.proc.kill()
                await inst.proc.wait()
        # Containers (the agent leaves them running by design), their cgroups and mounts.
        if (d / "run" / "runtime").exists():
            await asyncio.to_thread(force_cleanup, d / "run" / "runtime", n["cgroup"])
        await asyncio.to_thread(_remove_cgroups, n["cgroup"])
        for ns in netlink.list_netns(n["pods"]) + netlink.list_netns(n["netns"]):
            await netlink.delete_netns(ns)
        await netlink.delete_link(n["veth"])
        if inst is not None:
            await self.host_network.release_vpc(inst.spec.vpc_cidr)
        for point in _mounts_under(str(d)):
            await netlink.run("umount", "-l", point, check=False)
        if d.exists() and not _mounts_under(str(d)):
            await asyncio.to_thread(shutil.rmtree, d, True)

    async def update_registries(self, instance_id: str, registries: dict) -> None:
        """The node's registries file (mirrors/configs for ECR), written atomically; the agent's
        puller rereads it when it changes."""
        inst = self._instances.get(instance_id)
        d = inst.dir if inst else self.base / instance_id
        if not d.exists():
            return
        doc = {k: v for k, v in registries.items() if k in ("mirrors", "configs")}
        tmp = d / "registries.yaml.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(doc, f)
        os.replace(tmp, d / "registries.yaml")
        if inst is not None:
            inst.spec.registries = registries

    async def close(self) -> None:
        """The service is stopping: stop the agents (their nodes come back with the service)."""
        for inst in list(self._instances.values()):
            if inst.proc is not None and inst.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    inst.proc.send_signal(signal.SIGTERM)
        for inst in list(self._instances.values()):
            if inst.proc is not None:
                try:
                    await asyncio.wait_for(inst.proc.wait(), 10)
                except asyncio.TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        inst.proc.kill()
                    await inst.proc.wait()
        self._instances.clear()


def _mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return sorted({p for p in points if p == path or p.startswith(path.rstrip("/") + "/")}, key=len, reverse=True)


def _remove_cgroups(name: str) -> None:
    root = Path("/sys/fs/cgroup")
    if not root.is_dir():
        return
    for hierarchy in root.iterdir():
        top = hierarchy / name
        if top.is_dir():
            kill_and_remove_tree(top)
