"""The CNI plugin with Debian's plugins, run inside a throwaway "node" netns (so the bridge,
veths and portmap's iptables rules never touch the host), plus the runc runtime on top.

Addresses: pod CIDR 198.19.<n>.0/24 inside the node netns only. Everything is removed and
checked: pod netns pins, veths, host-local IP files, cached results, the node netns.
"""

import asyncio
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from kubelite.kubelet.network.cni import CNINetworkPlugin, CNIOptions, node_conflist
from kubelite.kubelet.network.cni.netns import NetnsPins
from kubelite.kubelet.network.interface import NetworkError, PodNetworkRequest, PortMapping
from kubelite.kubelet.runtime import testsuite
from kubelite.kubelet.runtime.testsuite import run_container, sandbox_config, wait_until

MISSING = [p for p in ("bridge", "host-local", "portmap", "loopback") if not os.path.exists(f"/usr/lib/cni/{p}")]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(bool(MISSING), reason=f"containernetworking-plugins missing: {MISSING}"),
]


class Node:
    """A node netns with its own CNI state under `base`."""

    def __init__(self, base: Path, cidr_octet: int):
        self.base = base
        self.prefix = f"klt{secrets.token_hex(3)}"
        self.bridge = f"{self.prefix}br"
        self.cidr = f"198.19.{cidr_octet}.0/24"
        self.gateway = f"198.19.{cidr_octet}.1"
        self.pins = NetnsPins(base / "netns")
        self.ipam = base / "ipam"
        self.netns = ""

    async def start(self) -> None:
        self.netns = await self.pins.ensure(f"{self.prefix}-node")
        subprocess.run(["nsenter", f"--net={self.netns}", "ip", "link", "set", "lo", "up"], check=True)

    def plugin(self, conflist=None) -> CNINetworkPlugin:
        conflist = conflist or node_conflist(pod_cidr=self.cidr, data_dir=str(self.ipam), bridge=self.bridge)
        return CNINetworkPlugin(CNIOptions(
            conflist=conflist, cache_dir=self.base / "cni", netns_dir=self.base / "netns",
            netns_prefix=self.prefix, node_netns=self.netns,
        ))

    def links(self) -> list[str]:
        out = subprocess.run(["nsenter", f"--net={self.netns}", "ip", "-o", "link"], capture_output=True,
                             text=True, check=True).stdout
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]

    def allocated_ips(self) -> list[str]:
        d = self.ipam / "kubelite"
        return sorted(p.name for p in d.iterdir() if p.name[0].isdigit()) if d.exists() else []

    def pod_pins(self) -> list[str]:
        d = self.base / "netns"
        return sorted(p.name for p in d.iterdir() if p.name != f"{self.prefix}-node") if d.exists() else []

    async def close(self) -> None:
        leaks = []
        if self.netns:
            leaks += [f"veth {link}" for link in self.links() if link.startswith("veth")]
            await self.pins.delete(f"{self.prefix}-node")
        leaks += [f"netns pin {p}" for p in self.pod_pins()]
        leaks += [f"ip {ip}" for ip in self.allocated_ips()]
        results = self.base / "cni" / "results"
        leaks += [f"cni cache {p.name}" for p in results.iterdir()] if results.exists() else []
        host_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        leaks += [f"host link {self.bridge}"] if self.bridge in host_links else []
        with open("/proc/self/mountinfo") as f:
            leaks += [f"mount {line.split()[4]}" for line in f if str(self.base) in line]
        for pin in self.pod_pins():  # a failed test still cleans up before it reports
            await self.pins.delete(pin)
        shutil.rmtree(self.ipam, ignore_errors=True)
        assert not leaks, f"left behind: {leaks}"


def run(tmp_path, body, octet=31):
    async def main():
        node = Node(tmp_path, octet)
        await node.start()
        try:
            await body(node)
        finally:
            await node.close()

    asyncio.run(main())


def req(name, ports=()):
    return PodNetworkRequest(f"{name}{secrets.token_hex(8)}", name, "default", f"uid-{name}", list(ports))


def test_setup_idempotent_and_teardown_replays_after_restart(tmp_path):
    async def body(node):
        r = req("a")
        st = await node.plugin().setup_pod(r)
        assert st.ip == f"198.19.31.2" and st.ips == [st.ip] and os.path.ismount(st.netns)
        again = await node.plugin().setup_pod(r)
        assert again == st
        assert node.allocated_ips() == [st.ip] and node.bridge in node.links()
        await node.plugin().check_pod(r)
        # a new plugin instance (agent restart) tears down from the cached result
        await node.plugin().teardown_pod(r)
        assert node.allocated_ips() == [] and not os.path.exists(st.netns)
        assert [link for link in node.links() if link.startswith("veth")] == []
        await node.plugin().teardown_pod(r)  # idempotent

    run(tmp_path, body)


def test_failed_add_runs_del(tmp_path):
    async def body(node):
        conf = node_conflist(pod_cidr=node.cidr, data_dir=str(node.ipam), bridge=node.bridge)
        conf["plugins"].append({"type": "kltnope"})
        r = req("bad")
        with pytest.raises(NetworkError, match="kltnope"):
            await node.plugin(conf).setup_pod(r)
        assert node.allocated_ips() == [] and node.pod_pins() == []

    run(tmp_path, body, octet=32)


def test_status_reports_missing_plugins(tmp_path):
    async def body(node):
        assert (await node.plugin().status()).ready
        conf = node_conflist(pod_cidr=node.cidr, data_dir=str(node.ipam), bridge=node.bridge)
        conf["plugins"][0]["ipam"]["type"] = "kltnope-ipam"
        st = await node.plugin(conf).status()
        assert not st.ready and "kltnope-ipam" in st.message

    run(tmp_path, body, octet=33)


def test_pods_on_one_bridge_and_host_port(tmp_path):
    async def body(node):
        h = testsuite.RuncHarness(tmp_path / "rt", network=node.plugin(), node_netns=node.netns)
        rt = h.runtime
        try:
            sc1 = sandbox_config(h, "srv", port_mappings=[PortMapping(80, 8080)])
            sc2 = sandbox_config(h, "cli")
            s1, s2 = await rt.run_pod_sandbox(sc1), await rt.run_pod_sandbox(sc2)
            st1, st2 = await rt.pod_sandbox_status(s1), await rt.pod_sandbox_status(s2)
            assert {st1.ip, st2.ip} == {"198.19.34.2", "198.19.34.3"}
            assert st1.netns.endswith(f"{node.prefix}-{s1}")
            serve = "mkdir -p /www && echo hi-from-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"
            await run_container(h, s1, sc1, "web", serve)
            cli = await run_container(h, s2, sc2, "cli", "sleep 600")
            for url in (f"http://{st1.ip}/", f"http://{node.gateway}:8080/"):  # pod IP, then hostPort
                got = {}

                async def fetched():
                    got["r"] = await rt.exec_sync(cli, ["wget", "-q", "-O-", url], timeout=5)
                    return got["r"].exit_code == 0

                await wait_until(fetched, 10, 0.05)
                assert got["r"].stdout == b"hi-from-srv\n", (url, got["r"])
            _, out, _ = await rt.exec_sync(cli, ["ip", "-o", "-4", "addr", "show", "eth0"])
            assert f"{st2.ip}/24" in out.decode()
        finally:
            await h.close()
        assert node.allocated_ips() == [] and node.pod_pins() == []

    run(tmp_path, body, octet=34)
