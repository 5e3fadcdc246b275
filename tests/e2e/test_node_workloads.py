"""`kubelite server` with its host agent: real containers behind Services, DNS, NodePort, LoadBalancer,
exec, logs and port-forward, driven by the real kubectl. Everything is torn down with `kubelite reset`."""

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import pytest

from kubelite.testing import ServerProcess, wait_until

pytestmark = pytest.mark.root

HOST = "198.18.0.1"


@pytest.fixture(scope="module")
def node_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("kubelite-node") / "data"
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    s = ServerProcess(data, args=["--node-name", name])
    try:
        s.start()
        wait_until(lambda: '"True"' in s.kubectl("get", "node", name, "-o",
                                                  "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                                                  check=False).stdout.join('""'), timeout=60,
                   message="node Ready")
        yield s
    finally:
        try:
            s.kubectl("delete", "deployments,pods,services", "--all", "-n", "default", "--wait=true",
                      "--timeout=60s", check=False)
        except Exception:
            pass
        s.stop()
        subprocess.run([sys.executable, "-m", "kubelite.cli.main", "reset", "--data-dir", str(data),
                        "--node-name", name], capture_output=True, timeout=120)
        from kubelite.kubelet.volumes.mount import mount_points_under
        assert not mount_points_under(data), "kubelite reset left mounts behind"


def ready_pods(server, selector):
    out = json.loads(server.kubectl("get", "pods", "-l", selector, "-o", "json").stdout)
    return [p for p in out["items"] if any(c["type"] == "Ready" and c["status"] == "True"
                                           for c in p["status"].get("conditions", []))]


def run_client(server, name, script, timeout=60):
    server.kubectl("run", name, "--image=busybox", "--restart=Never", "--command", "--", "sh", "-c", script)
    wait_until(lambda: server.kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}").stdout
               in ("Succeeded", "Failed"), timeout=timeout, message=f"pod {name} finished")
    out = server.kubectl("logs", name).stdout
    server.kubectl("delete", "pod", name, "--wait=false")
    return out


def test_service_load_balances_across_replicas_by_dns(node_server):
    k = node_server.kubectl
    k("create", "deployment", "web", "--image=busybox", "--replicas=3", "--", "httpd", "-f", "-p", "8080", "-h",
      "/etc")
    k("expose", "deployment", "web", "--port=80", "--target-port=8080")
    wait_until(lambda: len(ready_pods(node_server, "app=web")) == 3, timeout=60, message="3 ready web pods")
    # The proxy programs at most one change a second after a burst (kube-proxy's minSyncPeriod), so the
    # last endpoint may reach the rules a moment after the pod is Ready: ask until all three answered.
    out = run_client(node_server, "client1",
                     "for i in $(seq 1 60); do wget -qO- http://web.default.svc.cluster.local/hostname; "
                     "[ $i -ge 30 ] && sleep 0.2; done")
    lines = out.split("\n")
    assert all(ln.startswith("web-") for ln in lines if ln), out     # every lookup and request succeeded
    names = set(ln for ln in lines if ln)
    assert len(names) == 3, out


def test_scale_to_zero_rejects_fast_and_back(node_server):
    k = node_server.kubectl
    k("scale", "deployment", "web", "--replicas=0")
    wait_until(lambda: not ready_pods(node_server, "app=web"), timeout=60)
    t = time.monotonic()
    out = run_client(node_server, "client0", "wget -qO- http://web/hostname; echo rc=$?")
    assert "rc=1" in out
    assert time.monotonic() - t < 30
    k("scale", "deployment", "web", "--replicas=2")
    wait_until(lambda: len(ready_pods(node_server, "app=web")) == 2, timeout=60)
    out = run_client(node_server, "client2", "wget -qO- http://web/hostname")
    assert out.strip().startswith("web-")


def test_nodeport_and_loadbalancer_from_the_host(node_server):
    k = node_server.kubectl
    k("expose", "deployment", "web", "--name=web-np", "--type=NodePort", "--port=80", "--target-port=8080")
    k("expose", "deployment", "web", "--name=web-lb", "--type=LoadBalancer", "--port=80", "--target-port=8080")
    np_ = int(k("get", "svc", "web-np", "-o", "jsonpath={.spec.ports[0].nodePort}").stdout)
    body = wait_until(lambda: urllib.request.urlopen(f"http://{HOST}:{np_}/hostname", timeout=3).read(), timeout=30)
    assert body.startswith(b"web-")
    lb = wait_until(lambda: k("get", "svc", "web-lb", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout,
                    timeout=30)
    assert lb.startswith("198.18.19") or lb.startswith("198.18.2")
    body = wait_until(lambda: urllib.request.urlopen(f"http://{lb}/hostname", timeout=3).read(), timeout=30)
    assert body.startswith(b"web-")


def test_exec_logs_and_port_forward(node_server):
    k = node_server.kubectl
    pod = ready_pods(node_server, "app=web")[0]["metadata"]["name"]
    r = k("exec", pod, "--", "sh", "-c", "hostname; exit 3", check=False)
    assert r.returncode == 3 and r.stdout.strip() == pod
    assert k("logs", "deployment/web").returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pf = subprocess.Popen(["kubectl", "port-forward", f"pod/{pod}", f"{port}:8080"], env=node_server.env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        got = wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname", timeout=3).read(),
                         timeout=30)
        assert got.decode().strip() == pod
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname", timeout=5).read())) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 3
    finally:
        pf.terminate()
        pf.wait(10)


def test_self_healing_replaces_deleted_pod(node_server):
    k = node_server.kubectl
    before = {p["metadata"]["name"] for p in ready_pods(node_server, "app=web")}
    victim = sorted(before)[0]
    k("delete", "pod", victim, "--wait=false")
    wait_until(lambda: len({p["metadata"]["name"] for p in ready_pods(node_server, "app=web")} - {victim}) == 2,
               timeout=60, message="a replacement pod")


def test_drain_respects_disruption_budget_then_uncordon(node_server):
    k = node_server.kubectl
    node = k("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").stdout
    k("scale", "deployment", "web", "--replicas=2")
    wait_until(lambda: len(ready_pods(node_server, "app=web")) == 2, timeout=60)
    k("create", "poddisruptionbudget", "web-pdb", "--selector=app=web", "--min-available=2")
    wait_until(lambda: k("get", "pdb", "web-pdb", "-o", "jsonpath={.status.currentHealthy}").stdout == "2",
               timeout=30, message="PDB status")
    r = k("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--pod-selector=app=web",
          "--timeout=8s", check=False, timeout=60)
    assert r.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget" in r.stdout + r.stderr
    assert "SchedulingDisabled" in k("get", "node", node).stdout
    assert len(ready_pods(node_server, "app=web")) == 2  # nothing was evicted
    k("delete", "pdb", "web-pdb")
    r = k("drain", node, "--ignore-daemonsets", "--force", "--pod-selector=app=web", "--timeout=60s",
          timeout=90)
    assert "evicted" in r.stdout and "drained" in r.stdout
    k("uncordon", node)
    assert "SchedulingDisabled" not in k("get", "node", node).stdout
    wait_until(lambda: len(ready_pods(node_server, "app=web")) == 2, timeout=90, message="pods back after uncordon")
