"""The runc runtime against the real thing: runc, conmon, catatonit, busybox, cgroup v1.

Every test runs in its own runtime root with its own cgroup root, and `RuncHarness.close()`
fails the test if any runc state, mount, cgroup directory or process is left behind.
"""

import asyncio
import os
from pathlib import Path

import pytest

from kubelite.kubelet.runtime import crilog, testsuite
from kubelite.kubelet.runtime.errors import CommandFailed
from kubelite.kubelet.runtime.interface import (
    ContainerReason,
    ContainerState,
    LinuxContainerResources,
    PodSandboxConfig,
    Seccomp,
    SecurityContext,
)
from kubelite.kubelet.runtime.testsuite import container_config, run_container, sandbox_config, wait_state, wait_until

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(testsuite.runc_missing_reason()), reason=testsuite.runc_missing_reason() or "ok"),
]

SERVE = "mkdir -p /www && echo served-by-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"


def run(tmp_path, body):
    async def main():
        h = testsuite.RuncHarness(tmp_path)
        try:
            await body(h)
        finally:
            await h.close()

    asyncio.run(main())


async def sh(rt, cid, script, timeout=10):
    code, out, err = await rt.exec_sync(cid, ["sh", "-c", script], timeout=timeout)
    return code, out.decode(), err.decode()


async def wget_until(rt, cid, url):
    result = {}

    async def ok():
        result["r"] = await sh(rt, cid, f"wget -q -O- {url}", timeout=5)  # busybox wget -T segfaults
        return result["r"][0] == 0

    await wait_until(ok, 10, 0.05)
    return result["r"][1]


def test_two_containers_share_localhost_hostname_and_ipc(tmp_path):
    async def body(h):
        rt = h.runtime
        sc = sandbox_config(h, "web-0")
        sid = await rt.run_pod_sandbox(sc)
        srv = await run_container(h, sid, sc, "srv", SERVE)
        cli = await run_container(h, sid, sc, "cli", "sleep 600")
        assert await wget_until(rt, cli, "http://127.0.0.1:8080/") == "served-by-web-0\n"
        assert (await sh(rt, cli, "hostname"))[1] == "web-0\n"
        assert "web-0" in (await sh(rt, cli, "cat /etc/hostname /etc/hosts"))[1]
        # one IPC namespace and one /dev/shm for the pod
        await sh(rt, srv, "echo shared > /dev/shm/token")
        assert (await sh(rt, cli, "cat /dev/shm/token"))[1] == "shared\n"
        # PID isolation: each container sees only its own processes
        _, ps, _ = await sh(rt, cli, "ps -o pid,comm")
        assert "httpd" not in ps and "pause" not in ps and " 1 sleep" in ps, ps
        assert (await rt.container_status(srv)).pid != (await rt.container_status(cli)).pid

    run(tmp_path, body)


def test_shared_process_namespace(tmp_path):
    async def body(h):
        rt = h.runtime
        sc = sandbox_config(h, "shared", share_process_namespace=True)
        sid = await rt.run_pod_sandbox(sc)
        srv = await run_container(h, sid, sc, "srv", SERVE)
        # a container whose init has children: stopping it must kill them all (runc kill --all)
        kids = await run_container(h, sid, sc, "kids", "sleep 600 & sleep 601 & wait")

        async def sees_all():
            _, ps, _ = await sh(rt, kids, "ps -o pid,comm")
            return "httpd" in ps and "pause" in ps

        await wait_until(sees_all, 5)
        _, ps, _ = await sh(rt, kids, "ps -o pid,comm")
        assert ps.splitlines()[1].split() == ["1", "pause"], ps
        await rt.stop_container(kids, 0)
        assert (await rt.container_status(kids)).exit_code == 137
        _, ps, _ = await sh(rt, srv, "ps -o comm")
        assert "sleep" not in ps and "httpd" in ps, ps

    run(tmp_path, body)


def test_oom_killed(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)   # conmon's `oom` marker must land in the bundle, not where the kubelet runs

    async def body(h):
        rt = h.runtime
        sc = sandbox_config(h, "oom")
        sid = await rt.run_pod_sandbox(sc)
        cid = await run_container(
            h, sid, sc, "hog", 'a=$(head -c 200000000 /dev/zero | tr "\\0" x); echo survived ${#a}',
            resources=LinuxContainerResources(memory_limit_in_bytes=32 << 20),
        )
        await wait_state(rt, cid, ContainerState.EXITED, 30)
        st = await rt.container_status(cid)
        assert (st.exit_code, st.reason) == (137, ContainerReason.OOM_KILLED), st

    run(tmp_path, body)
    assert list(cwd.iterdir()) == []


