"""The distribution client against in-process registries on 127.0.0.1 (ours, and fault-injecting ones)."""

import asyncio
import gzip
import hashlib
import io
import json
import tarfile

import pytest
from aiohttp import web

from kubelite.images import oci
from kubelite.images.content.local import LocalContentStore
from kubelite.images.distribution import DockerConfig, Transfer, login, pull, push
from kubelite.images.distribution.client import RegistryClient, new_session, parse_challenge
from kubelite.images.distribution.errors import AuthenticationError, ManifestNotFound
from kubelite.images.errors import DigestMismatch
from kubelite.images.progress import RecordingProgress
from kubelite.images.registry import RegistryAuth, RegistryServer
from kubelite.images.store import LocalImageStore


def d(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_bytes(files: dict[str, bytes]) -> tuple[bytes, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), d(raw)


async def make_image(store: LocalImageStore, name: str, files: dict[str, bytes]):
    blob, diff_id = layer_bytes(files)
    await store.start()
    store.content.write_nowait(blob)
    cfg = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
           "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    return await store.commit(cfg, [oci.descriptor(oci.OCI_LAYER_GZIP, blob)], [name])


def test_parse_challenge():
    scheme, p = parse_challenge('Bearer realm="http://h/token",service="reg",scope="repository:a/b:pull,push"')
    assert scheme == "bearer" and p == {"realm": "http://h/token", "service": "reg", "scope": "repository:a/b:pull,push"}
    assert parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})


def test_docker_config_credentials(tmp_path):
    cfg = DockerConfig(tmp_path / "config.json")
    assert cfg.get("127.0.0.1:5000") is None
    cfg.set("127.0.0.1:5000", "u", "p:w")
    assert cfg.get("127.0.0.1:5000") == ("u", "p:w")
    assert json.loads((tmp_path / "config.json").read_text())["auths"]["127.0.0.1:5000"]["auth"] == "dTpwOnc="
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == 0o600
    cfg.set("docker.io", "hub", "pw")
    assert "https://index.docker.io/v1/" in json.loads((tmp_path / "config.json").read_text())["auths"]
    assert cfg.get("docker.io") == ("hub", "pw")
    assert cfg.remove("127.0.0.1:5000") and cfg.get("127.0.0.1:5000") is None


@pytest.mark.parametrize("mode", ["none", "basic", "token"])
def test_push_pull_roundtrip_with_auth(tmp_path, mode):
    async def run():
        auth = RegistryAuth(mode=mode, users={"u": "p"})
        async with RegistryServer("127.0.0.1", 0, tmp_path / "reg", auth) as srv:
            cfg = DockerConfig(tmp_path / "docker" / "config.json")
            progress = RecordingProgress()
            t = Transfer(config=cfg, progress=progress)
            src = LocalImageStore(tmp_path / "src", builtins=False)
            name = f"{srv.address}/team/app:v1"
            img = await make_image(src, name, {"hello": b"world" * 1000})
            if mode != "none":
                with pytest.raises(AuthenticationError):
                    await push(src, name, t)
                with pytest.raises(AuthenticationError):
                    await login(srv.address, "u", "wrong", t)
                await login(srv.address, "u", "p", t)
            r = await push(src, name, t)
            assert r.digest == img.digest and set(progress.statuses().values()) == {"Pushed"}
            progress.events.clear()
            await push(src, name, t)
            assert set(progress.statuses().values()) == {"Layer already exists"}
            await src.tag(name, f"{srv.address}/other/app:v2")
            progress.events.clear()
            await push(src, f"{srv.address}/other/app:v2", t)
            assert set(progress.statuses().values()) == {"Mounted from team/app"}
            dst = LocalImageStore(tmp_path / "dst", builtins=False)
            got = await pull(dst, f"{srv.address}/other/app:v2", t)
            assert (got.id, got.digest) == (img.id, img.digest)
            assert got.repo_tags == [f"{srv.address}/other/app:v2"]
            by_digest = await pull(dst, f"{srv.address}/team/app@{img.digest}", t)
            assert by_digest.id == img.id
            with pytest.raises(ManifestNotFound):
                await pull(dst, f"{srv.address}/team/app:missing", t)

    asyncio.run(run())


def test_pull_selects_linux_amd64_from_index(tmp_path):
    async def run():
        async with RegistryServer("127.0.0.1", 0, tmp_path / "reg") as srv:
            src = LocalImageStore(tmp_path / "src", builtins=False)
            amd = await make_image(src, f"{srv.address}/multi:amd64", {"arch": b"amd64"})
            arm = await make_image(src, f"{srv.address}/multi:arm64", {"arch": b"arm64"})
            t = Transfer(config=DockerConfig(tmp_path / "c.json"))
            await push(src, f"{srv.address}/multi:amd64", t)
            await push(src, f"{srv.address}/multi:arm64", t)
            index = json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": [
                {"mediaType": oci.OCI_MANIFEST, "digest": arm.digest, "size": 1,
                 "platform": {"os": "linux", "architecture": "arm64"}},
                {"mediaType": oci.OCI_MANIFEST, "digest": amd.digest, "size": 1,
                 "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
            async with new_session() as s:
                c = RegistryClient(srv.url, s)
                await c.put_manifest("multi", "latest", index, oci.OCI_INDEX)
            dst = LocalImageStore(tmp_path / "dst", builtins=False)
            got = await pull(dst, f"{srv.address}/multi:latest", t)
            assert got.id == amd.id and got.digest == d(index)
            assert not dst.content.has(arm.id)

    asyncio.run(run())


def test_download_resumes_with_range_and_checks_digest(tmp_path):
    blob = bytes(range(256)) * 4096  # 1 MiB
    calls = []

    async def handler(request):
        rng = request.headers.get("Range")
        calls.append(rng)
        if request.match_info["digest"] == "sha256:" + "0" * 64:
            return web.Response(body=b"wrong content")
        if rng is None:
            resp = web.StreamResponse(headers={"Content-Length": str(len(blob))})
            await resp.prepare(request)
            await resp.write(blob[: len(blob) // 3])
            request.transport.close()  # the connection breaks mid-blob
            return resp
        start = int(rng.removeprefix("bytes=").split("-")[0])
        return web.Response(status=206, body=blob[start:],
                            headers={"Content-Range": f"bytes {start}-{len(blob) - 1}/{len(blob)}"})

    async def run():
        app = web.Application()
        app.router.add_get("/v2/{name:.+}/blobs/{digest}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        store = LocalContentStore(tmp_path)
        try:
            async with new_session() as s:
                c = RegistryClient(f"http://127.0.0.1:{port}", s)
                got = await c.fetch_blob("app", {"digest": d(blob), "size": len(blob)}, store)
                assert got == d(blob) and store.read_nowait(got) == blob
                assert calls[0] is None and calls[1].startswith("bytes=") and calls[1] != "bytes=0-"
                with pytest.raises(DigestMismatch):
                    await c.fetch_blob("app", {"digest": "sha256:" + "0" * 64, "size": 13}, store)
                assert [i.digest for i in store.walk_nowait()] == [d(blob)]
        finally:
            await runner.cleanup()

    asyncio.run(run())
