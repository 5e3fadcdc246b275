"""Bootstrap time of each base image (`kubelite image bootstrap`), as a ratio to a bare
`mmdebstrap --variant=minbase bookworm` run through the same apt sources in the same run (the
time of the tool alone: the floor for any Debian-based image).

Every image is built from scratch (`--no-cache`) into a fresh store under a temp dir, in
dependency order (python and nginx reuse the bookworm-slim layer built just before them, as
`kubelite image bootstrap` does); the store and mmdebstrap's output are removed afterwards.
Needs root and mmdebstrap, and the Debian archive reachable through the apt sources.
Usage: python bench/images/bench_bootstrap.py [NAME...]
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

from kubelite.images.bootstrap import DEFAULT_ORDER, Bootstrapper, recipe_for
from kubelite.images.bootstrap.debian import apt_sources, run_mmdebstrap
from kubelite.images.reference import familiar
from kubelite.images.store import LocalImageStore


async def main(names: list[str]) -> None:
    if shutil.which("mmdebstrap") is None:
        raise SystemExit("needs mmdebstrap (apt-get install mmdebstrap)")
    work = Path(tempfile.mkdtemp(prefix="kubelite-bench-bootstrap-"))
    try:
        t0 = time.perf_counter()
        await run_mmdebstrap(["mmdebstrap", "--variant=minbase", "--format=tar", "bookworm",
                              str(work / "plain.tar"), *apt_sources()], work, lambda line: None)
        baseline = time.perf_counter() - t0
        (work / "plain.tar").unlink()
        store = LocalImageStore(work / "images", builtins=False)
        b = Bootstrapper(store, no_cache=True)
        print(f"baseline: mmdebstrap --variant=minbase bookworm (tar only): {baseline:.1f} s")
        print(f"{'IMAGE':24} {'TIME':>8} {'RATIO':>7} {'SIZE (gzip)':>12}  DIGEST")
        for name in names:
            t0 = time.perf_counter()
            r = await b.bootstrap(recipe_for(name))
            took = time.perf_counter() - t0  # includes its base if not built yet
            print(f"{familiar(r.names[0]):24} {took:7.1f}s {took / baseline:6.2f}x {r.image.size / 1e6:9.1f} MB  "
                  f"{r.image.digest}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or [familiar(n) for n in DEFAULT_ORDER]))
