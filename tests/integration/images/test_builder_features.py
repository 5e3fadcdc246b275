"""Builder features on the real data plane: ADD archives, --chown/--chmod, wildcards, heredocs,
ONBUILD, scratch, metadata instructions, ENTRYPOINT/CMD rules; and the CLI commands."""

import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubelite.images.builder import BuildError, BuildOptions, Builder
from kubelite.images.store import LocalImageStore

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (overlay mounts, runc)"),
    pytest.mark.skipif(not all(shutil.which(b) for b in ("runc", "busybox", "catatonit")),
                       reason="needs runc, busybox-static and catatonit"),
]


def run(coro):
    import asyncio

    return asyncio.run(coro)


@pytest.fixture
def builder(tmp_path):
    store = LocalImageStore(tmp_path / "store")
    yield Builder(store, state_dir=tmp_path / "runc")
    for m in Path("/proc/self/mounts").read_text().splitlines():
        assert str(tmp_path) not in m, f"mount left behind: {m}"
    assert list(Path("/sys/fs/cgroup").glob("*/kubelite-build-*")) == []


def write_ctx(tmp_path, dockerfile, files=None):
    ctx = tmp_path / f"ctx{len(list(tmp_path.glob('ctx*')))}"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, data in (files or {}).items():
        p = ctx / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return ctx


def test_add_copy_flags_heredoc_and_metadata(tmp_path, builder):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("pkg/bin/tool")
        data = b"#!/bin/sh\necho tool\n"
        info.size, info.mode, info.uid, info.gid = len(data), 0o755, 42, 43
        tf.addfile(info, io.BytesIO(data))
    df = """\
FROM busybox
ADD bundle.tar.gz /opt/
COPY --chown=nobody:nobody --chmod=0640 conf/*.ini /etc/app/
COPY <<EOF /etc/motd
welcome $NAME
EOF
ENV NAME=kube
RUN <<EOF
set -e
test "$(cat /opt/pkg/bin/tool | tail -1)" = "echo tool"
test "$(stat -c '%u:%g %a' /opt/pkg/bin/tool)" = "42:43 755"
test "$(stat -c '%u:%g %a' /etc/app/a.ini)" = "65534:65534 640"
test -f /etc/app/b.ini && ! test -e /etc/app/c.txt
grep -q 'welcome' /etc/motd
ip link show lo | grep -q UP
test "$(ip -o link | wc -l)" = 1
EOF
EXPOSE 80 53/udp
VOLUME ["/data"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=10s --retries=2 CMD wget -q -O- http://localhost/ || exit 1
ONBUILD RUN echo triggered > /onbuild.txt
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT exec /bin/httpd -f
"""
    ctx = write_ctx(tmp_path, df, {"bundle.tar.gz": buf.getvalue(), "conf/a.ini": b"a", "conf/b.ini": b"b",
                                   "conf/c.txt": b"c"})
    img = run(builder.build(BuildOptions(ctx, tags=["feat:v1"]))).image
    c = img.container_config
    assert c["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert c["Volumes"] == {"/data": {}} and c["StopSignal"] == "SIGQUIT"
    assert c["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- http://localhost/ || exit 1"],
                                "Interval": 10_000_000_000, "Retries": 2}
    assert c["OnBuild"] == ["RUN echo triggered > /onbuild.txt"]
    assert c["Entrypoint"] == ["/bin/sh", "-ec", "exec /bin/httpd -f"] and "Cmd" not in c  # ENTRYPOINT resets CMD
    assert c["Shell"] == ["/bin/sh", "-ec"]

    child = write_ctx(tmp_path, "FROM feat:v1\nRUN test \"$(cat /onbuild.txt)\" = triggered\nCMD [\"x\"]\n")
    img2 = run(builder.build(BuildOptions(child, tags=["child:v1"]))).image
    assert "OnBuild" not in img2.container_config and img2.container_config["Cmd"] == ["x"]


def test_scratch_wildcard_dirs_and_build_args(tmp_path, builder):
    df = """\
ARG VERSION=1
FROM scratch
ARG VERSION
LABEL version=$VERSION
COPY files/ /
COPY --from=busybox /bin/busybox /bin/
"""
    ctx = write_ctx(tmp_path, df, {"files/etc/hello": b"hi", "files/srv/x": b"x"})
    res = run(builder.build(BuildOptions(ctx, tags=["scratchy"], build_args={"VERSION": "7", "UNUSED": "1"})))
    c = res.image.container_config
    assert c["Labels"] == {"version": "7"} and c["Env"][0].startswith("PATH=")
    assert any("UNUSED" in w for w in res.warnings)
    assert len(res.image.diff_ids) == 2


