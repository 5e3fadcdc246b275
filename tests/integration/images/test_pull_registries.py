"""Pulls as from real registries, all on 127.0.0.1: Bearer tokens from a separate token server,
Basic auth, redirects to blob storage, multi-arch indexes (OCI and Docker manifest lists), Docker
schema 2 and OCI media types, gzip and zstd layers, mirrors from a registries file (with rewrites
and fallback), and the bad cases: wrong credentials, digest mismatches, no entry for the
platform, broken and truncated transfers (retried, then a clear error with nothing corrupt left).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket

import pytest
from aiohttp import ClientSession, web

from kubelite.images import oci
from kubelite.images.distribution import DockerConfig, RegistryHosts, Transfer, pull
from kubelite.images.distribution.client import RegistryClient, new_session
from kubelite.images.distribution.errors import AuthenticationError, TransferError
from kubelite.images.distribution.registries import RegistriesFile
from kubelite.images.errors import DigestMismatch, ImageError
from kubelite.images.registry import BlobStorageServer, RegistryAuth, RegistryServer, TokenServer
from kubelite.images.registry.blobstore import BlobRedirect
from kubelite.images.store import LocalImageStore
from registrylab import digest, put_image, put_index

AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64", "variant": "v8"}
ADMIN = ("admin", "s3cret")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def no_creds(tmp_path) -> DockerConfig:
    return DockerConfig(tmp_path / "empty-docker-config.json")


class Creds:
    """A DockerConfig-shaped credential source."""

    def __init__(self, by_host: dict[str, tuple[str, str]]):
        self.by_host = by_host

    def get(self, host: str):
        return self.by_host.get(host)


async def seed_multiarch(url: str, repo: str, tag: str, *, docker: bool, creds=ADMIN) -> tuple:
    async with new_session() as s:
        c = RegistryClient(url, s, creds)
        amd = await put_image(c, repo, [{"etc/os": b"amd64"}, {"app/data": b"x" * 300_000}], platform=AMD64,
                              docker=docker)
        arm = await put_image(c, repo, [{"etc/os": b"arm64"}], platform=ARM64, docker=docker)
        index = await put_index(c, repo, tag, [(arm, ARM64), (amd, AMD64)], docker=docker, attestation=True)
    return amd, arm, index


def test_token_server_multiarch_pull_picks_host_platform(tmp_path):
    async def run():
        auth = RegistryAuth(mode="token", users={ADMIN[0]: ADMIN[1]}, service="kubelite-test-registry")
        async with TokenServer(auth) as tokens:
            auth.realm = tokens.realm
            async with RegistryServer("127.0.0.1", 0, tmp_path / "reg", auth) as reg:
                for docker in (False, True):
                    repo = "team/multi-docker" if docker else "team/multi-oci"
                    amd, arm, index = await seed_multiarch(reg.url, repo, "v1", docker=docker)
                    tokens.requests.clear()
                    store = LocalImageStore(tmp_path / f"store-{docker}", builtins=False)
                    t = Transfer(config=Creds({reg.address: ADMIN}))
                    img = await pull(store, f"{reg.address}/{repo}:v1", t)
                    assert img.id == amd.config_digest and img.digest == digest(index)
                    assert img.config["config"]["Labels"] == {"arch": "amd64"}
                    assert not store.content.has(arm.config_digest)
                    assert all(store.content.has(digest(b)) for b in amd.layers)
                    # the token flow: service and scope from the challenge, Basic credentials
                    assert tokens.requests and all(r["basic"] for r in tokens.requests)
                    assert {s for r in tokens.requests for s in r["scope"]} == {f"repository:{repo}:pull"}
                    assert {r["service"] for r in tokens.requests} == {"kubelite-test-registry"}
                    layers = await store.unpack(img)
                    assert (layers[1] / "app" / "data").stat().st_size == 300_000
                    # --platform linux/arm64
                    other = LocalImageStore(tmp_path / f"arm-{docker}", builtins=False)
                    got = await pull(other, f"{reg.address}/{repo}:v1", Transfer(
                        config=Creds({reg.address: ADMIN}), platform=oci.parse_platform("linux/arm64")))
                    assert got.id == arm.config_digest and got.config["architecture"] == "arm64"
                    assert (await other.get(f"{reg.address}/{repo}:v1")).id == arm.config_digest

    asyncio.run(run())


def test_anonymous_token_and_bad_credentials(tmp_path):
    async def run():
        auth = RegistryAuth(mode="token", users={ADMIN[0]: ADMIN[1]}, anonymous_pull=True)
        async with TokenServer(auth) as tokens:
            auth.realm = tokens.realm
            async with RegistryServer("127.0.0.1", 0, tmp_path / "reg", auth) as reg:
                amd, _, _ = await seed_multiarch(reg.url, "pub/app", "v1", docker=False)
                store = LocalImageStore(tmp_path / "store", builtins=False)
                tokens.requests.clear()
                img = await pull(store, f"{reg.address}/pub/app:v1", Transfer(config=no_creds(tmp_path)))
                assert img.id == amd.config_digest
                assert tokens.requests and not any(r["basic"] for r in tokens.requests)

                bad = LocalImageStore(tmp_path / "bad", builtins=False)
                with pytest.raises(AuthenticationError) as e:
                    await pull(bad, f"{reg.address}/pub/app:v1",
                               Transfer(config=Creds({reg.address: ("admin", "wrong")})))
                assert e.value.status == 401
                assert "unable to retrieve auth token" in str(e.value)
                assert "invalid username or password" in str(e.value)
                assert await bad.list() == []

                # without anonymous pulls the token server refuses an anonymous token: 401
                auth.anonymous_pull = False
                with pytest.raises(AuthenticationError) as e:
                    await pull(bad, f"{reg.address}/pub/app:v1", Transfer(config=no_creds(tmp_path)))
                assert e.value.status == 401

    asyncio.run(run())


def test_basic_auth_registry_and_bad_password(tmp_path):
    async def run():
        auth = RegistryAuth(mode="basic", users={ADMIN[0]: ADMIN[1]})
        async with RegistryServer("127.0.0.1", 0, tmp_path / "reg", auth) as reg:
            amd, _, _ = await seed_multiarch(reg.url, "app", "v1", docker=True)
            store = LocalImageStore(tmp_path / "store", builtins=False)
            img = await pull(store, f"{reg.address}/app:v1", Transfer(config=Creds({reg.address: ADMIN})))
            assert img.id == amd.config_digest
            with pytest.raises(AuthenticationError) as e:
                await pull(LocalImageStore(tmp_path / "s2", builtins=False), f"{reg.address}/app:v1",
                           Transfer(config=Creds({reg.address: ("admin", "nope")})))
            assert e.value.status == 401 and "invalid username or password" in str(e.value)

    asyncio.run(run())


def test_blob_redirect_to_storage_on_another_port(tmp_path):
    async def run():
        auth = RegistryAuth(mode="token", users={ADMIN[0]: ADMIN[1]})
        async with TokenServer(auth) as tokens, BlobStorageServer(tmp_path / "reg") as storage:
            auth.realm = tokens.realm
            async with RegistryServer("127.0.0.1", 0, tmp_path / "reg", auth) as seeder:
                amd, _, _ = await seed_multiarch(seeder.url, "r/app", "v1", docker=False)
            async with RegistryServer("127.0.0.1", 0, tmp_path / "reg", auth,
                                      blob_redirect=storage.redirect) as reg:
                store = LocalImageStore(tmp_path / "store", builtins=False)
                img = await pull(store, f"{reg.address}/r/app:v1", Transfer(config=Creds({reg.address: ADMIN})))
                assert img.id == amd.config_digest
                assert storage.served == 3  # config + 2 layers, all from storage (no Authorization leaked)
                # a redirect to a URL that storage refuses is an error naming it
                reg_bad = BlobRedirect(storage.redirect.base_url)  # another secret: bad signatures
            async with RegistryServer("127.0.0.1", 0, tmp_path / "reg", auth, blob_redirect=reg_bad) as reg2:
                with pytest.raises(ImageError) as e:
                    await pull(LocalImageStore(tmp_path / "s3", builtins=False), f"{reg2.address}/r/app:v1",
                               Transfer(config=Creds({reg2.address: ADMIN})))
                assert "403" in str(e.value) or "AccessDenied" in str(e.value)

    asyncio.run(run())


@pytest.mark.skipif(shutil.which("zstd") is None, reason="needs the zstd program (apt-get install zstd)")
def test_zstd_layers(tmp_path):
    async def run():
        async with RegistryServer("127.0.0.1", 0, tmp_path / "reg") as reg:
            async with new_session() as s:
                c = RegistryClient(reg.url, s)
                p = await put_image(c, "z/app", [{"a/one": b"1" * 50_000}, {"a/two": b"2" * 70_000}],
                                    compression="zstd", tag="v1")
            store = LocalImageStore(tmp_path / "store", builtins=False)
            img = await pull(store, f"{reg.address}/z/app:v1", Transfer(config=no_creds(tmp_path)))
            assert img.id == p.config_digest
            dirs = await store.unpack(img)
            assert (dirs[0] / "a" / "one").read_bytes() == b"1" * 50_000
            assert (dirs[1] / "a" / "two").read_bytes() == b"2" * 70_000

    asyncio.run(run())


def _registries(tmp_path, doc: str) -> RegistryHosts:
    f = tmp_path / "registries.yaml"
    f.write_text(doc)
    return RegistryHosts(registries=RegistriesFile(f))


def test_docker_io_mirror_resolves_short_names(tmp_path):
    async def run():
        async with RegistryServer("127.0.0.1", 0, tmp_path / "mirror") as mirror:
            async with new_session() as s:
                c = RegistryClient(mirror.url, s)
                nginx = await put_image(c, "library/nginx", [{"usr/share/nginx/html/index.html": b"Welcome"}],
                                        docker=True, tag="latest")
                py = await put_image(c, "cache/library/python", [{"usr/bin/python": b"#!"}], tag="3.11-slim")
            hosts = _registries(tmp_path, f"""
