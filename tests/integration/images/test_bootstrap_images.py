"""`kubelite image bootstrap` for real: mmdebstrap through the machine's apt sources, then the images
run under runc in a network namespace this test creates: a Dockerfile `FROM python:3.11-slim` with
`CMD ["python", "-m", "http.server"]` answers HTTP, nginx serves its welcome page; busybox and
bookworm-slim rebuild to the same digest; a bootstrapped image pushed to a local registry is
pulled back by its Docker Hub name through a `docker.io` mirror.

Needs root, runc, mmdebstrap and a reachable Debian archive: skipped with mmdebstrap's own words
when the archive cannot be reached. Slow (about three minutes: each image is a real bootstrap).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from kubelite.images.bootstrap import BootstrapError, Bootstrapper, recipe_for
from kubelite.images.builder import BuildOptions, Builder
from kubelite.images.builder.sandbox import Rootfs, oci_spec
from kubelite.images.builder.users import ExecUser
from kubelite.images.distribution import RegistryHosts, Transfer, pull, push
from kubelite.images.distribution.config import DockerConfig
from kubelite.images.distribution.registries import parse_registries
from kubelite.images.progress import RecordingProgress
from kubelite.images.registry import RegistryServer
from kubelite.images.store import LocalImageStore

pytestmark = [
    pytest.mark.root, pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mmdebstrap --mode=root, overlay mounts, runc)"),
    pytest.mark.skipif(not all(shutil.which(b) for b in ("runc", "mmdebstrap", "ip")),
                       reason="needs runc, mmdebstrap and iproute2 (apt-get install mmdebstrap runc)"),
]

UNREACHABLE = ("Temporary failure resolving", "Could not resolve", "Failed to fetch", "Unable to connect",
               "Connection refused", "Network is unreachable", "apt-get update failed", "Could not connect")


async def bootstrap(b: Bootstrapper, name: str, names: list[str] | None = None):
    try:
        return await b.bootstrap(recipe_for(name), names)
    except BootstrapError as e:
        if any(s in str(e) for s in UNREACHABLE):
            pytest.skip(f"mmdebstrap cannot reach the Debian archive through the apt sources: {e}")
        raise


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("bootstrap")
    s = LocalImageStore(root / "images", builtins=True)
    yield s
    shutil.rmtree(root, ignore_errors=True)


class Container:
    """One image run detached by runc in a fresh network namespace (lo up), for an HTTP check."""

    def __init__(self, store: LocalImageStore, image, work: Path):
        self.store, self.image, self.work = store, image, work
        self.id = f"kl-bootstrap-{uuid.uuid4().hex[:8]}"
        self.netns = self.id
        self.state = work / "runc"
        self.rootfs: Rootfs | None = None

    async def start(self, port: int) -> None:
        layers = await self.store.unpack(self.image)
        self.rootfs = Rootfs(self.work / "rootfs", self.store.snapshots.root, layers)
        await self.rootfs.mount()
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)
        cfg = self.image.container_config
        args = [*(cfg.get("Entrypoint") or []), *(cfg.get("Cmd") or [])]
        spec = oci_spec(str(self.rootfs.merged), args, cfg.get("Env") or [], cfg.get("WorkingDir") or "/",
                        ExecUser(0, 0, []), self.id, hostname="bootstrap-test")
        spec["hooks"] = {}
        spec["linux"]["namespaces"] = [{"type": t} for t in ("pid", "ipc", "uts", "mount")] + [
            {"type": "network", "path": f"/var/run/netns/{self.netns}"}]
        bundle = self.work / "bundle"
        bundle.mkdir(parents=True, exist_ok=True)
        (bundle / "config.json").write_text(json.dumps(spec))
        self.log = self.work / "container.log"
        with open(self.log, "wb") as out:
            subprocess.run(["runc", "--root", str(self.state), "run", "-d", "--bundle", str(bundle), self.id],
                           stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=True, timeout=60)
        self.port = port

    def get(self, path: str = "/") -> str:
        code = ("import urllib.request,sys;"
                f"sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:{self.port}{path}',timeout=2)"
                ".read().decode())")
        r = subprocess.run(["ip", "netns", "exec", self.netns, "python3", "-c", code], capture_output=True,
                           text=True, timeout=20)
        return r.stdout if r.returncode == 0 else ""

    def wait_http(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.get()
            if body:
                return body
            time.sleep(0.2)
        raise AssertionError(f"no HTTP answer on port {self.port}; container output:\n{self.log.read_text()}")

    async def stop(self) -> None:
        subprocess.run(["runc", "--root", str(self.state), "kill", "--all", self.id, "KILL"], capture_output=True)
        for _ in range(50):
            r = subprocess.run(["runc", "--root", str(self.state), "state", self.id], capture_output=True, text=True)
            if r.returncode != 0 or '"stopped"' in r.stdout:
                break
            time.sleep(0.1)
        subprocess.run(["runc", "--root", str(self.state), "delete", "-f", self.id], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        if self.rootfs is not None:
            await self.rootfs.cleanup()


async def run_and_get(store: LocalImageStore, image, work: Path, port: int) -> str:
    c = Container(store, image, work)
    try:
        await c.start(port)
        return await asyncio.to_thread(c.wait_http)
    finally:
        await c.stop()
        assert not Path(f"/var/run/netns/{c.netns}").exists()
        assert not list(Path("/sys/fs/cgroup").glob(f"*/kubelite-build-{c.id}"))


def test_python_slim_runs_a_dockerfile_http_server(store, tmp_path):
    async def run():
        b = Bootstrapper(store)
        res = await bootstrap(b, "python:3.11-slim")
        labels = res.image.container_config["Labels"]
        assert labels["org.opencontainers.image.base.name"] == "docker.io/library/debian:bookworm-slim"
        assert "python3=3." in labels["io.kubelite.bootstrap.packages"]
        assert len(res.image.diff_ids) == 2  # the slim layer, then python's
        again = await Bootstrapper(store).bootstrap(recipe_for("python:3.11-slim"))
        assert again.cached and again.image.digest == res.image.digest

        ctx = tmp_path / "ctx"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text('FROM python:3.11-slim\nWORKDIR /srv\nCOPY index.html .\n'
                                        'RUN python -c "import json, ssl, sqlite3; print(\'ok\')" && pip --version\n'
                                        'CMD ["python", "-m", "http.server"]\n')
        (ctx / "index.html").write_text("hello from kubelite\n")
        progress = RecordingProgress()
        built = await Builder(store, state_dir=tmp_path / "build-state").build(BuildOptions(ctx, None, None, ["kl-bootstrap-py:1"], {}, "", False,
                                                        progress))
        body = await run_and_get(store, built.image, tmp_path / "py", 8000)
        assert body == "hello from kubelite\n"

    asyncio.run(run())


def test_nginx_serves_its_welcome_page(store, tmp_path):
    async def run():
        res = await bootstrap(Bootstrapper(store), "nginx")
        cfg = res.image.container_config
        assert cfg["Cmd"] == ["nginx", "-g", "daemon off;"] and cfg["ExposedPorts"] == {"80/tcp": {}}
        assert "nginx=1." in cfg["Labels"]["io.kubelite.bootstrap.packages"]
        body = await run_and_get(store, res.image, tmp_path / "nginx", 80)
        assert "Welcome to nginx!" in body

    asyncio.run(run())


def test_reproducible_and_renamed(store, tmp_path):
    async def run():
        first = await bootstrap(Bootstrapper(store), "busybox")
        again = await bootstrap(Bootstrapper(store, no_cache=True), "busybox", ["kl-bootstrap/busybox:copy"])
        assert not again.cached and again.image.digest == first.image.digest
        assert again.names == ["docker.io/kl-bootstrap/busybox:copy"]
        slim = await bootstrap(Bootstrapper(store), "debian:bookworm-slim")
        rebuilt = await bootstrap(Bootstrapper(store, no_cache=True), "debian:bookworm-slim")
        assert rebuilt.image.digest == slim.image.digest  # same packages, same bytes

    asyncio.run(run())


def test_push_then_pull_by_docker_hub_name_through_a_mirror(store, tmp_path):
    async def run():
        res = await bootstrap(Bootstrapper(store), "python:3.11-slim")
        async with RegistryServer("127.0.0.1", 0, tmp_path / "reg") as reg:
            t = Transfer(config=DockerConfig(tmp_path / "docker.json"))
            await store.tag("python:3.11-slim", f"{reg.address}/library/python:3.11-slim")
            await push(store, f"{reg.address}/library/python:3.11-slim", t)
            hosts = RegistryHosts(registries=parse_registries(
                f'mirrors: {{docker.io: {{endpoint: ["{reg.url}"]}}}}'))
            fresh = LocalImageStore(tmp_path / "fresh", builtins=False)
            got = await pull(fresh, "python:3.11-slim", Transfer(hosts=hosts, config=t.config))
            assert got.digest == res.image.digest and got.id == res.image.id
            await store.remove(f"{reg.address}/library/python:3.11-slim")

    asyncio.run(run())
