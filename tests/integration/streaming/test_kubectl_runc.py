"""The real kubectl against real containers (runc + busybox): a tty, kubectl cp both ways, attach,
logs of a real process, and port-forward into the pod's network namespace."""

import os
import pty
import select
import socket
import subprocess
import time

import pytest

from kubelite.testing import free_port, wait_until

pytestmark = [pytest.mark.root]

SPDY_EXEC = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
SPDY_PORT_FORWARD = {"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}


@pytest.fixture(scope="module")
def box(runc_cluster):
    # busybox nc: a concurrent TCP echo server on 8080 inside the pod's own network namespace
    runc_cluster.call(runc_cluster.add_pod("box", [("main", "echo booted; exec nc -ll -p 8080 -e cat")]))
    return "box"


def _run_in_pty(cluster, *args, env=None, timeout=30) -> tuple[int, bytes]:
    master, slave = pty.openpty()
    p = cluster.popen(*args, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: the other side is gone
                    break
                if not data:
                    break
                out += data
            elif p.poll() is not None:
                break
        return p.wait(10), out
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait(10)


@pytest.mark.parametrize("env", [{}, SPDY_EXEC], ids=["websocket", "spdy"])
def test_exec_it_gets_a_tty(runc_cluster, box, env):
    code, out = _run_in_pty(runc_cluster, "exec", "-it", box, "--", "sh", "-c", "tty; exit 5", env=env)
    assert code == 5, out
    assert b"/dev/pts/" in out


@pytest.mark.parametrize("env", [{}, SPDY_EXEC], ids=["websocket", "spdy"])
def test_exec_exit_code_and_stdin(runc_cluster, box, env):
    r = runc_cluster.kubectl("exec", box, "--", "sh", "-c", "ls /bin/busybox; exit 3", check=False, env=env)
    assert r.returncode == 3 and r.stdout == "/bin/busybox\n"
    r = runc_cluster.kubectl("exec", "-i", box, "--", "sh", "-c", "wc -c", input="x" * 300000, env=env)
    assert r.stdout.strip() == "300000"


@pytest.mark.parametrize("env", [{}, SPDY_EXEC], ids=["websocket", "spdy"])
def test_cp_both_ways(runc_cluster, box, env, tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(256 * 1024))
    runc_cluster.kubectl("cp", str(src), f"{box}:/tmp/data.bin", env=env)
    r = runc_cluster.kubectl("exec", box, "--", "sh", "-c", "wc -c < /tmp/data.bin", env=env)
    assert r.stdout.strip() == str(256 * 1024)
    back = tmp_path / "back.bin"
    runc_cluster.kubectl("cp", f"{box}:/tmp/data.bin", str(back), env=env)
    assert back.read_bytes() == src.read_bytes()


def test_attach_and_logs_follow(runc_cluster):
    runc_cluster.call(runc_cluster.add_pod("counter", [(
        "main", "sleep 2; i=0; while [ $i -lt 3 ]; do echo tick$i; i=$((i+1)); sleep 1; done")]))
    r = runc_cluster.kubectl("attach", "counter", timeout=60, check=False)
    assert "tick2" in r.stdout, (r.stdout, r.stderr)
    r = runc_cluster.kubectl("logs", "-f", "counter", timeout=60)
    assert r.stdout == "tick0\ntick1\ntick2\n"


@pytest.mark.parametrize("env", [{}, SPDY_PORT_FORWARD], ids=["websocket-tunnel", "spdy"])
def test_port_forward_into_the_pod_network_namespace(runc_cluster, box, env):
    wait_until(lambda: "booted" in runc_cluster.kubectl("logs", box).stdout, timeout=20)
    local = free_port()
    p = runc_cluster.popen("port-forward", f"pod/{box}", f"{local}:8080", env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().startswith(f"Forwarding from 127.0.0.1:{local} -> 8080")
        socks = [socket.create_connection(("127.0.0.1", local), timeout=10) for _ in range(3)]
        for i, s in enumerate(socks):
            s.sendall(b"hello %d\n" % i)
        for i, s in enumerate(socks):
            got = b""
            while not got.endswith(b"\n"):
                got += s.recv(100)
            assert got == b"hello %d\n" % i
        for s in socks:
            s.close()
    finally:
        p.terminate()
        p.wait(10)