mirrors:
  docker.io:
    endpoint: ["http://{mirror.address}"]
    rewrite:
      "^library/python$": "cache/library/python"
""")
            store = LocalImageStore(tmp_path / "store", builtins=False)
            t = Transfer(hosts=hosts, config=no_creds(tmp_path))
            img = await pull(store, "nginx", t)
            assert img.id == nginx.config_digest
            assert img.repo_tags == ["docker.io/library/nginx:latest"]
            img = await pull(store, "python:3.11-slim", t)
            assert img.id == py.config_digest
            assert (await store.get("docker.io/library/python:3.11-slim")).id == py.config_digest

    asyncio.run(run())


def test_mirror_down_falls_back_with_a_warning(tmp_path):
    async def run():
        dead = f"127.0.0.1:{free_port()}"
        async with RegistryServer("127.0.0.1", 0, tmp_path / "up") as up, \
                RegistryServer("127.0.0.1", 0, tmp_path / "m2") as m2:
            for url, repo in ((up.url, "app"), (m2.url, "library/app")):
                async with new_session() as s:
                    p = await put_image(RegistryClient(url, s), repo, [{"f": b"data"}], tag="v1")
            hosts = _registries(tmp_path, f"""
mirrors:
  "{up.address}":
    endpoint: ["http://{dead}"]
  docker.io:
    endpoint: ["http://{dead}", "{m2.url}"]
