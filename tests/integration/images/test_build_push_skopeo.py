"""Real builds (runc + overlayfs), the build cache, push/pull with our registry, skopeo interop, save/load.

Needs root, runc, busybox-static, catatonit and skopeo. Everything lives under a fresh temp dir
(image store, registry, runc state, docker config); skopeo's blob-info cache under
/var/lib/containers is removed afterwards if the test created it.
"""

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kubelite.images import archive
from kubelite.images.builder import BuildOptions, Builder, RunError
from kubelite.images.distribution import DockerConfig, Transfer, login, pull, push
from kubelite.images.progress import RecordingProgress
from kubelite.images.registry import RegistryAuth, RegistryServer
from kubelite.images.store import LocalImageStore

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (overlay mounts, runc)"),
    pytest.mark.skipif(not all(shutil.which(b) for b in ("runc", "busybox", "skopeo", "catatonit")),
                       reason="needs runc, busybox-static, skopeo and catatonit (apt-get install ...)"),
]

DOCKERFILE = """\
ARG BASE=busybox
FROM ${BASE} AS build
ARG GREETING=hello
ENV APP_DIR=/app
WORKDIR $APP_DIR
COPY src/ ./src/
COPY config.txt .
RUN echo "$GREETING $(cat src/name.txt)" > out.txt \\
 && mkdir -p /scratch && touch /scratch/tmp && rm -rf /scratch \\
 && rm /bin/ls && rm -rf /var/spool
RUN cat config.txt >> out.txt

FROM busybox
LABEL org.example.stage=final
COPY --from=build /app/out.txt /srv/out.txt
RUN echo "app:x:1000:1000::/home/app:/bin/sh" >> /etc/passwd && echo "app:x:1000:" >> /etc/group \\
 && rm /etc/group- 2>/dev/null; rm -f /bin/wget
USER app
WORKDIR /home/app
ENTRYPOINT ["/bin/cat"]
CMD ["/srv/out.txt"]
"""

CHECK_DOCKERFILE = """\
FROM {image}
USER root
RUN test "$(cat /srv/out.txt)" = "$(printf 'hi kubelite\\nconfig-v{version}')" \\
 && ! test -e /bin/wget && test -e /bin/ls && test -d /home/app \\
 && test "$(stat -c %u /home/app)" = 1000 && grep -q '^app:' /etc/passwd \\
 && test ! -e /app && test ! -e /scratch
"""


def _cgroups_left() -> list[str]:
    out = []
    for d in Path("/sys/fs/cgroup").glob("*/kubelite-build-*"):
        out.append(str(d))
    return out


@pytest.fixture
def env(tmp_path):
    had_containers_dir = os.path.exists("/var/lib/containers")
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "src" / "name.txt").write_text("kubelite\n")
    (ctx / "config.txt").write_text("config-v1\n")
    (ctx / "ignored.log").write_text("never copied")
    (ctx / ".dockerignore").write_text("*.log\n")
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    yield tmp_path
    for m in Path("/proc/self/mounts").read_text().splitlines():
        assert str(tmp_path) not in m, f"mount left behind: {m}"
    assert _cgroups_left() == []
    if not had_containers_dir:
        shutil.rmtree("/var/lib/containers", ignore_errors=True)


def _steps(progress: RecordingProgress) -> tuple[list[str], list[str]]:
    """(labels of filesystem steps run, labels of steps served from the cache)."""
    lines = [v for e, _, v in progress.events if e == "log"]
    ran, cached = [], []
    for i, line in enumerate(lines):
        if not line.startswith("#") or "] " not in line:
            continue
        nxt = lines[i + 1: i + 40]
        num = line.split(" ", 1)[0]
        tail = next((n for n in nxt if n.startswith(num + " ") and (n.endswith("CACHED") or " DONE " in n)), None)
        if tail is None:
            continue
        label = line.split("] ", 1)[1]
        (cached if tail.endswith("CACHED") else ran).append(label)
    return ran, cached


