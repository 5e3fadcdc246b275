"""Patch and apply cost: strategic-merge-patch and server-side-apply requests/s on a Deployment with
10 containers, as a ratio to plain update (PUT) requests/s in the same run.

Target (issue 3): apply costs at most 3x an update (ratio update/apply <= 3).

Usage: .venv/bin/python bench/patch.py [--n 300]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from apiserver import Client  # noqa: E402

from kubelite.testing import ServerProcess  # noqa: E402


def deployment(image_tag: str) -> dict:
    containers = [{"name": f"c{i}", "image": f"busybox:{image_tag}", "command": ["sleep", "3600"],
                   "env": [{"name": f"E{j}", "value": str(j)} for j in range(5)],
                   "ports": [{"containerPort": 8000 + i}],
                   "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}} for i in range(10)]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench", "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "bench"}},
                     "template": {"metadata": {"labels": {"app": "bench"}}, "spec": {"containers": containers}}}}


async def run(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-patch-"))
    # Control plane only: no controllers rewriting the Deployment's status in the middle.
    server = ServerProcess(tmp / "data", args=["--no-agent", "--controllers=*,-deployment,-replicaset"]).start()
    c = Client(server, conns=4)
    path = "/apis/apps/v1/namespaces/default/deployments/bench"
    try:
        st, body = await c.req("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("1"))
        assert st == 201, body

        async def timed(fn) -> float:
            t = time.perf_counter()
            for i in range(n):
                await fn(i)
            return n / (time.perf_counter() - t)

        current: dict = {}

        async def update(i: int) -> None:
            if not current:
                st, raw = await c.req("GET", path)
                current.update(json.loads(raw))
            current["spec"]["template"]["spec"]["containers"][i % 10]["image"] = f"busybox:u{i}"
            st, raw = await c.req("PUT", path, current)
            assert st == 200, raw
            current.clear()
            current.update(json.loads(raw))

        async def smp(i: int) -> None:
            patch = {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": f"c{k}"} for k in range(10)],
                                                    "containers": [{"name": f"c{i % 10}", "image": f"busybox:s{i}"}]}}}}
            st, raw = await c.req("PATCH", path, patch, headers={"Content-Type": "application/strategic-merge-patch+json"})
            assert st == 200, raw

        async def apply(i: int) -> None:
            d = deployment(f"a{i}")
            st, raw = await c.req("PATCH", path + "?fieldManager=bench&force=true", d,
                                  headers={"Content-Type": "application/apply-patch+yaml"})
            assert st == 200, raw

        # warm up each path
        for fn in (update, smp, apply):
            await fn(0)
        current.clear()
        upd = await timed(update)
        sm = await timed(smp)
        ap = await timed(apply)
    finally:
        await c.close()
        server.stop()
    print(f"update (PUT) on a 10-container Deployment      {upd:8.1f} /s   baseline")
    print(f"strategic merge patch                          {sm:8.1f} /s   cost ratio {upd / sm:.2f}x an update")
    print(f"server-side apply (force)                      {ap:8.1f} /s   cost ratio {upd / ap:.2f}x an update "
          f"(target <= 3x)")
    _ = copy


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    asyncio.run(run(ap.parse_args().n))