""")
            warnings: list[str] = []
            t = Transfer(hosts=hosts, config=no_creds(tmp_path), warn=warnings.append)
            img = await pull(LocalImageStore(tmp_path / "s1", builtins=False), f"{up.address}/app:v1", t)
            assert img.id == p.config_digest
            assert len(warnings) == 1 and f"mirror http://{dead}" in warnings[0] and up.url in warnings[0]
            warnings.clear()
            img = await pull(LocalImageStore(tmp_path / "s2", builtins=False), "app:v1", t)
            assert img.id == p.config_digest
            assert len(warnings) == 1 and f"trying mirror {m2.url}" in warnings[0]
            # a mirror without the image (404) also falls back
            async with RegistryServer("127.0.0.1", 0, tmp_path / "empty") as empty:
                hosts = _registries(tmp_path, f'mirrors: {{"{up.address}": {{endpoint: ["{empty.url}"]}}}}\n')
                warnings.clear()
                img = await pull(LocalImageStore(tmp_path / "s3", builtins=False), f"{up.address}/app:v1",
                                 Transfer(hosts=hosts, config=no_creds(tmp_path), warn=warnings.append))
                assert img.id == p.config_digest and "manifest unknown" in warnings[0]

    asyncio.run(run())


def test_mirror_credentials_from_the_registries_file(tmp_path):
    async def run():
        auth = RegistryAuth(mode="token", users={"mirror-user": "mirror-pass"})
        async with RegistryServer("127.0.0.1", 0, tmp_path / "m", auth) as m:
            p, _, _ = await seed_multiarch(m.url, "library/busybox", "latest", docker=False,
                                           creds=("mirror-user", "mirror-pass"))
            hosts = _registries(tmp_path, f"""
