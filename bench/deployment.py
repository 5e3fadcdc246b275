"""A Deployment of 100 replicas on one real node, from create to all available, as a ratio to the
startup of a single pod (create to Running, seen through a watch) in the same run.

Runs `kubelite server` with its host agent (real runc containers, CNI), then tears everything
down with `kubelite reset`. Needs root.

Usage: .venv/bin/python bench/deployment.py [--replicas 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kubelite.testing import ServerProcess, wait_until


def main(replicas: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-bench-deploy-"))
    node = f"bench-{uuid.uuid4().hex[:6]}"
    s = ServerProcess(tmp / "data", args=["--node-name", node])
    try:
        s.start()
        wait_until(lambda: "True" in s.kubectl("get", "node", node, "-o",
                                               "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                                               check=False).stdout, timeout=60)
        wait_until(lambda: s.kubectl("get", "sa", "default", check=False).returncode == 0, timeout=30)
        # warm the image store (the first unpack of busybox is a one-time cost)
        s.kubectl("run", "warm", "--image=busybox", "--restart=Never", "--command", "--", "true")
        wait_until(lambda: s.kubectl("get", "pod", "warm", "-o", "jsonpath={.status.phase}").stdout == "Succeeded",
                   timeout=60)
        s.kubectl("delete", "pod", "warm")

        t = time.monotonic()
        s.kubectl("run", "single", "--image=busybox", "--restart=Never", "--command", "--", "sleep", "3600")
        watch = subprocess.Popen(["kubectl", "get", "pod", "single", "-w", "-o",
                                  "jsonpath={.status.phase}{\"\\n\"}"], env=s.env(), stdout=subprocess.PIPE,
                                 text=True)
        for line in watch.stdout:
            if line.strip() == "Running":
                break
        single = time.monotonic() - t
        watch.kill()
        s.kubectl("delete", "pod", "single", "--grace-period=1")

        t = time.monotonic()
        s.kubectl("create", "deployment", "big", "--image=busybox", f"--replicas={replicas}", "--", "sleep", "3600")
        s.kubectl("rollout", "status", "deployment/big", f"--timeout={max(300, replicas * 5)}s", timeout=max(330, replicas * 6))
        full = time.monotonic() - t
        d = json.loads(s.kubectl("get", "deployment", "big", "-o", "json").stdout)
        assert d["status"].get("availableReplicas") == replicas
        s.kubectl("delete", "deployment", "big", "--wait=false")
    finally:
        s.stop()
        subprocess.run([sys.executable, "-m", "kubelite.cli.main", "reset", "--data-dir", str(tmp / "data"),
                        "--node-name", node], capture_output=True, timeout=300)
    print(f"single pod create -> Running (watch)        {single:8.2f} s   baseline")
    print(f"Deployment of {replicas} replicas -> all available  {full:8.2f} s   ratio {full / single:.1f}x a single pod "
          f"({full / replicas * 1000:.0f} ms per pod)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=100)
    main(ap.parse_args().replicas)
