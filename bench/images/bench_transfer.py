"""Push/pull throughput of a ~100 MB image: kubelite's client vs skopeo, against the same registry.

The registry (`kubelite registry`) runs in its own process on 127.0.0.1:<free port>; the image has
4 layers of random (incompressible) data. Each side pushes to a fresh repository and pulls into a
fresh destination; the printed ratio is kubelite MB/s over skopeo MB/s measured in this run.
Everything is created under a temp dir and removed; skopeo's blob-info cache is removed too if
this run created it. Needs skopeo. Usage: python bench/images/bench_transfer.py [MB]
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from kubelite.images import oci
from kubelite.images.distribution import DockerConfig, Transfer, pull, push
from kubelite.images.layers import LayerWriter, new_entry
from kubelite.images.store import LocalImageStore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_layer(store: LocalImageStore, size: int, i: int) -> tuple[dict, str]:
    tmp = store.content.temp_path()
    with open(tmp, "wb") as out:
        w = LayerWriter(out, level=1, mtime=0)
        remaining = size
        n = 0
        while remaining > 0:
            chunk = min(remaining, 8 << 20)
            import io

            w.add(new_entry(f"data/{i}-{n}.bin", size=chunk), io.BytesIO(os.urandom(chunk)))
            remaining -= chunk
            n += 1
        digests = w.close()
        out.flush()
    store.content.adopt_nowait(tmp, digests.digest)
    return oci.descriptor(oci.OCI_LAYER_GZIP, digests.digest, digests.size), digests.diff_id


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


async def main(total_mb: int) -> None:
    had_cache = os.path.exists("/var/lib/containers")
    work = Path(tempfile.mkdtemp(prefix="kubelite-bench-"))
    port = free_port()
    reg = await asyncio.create_subprocess_exec(sys.executable, "-m", "kubelite.cli.main", "registry",
                                               "--addr", f"127.0.0.1:{port}", "--root", str(work / "registry"),
                                               stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        addr = f"127.0.0.1:{port}"
        await wait_ready(f"http://{addr}")
        store = LocalImageStore(work / "store", builtins=False)
        await store.start()
        layers = []
        for i in range(4):
            layers.append(await asyncio.to_thread(make_layer, store, total_mb * (1 << 20) // 4, i))
        cfg = {"architecture": "amd64", "os": "linux", "config": {},
               "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]}}
        image = await store.commit(cfg, [desc for desc, _ in layers], [f"{addr}/kubelite/bench:v1"])
        size = sum(d["size"] for d, _ in layers)
        mb = size / 1e6
        t = Transfer(config=DockerConfig(work / "docker.json"))

        t0 = time.perf_counter()
        await push(store, f"{addr}/kubelite/bench:v1", t)
        our_push = time.perf_counter() - t0
        t0 = time.perf_counter()
        got = await pull(LocalImageStore(work / "pulled", builtins=False), f"{addr}/kubelite/bench:v1", t)
        our_pull = time.perf_counter() - t0
        if got.digest != image.digest:
            raise RuntimeError("pulled digest differs")

        shutil.rmtree("/var/lib/containers/cache", ignore_errors=True)
        t0 = time.perf_counter()
        await skopeo("copy", "--dest-tls-verify=false", f"oci:{work / 'store'}:{addr}/kubelite/bench:v1",
                     f"docker://{addr}/skopeo/bench:v1")
        sk_push = time.perf_counter() - t0
        t0 = time.perf_counter()
        await skopeo("copy", "--src-tls-verify=false", f"docker://{addr}/skopeo/bench:v1",
                     f"oci:{work / 'skopeo-oci'}:v1")
        sk_pull = time.perf_counter() - t0

        print(f"image: {mb:.1f} MB in 4 layers (random data), registry: kubelite registry (own process)")
        print(f"{'':10} {'kubelite':>12} {'skopeo':>12} {'ratio':>8}")
        print(f"{'push':10} {mb / our_push:9.1f} MB/s {mb / sk_push:9.1f} MB/s {sk_push / our_push:7.2f}x")
        print(f"{'pull':10} {mb / our_pull:9.1f} MB/s {mb / sk_pull:9.1f} MB/s {sk_pull / our_pull:7.2f}x")
    finally:
        if reg.returncode is None:
            reg.terminate()
            await reg.wait()
        shutil.rmtree(work, ignore_errors=True)
        if not had_cache:
            shutil.rmtree("/var/lib/containers", ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
