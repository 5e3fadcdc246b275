"""Pods on a real node agent (`kubelite agent` as its own process, runc + CNI, on a throwaway
node network namespace) driven by the real kubectl against the session's `kubelite server`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from kubelite.agent.testing import NodeEnv, missing_reason

pytestmark = pytest.mark.root
SKIP = missing_reason()


def wait(pred, timeout=60.0, interval=0.2, message=""):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # keep polling until the deadline
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out: {message} (last: {last!r})")


@pytest.fixture(scope="module")
def node(server, tmp_path_factory):
    if SKIP:
        pytest.skip(SKIP)
    base = tmp_path_factory.mktemp("agent")
    env = NodeEnv(base / "node", base / "images")
    env.base.mkdir(parents=True)
    env.create()
    argv = [sys.executable, "-m", "kubelite.cli.main", "agent", "--kubeconfig", str(server.kubeconfig),
            "--node-name", env.node_name, "--data-dir", str(env.data_dir), "--run-dir", str(env.run_dir),
            "--log-dir", str(env.log_dir), "--image-dir", str(env.image_dir), "--cgroup-root", env.cgroup_root,
            "--node-ip", "198.18.0.2", "--node-netns", env.netns, "--host-bridge", "",
            "--cni-bridge", f"{env.prefix}br", "--netns-prefix", env.prefix, "--pod-cidr", env.pod_cidr]
    log = open(base / "agent.log", "wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        def ready():
            assert proc.poll() is None, (base / "agent.log").read_text()
            out = server.kubectl("get", "node", env.node_name, "-o", "json", check=False)
            if out.returncode:
                return False
            conds = json.loads(out.stdout)["status"]["conditions"]
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
        wait(ready, message="node Ready")
        yield env
    finally:
        server.kubectl("delete", "pods", "-A", "--field-selector", f"spec.nodeName={env.node_name}",
                       "--grace-period=1", "--wait=true", check=False, timeout=120)
        runtime = env.run_dir / "runtime"
        try:
            wait(lambda: not any((runtime / d).is_dir() and any((runtime / d).iterdir())
                                 for d in ("sandboxes", "containers")), timeout=60, message="agent cleanup")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            left = env.leftovers()
            env.destroy()
        server.kubectl("delete", "node", env.node_name, check=False)
        assert not left, f"left behind: {left}"


def run_pod(kubectl, ns, node, name, *args, image="busybox", restart="Never", **spec):
    overrides = json.dumps({"apiVersion": "v1", "spec": {"nodeName": node.node_name,
                                                         "terminationGracePeriodSeconds": 2, **spec}})
    cmd = ["run", name, "-n", ns, f"--image={image}", "--image-pull-policy=IfNotPresent", f"--restart={restart}",
           f"--overrides={overrides}"]
    if args:
        cmd += ["--command", "--", *args]
    wait(lambda: kubectl(*cmd, check=False).returncode == 0 or kubectl("get", "pod", name, "-n", ns,
                                                                       check=False).returncode == 0,
         timeout=30, message="kubectl run (the namespace's service account may be on its way)")


def pod_json(kubectl, ns, name):
    return json.loads(kubectl("get", "pod", name, "-n", ns, "-o", "json").stdout)


def test_run_prints_and_completes(kubectl, ns, node):
    run_pod(kubectl, ns, node, "hello", "sh", "-c", "echo hello from $(hostname)")
    kubectl("wait", "-n", ns, "--for=jsonpath={.status.phase}=Succeeded", "pod/hello", "--timeout=60s")
    pod = pod_json(kubectl, ns, "hello")
    cs = pod["status"]["containerStatuses"][0]
    assert cs["state"]["terminated"]["reason"] == "Completed" and cs["containerID"].startswith("runc://")
    assert pod["status"]["podIP"] and pod["status"]["hostIP"] == "198.18.0.2"
    row = kubectl("get", "pod", "hello", "-n", ns, "-o", "wide", "--no-headers").stdout.split()
    assert row[1] == "0/1" and row[2] == "Completed" and node.node_name in row
    uid = pod["metadata"]["uid"]
    text = (node.log_dir / f"{ns}_hello_{uid}" / "hello" / "0.log").read_text()
    assert text.split(" ", 3)[3].strip() == "hello from hello"
    events = json.loads(kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=hello",
                                "-o", "json").stdout)["items"]
    reasons = {e["reason"] for e in events if e["source"].get("component") == "kubelet"}
    assert {"Pulled", "Created", "Started"} <= reasons, reasons


def test_crash_loop_shows_in_get(kubectl, ns, node):
    run_pod(kubectl, ns, node, "crash", "sh", "-c", "exit 1", restart="Always")
    wait(lambda: kubectl("get", "pod", "crash", "-n", ns, "--no-headers").stdout.split()[2] == "CrashLoopBackOff",
         message="CrashLoopBackOff")
    pod = pod_json(kubectl, ns, "crash")
    assert pod["status"]["containerStatuses"][0]["restartCount"] >= 1
    t0 = time.monotonic()
    kubectl("delete", "pod", "crash", "-n", ns, "--wait=true", timeout=60)
    assert time.monotonic() - t0 < 20


def test_readiness_and_graceful_delete(kubectl, ns, node):
    run_pod(kubectl, ns, node, "web", "sh", "-c", "trap 'exit 0' TERM; touch /tmp/ready; while true; do sleep 0.2; done",
            restart="Always")
    pod = pod_json(kubectl, ns, "web")
    pod["spec"]["containers"][0]["readinessProbe"] = {"exec": {"command": ["test", "-e", "/tmp/ready"]},
                                                      "periodSeconds": 1}
    kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/web", "--timeout=60s")
    row = kubectl("get", "pod", "web", "-n", ns, "--no-headers").stdout.split()
    assert row[1] == "1/1" and row[2] == "Running"
    t0 = time.monotonic()
    kubectl("delete", "pod", "web", "-n", ns, "--wait=true", timeout=60)
    assert time.monotonic() - t0 < 10  # the container exited on SIGTERM; the agent then removed the pod


def test_node_is_ready_with_node_info(kubectl, node):
    n = json.loads(kubectl("get", "node", node.node_name, "-o", "json").stdout)
    info = n["status"]["nodeInfo"]
    assert info["containerRuntimeVersion"].startswith("runc://") and info["kubeletVersion"] == "v1.32.4"
    cidr = n["spec"]["podCIDR"]  # the controller's allocation wins over --pod-cidr, as with the kubelet
    assert cidr and (node.run_dir / "ipam").is_dir()
    lease = json.loads(kubectl("get", "lease", node.node_name, "-n", "kube-node-lease", "-o", "json").stdout)
    assert lease["spec"]["holderIdentity"] == node.node_name
