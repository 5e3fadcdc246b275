"""Several nodes and etcd: each figure with its ratio to a baseline measured in the same run.

1. API throughput on etcd (3 members on loopback) vs SQLite: ConfigMap creates/s and GETs/s
   through HTTPS (32 concurrent connections) against a `kubelite server` (no agent, API-only
   controllers), as bench/apiserver.py drives it. Ratio etcd / SQLite.
2. Time from `kubelite cluster create --nodes 3` to all nodes Ready (target < 10 s), as a ratio
   to the same for one node.
3. Pod failover: a 3-replica Deployment spread over 3 nodes; one node's agent is killed and its
   link cut; time until 3 replicas run on the survivors, as a ratio to the configured toleration
   (node monitor grace period + the pods' not-ready/unreachable tolerationSeconds).

Parts 2 and 3 need root and the real data plane (runc, CNI); they are skipped otherwise.

Usage: .venv/bin/python bench/cluster.py [--quick] [--skip-etcd] [--skip-cluster]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from kubelite.testing import ServerProcess

from apiclient import Client

GRACE = 6.0
TOLERATION = 5


async def api_throughput(server: ServerProcess, n_create: int, n_get: int) -> tuple[float, float]:
    c = Client(server)
    try:
        while (await c.req("GET", "/api/v1/namespaces/default/serviceaccounts/default"))[0] != 200:
            await asyncio.sleep(0.05)
        sem = asyncio.Semaphore(32)
        base = "/api/v1/namespaces/default/configmaps"

        async def create(i: int) -> None:
            async with sem:
                st, _ = await c.req("POST", base, {"apiVersion": "v1", "kind": "ConfigMap",
                                                   "metadata": {"name": f"cm-{i}"}, "data": {"k": f"v-{i}"}})
                assert st == 201, st

        t = time.perf_counter()
        await asyncio.gather(*(create(i) for i in range(n_create)))
        creates = n_create / (time.perf_counter() - t)

        async def get(i: int) -> None:
            async with sem:
                st, _ = await c.req("GET", f"{base}/cm-{i % n_create}")
                assert st == 200, st

        t = time.perf_counter()
        await asyncio.gather(*(get(i) for i in range(n_get)))
        gets = n_get / (time.perf_counter() - t)
        return creates, gets
    finally:
        await c.close()


def part_etcd(tmp: Path, quick: bool) -> None:
    from kubelite.cluster.etcd import EtcdCluster

    n_create, n_get = (500, 2000) if quick else (2000, 8000)
    args = ["--no-agent", "--disable-scheduler", "--controllers=serviceaccount,namespace"]
    results = {}
    with ServerProcess(tmp / "sqlite", args=args) as s:
        results["sqlite"] = asyncio.run(api_throughput(s, n_create, n_get))
    if shutil.which("etcd") is None:
        print("etcd-server is not installed: skipping the etcd figures")
        return
    with EtcdCluster(tmp / "etcd", members=3) as etcd:
        with ServerProcess(tmp / "on-etcd", args=[*args, "--datastore", etcd.url]) as s:
            results["etcd"] = asyncio.run(api_throughput(s, n_create, n_get))
    (sc, sg), (ec, eg) = results["sqlite"], results["etcd"]
    print(f"API creates/s  sqlite {sc:8.0f}   etcd(3 members) {ec:8.0f}   ratio etcd/sqlite {ec / sc:5.2f}")
    print(f"API GETs/s     sqlite {sg:8.0f}   etcd(3 members) {eg:8.0f}   ratio etcd/sqlite {eg / sg:5.2f}")


def _missing() -> str:
    if os.geteuid() != 0:
        return "needs root"
    try:
        from kubelite.agent.testing import missing_reason
    except ImportError:
        return "kubelite.agent is not available"
    return missing_reason()


async def _create(name: str, nodes: int):
    from kubelite.cluster import manager

    opts = manager.CreateOptions(
        name=name, nodes=nodes, timeout=120,
        controller_options={"node_monitor_grace_period": GRACE, "node_monitor_period": 1.0,
                            "node_eviction_rate": 10.0},
        kubelet={"node_lease_duration_seconds": 6, "node_status_update_frequency": 1.0})
    t = time.perf_counter()
    st = await manager.create(opts)
    return st, time.perf_counter() - t


def part_cluster(tmp: Path, quick: bool) -> None:
    from kubelite.cluster import manager

    os.environ["KUBELITE_CLUSTERS_HOME"] = str(tmp / "clusters")
    tag = uuid.uuid4().hex[:4]
    one_name, three_name = f"b1{tag}", f"b3{tag}"
    try:
        _, one = asyncio.run(_create(one_name, 1))
        asyncio.run(manager.delete(one_name))
        st, three = asyncio.run(_create(three_name, 3))
        print(f"cluster create to all Ready  1 node {one:5.2f}s   3 nodes {three:5.2f}s   ratio 3/1 "
              f"{three / one:5.2f}   (target < 10 s: {'met' if three < 10 else 'MISSED'})")
        failover = asyncio.run(_failover(st))
        print(f"pod failover after a node stops  {failover:5.2f}s   configured toleration "
              f"{GRACE + TOLERATION:4.1f}s (grace {GRACE:.0f}s + tolerationSeconds {TOLERATION})   "
              f"ratio {failover / (GRACE + TOLERATION):5.2f}")
    finally:
        for n in (one_name, three_name):
            asyncio.run(manager.delete(n))


async def _failover(st) -> float:
    from kubelite.cluster import manager
    from kubelite.cluster.layout import Layout

    lay = Layout(st.name, st.slot)
    client = manager.admin_client(st)
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench", "namespace": "default"},
           "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "bench"}},
                    "template": {"metadata": {"labels": {"app": "bench"}}, "spec": {
                        "terminationGracePeriodSeconds": 1,
                        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                       "whenUnsatisfiable": "ScheduleAnyway",
                                                       "labelSelector": {"matchLabels": {"app": "bench"}}}],
                        "tolerations": [{"key": k, "operator": "Exists", "effect": "NoExecute",
                                         "tolerationSeconds": TOLERATION}
                                        for k in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")],
                        "containers": [{"name": "c", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                        "command": ["sleep", "3600"]}]}}}}
    victim = lay.node_name(2)

    async def running() -> dict[str, int]:
        out: dict[str, int] = {}
        for p in (await client.list("pods", "default", label_selector="app=bench"))["items"]:
            if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp"):
                out[p["spec"]["nodeName"]] = out.get(p["spec"]["nodeName"], 0) + 1
        return out

    try:
        await client.create("deployments.apps", dep, "default")
        while len(await running()) < 3:
            await asyncio.sleep(0.1)
        await manager.stop_node(st, 2, cut_link=True)
        t = time.perf_counter()
        while sum(n for k, n in (await running()).items() if k != victim) < 3:
            if time.perf_counter() - t > 120:
                raise TimeoutError("no failover within 120 s")
            await asyncio.sleep(0.1)
        return time.perf_counter() - t
    finally:
        await client.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-etcd", action="store_true")
    ap.add_argument("--skip-cluster", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-cluster-"))
    try:
        if not a.skip_etcd:
            part_etcd(tmp, a.quick)
        if not a.skip_cluster:
            reason = _missing()
            if reason:
                print(f"local cluster figures skipped: {reason}")
            else:
                part_cluster(tmp, a.quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
