"""Test tools for a real node agent (root, runc, conmon, CNI plugins): a throwaway node network
namespace with per-test names (`NodeEnv`), and an in-process API server plus a real `Agent` for
that node (`AgentHarness`). Everything is named with the env's prefix; `NodeEnv.leftovers()`
lists whatever is left behind and `NodeEnv.destroy()` removes it (processes killed by PID).

    env = NodeEnv(tmp_path, image_dir); env.create()
    async with AgentHarness(env) as h:
        await h.client.create("pods", pod_manifest("p", [{"name": "c", "command": ["true"]}],
                                                   nodeName=env.node_name), "default")
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import time
from pathlib import Path

from kubelite.kubelet.runtime import testsuite

CNI_DIR = "/usr/lib/cni"


def missing_reason() -> str:
    """Why a real agent cannot run here ("" when it can)."""
    reason = testsuite.runc_missing_reason()
    if reason:
        return reason
    if not os.path.exists(f"{CNI_DIR}/bridge"):
        return "containernetworking-plugins are not installed"
    return ""


class NodeEnv:
    """A node network namespace and the names of everything the agent will create."""

    def __init__(self, base: Path, image_dir: Path):
        self.prefix = f"kag{secrets.token_hex(3)}"
        self.base = base
        self.image_dir = image_dir
        self.netns_name = f"{self.prefix}-node"
        self.netns = f"/var/run/netns/{self.netns_name}"
        self.cgroup_root = self.prefix
        self.run_dir = base / "run"
        self.data_dir = base / "data"
        self.log_dir = base / "logs"
        self.pod_cidr = f"198.19.{200 + secrets.randbelow(50)}.0/24"
        self.node_name = f"{self.prefix}-node"

    def create(self) -> None:
        subprocess.run(["ip", "netns", "add", self.netns_name], check=True)
        subprocess.run(["ip", "netns", "exec", self.netns_name, "ip", "link", "set", "lo", "up"], check=True)

    def leftovers(self) -> list[str]:
        out = testsuite.leftovers(self.run_dir / "runtime", self.cgroup_root)
        netns = [n for n in os.listdir("/var/run/netns") if n.startswith(self.prefix) and n != self.netns_name] \
            if os.path.isdir("/var/run/netns") else []
        out += [f"netns {n}" for n in netns]
        with open("/proc/self/mountinfo") as f:
            out += [f"mount {line.split()[4]}" for line in f if str(self.base) in line.split()[4]
                    and f"mount {line.split()[4]}" not in out]
        ipam = self.run_dir / "ipam"
        if ipam.is_dir():
            for d in ipam.iterdir():
                out += [f"ipam {p.name}" for p in d.iterdir() if p.name not in ("lock", "last_reserved_ip.0")]
        pods = self.data_dir / "kubelet" / "pods"
        if pods.is_dir():
            out += [f"pod dir {p.name}" for p in pods.iterdir()]
        if self.log_dir.is_dir():
            out += [f"log dir {p.name}" for p in self.log_dir.iterdir()]
        return out

    def destroy(self) -> None:
        """Remove everything, whatever state a failed test left (kill by PID only)."""
        testsuite.force_cleanup(self.run_dir / "runtime", self.cgroup_root)
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f if str(self.base) in line.split()[4]]
        for p in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", p], capture_output=True)
        if os.path.isdir("/var/run/netns"):
            for n in os.listdir("/var/run/netns"):
                if n.startswith(self.prefix):
                    subprocess.run(["ip", "netns", "delete", n], capture_output=True)
                    path = f"/var/run/netns/{n}"
                    if os.path.exists(path):  # a pin file whose mount is already gone
                        subprocess.run(["umount", "-l", path], capture_output=True)
                        with contextlib.suppress(OSError):
                            os.unlink(path)
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            top = hierarchy / self.cgroup_root
            if top.exists():
                for d in sorted(top.rglob("*"), key=lambda p: -len(p.parts)) + [top]:
                    if d.is_dir():
                        with contextlib.suppress(OSError):
                            d.rmdir()


class AgentHarness:
    """InProcessAPIServer + a real `Agent` for `env`'s node (pods are bound by setting nodeName)."""

    def __init__(self, env: NodeEnv, **kubelet_overrides):
        self.env = env
        self.kubelet_overrides = kubelet_overrides
        self.api = None
        self.client = None
        self.agent = None
        self.task: asyncio.Task | None = None
        self.leftovers: list[str] = []

    async def __aenter__(self):
        from kubelite.testing.apiserver import InProcessAPIServer

        self.api = InProcessAPIServer()
        await self.api.__aenter__()
        self.client = self.api.client
        for obj in ({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"},
                     "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"}}):
            with contextlib.suppress(Exception):
                await self.client.create(obj["kind"].lower() + "s" if obj["kind"] != "ConfigMap" else "configmaps",
                                         obj, "default")
        await self.start_agent()
        return self

    def agent_config(self):
        from kubelite.agent import AgentConfig

        env = self.env
        kubelet = {"pleg_relist_period": 0.5, "housekeeping_period": 1.0, "error_backoff": 1.0,
                   "pod_pids_limit": 512, **self.kubelet_overrides}
        return AgentConfig(node_name=env.node_name, data_dir=env.data_dir, run_dir=env.run_dir, log_dir=env.log_dir,
                           image_dir=env.image_dir, cgroup_root=env.cgroup_root, node_ip="198.18.0.2",
                           node_netns=env.netns, host_bridge="", cni_bridge=f"{env.prefix}br",
                           netns_prefix=env.prefix, pod_cidr=env.pod_cidr, kubelet=kubelet)

    async def start_agent(self):
        from kubelite.agent import Agent

        self.agent = Agent(self.agent_config(), self.api.new_client())
        self.task = asyncio.create_task(self.agent.run())
        ready = asyncio.ensure_future(self.agent.network_ready.wait())
        done, _ = await asyncio.wait([ready, self.task], timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if self.task in done:
            self.task.result()
        assert ready in done, "agent did not start"
        await self.agent.kubelet.ready.wait()

    async def stop_agent(self):
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        if self.agent is not None:
            await self.agent.kubelet.client.close()

    async def pod(self, name, ns="default"):
        return await self.client.get("pods", name, ns)

    async def wait_pod(self, name, pred, timeout=30.0, ns="default"):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = await self.client.get("pods", name, ns)
                if pred(last):
                    return last
            except Exception as e:  # not yet there
                last = e
            if self.task is not None and self.task.done():
                self.task.result()
            if time.monotonic() > deadline:
                raise AssertionError(f"pod {name}: condition not met; last: "
                                     f"{last.get('status') if isinstance(last, dict) else last}")
            await asyncio.sleep(0.1)

    async def events(self, name, ns="default"):
        items = (await self.client.list("events", ns))["items"]
        return [(e["reason"], e["message"]) for e in items if e["involvedObject"].get("name") == name]

    async def delete_all_pods(self, timeout=60.0):
        pods = (await self.client.list("pods"))["items"]
        for p in pods:
            with contextlib.suppress(Exception):
                await self.client.delete("pods", p["metadata"]["name"], p["metadata"]["namespace"],
                                         grace_period_seconds=1)
        deadline = time.monotonic() + timeout
        while (await self.client.list("pods"))["items"]:
            if time.monotonic() > deadline:
                raise AssertionError("pods were not deleted")
            await asyncio.sleep(0.1)
        # the agent finishes its cleanup after the pods left the API
        while self.agent.kubelet.pod_workers.work or await self.agent.runtime.list_pod_sandbox():
            if time.monotonic() > deadline:
                raise AssertionError(f"agent did not clean up: {list(self.agent.kubelet.pod_workers.work)}")
            await asyncio.sleep(0.1)

    async def __aexit__(self, exc_type, *exc):
        try:
            if exc_type is None and self.task is not None:
                await self.delete_all_pods()
        finally:
            await self.stop_agent()
            await self.api.__aexit__(None, None, None)
        self.leftovers = await asyncio.to_thread(self.env.leftovers)
        if exc_type is None:
            assert not self.leftovers, f"left behind: {self.leftovers}"


def pod_manifest(name, containers, **spec):
    for c in containers:
        c.setdefault("image", "busybox")
        c.setdefault("imagePullPolicy", "IfNotPresent")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers, **spec}}


