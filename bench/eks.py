"""Managed-cluster benchmark: how fast `kubelite cloud` turns CreateCluster into a cluster that
answers kubectl, and what an idle managed cluster costs in memory.

Runs `kubelite cloud` in a child process and drives it with boto3 and the real kubectl (IAM token
auth through `aws eks get-token`). Baseline, measured in the same run: a plain `kubelite server
--no-agent` start (process start → /readyz 200) and its memory.

- CreateCluster → ACTIVE (DescribeCluster polled every 50 ms)          / plain server start
- CreateCluster → `kubectl get nodes` answering (update-kubeconfig + an IAM token) / plain start
- RSS of an idle managed cluster's control plane (after 5 s idle)       / plain server RSS
- RSS of the service itself with N clusters

Target (issue 10): CreateCluster → ACTIVE and → kubectl answering under 15 s (EKS: 10–15 min).

Usage: .venv/bin/python bench/eks.py [--clusters N] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from kubelite.cloud.testing import CLUSTER_ROLE, CloudProcess, aws_env, boto3_client, run_aws, run_kubectl
from kubelite.testing import ServerProcess


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its descendants (KiB)."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo += [int(c) for c in children]
    return total


def control_plane_pids(data_dir: Path) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(ln.split()[0]) for ln in out.splitlines()
            if "kubelite.cloud.provisioner.child" in ln and str(data_dir) in ln]


def plain_server(tmp: Path) -> tuple[float, int]:
    s = ServerProcess(tmp / "plain", args=["--no-agent"])
    t = time.perf_counter()
    s.start(timeout=120)
    dt = time.perf_counter() - t
    time.sleep(5)
    mem = rss_kib(s.proc.pid) if s.proc else 0
    s.stop()
    return dt, mem


def managed(cloud: CloudProcess, env: dict, name: str, tmp: Path) -> tuple[float, float]:
    eks = boto3_client("eks", cloud.endpoint)
    t = time.perf_counter()
    eks.create_cluster(name=name, roleArn=CLUSTER_ROLE, resourcesVpcConfig={})
    while True:
        status = eks.describe_cluster(name=name)["cluster"]["status"]
        if status == "ACTIVE":
            break
        if status == "FAILED":
            raise SystemExit(f"cluster {name} FAILED: {eks.describe_cluster(name=name)['cluster']['health']}")
        time.sleep(0.05)
    active = time.perf_counter() - t
    kc = tmp / f"{name}.kubeconfig"
    run_aws(env, "eks", "update-kubeconfig", "--name", name, "--kubeconfig", str(kc))
    kenv = {**env, "KUBECONFIG": str(kc)}
    run_kubectl(kenv, "get", "nodes")
    answering = time.perf_counter() - t
    return active, answering


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, default=3, help="managed clusters to create (timed one by one)")
    ap.add_argument("--quick", action="store_true", help="one cluster")
    args = ap.parse_args()
    n = 1 if args.quick else args.clusters
    with tempfile.TemporaryDirectory(prefix="bench-eks-") as d:
        tmp = Path(d)
        base_t, base_mem = plain_server(tmp)
        print(f"baseline: plain `kubelite server --no-agent` start {base_t:.2f} s, RSS {base_mem / 1024:.0f} MiB")
        cloud = CloudProcess(tmp / "cloud")
        cloud.start()
        try:
            env = aws_env(tmp / "home", cloud.endpoint)
            actives, answers = [], []
            for i in range(n):
                a, k = managed(cloud, env, f"bench{i}", tmp)
                actives.append(a)
                answers.append(k)
                print(f"cluster bench{i}: CreateCluster -> ACTIVE {a:.2f} s ({a / base_t:.2f}x plain start), "
                      f"-> kubectl get nodes answering {k:.2f} s ({k / base_t:.2f}x)")
            time.sleep(5)
            mems = [rss_kib(p) for p in control_plane_pids(cloud.data_dir)]
            svc = rss_kib(cloud.proc.pid) - sum(mems) if cloud.proc else 0
            a, k = statistics.median(actives), statistics.median(answers)
            print(f"median CreateCluster -> ACTIVE {a:.2f} s = {a / base_t:.2f}x plain start "
                  f"({'meets' if a < 15 else 'MISSES'} the 15 s target)")
            print(f"median CreateCluster -> kubectl answering {k:.2f} s = {k / base_t:.2f}x plain start "
                  f"({'meets' if k < 15 else 'MISSES'} the 15 s target)")
            if mems:
                per = statistics.mean(mems)
                print(f"idle managed cluster RSS {per / 1024:.0f} MiB = {per / base_mem:.2f}x plain server "
                      f"({len(mems)} clusters); the service itself {svc / 1024:.0f} MiB")
            eks = boto3_client("eks", cloud.endpoint)
            for i in range(n):
                eks.delete_cluster(name=f"bench{i}")
            deadline = time.monotonic() + 60
            while eks.list_clusters()["clusters"] and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            cloud.stop()


if __name__ == "__main__":
    main()