mirrors:
  docker.io: {{endpoint: ["http://{m.address}"], disable_default_endpoint: true}}
configs:
  "{m.address}": {{auth: {{username: mirror-user, password: mirror-pass}}}}
""")
            img = await pull(LocalImageStore(tmp_path / "s", builtins=False), "busybox",
                             Transfer(hosts=hosts, config=no_creds(tmp_path)))
            assert img.id == p.config_digest

    asyncio.run(run())


class FaultyFront:
    """A proxy in front of a registry that can corrupt manifests and cut blob downloads short."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.truncate_blobs = 0          # how many blob GETs to cut off halfway (-1: all)
        self.manifest_digest_header = ""  # replace Docker-Content-Digest on manifests
        self.tamper_manifest = False
        self.blob_ranges: list[str | None] = []
        self._runner = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        async with ClientSession(auto_decompress=False) as s:
            headers = {k: v for k, v in request.headers.items() if k.lower() in ("accept", "range", "authorization")}
            async with s.request(request.method, self.upstream + request.path_qs, headers=headers,
                                 allow_redirects=False) as up:
                body = await up.read()
                out_headers = {k: v for k, v in up.headers.items()
                               if k.lower() in ("content-type", "docker-content-digest", "www-authenticate",
                                                "content-range", "location")}
        if "/blobs/" in request.path and request.method == "GET" and up.status in (200, 206):
            self.blob_ranges.append(request.headers.get("Range"))
            if self.truncate_blobs:
                self.truncate_blobs -= 1 if self.truncate_blobs > 0 else 0
                resp = web.StreamResponse(status=up.status, headers={**out_headers,
                                                                     "Content-Length": str(len(body))})
                await resp.prepare(request)
                await resp.write(body[: max(1, len(body) // 2)])
                request.transport.close()
                return resp
        if "/manifests/" in request.path and up.status == 200:
            if self.manifest_digest_header:
                out_headers["Docker-Content-Digest"] = self.manifest_digest_header
            if self.tamper_manifest:
                doc = json.loads(body)
                doc.setdefault("annotations", {})["tampered"] = "yes"
                body = json.dumps(doc).encode()
        return web.Response(status=up.status, body=body, headers=out_headers)

    async def __aenter__(self):
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        self.address = self.url.removeprefix("http://")
        return self

    async def __aexit__(self, *exc):
        await self._runner.cleanup()


def test_manifest_digest_mismatch(tmp_path):
    async def run():
        async with RegistryServer("127.0.0.1", 0, tmp_path / "reg") as reg, FaultyFront(reg.url) as front:
            async with new_session() as s:
                p = await put_image(RegistryClient(reg.url, s), "app", [{"f": b"data"}], tag="v1")
            store = LocalImageStore(tmp_path / "store", builtins=False)
            front.manifest_digest_header = "sha256:" + "1" * 64
            with pytest.raises(DigestMismatch):
                await pull(store, f"{front.address}/app:v1", Transfer(config=no_creds(tmp_path)))
            front.manifest_digest_header = ""
            front.tamper_manifest = True  # pulling by digest: the bytes must hash to it
            with pytest.raises(DigestMismatch) as e:
                await pull(store, f"{front.address}/app@{p.digest}", Transfer(config=no_creds(tmp_path)))
            assert p.digest in str(e.value)
            assert await store.list() == []

    asyncio.run(run())


def test_index_without_this_platform(tmp_path):
    async def run():
        async with RegistryServer("127.0.0.1", 0, tmp_path / "reg") as reg:
            async with new_session() as s:
                c = RegistryClient(reg.url, s)
                arm = await put_image(c, "armonly", [{"f": b"arm"}], platform=ARM64)
                await put_index(c, "armonly", "v1", [(arm, ARM64)], docker=True)
            store = LocalImageStore(tmp_path / "store", builtins=False)
            with pytest.raises(ImageError) as e:
                await pull(store, f"{reg.address}/armonly:v1", Transfer(config=no_creds(tmp_path)))
            assert "no matching manifest for linux/amd64 in the manifest list entries" in str(e.value)
            assert await store.list() == []

    asyncio.run(run())


def test_truncated_layer_is_resumed_then_fails_cleanly(tmp_path, monkeypatch):
    from kubelite.images.distribution import client as client_mod

    monkeypatch.setattr(client_mod, "BACKOFF", 0.01)

    async def run():
        async with RegistryServer("127.0.0.1", 0, tmp_path / "reg") as reg, FaultyFront(reg.url) as front:
            async with new_session() as s:
                p = await put_image(RegistryClient(reg.url, s), "app", [{"big": bytes(range(256)) * 4000}],
                                    tag="v1")
            layer = digest(p.layers[0])
            # one broken transfer: resumed with Range, content verified
            store = LocalImageStore(tmp_path / "store", builtins=False)
            front.truncate_blobs = 1
            img = await pull(store, f"{front.address}/app:v1", Transfer(config=no_creds(tmp_path), parallel=1))
            assert img.id == p.config_digest and store.content.has(layer)
            assert any(r and r.startswith("bytes=") and r != "bytes=0-" for r in front.blob_ranges)
            # always broken: a clear error after the retries, nothing half-written in the store
            broken = LocalImageStore(tmp_path / "broken", builtins=False)
            front.truncate_blobs = -1
            with pytest.raises(TransferError) as e:
                await pull(broken, f"{front.address}/app:v1", Transfer(config=no_creds(tmp_path), parallel=1))
            assert "failed after" in str(e.value)
            assert await broken.list() == []
            assert not broken.content.has(layer)
            assert all(i.digest != layer for i in broken.content.walk_nowait())
            # the next pull from a healthy endpoint finishes the job
            img = await pull(broken, f"{reg.address}/app:v1", Transfer(config=no_creds(tmp_path)))
            assert img.id == p.config_digest and broken.content.has(layer)

    asyncio.run(run())


def test_registries_file_change_is_picked_up(tmp_path):
    async def run():
        async with RegistryServer("127.0.0.1", 0, tmp_path / "a") as a, \
                RegistryServer("127.0.0.1", 0, tmp_path / "b") as b:
            ids = {}
            for srv in (a, b):
                async with new_session() as s:
                    ids[srv.address] = (await put_image(RegistryClient(srv.url, s), "library/alpine",
                                                        [{"who": srv.address.encode()}], tag="latest")).config_digest
            f = tmp_path / "registries.yaml"
            f.write_text(f'mirrors: {{docker.io: {{endpoint: ["{a.url}"]}}}}\n')
            rf = RegistriesFile(f, check_interval=0)
            t = Transfer(hosts=RegistryHosts(registries=rf), config=no_creds(tmp_path))
            assert (await pull(LocalImageStore(tmp_path / "s1", builtins=False), "alpine", t)).id == ids[a.address]
            f.write_text(f'mirrors: {{docker.io: {{endpoint: ["{b.url}"]}}}}\n')
            assert (await pull(LocalImageStore(tmp_path / "s2", builtins=False), "alpine", t)).id == ids[b.address]
            assert rf.generation == 2

    asyncio.run(run())