def test_errors_point_at_lines(tmp_path, builder):
    cases = [
        ("FROM busybox\nCOPY missing.txt /x\n", 2, "not found"),
        ("FROM busybox\nUSER nosuchuser\nRUN true\n", 3, "unable to find user nosuchuser"),
        ("FROM busybox AS a\nCOPY --from=nostage /x /x\n", 2, "nostage"),
        ("FROM localhost:1/none:v1\n", 1, "localhost:1/none:v1"),
        ("FROM busybox\nCOPY --chown=ghost a /a\n", 2, "can't find uid for user ghost"),
    ]
    for text, line, msg in cases:
        ctx = write_ctx(tmp_path, text)
        (ctx / "a").write_text("a")
        with pytest.raises(BuildError) as e:
            run(builder.build(BuildOptions(ctx)))
        assert e.value.line == line and msg in str(e.value), str(e.value)


@pytest.fixture
def default_state_dir():
    """The CLI's builder uses /run/kubelite/build-runc: remove it afterwards if this test made it."""
    state = Path("/run/kubelite/build-runc")
    existed = state.exists()
    yield
    if not existed and state.is_dir() and not any(state.iterdir()):
        state.rmdir()
        if not any(state.parent.iterdir()):
            state.parent.rmdir()


def test_cli_build_images_history_save_load_rmi(tmp_path, default_state_dir):
    from kubelite.cli.main import main

    root = str(tmp_path / "store")
    ctx = write_ctx(tmp_path, "FROM busybox\nRUN echo hi > /hi\nCMD [\"cat\", \"/hi\"]\n")
    runner = CliRunner()
    env = {"KUBELITE_IMAGE_ROOT": root}
    r = runner.invoke(main, ["build", "--progress", "plain", "-t", "cli:v1", str(ctx)], env=env)
    assert r.exit_code == 0, r.output
    assert "[stage-0 2/3] RUN echo hi > /hi" in r.output and r.output.strip().splitlines()[-1].startswith("sha256:")
    r = runner.invoke(main, ["images"], env=env)
    assert r.exit_code == 0 and "cli" in r.output and "v1" in r.output and "busybox" in r.output
    r = runner.invoke(main, ["history", "cli:v1"], env=env)
    assert "RUN /bin/sh -c echo hi > /hi # buildkit" in r.output
    r = runner.invoke(main, ["inspect", "cli:v1"], env=env)
    doc = json.loads(r.output)[0]
    assert doc["RepoTags"] == ["cli:v1"] and doc["Config"]["Cmd"] == ["cat", "/hi"]
    r = runner.invoke(main, ["tag", "cli:v1", "cli:v2"], env=env)
    assert r.exit_code == 0
    out = tmp_path / "cli.tar"
    r = runner.invoke(main, ["save", "-o", str(out), "cli:v1"], env=env)
    assert r.exit_code == 0 and out.exists()
    r = runner.invoke(main, ["rmi", "cli:v1", "cli:v2"], env=env)
    assert "Untagged: cli:v1" in r.output and "Deleted: sha256:" in r.output
    r = runner.invoke(main, ["load", "-i", str(out)], env=env)
    assert "Loaded image: cli:v1" in r.output
    r = runner.invoke(main, ["rmi", "nothere:v9"], env=env)
    assert r.exit_code == 1 and "No such image" in r.output
    r = runner.invoke(main, ["build", "--progress", "plain", str(write_ctx(tmp_path, "FROM busybox\nRUN exit 4\n"))],
                      env=env)
    assert r.exit_code == 1 and "exit code: 4" in r.output and ">>> RUN exit 4" in r.output
    r = runner.invoke(main, ["prune", "-a", "-f"], env=env)
    assert r.exit_code == 0 and "Total reclaimed space" in r.output


def test_add_url_and_dockerignore(tmp_path, builder):
    import asyncio

    from aiohttp import web

    async def tool(request):
        return web.Response(body=b"echo downloaded\n", headers={"Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"})

    async def main():
        app = web.Application()
        app.router.add_get("/files/tool.sh", tool)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            df = f"""\
FROM busybox
ADD http://127.0.0.1:{port}/files/tool.sh /opt/
COPY . /ctx/
RUN test "$(cat /opt/tool.sh)" = "echo downloaded" && test "$(stat -c %a /opt/tool.sh)" = 600 \\
 && test "$(stat -c %Y /opt/tool.sh)" = 1445412480 \\
 && test -f /ctx/keep.txt && ! test -e /ctx/debug.log && ! test -e /ctx/tmp && test -f /ctx/tmp2/keep
"""
            ctx = write_ctx(tmp_path, df, {"keep.txt": b"k", "debug.log": b"d", "tmp/x": b"x", "tmp2/keep": b"k"})
            (ctx / ".dockerignore").write_text("*.log\ntmp\n")
            await builder.build(BuildOptions(ctx))
        finally:
            await runner.cleanup()

    run(main())
