"""compute_pod_actions and should_container_be_restarted: the restart policy decisions."""

import pytest

from kubelite.kubelet.kuberuntime import labels as lb
from kubelite.kubelet.kuberuntime.actions import ProbeState, compute_pod_actions, should_container_be_restarted
from kubelite.kubelet.kuberuntime.types import ContainerInfo, RuntimePodStatus
from kubelite.kubelet.runtime.interface import ContainerState, ContainerStatus, PodSandboxState, PodSandboxStatus

RUNNING, EXITED, CREATED = ContainerState.RUNNING, ContainerState.EXITED, ContainerState.CREATED


def pod(policy="Always", containers=("a",), inits=(), sidecars=()):
    spec = {"restartPolicy": policy, "containers": [{"name": n, "image": "busybox"} for n in containers]}
    init = [{"name": n, "image": "busybox"} for n in inits] + [
        {"name": n, "image": "busybox", "restartPolicy": "Always"} for n in sidecars]
    if init:
        spec["initContainers"] = init
    return {"metadata": {"name": "p", "namespace": "d", "uid": "u1"}, "spec": spec}


_n = iter(range(1, 10_000))


def container(p, name, state, exit_code=0, restart=0):
    spec = next(c for c in p["spec"]["containers"] + p["spec"].get("initContainers", []) if c["name"] == name)
    i = next(_n)
    st = ContainerStatus(id=f"c{i}", pod_sandbox_id="s1", name=name, attempt=restart, image="busybox", image_id="x",
                         state=state, created_at=i, labels={lb.CONTAINER_NAME: name},
                         annotations=lb.container_annotations(p, spec, restart), exit_code=exit_code)
    return ContainerInfo(st, lb.annotated_info(st.annotations))


def status(p, *containers, sandbox=PodSandboxState.READY):
    s = RuntimePodStatus(uid="u1")
    if sandbox is not None:
        s.sandboxes = [PodSandboxStatus(id="s1", name="p", namespace="d", uid="u1", attempt=0, state=sandbox,
                                        created_at=1, ip="198.19.0.2", netns="/x")]
        s.ips = ["198.19.0.2"]
    s.containers = sorted(containers, key=lambda c: c.status.created_at, reverse=True)
    return s


def test_new_pod_creates_sandbox_and_starts_all():
    p = pod(containers=("a", "b"))
    a = compute_pod_actions(p, status(p, sandbox=None))
    assert a.create_sandbox and a.kill_pod and a.attempt == 0 and a.containers_to_start == ["a", "b"]


def test_new_pod_with_init_starts_first_init_only():
    p = pod(inits=("i1", "i2"))
    a = compute_pod_actions(p, status(p, sandbox=None))
    assert a.create_sandbox and a.init_containers_to_start == ["i1"] and not a.containers_to_start


@pytest.mark.parametrize("policy,exit_code,restart", [
    ("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False), ("OnFailure", 1, True),
    ("Never", 0, False), ("Never", 1, False),
])
def test_restart_policy(policy, exit_code, restart):
    p = pod(policy)
    st = status(p, container(p, "a", EXITED, exit_code))
    assert should_container_be_restarted(p["spec"]["containers"][0], p, st) is restart
    a = compute_pod_actions(p, st)
    assert (a.containers_to_start == ["a"]) is restart
    assert a.kill_pod is (not restart)  # nothing left to run: the sandbox is stopped


def test_running_container_is_kept():
    p = pod()
    a = compute_pod_actions(p, status(p, container(p, "a", RUNNING)))
    assert a.nothing_to_do()


def test_liveness_failure_kills_and_restarts_unless_never():
    for policy, restarts in (("Always", True), ("Never", False)):
        p = pod(policy)
        c = container(p, "a", RUNNING)
        a = compute_pod_actions(p, status(p, c), ProbeState(liveness_failed={c.id}))
        assert a.containers_to_kill[c.id].message == "Container a failed liveness probe, will be restarted"
        assert (a.containers_to_start == ["a"]) is restarts


def test_spec_change_restarts():
    p = pod()
    c = container(p, "a", RUNNING)
    p["spec"]["containers"][0]["image"] = "busybox:2"
    a = compute_pod_actions(p, status(p, c))
    assert a.containers_to_kill[c.id].reason == "changed" and a.containers_to_start == ["a"]


def test_sandbox_gone_recreates_with_next_attempt():
    p = pod()
    st = status(p, container(p, "a", EXITED, 137), sandbox=PodSandboxState.NOTREADY)
    a = compute_pod_actions(p, st)
    assert a.kill_pod and a.create_sandbox and a.attempt == 1 and a.containers_to_start == ["a"]


def test_never_pod_that_ran_is_not_run_again():
    p = pod("Never")
    st = status(p, container(p, "a", EXITED, 0), sandbox=PodSandboxState.NOTREADY)
    a = compute_pod_actions(p, st)
    assert a.kill_pod and not a.create_sandbox and not a.containers_to_start


def test_init_containers_in_order():
    p = pod(inits=("i1", "i2"))
    assert compute_pod_actions(p, status(p)).init_containers_to_start == ["i1"]
    st = status(p, container(p, "i1", RUNNING))
    a = compute_pod_actions(p, st)
    assert a.nothing_to_do()
    st = status(p, container(p, "i1", EXITED, 0))
    assert compute_pod_actions(p, st).init_containers_to_start == ["i2"]
    st = status(p, container(p, "i1", EXITED, 0), container(p, "i2", EXITED, 0))
    a = compute_pod_actions(p, st)
    assert a.containers_to_start == ["a"] and not a.init_containers_to_start


def test_failed_init_container():
    p = pod("Always", inits=("i1",))
    assert compute_pod_actions(p, status(p, container(p, "i1", EXITED, 1))).init_containers_to_start == ["i1"]
    p = pod("Never", inits=("i1",))
    a = compute_pod_actions(p, status(p, container(p, "i1", EXITED, 1)))
    assert a.init_failed and a.kill_pod and not a.containers_to_start


def test_sidecar_starts_then_waits_for_started():
    p = pod(sidecars=("side",))
    assert compute_pod_actions(p, status(p)).init_containers_to_start == ["side"]
    side = container(p, "side", RUNNING)
    assert compute_pod_actions(p, status(p, side)).nothing_to_do()  # not started yet
    a = compute_pod_actions(p, status(p, side), ProbeState(started={side.id}))
    assert a.containers_to_start == ["a"]


def test_sidecars_stop_when_the_app_is_done():
    p = pod("Never", sidecars=("side",))
    st = status(p, container(p, "side", RUNNING), container(p, "a", EXITED, 0))
    a = compute_pod_actions(p, st)
    assert a.kill_pod and not a.init_containers_to_start
