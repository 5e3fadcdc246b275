"""A real 3-node local cluster (`kubelite cluster create --nodes 3`), driven by kubectl: nodes with
their addresses, a Deployment spread over the nodes, pod-to-pod traffic across nodes with the
source address preserved, a Service, node failure (agent killed, link cut) with rescheduling
within the toleration, a clean rejoin, and a delete that leaves nothing behind (also after a
crash that lost the state file)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from kubelite.testing import kubectl_env, wait_until

pytestmark = [pytest.mark.root, pytest.mark.slow]

GRACE = 6          # node_monitor_grace_period (s)
TOLERATION = 5     # tolerationSeconds of the test pods for not-ready/unreachable


def _missing() -> str:
    try:
        from kubelite.agent.testing import missing_reason
    except ImportError:
        return "kubelite.agent is not available yet"
    return missing_reason()


if _missing():
    pytestmark.append(pytest.mark.skip(reason=_missing()))


class Cluster:
    def __init__(self, name: str, home: Path):
        self.name = name
        self.home = home
        self.env = {**os.environ, "KUBELITE_CLUSTERS_HOME": str(home)}
        self.kubeconfig = home / name / "server" / "admin.kubeconfig"
        self.kenv = {**kubectl_env(self.kubeconfig), "KUBELITE_CLUSTERS_HOME": str(home)}

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        r = subprocess.run([sys.executable, "-m", "kubelite.cli.main", "cluster", *args], capture_output=True,
                           text=True, env=self.env, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"kubelite cluster {' '.join(args)}: {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        r = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=self.kenv, input=input, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def json(self, *args: str) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def state(self):
        from kubelite.cluster.state import ClusterState

        return ClusterState.load(self.home / self.name / "cluster.json")

    def pod_log(self, pod: str) -> str:
        """A container's log read from the node's disk (CRI format, messages only)."""
        for f in (self.home / self.name / "nodes").glob(f"*/logs/*_{pod}_*/*/*.log"):
            return "\n".join(line.split(" ", 3)[3] for line in f.read_text().splitlines() if line.count(" ") >= 3)
        return ""

    def logs(self) -> str:
        """The tails of the control plane's and the agents' logs (for a failure message)."""
        out = []
        for f in sorted((self.home / self.name).glob("**/*.log")):
            if f.name in ("control-plane.log", "agent.log"):
                out.append(f"--- {f}\n{f.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)

    def leftovers(self) -> list[str]:
        from kubelite.cluster.manager import leftovers

        os.environ["KUBELITE_CLUSTERS_HOME"] = str(self.home)
        return leftovers(self.name)


def node_ready(node: dict) -> str:
    return next((c["status"] for c in node["status"].get("conditions", []) if c["type"] == "Ready"), "")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    home = tmp_path_factory.mktemp("clusters")
    c = Cluster(f"e2e{uuid.uuid4().hex[:5]}", home)
    t0 = time.monotonic()
    try:
        r = c.cli("create", "--name", c.name, "--nodes", "3", "--timeout", "60", "--retain",
              "--write-kubeconfig", str(home / "user.kubeconfig"),
              "--controller-option", f"node_monitor_grace_period={GRACE}",
              "--controller-option", "node_monitor_period=1",
              "--controller-option", "node_startup_grace_period=30",
              "--controller-option", "node_eviction_rate=10",
              "--kubelet-option", "node_lease_duration_seconds=6",
              "--kubelet-option", "node_status_update_frequency=1",
              # the kubelet compares node status with what it last posted, not with the server's
              # (which the node controller changed to Unknown): without a short report period a
              # healed node stays NotReady for up to 5 minutes (see the issue 8 report)
              "--kubelet-option", "node_status_report_frequency=3", check=False)
        assert r.returncode == 0, f"{r.stderr}\n{c.logs()}"
        c.create_seconds = time.monotonic() - t0
        yield c
    finally:
        r = c.cli("delete", "--name", c.name, check=False)
        left = c.leftovers()
        assert r.returncode == 0, r.stderr
        assert left == [], f"left behind: {left}"
        assert not (home / "user.kubeconfig").exists()


def test_nodes_have_their_addresses(cluster):
    nodes = cluster.json("get", "nodes")["items"]
    got = {n["metadata"]["name"]: [a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP"]
           for n in nodes}
    st = cluster.state()
    from kubelite.cluster.layout import Layout

    lay = Layout(cluster.name, st.slot)
    assert got == {lay.node_name(x): [lay.node_ip(x)] for x in (1, 2, 3)}
    assert all(node_ready(n) == "True" for n in nodes)
    cidrs = [n["spec"]["podCIDR"] for n in nodes]
    assert len(set(cidrs)) == 3, cidrs  # no two nodes overlap
    out = cluster.kubectl("get", "nodes", "-o", "wide").stdout
    for x in (1, 2, 3):
        assert lay.node_ip(x) in out
    assert cluster.create_seconds < 30, f"create took {cluster.create_seconds:.1f}s"
    # the nodes joined with the token, each with its own identity
    csrs = cluster.json("get", "csr")["items"]
    assert sorted(c["spec"]["username"].split(":")[1] for c in csrs) == ["bootstrap"] * 3
    listed = cluster.cli("list").stdout
    assert cluster.name in listed and "running" in listed and "user.kubeconfig" in listed
    r = subprocess.run(["kubectl", "get", "nodes", "-o", "name"], capture_output=True, text=True, timeout=30,
                       env=kubectl_env(cluster.home / "user.kubeconfig"))
    assert r.returncode == 0 and r.stdout.count("node/") == 3


def test_second_agent_with_a_taken_node_name_is_refused(cluster, tmp_path):
    from kubelite.cluster import manager
    from kubelite.cluster.layout import Layout

    st = cluster.state()
    lay = Layout(cluster.name, st.slot)
    cfg = json.loads((manager.node_dir(st, 1) / "config.json").read_text())
    cfg.update(kubeconfig=str(tmp_path / "dup.kubeconfig"), data_dir=str(tmp_path / "data"),
               run_dir=str(tmp_path / "run"), log_dir=str(tmp_path / "logs"), image_dir=str(tmp_path / "images"),
               join_timeout=30)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    # another agent, on another "machine" (node 2's namespace), claims node 1's name with a valid token
    r = subprocess.run(["nsenter", f"--net={lay.netns_path(2)}", "--", sys.executable, "-m", "kubelite.cluster.node",
                        str(tmp_path / "config.json")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr[-2000:]
    assert f'node {lay.node_name(1)} cannot join' in r.stderr and "NodeNameInUse" in r.stderr, r.stderr[-2000:]
    assert "agent is alive" in r.stderr
    assert not (tmp_path / "dup.kubeconfig").exists()
    assert node_ready(cluster.json("get", "node", lay.node_name(1))) == "True"


ECHO_IP = ("mkdir -p /tmp/www/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\n"
           "echo $REMOTE_ADDR\\n' > /tmp/www/cgi-bin/ip && chmod +x /tmp/www/cgi-bin/ip && "
           "exec httpd -f -p 8080 -h /tmp/www")


def _pod(name: str, node: str, command: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                     "command": ["sh", "-c", command]}]}}


def test_pod_to_pod_across_nodes_keeps_the_source_address(cluster):
    from kubelite.cluster.layout import Layout

    lay = Layout(cluster.name, cluster.state().slot)
    server = _pod("echo-ip", lay.node_name(3), ECHO_IP, {"app": "echo-ip"})
    cluster.kubectl("apply", "-f", "-", input=json.dumps(server))
    cluster.kubectl("wait", "--for=condition=Ready", "pod/echo-ip", "--timeout=60s")
    server_ip = cluster.json("get", "pod", "echo-ip")["status"]["podIP"]
    client_cmd = f"while true; do timeout 3 wget -qO- http://{server_ip}:8080/cgi-bin/ip; sleep 0.5; done"
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_pod("client", lay.node_name(1), client_cmd)))
    cluster.kubectl("wait", "--for=condition=Ready", "pod/client", "--timeout=60s")
    client_ip = cluster.json("get", "pod", "client")["status"]["podIP"]
    assert client_ip.rsplit(".", 1)[0] != server_ip.rsplit(".", 1)[0]  # different nodes' pod CIDRs
    wait_until(lambda: client_ip in cluster.pod_log("client"), timeout=30,
               message=f"the server saw the client as {client_ip}: {cluster.pod_log('client')!r}")
    # and through a Service (needs the Service proxy on the nodes)
    cluster.kubectl("expose", "pod", "echo-ip", "--name", "echo-ip", "--port", "80", "--target-port", "8080")
    svc_ip = cluster.json("get", "service", "echo-ip")["spec"]["clusterIP"]
    via_svc = f"while true; do timeout 3 wget -qO- http://{svc_ip}/cgi-bin/ip && echo via-service; sleep 0.5; done"
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_pod("client-svc", lay.node_name(2), via_svc)))
    cluster.kubectl("wait", "--for=condition=Ready", "pod/client-svc", "--timeout=60s")
    wait_until(lambda: "via-service" in cluster.pod_log("client-svc"), timeout=30,
               message=f"reply through the Service: {cluster.pod_log('client-svc')!r}")
    cluster.kubectl("delete", "pod", "client", "client-svc", "echo-ip", "--wait=false")
    cluster.kubectl("delete", "service", "echo-ip")


def _container_pids(cluster, x: int) -> set[int]:
    """PIDs of the processes in node x's pod network namespaces (its containers)."""
    from kubelite.cluster.layout import Layout
    from kubelite.cluster.manager import processes_in_netns

    lay = Layout(cluster.name, cluster.state().slot)
    ns_dir = Path("/var/run/netns")
    inodes = {(ns_dir / n).stat().st_ino for n in os.listdir(ns_dir) if n.startswith(lay.pod_netns_prefix(x) + "-")}
    return set(processes_in_netns(inodes))


