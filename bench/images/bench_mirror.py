"""Pull of a ~100 MB multi-layer image by its Docker Hub name through a `docker.io` mirror, as a
ratio to `skopeo copy` of the same image from the same registry in the same run.

The mirror is `kubelite registry` in its own process on 127.0.0.1:<free port> holding
`library/bench:v1` (8 layers of random, incompressible data). kubelite pulls `bench:v1` with a
registries file that sends `docker.io` to the mirror (layers in parallel, each checked against its
digest, into a fresh store); skopeo copies `docker://127.0.0.1:<port>/library/bench:v1` to a fresh
OCI directory (its usual parallel layer copy). Each side runs `RUNS` times; best times are compared.
Ratio = skopeo time / kubelite time (>= 1.0: kubelite is at least as fast). Everything lives in a
temp dir that is removed, and skopeo's blob-info cache is removed if this run created it.
Needs skopeo. Usage: python bench/images/bench_mirror.py [MB] [RUNS]
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from kubelite.images import oci
from kubelite.images.distribution import DockerConfig, RegistryHosts, Transfer, pull, push
from kubelite.images.distribution.registries import RegistriesFile
from kubelite.images.layers import LayerWriter, new_entry
from kubelite.images.store import LocalImageStore

LAYERS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_layer(store: LocalImageStore, size: int, i: int) -> tuple[dict, str]:
    tmp = store.content.temp_path()
    with open(tmp, "wb") as out:
        w = LayerWriter(out, level=1, mtime=0)
        w.add(new_entry(f"data/{i}.bin", size=size), io.BytesIO(os.urandom(size)))
        d = w.close()
    store.content.adopt_nowait(tmp, d.digest)
    return oci.descriptor(oci.OCI_LAYER_GZIP, d.digest, d.size), d.diff_id


async def wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as s:
        for _ in range(200):
            try:
                async with s.get(url + "/v2/") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("registry did not start")


async def skopeo(*args: str) -> None:
    p = await asyncio.create_subprocess_exec("skopeo", *args, stdout=asyncio.subprocess.DEVNULL,
                                             stderr=asyncio.subprocess.PIPE)
    _, err = await p.communicate()
    if p.returncode != 0:
        raise RuntimeError(f"skopeo {' '.join(args)}: {err.decode()}")


async def main(total_mb: int, runs: int) -> None:
    if shutil.which("skopeo") is None:
        raise SystemExit("needs skopeo (apt-get install skopeo)")
    had_cache = os.path.exists("/var/lib/containers")
    work = Path(tempfile.mkdtemp(prefix="kubelite-bench-mirror-"))
    port = free_port()
    addr = f"127.0.0.1:{port}"
    reg = await asyncio.create_subprocess_exec(sys.executable, "-m", "kubelite.cli.main", "registry",
                                               "--addr", addr, "--root", str(work / "registry"),
                                               stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await wait_ready(f"http://{addr}")
        src = LocalImageStore(work / "src", builtins=False)
        await src.start()
        layers = [await asyncio.to_thread(make_layer, src, total_mb * (1 << 20) // LAYERS, i) for i in range(LAYERS)]
        cfg = {"architecture": "amd64", "os": "linux", "config": {},
               "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]}}
        image = await src.commit(cfg, [desc for desc, _ in layers], [f"{addr}/library/bench:v1"])
        mb = sum(d["size"] for d, _ in layers) / 1e6
        docker = DockerConfig(work / "docker.json")
        await push(src, f"{addr}/library/bench:v1", Transfer(config=docker))
        (work / "registries.yaml").write_text(f'mirrors:\n  docker.io:\n    endpoint: ["http://{addr}"]\n')
        hosts = RegistryHosts(registries=RegistriesFile(work / "registries.yaml"))

        ours, theirs = [], []
        for i in range(runs):
            dest = LocalImageStore(work / f"pulled-{i}", builtins=False)
            t0 = time.perf_counter()
            got = await pull(dest, "bench:v1", Transfer(hosts=hosts, config=docker))
            ours.append(time.perf_counter() - t0)
            if got.digest != image.digest:
                raise RuntimeError("pulled digest differs")
            shutil.rmtree(work / f"pulled-{i}", ignore_errors=True)
            shutil.rmtree("/var/lib/containers/cache", ignore_errors=True)
            t0 = time.perf_counter()
            await skopeo("copy", "--src-tls-verify=false", f"docker://{addr}/library/bench:v1",
                         f"oci:{work / f'skopeo-{i}'}:v1")
            theirs.append(time.perf_counter() - t0)
            shutil.rmtree(work / f"skopeo-{i}", ignore_errors=True)
        o, s = min(ours), min(theirs)
        print(f"image: {mb:.1f} MB in {LAYERS} layers (random data); mirror: kubelite registry (own process); "
              f"best of {runs}")
        print(f"kubelite pull bench:v1 via docker.io mirror: {o:6.2f} s {mb / o:8.1f} MB/s")
        print(f"skopeo copy (same registry):                 {s:6.2f} s {mb / s:8.1f} MB/s")
        print(f"ratio (skopeo time / kubelite time): {s / o:.2f}x (target >= 1.0)")
    finally:
        if reg.returncode is None:
            reg.terminate()
            await reg.wait()
        shutil.rmtree(work, ignore_errors=True)
        if not had_cache:
            shutil.rmtree("/var/lib/containers", ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100, int(sys.argv[2]) if len(sys.argv) > 2 else 3))
