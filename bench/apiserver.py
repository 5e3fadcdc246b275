"""API server benchmark: throughput and latency through HTTPS against the raw datastore.

Runs a real `kubelite server` (SQLite datastore, no agent) in a child process and drives it with
an aiohttp client over HTTPS with the admin client certificate. Prints each figure and its ratio
to a baseline measured in the same run:

- raw SQLite Backend creates/s (in this process)      -> baseline for API creates/s (overhead factor)
- single-object creates/s and GETs/s (32 concurrent connections)
- LIST of 1,000 pods (JSON and Table) latency
- watch event delivery latency to 100 watchers
- write p99 latency at 20 writes/s of background churn

Targets (issue 2): >= 500 creates/s, >= 3,000 GETs/s, write p99 < 50 ms at 20 writes/s churn,
LIST of 1,000 pods < 250 ms.

Usage: .venv/bin/python bench/apiserver.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from kubelite.storage.sqlite import SQLiteBackend
from kubelite.testing import ServerProcess

from apiclient import Client


EXTRA_ARGS: list[str] = []


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


async def raw_backend_creates(n: int, tmp: Path) -> float:
    b = SQLiteBackend(str(tmp / "raw.db"))
    await b.start()
    body = json.dumps(pod("raw", 0)).encode()
    sem = asyncio.Semaphore(32)

    async def one(i: int) -> None:
        async with sem:
            await b.create(f"/registry/core/pods/bench/raw-{i}", body)

    t = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    dt = time.perf_counter() - t
    await b.close()
    return n / dt


def pod(prefix: str, i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{prefix}-{i}", "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"],
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


async def run(quick: bool) -> None:
    n_create = 1000 if quick else 3000
    n_get = 3000 if quick else 10000
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-"))
    raw = await raw_backend_creates(n_create, tmp)
    # The API alone: only the controllers that make namespaces usable (default ServiceAccount).
    server = ServerProcess(tmp / "data", args=["--no-agent", "--disable-scheduler", *EXTRA_ARGS,
                                                "--controllers=serviceaccount,namespace"]).start()
    c = Client(server)
    try:
        base = "/api/v1/namespaces/default/pods"
        while (await c.req("GET", "/api/v1/namespaces/default/serviceaccounts/default"))[0] != 200:
            await asyncio.sleep(0.05)
        await c.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                  "metadata": {"name": "bench"}})
        sem = asyncio.Semaphore(32)
        lat: list[float] = []

        async def create(i: int) -> None:
            async with sem:
                t = time.perf_counter()
                st, _ = await c.req("POST", base, pod("p", i))
                lat.append(time.perf_counter() - t)
                assert st == 201, st

        t = time.perf_counter()
        await asyncio.gather(*(create(i) for i in range(n_create)))
        creates = n_create / (time.perf_counter() - t)

        async def create_cm(i: int) -> None:
            async with sem:
                st, _ = await c.req("POST", "/api/v1/namespaces/default/configmaps",
                                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"},
                                     "data": {"key": f"value-{i}"}})
                assert st == 201, st

        t = time.perf_counter()
        await asyncio.gather(*(create_cm(i) for i in range(n_create)))
        creates_cm = n_create / (time.perf_counter() - t)

        async def get(i: int) -> None:
            async with sem:
                st, _ = await c.req("GET", f"{base}/p-{i % n_create}")
                assert st == 200, st

        t = time.perf_counter()
        await asyncio.gather(*(get(i) for i in range(n_get)))
        gets = n_get / (time.perf_counter() - t)

        list_ms, table_ms = [], []
        for _ in range(5):
            t = time.perf_counter()
            st, raw_list = await c.req("GET", f"{base}?limit=1000&labelSelector=app%3Dbench")
            list_ms.append((time.perf_counter() - t) * 1000)
            assert len(json.loads(raw_list)["items"]) == 1000
            t = time.perf_counter()
            await c.req("GET", f"{base}?limit=1000", headers={
                "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
            table_ms.append((time.perf_counter() - t) * 1000)

        # Watch delivery latency to 100 watchers.
        st, raw_list = await c.req("GET", "/api/v1/namespaces/bench/configmaps")
        rv = json.loads(raw_list)["metadata"]["resourceVersion"]
        received: dict[str, list[float]] = {}
        ready = 0

        async def watcher() -> None:
            nonlocal ready
            url = f"{c.base}/api/v1/namespaces/bench/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=60"
            async with c.session.get(url) as r:
                ready += 1
                async for line in r.content:
                    ev = json.loads(line)
                    name = ev["object"]["metadata"]["name"]
                    received.setdefault(name, []).append(time.perf_counter())
                    if name == "w-19":
                        return

        watch_conn = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            ssl=c.session.connector._ssl, limit=200))  # type: ignore[attr-defined]
        c2 = c.session
        c.session = watch_conn
        tasks = [asyncio.ensure_future(watcher()) for _ in range(100)]
        while ready < 100:
            await asyncio.sleep(0.05)
        c.session = c2
        sent: dict[str, float] = {}
        for i in range(20):
            name = f"w-{i}"
            sent[name] = time.perf_counter()
            await c.req("POST", "/api/v1/namespaces/bench/configmaps",
                        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
            await asyncio.sleep(0.05)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        await watch_conn.close()
        watch_lat = [(t - sent[n]) * 1000 for n, ts in received.items() for t in ts]

        # Write latency under 20 writes/s of background churn.
        stop = asyncio.Event()

        async def churn() -> None:
            i = 0
            while not stop.is_set():
                await c.req("POST", "/api/v1/namespaces/bench/configmaps",
                            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"churn-{i}"}})
                i += 1
                await asyncio.sleep(0.05)

        ch = asyncio.ensure_future(churn())
        wlat = []
        for i in range(300 if quick else 600):
            t = time.perf_counter()
            await c.req("POST", "/api/v1/namespaces/bench/configmaps",
                        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"lat-{i}"}})
            wlat.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.01)
        stop.set()
        await ch
    finally:
        await c.close()
        server.stop()

    def line(name: str, value: float, unit: str, target: str, baseline: float | None = None) -> None:
        ratio = f"  ratio to baseline {value / baseline:.2f}" if baseline else ""
        print(f"{name:44s} {value:10.1f} {unit:8s} target {target}{ratio}")

    print(f"baseline: raw SQLite Backend creates       {raw:10.1f} /s")
    line("API creates, ConfigMaps (HTTPS, 32 conns)", creates_cm, "/s", ">= 500", raw)
    line("API creates, Pods (HTTPS, 32 conns)", creates, "/s", "-", raw)
    line("API create p50", statistics.median(lat) * 1000, "ms", "-")
    line("API GETs (HTTPS, 32 conns)", gets, "/s", ">= 3000", raw)
    line("LIST 1,000 pods (JSON) median", statistics.median(list_ms), "ms", "< 250")
    line("LIST 1,000 pods (Table) median", statistics.median(table_ms), "ms", "-")
    line("watch delivery to 100 watchers p50", statistics.median(watch_lat), "ms", "-")
    line("watch delivery to 100 watchers p99", pct(watch_lat, 0.99), "ms", "-")
    line("write p99 at 20 writes/s churn", pct(wlat, 0.99), "ms", "< 50")
    line("write p50 at 20 writes/s churn", statistics.median(wlat), "ms", "-")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    asyncio.run(run(args.quick))
    sys.exit(0)