def test_partition_keeps_containers_and_reconciles_when_healed(cluster):
    import asyncio

    from kubelite.cluster import manager
    from kubelite.cluster.layout import Layout

    lay = Layout(cluster.name, cluster.state().slot)
    node = lay.node_name(3)
    for name in ("keep", "doomed"):
        cluster.kubectl("apply", "-f", "-", input=json.dumps(_pod(name, node, "sleep 3600")))
    cluster.kubectl("wait", "--for=condition=Ready", "pod/keep", "pod/doomed", "--timeout=60s")

    def settled():  # earlier tests' pods on this node are gone, its container set is stable
        others = [p for p in cluster.json("get", "pods")["items"]
                  if p["spec"].get("nodeName") == node and p["metadata"]["name"] not in ("keep", "doomed")]
        first = _container_pids(cluster, 3)
        time.sleep(0.5)
        return not others and first == _container_pids(cluster, 3) and first

    before = wait_until(settled, timeout=60, message="node3 runs only this test's pods")
    st = cluster.state()
    asyncio.run(manager.cut_link(st, 3, up=False))   # the agent lives on, cut off from the API server
    try:
        wait_until(lambda: node_ready(cluster.json("get", "node", node)) != "True", timeout=GRACE + 15,
                   message=f"{node} NotReady while partitioned")
        # while cut off: a pod is deleted (it can only finish once the node hears of it)
        cluster.kubectl("delete", "pod", "doomed", "--wait=false")
        time.sleep(2)
        assert _container_pids(cluster, 3) == before, "containers must keep running during a partition"
        assert manager.ClusterState.load(st.path).process("node3").alive()
    finally:
        asyncio.run(manager.cut_link(st, 3, up=True))
    wait_until(lambda: node_ready(cluster.json("get", "node", node)) == "True", timeout=60, message="healed")
    wait_until(lambda: cluster.kubectl("get", "pod", "doomed", check=False).returncode != 0, timeout=60,
               message="the pod deleted during the partition is gone after it healed")
    keep = cluster.json("get", "pod", "keep")
    assert keep["status"]["phase"] == "Running" and keep["status"]["containerStatuses"][0]["restartCount"] == 0
    wait_until(lambda: len(_container_pids(cluster, 3)) < len(before), timeout=30,
               message="the deleted pod's containers were stopped")
    cluster.kubectl("delete", "pod", "keep", "--wait=false")


DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "spread"},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "spread"}},
             "template": {"metadata": {"labels": {"app": "spread"}}, "spec": {
                 "terminationGracePeriodSeconds": 1,
                 "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                "whenUnsatisfiable": "ScheduleAnyway",
                                                "labelSelector": {"matchLabels": {"app": "spread"}}}],
                 "tolerations": [{"key": k, "operator": "Exists", "effect": "NoExecute",
                                  "tolerationSeconds": TOLERATION}
                                 for k in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")],
                 "containers": [{"name": "web", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                 "command": ["httpd", "-f", "-p", "8080", "-h", "/etc"]}]}}}}


def _running_by_node(cluster) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in cluster.json("get", "pods", "-l", "app=spread")["items"]:
        if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp"):
            out.setdefault(p["spec"]["nodeName"], []).append(p["metadata"]["name"])
    return out


def test_node_failure_reschedules_and_node_rejoins_cleanly(cluster):
    import asyncio

    from kubelite.cluster import manager
    from kubelite.cluster.layout import Layout

    lay = Layout(cluster.name, cluster.state().slot)
    cluster.kubectl("apply", "-f", "-", input=json.dumps(DEPLOYMENT))
    wait_until(lambda: sum(map(len, _running_by_node(cluster).values())) == 3, timeout=60, message="3 pods running")
    spread = _running_by_node(cluster)
    assert len(spread) == 3, f"the Deployment's pods are not spread over the nodes: {spread}"
    victim = lay.node_name(2)
    old_pods = spread[victim]
    os.environ["KUBELITE_CLUSTERS_HOME"] = str(cluster.home)
    st = cluster.state()
    csrs_before = len(cluster.json("get", "csr")["items"])
    t0 = time.monotonic()
    asyncio.run(manager.stop_node(st, 2, cut_link=True))
    wait_until(lambda: node_ready(cluster.json("get", "node", victim)) != "True", timeout=GRACE + 15,
               message=f"{victim} NotReady")
    t_notready = time.monotonic() - t0

    def replaced():
        running = _running_by_node(cluster)
        return sum(len(v) for k, v in running.items() if k != victim) == 3

    wait_until(replaced, timeout=GRACE + TOLERATION + 30, message="pods rescheduled on the survivors")
    t_failover = time.monotonic() - t0
    assert t_failover < GRACE + TOLERATION + 15, f"failover took {t_failover:.1f}s"
    # containers of the stopped node keep running while it is cut off (the agent is gone, not them)
    runc_root = manager.node_dir(cluster.state(), 2) / "run" / "runtime" / "runc"
    assert runc_root.is_dir() and any(runc_root.iterdir()), "the node's containers should still exist"
    # the node comes back: link up, agent restarted with the identity it had
    asyncio.run(manager.start_node(st, 2))
    wait_until(lambda: node_ready(cluster.json("get", "node", victim)) == "True", timeout=60, message="rejoined")
    assert len(cluster.json("get", "csr")["items"]) == csrs_before, \
        "the node rejoined with its own credentials, not a new certificate request"

    def stale_gone():
        pods = [p["metadata"]["name"] for p in cluster.json("get", "pods", "-l", "app=spread")["items"]
                if p["spec"].get("nodeName") == victim]
        sandboxes = list(runc_root.iterdir()) if runc_root.is_dir() else []
        return not (set(old_pods) & set(pods)) and not sandboxes

    wait_until(stale_gone, timeout=60, message="stale pods and their containers cleaned up on the rejoined node")
    print(f"\nNotReady after {t_notready:.1f}s, replaced after {t_failover:.1f}s "
          f"(grace {GRACE}s + toleration {TOLERATION}s)")
    cluster.kubectl("delete", "deployment", "spread")