def test_pids_limit_stops_a_fork_bomb(tmp_path):
    async def body(h):
        rt = h.runtime
        sc = sandbox_config(h, "bomb")
        sid = await rt.run_pod_sandbox(sc)
        cid = await run_container(h, sid, sc, "bomb", "bomb() { bomb | bomb & }; bomb; sleep 600",
                                  resources=LinuxContainerResources(pids_limit=32, cpu_quota=20000, cpu_period=100000))

        async def at_limit():
            return (await rt.container_stats(cid)).pids >= 30

        await wait_until(at_limit, 10)
        await asyncio.sleep(0.5)
        assert (await rt.container_stats(cid)).pids <= 32
        assert (await rt.container_status(cid)).state == ContainerState.RUNNING
        await rt.stop_container(cid, 0)
        assert (await rt.container_status(cid)).exit_code == 137

    run(tmp_path, body)


def test_security_context(tmp_path):
    async def body(h):
        rt = h.runtime
        sc = sandbox_config(h, "sec")
        sid = await rt.run_pod_sandbox(sc)
        locked = await run_container(
            h, sid, sc, "locked", "sleep 600",
            security=SecurityContext(run_as_user=33, readonly_rootfs=True, capabilities_drop=["ALL"],
                                     no_new_privs=True, supplemental_groups=[7]),
        )
        uid, groups = (await sh(rt, locked, "id -u; id -G"))[1].splitlines()
        assert uid == "33" and sorted(groups.split()) == ["33", "50", "7"]
        code, _, err = await sh(rt, locked, "touch /x")
        assert code != 0 and "Read-only file system" in err
        status = (await sh(rt, locked, "cat /proc/self/status"))[1]
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        assert fields["CapEff"].strip() == "0000000000000000"
        assert fields["NoNewPrivs"].strip() == "1" and fields["Seccomp"].strip() == "2"
        assert (await sh(rt, locked, "cat /proc/kcore | wc -c"))[1].strip() == "0"  # masked
        default = await run_container(h, sid, sc, "default", "sleep 600")
        status = (await sh(rt, default, "grep -E '^(CapEff|Seccomp):' /proc/self/status"))[1]
        assert "00000000a80425fb" in status and "Seccomp:\t2" in status, status
        open_ = await run_container(h, sid, sc, "open", "sleep 600",
                                    security=SecurityContext(seccomp=Seccomp.UNCONFINED))
        assert "Seccomp:\t0" in (await sh(rt, open_, "grep Seccomp: /proc/self/status"))[1]

    run(tmp_path, body)


def test_termination_message_and_cannot_run(tmp_path):
    async def body(h):
        rt = h.runtime
        sc = sandbox_config(h, "term")
        sid = await rt.run_pod_sandbox(sc)
        cid = await run_container(h, sid, sc, "msg", "echo -n 'it broke' > /dev/termination-log; exit 2",
                                  termination_message_path="/dev/termination-log")
        await wait_state(rt, cid, ContainerState.EXITED)
        st = await rt.container_status(cid)
        assert (st.exit_code, st.reason, st.message) == (2, ContainerReason.ERROR, "it broke")
        cfg = container_config(h, "missing", "")
        cfg.command = ["/no/such/binary"]
        with pytest.raises(CommandFailed) as e:
            await rt.create_container(sid, cfg, sc)
        assert "no such file" in e.value.message.lower() or "not found" in e.value.message.lower()
        assert [c.id for c in await rt.list_containers()] == [cid]

    run(tmp_path, body)


def test_tty_exec_and_attach(tmp_path):
    async def body(h):
        rt = h.runtime
        sc = sandbox_config(h, "tty")
        sid = await rt.run_pod_sandbox(sc)
        main = await run_container(h, sid, sc, "main", "sleep 600")
        proc = await rt.exec(main, ["sh", "-c", "tty; sleep 0.5; stty size"], tty=True)
        await asyncio.sleep(0.2)
        await proc.resize(100, 40)
        async with asyncio.timeout(10):
            out = await proc.stdout.read()
            assert await proc.wait() == 0
        await proc.close()
        assert out.startswith(b"/dev/pts/") and out.endswith(b"\r\n40 100\r\n"), out
        # attach to a container reading stdin (stdinOnce: detaching closes its stdin)
        cat = await run_container(h, sid, sc, "cat", "cat", stdin=True, stdin_once=True)
        att = await rt.attach(cat, stdin=True)
        att.stdin.write(b"over the socket\n")
        await att.stdin.drain()
        async with asyncio.timeout(10):
            assert await att.stdout.readline() == b"over the socket\n"
        att.stdin.close()
        async with asyncio.timeout(10):
            assert await att.wait() == 0
        await att.close()
        st = await rt.container_status(cat)
        lines = await asyncio.to_thread(crilog.read_lines, Path(st.log_path))
        assert [(ln.stream, ln.content) for ln in lines] == [("stdout", b"over the socket")]

    run(tmp_path, body)


def test_reopen_log(tmp_path):
    async def body(h):
        rt = h.runtime
        sc = sandbox_config(h, "rotate")
        sid = await rt.run_pod_sandbox(sc)
        cid = await run_container(h, sid, sc, "ticker", "while true; do echo tick; sleep 0.05; done")
        log = Path((await rt.container_status(cid)).log_path)
        await wait_until(lambda: asyncio.to_thread(lambda: log.exists() and log.stat().st_size > 0), 5)
        rotated = log.with_name(log.name + ".20250101-000000")
        os.rename(log, rotated)
        await rt.reopen_container_log(cid)
        await wait_until(lambda: asyncio.to_thread(lambda: log.exists() and log.stat().st_size > 0), 5)
        assert crilog.read_lines(log)[0].content == b"tick"
        assert crilog.read_lines(rotated)[-1].content == b"tick"

    run(tmp_path, body)