async def _skopeo(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec("skopeo", *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed: {err.decode()}")
    return out.decode()


def test_build_cache_push_skopeo_save_load(env):
    async def run():
        store = LocalImageStore(env / "store")
        builder = Builder(store, state_dir=env / "runc")
        ctx = env / "ctx"

        async def build(tags, **kw):
            progress = RecordingProgress()
            result = await builder.build(BuildOptions(ctx, tags=tags, progress=progress, **kw))
            return result, progress

        # 1. first build: everything runs
        result, progress = await build(["app:v1"], build_args={"GREETING": "hi"})
        ran, cached = _steps(progress)
        assert cached == [] and len(ran) == 8
        img = result.image
        c = img.container_config
        assert c["Entrypoint"] == ["/bin/cat"] and c["Cmd"] == ["/srv/out.txt"]
        assert c["User"] == "app" and c["WorkingDir"] == "/home/app"
        assert c["Labels"] == {"org.example.stage": "final"}
        assert not any("GREETING" in e for e in c.get("Env", []))
        history = img.config["history"]
        assert len([h for h in history if not h.get("empty_layer")]) == len(img.diff_ids)
        assert history[-1]["created_by"] == 'CMD ["/srv/out.txt"]' and history[-1]["empty_layer"]
        assert store.snapshots.extractions <= 1  # build steps adopt their upper dirs as snapshots

        # 2. unchanged rebuild: every step cached, same image
        result2, progress = await build(["app:v1"], build_args={"GREETING": "hi"})
        ran, cached = _steps(progress)
        assert ran == [] and len(cached) == 8
        assert (result2.image.id, result2.image.digest) == (img.id, img.digest)  # reproducible

        # 3. one changed file: its COPY and later steps of that stage rerun, the rest is cached
        (ctx / "config.txt").write_text("config-v2\n")
        os.utime(ctx / "src" / "name.txt", (1, 1))  # mtime only: must stay cached
        result3, progress = await build(["app:v2"], build_args={"GREETING": "hi"})
        ran, cached = _steps(progress)
        assert cached == ["WORKDIR $APP_DIR", "COPY src/ ./src/"]
        assert ran[0] == "COPY config.txt ." and len(ran) == 6

        # 4. the image content is right (checked by a RUN inside it)
        check = env / "check"
        check.mkdir()
        for tag, version in (("app:v1", 1), ("app:v2", 2)):
            (check / "Dockerfile").write_text(CHECK_DOCKERFILE.format(image=tag, version=version))
            await builder.build(BuildOptions(check, no_cache=True))
        (check / "Dockerfile").write_text(CHECK_DOCKERFILE.format(image="app:v1", version=2))
        with pytest.raises(RunError):  # the check can fail
            await builder.build(BuildOptions(check, no_cache=True))

        # 5. a failing RUN points at its line and tags nothing
        (check / "Dockerfile").write_text("FROM busybox\nRUN echo before\nRUN exit 7\n")
        with pytest.raises(RunError) as e:
            await builder.build(BuildOptions(check, tags=["broken:v1"]))
        assert e.value.exit_code == 7 and e.value.line == 3
        assert await store.get("broken:v1") is None

        # 6. push to our registry (token auth), pull into a fresh store
        auth = RegistryAuth(mode="token", users={"u": "p"})
        async with RegistryServer("127.0.0.1", 0, env / "registry", auth) as srv:
            cfg = DockerConfig(env / "docker" / "config.json")
            t = Transfer(config=cfg)
            await login(srv.address, "u", "p", t)
            remote = f"{srv.address}/test/app:v1"
            await store.tag("app:v1", remote)
            pushed = await push(store, remote, t)
            assert pushed.digest == (await store.get(remote)).digest
            fresh = LocalImageStore(env / "fresh", builtins=False)
            pulled = await pull(fresh, remote, t)
            assert (pulled.id, pulled.digest) == (img.id, pushed.digest)
            # FROM an image that is only in the registry: the builder pulls it
            remote_ctx = env / "remote-ctx"
            remote_ctx.mkdir()
            (remote_ctx / "Dockerfile").write_text(f"FROM {remote}\nUSER root\nRUN test -f /srv/out.txt\n")
            elsewhere = LocalImageStore(env / "elsewhere")
            from_remote = Builder(elsewhere, state_dir=env / "runc", pull=lambda ref: pull(elsewhere, ref, t))
            built = await from_remote.build(BuildOptions(remote_ctx, tags=["derived:v1"]))
            assert built.image.diff_ids[: len(img.diff_ids)] == img.diff_ids

            # 7. real skopeo: inspect, copy to an OCI dir and back, read our store's layout
            out = json.loads(await _skopeo("inspect", "--tls-verify=false", "--creds", "u:p",
                                           f"docker://{remote}"))
            assert out["Digest"] == pushed.digest and "v1" in out["RepoTags"]
            oci_dir = env / "skopeo-oci"
            await _skopeo("copy", "--src-tls-verify=false", "--src-creds", "u:p", f"docker://{remote}",
                          f"oci:{oci_dir}:v1")
            await _skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "u:p", f"oci:{oci_dir}:v1",
                          f"docker://{srv.address}/test/copied:v1")
            back = await pull(LocalImageStore(env / "back", builtins=False), f"{srv.address}/test/copied:v1", t)
            assert (back.id, back.digest) == (img.id, pushed.digest)
            out = json.loads(await _skopeo("inspect", f"oci:{env / 'store'}:docker.io/library/app:v2"))
            assert out["Digest"] == result3.image.digest

        # 8. save/load round trips keep the digests (OCI archive and docker-archive)
        for fmt in ("oci", "docker"):
            path = env / f"app-{fmt}.tar"
            await archive.save(store, ["app:v1"], path, format=fmt)
            other = LocalImageStore(env / f"loaded-{fmt}", builtins=False)
            loaded = await archive.load(other, path)
            assert loaded.names == ["docker.io/library/app:v1"]
            got = await other.get("app:v1")
            assert got.id == img.id and got.digest == img.digest
        out = json.loads(await _skopeo("inspect", f"docker-archive:{env / 'app-docker.tar'}"))
        assert out["Layers"] and len(out["Layers"]) == len(img.diff_ids)

    asyncio.run(run())