def test_delete_after_a_crash_without_state(tmp_path):
    from kubelite.cluster.layout import Layout

    c = Cluster(f"crash{uuid.uuid4().hex[:4]}", tmp_path)
    try:
        c.cli("create", "--name", c.name, "--nodes", "1", "--timeout", "60")
        lay = Layout(c.name, c.state().slot)
        c.kubectl("apply", "-f", "-", input=json.dumps(_pod("p", lay.node_name(1), "sleep 3600")))
        c.kubectl("wait", "--for=condition=Ready", "pod/p", "--timeout=60s")
        st = c.state()
        for p in st.processes:  # the whole thing crashes...
            os.kill(p.pid, signal.SIGKILL)
        (tmp_path / c.name / "cluster.json").unlink()  # ...and its state is lost
        (tmp_path / f"{c.name}.json").unlink()
        assert c.leftovers(), "there should be something to clean up"
        r = c.cli("delete", "--name", c.name, "-v")
        assert "netns" in r.stdout and "process" in r.stdout
        assert c.leftovers() == []
        routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
        assert lay.node_ip(1) not in routes
    finally:
        c.cli("delete", "--name", c.name, check=False)


def test_failed_create_reports_and_leaves_nothing(tmp_path):
    from kubelite.testing import free_port

    c = Cluster(f"bad{uuid.uuid4().hex[:4]}", tmp_path)
    dead = f"etcd://127.0.0.1:{free_port()}"
    r = c.cli("create", "--name", c.name, "--nodes", "1", "--datastore", dead, "--timeout", "10", check=False)
    assert r.returncode == 1
    assert "control plane" in r.stderr and "nothing was left behind" in r.stderr, r.stderr
    assert c.leftovers() == []
    assert not (tmp_path / c.name).exists()
    r = c.cli("create", "--name", "Bad_Name", check=False)
    assert r.returncode == 1 and "invalid cluster name" in r.stderr