def test_failed_sandbox_leaves_nothing(tmp_path):
    async def body(h):
        rt = h.runtime
        h.network.setup_error = RuntimeError("IPAM exhausted")
        with pytest.raises(Exception, match="IPAM exhausted"):
            await rt.run_pod_sandbox(sandbox_config(h, "doomed"))
        assert await rt.list_pod_sandbox() == []
        assert ("teardown_pod" in [c for c, _ in h.network.calls])
        bad = PodSandboxConfig(name="bad", namespace="n", uid="u", sysctls={"kernel.nope": "1"})
        with pytest.raises(CommandFailed):
            await rt.run_pod_sandbox(bad)
        assert await rt.list_pod_sandbox() == []

    run(tmp_path, body)


def test_pod_cgroup_limits_update_and_stats(tmp_path):
    async def body(h):
        rt = h.runtime
        sc = sandbox_config(h, "limits", qos_class="Burstable",
                            resources=LinuxContainerResources(cpu_shares=256, memory_limit_in_bytes=128 << 20,
                                                              pids_limit=200))
        sid = await rt.run_pod_sandbox(sc)
        pod = (await rt.pod_sandbox_status(sid)).cgroup_parent
        assert pod == f"/{h.prefix}/burstable/pod{sc.uid}"
        mem = Path("/sys/fs/cgroup/memory") / pod.lstrip("/")
        assert (mem / "memory.limit_in_bytes").read_text().strip() == str(128 << 20)
        assert (Path("/sys/fs/cgroup/cpu") / pod.lstrip("/") / "cpu.shares").read_text().strip() == "256"
        assert (Path("/sys/fs/cgroup/pids") / pod.lstrip("/") / "pids.max").read_text().strip() == "200"
        cid = await run_container(h, sid, sc, "c", "head -c 8000000 /dev/zero > /dev/shm/blob; sleep 600")
        assert (mem / cid / "memory.limit_in_bytes").exists()
        await rt.update_container_resources(cid, LinuxContainerResources(memory_limit_in_bytes=96 << 20))
        assert (mem / cid / "memory.limit_in_bytes").read_text().strip() == str(96 << 20)

        async def using_memory():
            return (await rt.container_stats(cid)).memory_working_set_bytes > 4_000_000

        await wait_until(using_memory, 10)
        stats = await rt.pod_stats(sid)
        assert stats.memory_working_set_bytes >= stats.containers[0].memory_working_set_bytes > 4_000_000
        assert stats.cpu_usage_core_nano_seconds > 0 and stats.containers[0].pids >= 1

    run(tmp_path, body)


AGENT = """
import asyncio, json, sys, time
from pathlib import Path
from kubelite.kubelet.network.fake import FakeNetworkPlugin
from kubelite.kubelet.runtime.interface import ContainerConfig, ContainerImage, PodSandboxConfig
from kubelite.kubelet.runtime.runc import RuncOptions, RuncRuntime

async def main():
    root, prefix, layer, logs = sys.argv[1:5]
    rt = RuncRuntime(RuncOptions(root=Path(root), cgroup_root=prefix), FakeNetworkPlugin())
    sc = PodSandboxConfig(name="orphan", namespace="suite", uid="uid-orphan", log_directory=logs)
    sid = await rt.run_pod_sandbox(sc)
    image = ContainerImage(image="busybox", lowerdirs=[layer])
    ids = []
    for name, script in (("server", "sleep 600"), ("brief", "sleep 1; exit 9")):
        cid = await rt.create_container(sid, ContainerConfig(name=name, image=image, command=["sh", "-c", script],
                                                             log_path=name + "/0.log"), sc)
        await rt.start_container(cid)
        ids.append(cid)
    print(json.dumps([sid, *ids]), flush=True)
    time.sleep(600)  # "running" until killed

asyncio.run(main())
"""


def test_containers_outlive_a_killed_agent(tmp_path):
    import json
    import signal
    import sys

    async def body(h):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", AGENT, str(h.options.root), h.prefix, h.image.lowerdirs[0], str(h.log_dir),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(30):
                sid, server, brief = json.loads(await proc.stdout.readline())
        finally:
            os.kill(proc.pid, signal.SIGKILL)  # the agent dies without cleaning anything up
            await proc.wait()
        await asyncio.sleep(1.5)  # `brief` exits while no agent runs
        rt = await h.reopen()
        assert (await rt.pod_sandbox_status(sid)).state.name == "READY"
        st = await rt.container_status(brief)
        assert (st.state, st.exit_code, st.reason) == (ContainerState.EXITED, 9, ContainerReason.ERROR)
        assert (await rt.container_status(server)).state == ContainerState.RUNNING
        assert (await sh(rt, server, "echo adopted"))[1] == "adopted\n"

    run(tmp_path, body)
