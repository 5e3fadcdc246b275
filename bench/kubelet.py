"""Node agent benchmark: pod startup latency and idle cost, against bare `runc run`.

Runs an in-process API server, and `kubelite agent` as a child process for one node whose
network is a throwaway network namespace (runtime root, cgroup root, CNI bridge and netns names
all carry a random prefix and are removed at the end). Prints each figure and its ratio to the
baseline measured in the same run:

- baseline: `runc run` of the busybox image's rootfs running `true` (create+start+exit+delete)
- single pod: create -> phase Running seen through a watch, 20 pods one after the other (p50, p99)
- burst: 30 pods created at once -> all Running
- idle: the agent's RSS and CPU over 10 s with the 30 pods running

Targets (issue 4): single p50 < 0.5 s, p99 < 1 s; burst of 30 all Running < 10 s; idle RSS < 150 MB.

Usage: /tmp/tv/bin/python bench/kubelet.py [--quick]   (root, runc, conmon, CNI plugins)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kubelite.agent.testing import NodeEnv, missing_reason, pod_manifest
from kubelite.images.store import LocalImageStore
from kubelite.testing.apiserver import InProcessAPIServer


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round((len(xs) - 1) * p)))]


# --- baseline ----------------------------------------------------------------------------------


async def runc_baseline(env: NodeEnv, n: int) -> list[float]:
    store = LocalImageStore(env.image_dir)
    image = await store.get("busybox")
    layers = [str(p) for p in await store.unpack(image)]
    root = env.base / "baseline"
    state = root / "state"
    bundle = root / "bundle"
    bundle.mkdir(parents=True)
    rootfs = bundle / "rootfs"
    if len(layers) == 1:
        rootfs = Path(layers[0])  # one layer: it is the (read-only) root itself
    else:
        rootfs.mkdir()
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={':'.join(reversed(layers))}",
                        str(rootfs)], check=True)
    spec = {
        "ociVersion": "1.0.2",
        "process": {"args": ["true"], "cwd": "/", "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0},
                    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]},
        "root": {"path": str(rootfs), "readonly": True},
        "hostname": "baseline",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}],
        "linux": {"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
                  "cgroupsPath": f"/{env.cgroup_root}-baseline/c"},
    }
    (bundle / "config.json").write_text(json.dumps(spec))
    times = []
    try:
        for i in range(n):
            t0 = time.perf_counter()
            proc = await asyncio.create_subprocess_exec("runc", f"--root={state}", "run", "-b", str(bundle),
                                                        f"{env.prefix}-base{i}", stdout=subprocess.DEVNULL,
                                                        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            await proc.wait()
            times.append(time.perf_counter() - t0)
    finally:
        if len(layers) > 1:
            subprocess.run(["umount", str(rootfs)], check=False)
        for h in Path("/sys/fs/cgroup").iterdir():
            for d in (h / f"{env.cgroup_root}-baseline" / "c", h / f"{env.cgroup_root}-baseline"):
                try:
                    d.rmdir()
                except OSError:
                    pass
    return times


# --- the agent -----------------------------------------------------------------------------------


def start_agent(env: NodeEnv, api: InProcessAPIServer) -> subprocess.Popen:
    kubeconfig = env.base / "agent.kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": api.url}}],
        "users": [{"name": "u", "user": {"token": api.token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    argv = [sys.executable, "-m", "kubelite.cli.main", "agent", "--kubeconfig", str(kubeconfig),
            "--node-name", env.node_name, "--data-dir", str(env.data_dir), "--run-dir", str(env.run_dir),
            "--log-dir", str(env.log_dir), "--image-dir", str(env.image_dir), "--cgroup-root", env.cgroup_root,
            "--node-ip", "198.18.0.2", "--node-netns", env.netns, "--host-bridge", "",
            "--cni-bridge", f"{env.prefix}br", "--netns-prefix", env.prefix, "--pod-cidr", env.pod_cidr]
    log = open(env.base / "agent.log", "wb")
    return subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


class RunningWatcher:
    """Records when each pod is first seen Running through one watch."""

    def __init__(self, client):
        self.client = client
        self.running: dict[str, float] = {}
        self.event = asyncio.Event()

    async def run(self):
        rv = (await self.client.list("pods", "default"))["metadata"]["resourceVersion"]
        async with self.client.watch("pods", "default", resource_version=rv) as w:
            async for _, obj in w:
                name = obj["metadata"]["name"]
                if (obj.get("status") or {}).get("phase") == "Running" and name not in self.running:
                    self.running[name] = time.perf_counter()
                    self.event.set()

    async def wait(self, names: set[str], timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while not names <= set(self.running):
            self.event.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"not Running: {sorted(names - set(self.running))}")
            try:
                await asyncio.wait_for(self.event.wait(), left)
            except TimeoutError:
                pass


async def delete_pods(client, names, timeout=120.0):
    for n in names:
        try:
            await client.delete("pods", n, "default", grace_period_seconds=0)
        except Exception:
            pass
    deadline = time.monotonic() + timeout
    while (await client.list("pods", "default"))["items"]:
        if time.monotonic() > deadline:
            raise TimeoutError("pods not deleted")
        await asyncio.sleep(0.2)


def spec(name, node):
    return pod_manifest(name, [{"name": "c", "command": ["sleep", "3600"]}], nodeName=node,
                        terminationGracePeriodSeconds=0, automountServiceAccountToken=False)


async def main(quick: bool) -> int:
    n_single = 8 if quick else 20
    burst = 10 if quick else 30
    with tempfile.TemporaryDirectory(prefix="kbench-") as tmp:
        base = Path(tmp)
        env = NodeEnv(base / "node", base / "images")
        env.base.mkdir(parents=True)
        env.create()
        agent = None
        try:
            # warm the image store (builds the built-in busybox once)
            await LocalImageStore(env.image_dir).get("busybox")
            baseline = await runc_baseline(env, 20)
            base_p50 = statistics.median(baseline)
            print(f"baseline runc run (true): p50 {base_p50 * 1000:.1f} ms, p99 {pct(baseline, .99) * 1000:.1f} ms")
            async with InProcessAPIServer() as api:
                client = api.client
                try:
                    await client.create("serviceaccounts", {"metadata": {"name": "default"}}, "default")
                except Exception:
                    pass  # a service account controller made it already
                agent = start_agent(env, api)
                t0 = time.monotonic()
                while True:
                    try:
                        node = await client.get("nodes", env.node_name)
                        if any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"]):
                            break
                    except Exception:
                        pass
                    if agent.poll() is not None or time.monotonic() - t0 > 60:
                        raise RuntimeError("agent did not become Ready; see " + str(env.base / "agent.log"))
                    await asyncio.sleep(0.1)
                print(f"agent Ready in {time.monotonic() - t0:.2f} s")
                watcher = RunningWatcher(client)
                wtask = asyncio.create_task(watcher.run())
                await asyncio.sleep(0.2)
                # warm-up pod (first unpack, first CNI call)
                await client.create("pods", spec("warm", env.node_name), "default")
                await watcher.wait({"warm"}, 60)
                await delete_pods(client, ["warm"])
                lat = []
                for i in range(n_single):
                    name = f"single-{i}"
                    t = time.perf_counter()
                    await client.create("pods", spec(name, env.node_name), "default")
                    await watcher.wait({name}, 30)
                    lat.append(watcher.running[name] - t)
                    await delete_pods(client, [name])
                p50, p99 = statistics.median(lat), pct(lat, .99)
                print(f"single pod create->Running: p50 {p50 * 1000:.0f} ms ({p50 / base_p50:.1f}x runc run), "
                      f"p99 {p99 * 1000:.0f} ms ({p99 / base_p50:.1f}x)   targets 500 / 1000 ms")
                names = [f"burst-{i}" for i in range(burst)]
                t = time.perf_counter()
                await asyncio.gather(*(client.create("pods", spec(n, env.node_name), "default") for n in names))
                await watcher.wait(set(names), 120)
                total = max(watcher.running[n] for n in names) - t
                print(f"burst of {burst}: all Running in {total:.2f} s ({total / base_p50:.0f}x one runc run; "
                      f"{total / (burst * base_p50):.1f}x {burst} sequential runc runs)   target 10 s")
                await asyncio.sleep(5)
                rss0, cpu0, w0 = rss_mb(agent.pid), cpu_seconds(agent.pid), time.monotonic()
                await asyncio.sleep(10)
                rss1, cpu1, w1 = rss_mb(agent.pid), cpu_seconds(agent.pid), time.monotonic()
                cpu_pct = (cpu1 - cpu0) / (w1 - w0) * 100
                print(f"idle with {burst} pods: agent RSS {max(rss0, rss1):.0f} MB (target 150), "
                      f"CPU {cpu_pct:.1f}% of one core")
                wtask.cancel()
                await delete_pods(client, names)
                t0 = time.monotonic()
                runtime_root = env.run_dir / "runtime"
                while any((runtime_root / d).is_dir() and any((runtime_root / d).iterdir())
                          for d in ("sandboxes", "containers")):
                    if time.monotonic() - t0 > 60:
                        break
                    await asyncio.sleep(0.2)
                agent.send_signal(signal.SIGTERM)
                agent.wait(30)
                agent = None
            left = env.leftovers()
            print("left behind:", left or "nothing")
        finally:
            if agent is not None and agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
                try:
                    agent.wait(10)
                except subprocess.TimeoutExpired:
                    agent.kill()
            env.destroy()
    return 0


if __name__ == "__main__":
    reason = missing_reason()
    if reason:
        print("skipped:", reason)
        sys.exit(0)
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    sys.exit(asyncio.run(main(args.quick)))
