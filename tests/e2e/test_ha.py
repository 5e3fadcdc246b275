"""Highly available control plane on etcd: a 3-member etcd cluster on loopback ports and two
`kubelite server` processes on it (own ports and data dirs, shared cluster material). Both serve
the same API; the controller manager fails over through its Lease; losing an etcd member and an
API server while writing loses no acknowledged write; an unreachable datastore at start is
reported clearly and waited for."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time

import pytest

from kubelite.cluster.etcd import EtcdCluster
from kubelite.controlplane.ha import share_material
from kubelite.testing import CONTROL_PLANE_ONLY, ServerProcess, free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("etcd") is None,
                                                   reason="etcd-server is not installed")]

LEASE_DURATION = 15.0  # the controller manager's LeaderElector default


@pytest.fixture
def etcd(tmp_path):
    with EtcdCluster(tmp_path / "etcd", members=3) as c:
        yield c


@pytest.fixture
def servers(tmp_path, etcd):
    a = ServerProcess(tmp_path / "a", args=[*CONTROL_PLANE_ONLY, "--datastore", etcd.url])
    started = []
    try:
        a.start(timeout=60)
        started.append(a)
        share_material(a.data_dir, tmp_path / "b")
        b = ServerProcess(tmp_path / "b", args=[*CONTROL_PLANE_ONLY, "--datastore", etcd.url])
        b.start(timeout=60)
        started.append(b)
        yield a, b
    finally:
        for s in started:
            s.stop()


def _create_cm(server: ServerProcess, name: str, ns: str = "default") -> int:
    status, _, _ = server.request("POST", f"/api/v1/namespaces/{ns}/configmaps",
                                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                                   "data": {"v": name}}, timeout=10)
    return status


def _get(server: ServerProcess, path: str) -> tuple[int, dict]:
    status, _, body = server.request("GET", path, timeout=10)
    return status, (json.loads(body) if body else {})


def test_two_servers_serve_the_same_api(servers):
    a, b = servers
    assert _create_cm(a, "from-a") == 201
    status, obj = _get(b, "/api/v1/namespaces/default/configmaps/from-a")
    assert status == 200 and obj["data"] == {"v": "from-a"}
    # the same CA: one admin kubeconfig works against both; watch caches follow the other's writes
    a.kubectl("create", "configmap", "seen-by-b", "--from-literal=k=v")
    wait_until(lambda: "seen-by-b" in b.kubectl("get", "configmaps", "-o", "name").stdout, timeout=10)
    # Secrets written through one decrypt on the other (shared encryption key)
    a.kubectl("create", "secret", "generic", "s1", "--from-literal=password=hunter2")
    got = json.loads(b.kubectl("get", "secret", "s1", "-o", "json").stdout)
    assert got["data"]["password"] == "aHVudGVyMg=="
    # service account tokens issued by one verify on the other (shared signing key)
    wait_until(lambda: a.kubectl("get", "serviceaccount", "default", check=False).returncode == 0, timeout=30)
    token = a.kubectl("create", "token", "default").stdout.strip()
    status, _, body = b.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                                token=token)
    assert status == 201 and json.loads(body)["status"]["userInfo"]["username"] == \
        "system:serviceaccount:default:default"


def _holder(server: ServerProcess) -> str:
    status, lease = _get(server, "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager")
    return (lease.get("spec") or {}).get("holderIdentity") or "" if status == 200 else ""


def _identity_in_log(server: ServerProcess) -> set[str]:
    return set(re.findall(r"controller manager (\S+) became the leader", server.log()))


def test_controller_manager_fails_over(servers):
    a, b = servers
    wait_until(lambda: _holder(a), timeout=20, message="a controller-manager lease")
    holder = _holder(a)
    leader, follower = (a, b) if holder in _identity_in_log(a) else (b, a)
    assert holder in _identity_in_log(leader), f"lease holder {holder} is in neither server's log"
    leader.kill()
    t0 = time.monotonic()
    wait_until(lambda: _holder(follower) not in ("", holder), timeout=LEASE_DURATION + 15,
               message="the surviving server's controller manager takes the lease")
    took = time.monotonic() - t0
    assert took < LEASE_DURATION + 5, f"take-over took {took:.1f}s"
    assert _holder(follower) in _identity_in_log(follower)
    # the new leader's controllers act
    follower.kubectl("create", "deployment", "after-failover", "--image=busybox", "--", "sleep", "3600")
    wait_until(lambda: follower.kubectl("get", "replicasets", "-l", "app=after-failover", "-o", "name").stdout.strip(),
               timeout=30, message="a ReplicaSet from the new leader's deployment controller")
    print(f"\ncontroller manager take-over after {took:.1f}s (lease duration {LEASE_DURATION:.0f}s)")


def test_no_acknowledged_write_is_lost_when_etcd_and_a_server_die(servers, etcd):
    a, b = servers
    acked: list[str] = []
    failed = 0
    stop = threading.Event()
    targets = [a, b]
    kill_time = [0.0]
    after_kill = [0]

    def writer():
        nonlocal failed
        i = 0
        while not stop.is_set():
            name = f"w-{i:05d}"
            server = targets[i % len(targets)]
            try:
                if _create_cm(server, name) == 201:
                    acked.append(name)
                    if kill_time[0] and time.monotonic() > kill_time[0]:
                        after_kill[0] += 1
                else:
                    failed += 1
            except OSError:
                failed += 1
            i += 1

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        wait_until(lambda: len(acked) > 20, timeout=30, message="writes flowing")
        victim = etcd.leader()
        victim = 0 if victim is None else victim
        kill_time[0] = time.monotonic()
        etcd.kill(victim)                       # the raft leader dies mid-stream
        targets.remove(a)
        a.kill()                                # and so does one API server
        wait_until(lambda: after_kill[0] > 20, timeout=30, message="writes continue on the survivors")
    finally:
        stop.set()
        t.join(15)
    # every acknowledged write is there, read through the surviving server (consistent reads)
    status, lst = _get(b, "/api/v1/namespaces/default/configmaps")
    assert status == 200
    names = {i["metadata"]["name"] for i in lst["items"]}
    lost = [n for n in acked if n not in names]
    assert not lost, f"acknowledged but lost: {lost[:10]} ({len(lost)} of {len(acked)})"
    # and after the member comes back, from a fresh server on the whole etcd cluster
    etcd.restart(victim)
    a.start(timeout=60)
    status, lst = _get(a, "/api/v1/namespaces/default/configmaps")
    assert not [n for n in acked if n not in {i["metadata"]["name"] for i in lst["items"]}]
    print(f"\n{len(acked)} writes acknowledged ({after_kill[0]} after the kills), {failed} refused, 0 lost")


def test_unreachable_datastore_at_start_is_reported_and_waited_for(tmp_path):
    port = free_port()
    s = ServerProcess(tmp_path / "s", args=[*CONTROL_PLANE_ONLY, "--datastore", f"etcd://127.0.0.1:{port}"])
    with pytest.raises(TimeoutError):
        s.start(timeout=8)       # it neither exits nor pretends to be ready
    try:
        log = s.log()
        assert re.search(r"datastore .*127\.0\.0\.1:%d.* unreachable.*retrying" % port, log), log[-2000:]
        assert "Traceback" not in log
        assert not s.kubeconfig.exists(), "no kubeconfig for a server that cannot serve"
        with EtcdCluster(tmp_path / "late-etcd", members=1, client_ports=[port]):
            wait_until(s.ready, timeout=60, message="ready once the datastore answers")
    finally:
        s.stop()
