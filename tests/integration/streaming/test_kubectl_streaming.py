"""The real kubectl (and the Python client) against the API server proxying to a kubelet server
backed by the FakeRuntime: exec, attach, logs, port-forward, top — WebSocket first, SPDY fallback."""

import asyncio
import socket
import subprocess
import time

import pytest

from kubelite.testing import free_port, wait_until

from streamlab import echo_server

SPDY_EXEC = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
SPDY_PORT_FORWARD = {"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}


@pytest.fixture(scope="module")
def pod(cluster):
    cluster.call(cluster.add_pod("shell", [("main", "echo started; sleep 100000")]))
    cluster.call(cluster.add_pod("many", [("main", "echo l1; echo l2; echo l3; echo e1 >&2; sleep 100000"),
                                          ("side", "echo side-line; sleep 100000")]))
    cluster.call(cluster.add_pod("done", [("main", "exit 0")], phase="Succeeded"))
    return "shell"


# --- exec --------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", [{}, SPDY_EXEC], ids=["websocket", "spdy"])
def test_exec_exit_code(cluster, pod, env):
    r = cluster.kubectl("exec", pod, "--", "sh", "-c", "exit 3", check=False, env=env)
    assert r.returncode == 3, r.stderr
    assert "command terminated with exit code 3" in r.stderr


@pytest.mark.parametrize("env", [{}, SPDY_EXEC], ids=["websocket", "spdy"])
def test_exec_stdout_and_stderr(cluster, pod, env):
    r = cluster.kubectl("exec", pod, "--", "sh", "-c", "echo out; echo err >&2", env=env)
    assert r.stdout == "out\n" and r.stderr == "err\n"


@pytest.mark.parametrize("env", [{}, SPDY_EXEC], ids=["websocket", "spdy"])
def test_exec_with_piped_stdin(cluster, pod, env):
    r = cluster.kubectl("exec", "-i", pod, "--", "cat", input="line one\nline two\n", env=env)
    assert r.stdout == "line one\nline two\n"


def test_exec_errors(cluster, pod):
    r = cluster.kubectl("exec", pod, "-c", "nope", "--", "true", check=False)
    assert r.returncode == 1 and "container nope is not valid for pod shell" in r.stderr
    r = cluster.kubectl("exec", "ghost", "--", "true", check=False)
    assert r.returncode == 1 and 'pods "ghost" not found' in r.stderr
    r = cluster.kubectl("exec", "done", "--", "true", check=False)
    assert r.returncode == 1 and "cannot exec into a container in a completed pod; current phase is Succeeded" \
        in r.stderr


def test_client_disconnect_kills_the_exec(cluster, pod):
    handles = []
    real = cluster.runtime.exec

    async def recording_exec(*a, **kw):
        h = await real(*a, **kw)
        handles.append(h)
        return h

    cluster.runtime.exec = recording_exec
    try:
        p = cluster.popen("exec", pod, "--", "sleep", "100000", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until(lambda: handles, timeout=20, message="the exec to start")
        p.kill()
        p.wait(10)

        async def exited():
            return await asyncio.wait_for(handles[0].wait(), 10)

        assert cluster.call(exited()) == 137
    finally:
        cluster.runtime.exec = real


# --- attach ------------------------------------------------------------------------------------


def test_attach_streams_output_until_the_container_exits(cluster):
    cluster.call(cluster.add_pod("talker", [("main", "sleep 3; echo attached-output; sleep 1; exit 0")]))
    r = cluster.kubectl("attach", "talker", timeout=60, check=False)
    assert "attached-output" in r.stdout, (r.stdout, r.stderr)


# --- logs --------------------------------------------------------------------------------------


def test_logs_follow_streams_then_ends(cluster):
    cluster.call(cluster.add_pod("ticker", [("a", "echo one; sleep 2; echo two; exit 0"),
                                            ("b", "echo bee; sleep 100000")]))
    p = cluster.popen("logs", "-f", "ticker", "-c", "a", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    start = time.monotonic()
    assert p.stdout.readline() == b"one\n"
    first_at = time.monotonic() - start
    assert p.stdout.readline() == b"two\n"
    assert p.wait(30) == 0
    assert first_at < 1.8  # streamed (flushed) before the container ended, not all at the end


def test_logs_options(cluster, pod):
    wait_until(lambda: "e1" in cluster.kubectl("logs", "many", "-c", "main").stdout, timeout=20)
    assert cluster.kubectl("logs", "many", "-c", "main", "--tail=2").stdout == "l3\ne1\n"
    ts = cluster.kubectl("logs", "many", "-c", "main", "--timestamps", "--tail=1").stdout
    assert ts.endswith("Z e1\n") and ts[:4].isdigit()
    assert cluster.kubectl("logs", "many", "-c", "main", "--since=1h").stdout == "l1\nl2\nl3\ne1\n"
    assert cluster.kubectl("logs", "many", "-c", "main", "--limit-bytes=4").stdout == "l1\nl"
    both = cluster.kubectl("logs", "many", "--all-containers").stdout
    assert "l1\n" in both and "side-line\n" in both
    r = cluster.kubectl("logs", "many")
    assert r.stdout.startswith("l1\n") and 'Defaulted container "main" out of: main, side' in r.stderr
    r = cluster.kubectl("logs", "many", "-c", "main", "--previous", check=False)
    assert 'previous terminated container "main" in pod "many" not found' in r.stderr


def test_logs_of_a_waiting_container(cluster):
    cluster.call(cluster.add_pod("creating", [("main", "echo never")], phase="Pending", start=False))
    r = cluster.kubectl("logs", "creating", check=False)
    assert r.returncode == 1
    assert 'container "main" in pod "creating" is waiting to start: ContainerCreating' in r.stderr


def test_logs_of_a_deployment(cluster):
    cluster.call(cluster.add_pod("web-1", [("nginx", "echo from-web; sleep 100000")], labels={"app": "web"}))
    cluster.kubectl("create", "deployment", "web", "--image=nginx")  # selector app=web, no controller here
    wait_until(lambda: cluster.kubectl("logs", "deployment/web", check=False).stdout == "from-web\n", timeout=20)


# --- port-forward ------------------------------------------------------------------------------


def _forward(cluster, pod, remote, env):
    local = free_port()
    p = cluster.popen("port-forward", f"pod/{pod}", f"{local}:{remote}", env=env, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith(f"Forwarding from 127.0.0.1:{local} -> {remote}"), (line, p.stderr.read())
    return p, local


def _echo_three_at_once(local):
    socks = [socket.create_connection(("127.0.0.1", local), timeout=10) for _ in range(3)]
    payloads = [(b"conn-%d " % i) * 20000 for i in range(3)]  # ~140 KiB each: more than a SPDY window
    for s, data in zip(socks, payloads):
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    for s, data in zip(socks, payloads):
        got = b""
        while chunk := s.recv(65536):
            got += chunk
        assert got == data
        s.close()


@pytest.mark.parametrize("env", [{}, SPDY_PORT_FORWARD], ids=["websocket-tunnel", "spdy"])
def test_port_forward_three_concurrent_connections(cluster, pod, env):
    srv = cluster.call(echo_server())
    cluster.dialer_ports[7000] = srv.sockets[0].getsockname()[1]
    p, local = _forward(cluster, pod, 7000, env)
    try:
        _echo_three_at_once(local)
        _echo_three_at_once(local)  # the session outlives its connections
    finally:
        p.terminate()
        p.wait(10)
        cluster.loop.call_soon_threadsafe(srv.close)


@pytest.mark.parametrize("env", [{}, SPDY_PORT_FORWARD], ids=["websocket-tunnel", "spdy"])
def test_port_forward_refused_port(cluster, pod, env):
    p, local = _forward(cluster, pod, 7999, env)
    try:
        s = socket.create_connection(("127.0.0.1", local), timeout=10)
        assert s.recv(10) == b""
        s.close()
        assert p.wait(20) == 1
        err = p.stderr.read()
        assert "error forwarding port 7999 to pod" in err and "connection refused" in err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)


# --- the Python client -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def core_v1(cluster):
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    yield client.CoreV1Api(api)
    api.close()


def test_python_exec(core_v1, pod):
    from kubernetes.stream import stream

    out = stream(core_v1.connect_get_namespaced_pod_exec, pod, "default", command=["sh", "-c", "echo py"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    assert out == "py\n"
    ws = stream(core_v1.connect_get_namespaced_pod_exec, pod, "default", command=["cat"],
                stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
    assert ws.subprotocol == "v5.channel.k8s.io"
    ws.write_stdin("typed\n")
    assert ws.readline_stdout(timeout=10) == "typed"
    ws.close_channel(0)  # v5 close: stdin ends, cat exits
    ws.run_forever(timeout=10)
    assert ws.returncode == 0
    ws = stream(core_v1.connect_get_namespaced_pod_exec, pod, "default", command=["sh", "-c", "exit 7"],
                stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    ws.run_forever(timeout=10)
    assert ws.returncode == 7


def test_python_port_forward_and_logs(cluster, core_v1, pod):
    from kubernetes.stream import portforward

    srv = cluster.call(echo_server())
    cluster.dialer_ports[7001] = srv.sockets[0].getsockname()[1]
    try:
        pf = portforward(core_v1.connect_get_namespaced_pod_portforward, pod, "default", ports="7001")
        s = pf.socket(7001)
        s.settimeout(10)
        s.sendall(b"over the websocket\n")
        assert s.recv(100) == b"over the websocket\n"
        s.close()
        pf.close()
    finally:
        cluster.loop.call_soon_threadsafe(srv.close)
    assert core_v1.read_namespaced_pod_log(pod, "default").startswith("started\n")


# --- top ---------------------------------------------------------------------------------------


def test_top_pod_and_node(cluster, pod):
    def top_pod():
        r = cluster.kubectl("top", "pod", check=False)
        return r.returncode == 0 and r
    r = wait_until(top_pod, timeout=30, message="kubectl top pod")
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:]}
    assert rows[pod][1] == "50m" and rows[pod][2] == "20Mi"
    r = wait_until(lambda: (x := cluster.kubectl("top", "node", check=False)).returncode == 0 and x, timeout=30)
    header, row = r.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert row.split()[0] == "node1" and row.split()[2].endswith("%")


# --- the API server's own checks (kubectl validates some of these client-side first) -----------


@pytest.mark.parametrize("method,path,code,message", [
    ("GET", "/api/v1/namespaces/default/pods/shell/log?container=nope", 400,
     "container nope is not valid for pod shell"),
    ("GET", "/api/v1/namespaces/default/pods/many/log", 400,
     "a container name must be specified for pod many, choose one of: [main side]"),
    ("GET", "/api/v1/namespaces/default/pods/ghost/log", 404, 'pods "ghost" not found'),
    ("POST", "/api/v1/namespaces/default/pods/done/exec?command=true&stdout=true", 400,
     "cannot exec into a container in a completed pod; current phase is Succeeded"),
    ("POST", "/api/v1/namespaces/default/pods/shell/exec?command=true&stdout=true", 400,
     "Upgrade request required"),
    ("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/ghost", 404,
     'podmetrics.metrics.k8s.io "ghost" not found'),
], ids=["bad-container", "no-default", "no-pod", "completed", "no-upgrade", "no-metrics"])
def test_api_server_validation(cluster, pod, method, path, code, message):
    import json

    status, body = cluster.request(method, path)
    st = json.loads(body)
    assert (status, st["code"], st["message"]) == (code, code, message)
