"""Pod status generation, as Kubernetes' kubelet fills it (phase, conditions, container statuses)."""

import pytest

from kubelite.kubelet.kuberuntime import labels as lb
from kubelite.kubelet.kuberuntime.types import ContainerInfo, RuntimePodStatus
from kubelite.kubelet.runtime.interface import ContainerState, ContainerStatus, PodSandboxState, PodSandboxStatus
from kubelite.kubelet.status.generate import StatusInputs, generate_pod_status, get_phase

S = 1_700_000_000 * 10**9  # ns


def pod(policy="Always", containers=("a",), inits=()):
    spec = {"restartPolicy": policy, "containers": [{"name": n, "image": "busybox"} for n in containers]}
    if inits:
        spec["initContainers"] = [{"name": n, "image": "busybox"} for n in inits]
    return {"metadata": {"name": "p", "namespace": "d", "uid": "u1"}, "spec": spec,
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True",
                                                           "lastTransitionTime": "2025-01-01T00:00:00Z"}],
                       "qosClass": "BestEffort"}}


_n = iter(range(1, 10_000))


def inst(p, name, state, exit_code=0, restart=0, reason="", message=""):
    spec = next(c for c in p["spec"]["containers"] + p["spec"].get("initContainers", []) if c["name"] == name)
    i = next(_n)
    st = ContainerStatus(id=f"{i:064x}", pod_sandbox_id="s", name=name, attempt=restart,
                         image="docker.io/library/busybox:latest", image_id="sha256:img", state=state, created_at=i,
                         labels={lb.CONTAINER_NAME: name}, annotations=lb.container_annotations(p, spec, restart),
                         started_at=S + i * 10**9 if state != ContainerState.CREATED else 0,
                         finished_at=S + (i + 1) * 10**9 if state == ContainerState.EXITED else 0,
                         exit_code=exit_code, reason=reason or ("Completed" if exit_code == 0 else "Error"),
                         message=message)
    return ContainerInfo(st, lb.annotated_info(st.annotations))


def runtime(*containers, ready=True):
    s = RuntimePodStatus(uid="u1", sandboxes=[PodSandboxStatus(
        id="s", name="p", namespace="d", uid="u1", attempt=0, created_at=1, ip="198.19.0.5", netns="/n",
        state=PodSandboxState.READY if ready else PodSandboxState.NOTREADY)])
    s.ips = ["198.19.0.5"] if ready else []
    s.containers = sorted(containers, key=lambda c: c.status.created_at, reverse=True)
    return s


def gen(p, rt, old=None, **kw):
    inputs = StatusInputs(host_ips=["198.18.0.2"], image_ids={("sha256:img", "docker.io/library/busybox:latest"):
                                                                      "docker.io/library/busybox@sha256:d"},
                          **kw)
    return generate_pod_status(p, rt, old or {}, inputs)


def cond(status, t):
    return next(c for c in status["conditions"] if c["type"] == t)


def test_waiting_pod_is_pending_container_creating():
    p = pod()
    s = gen(p, RuntimePodStatus(uid="u1"))
    assert s["phase"] == "Pending"
    cs = s["containerStatuses"][0]
    assert cs["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert cs["ready"] is False and cs["started"] is False and cs["restartCount"] == 0 and cs["lastState"] == {}
    assert cs["image"] == "busybox" and cs["imageID"] == ""
    assert cond(s, "PodReadyToStartContainers")["status"] == "False"
    assert cond(s, "ContainersReady") == {"type": "ContainersReady", "status": "False",
                                          "reason": "ContainersNotReady",
                                          "message": "containers with unready status: [a]"}
    assert cond(s, "Ready")["reason"] == "ContainersNotReady"
    assert cond(s, "Initialized")["status"] == "True"
    assert [c["type"] for c in s["conditions"]] == ["PodReadyToStartContainers", "Initialized", "Ready",
                                                    "ContainersReady", "PodScheduled"]
    assert s["hostIP"] == "198.18.0.2" and s["hostIPs"] == [{"ip": "198.18.0.2"}] and "podIP" not in s


def test_running_pod():
    p = pod(containers=("b", "a"))
    s = gen(p, runtime(inst(p, "a", ContainerState.RUNNING), inst(p, "b", ContainerState.RUNNING)))
    assert s["phase"] == "Running" and s["podIP"] == "198.19.0.5" and s["podIPs"] == [{"ip": "198.19.0.5"}]
    assert [c["name"] for c in s["containerStatuses"]] == ["a", "b"]  # sorted by name, as Kubernetes does
    a = s["containerStatuses"][0]
    assert a["ready"] and a["started"] and "running" in a["state"] and a["containerID"].startswith("runc://")
    assert a["imageID"] == "docker.io/library/busybox@sha256:d"
    assert a["image"] == "docker.io/library/busybox:latest"
    assert cond(s, "Ready") == {"type": "Ready", "status": "True"}
    assert cond(s, "PodReadyToStartContainers")["status"] == "True"


@pytest.mark.parametrize("policy,code,phase", [
    ("Never", 0, "Succeeded"), ("Never", 1, "Failed"), ("OnFailure", 0, "Succeeded"), ("OnFailure", 2, "Running"),
    ("Always", 0, "Running"), ("Always", 1, "Running"),
])
def test_phase_of_exited_container(policy, code, phase):
    p = pod(policy)
    s = gen(p, runtime(inst(p, "a", ContainerState.EXITED, code)))
    assert s["phase"] == phase


def test_terminal_pod_phase_uses_exit_codes():
    p = pod("Always")
    assert gen(p, runtime(inst(p, "a", ContainerState.EXITED, 0)), pod_is_terminal=True)["phase"] == "Succeeded"
    assert gen(p, runtime(inst(p, "a", ContainerState.EXITED, 137)), pod_is_terminal=True)["phase"] == "Failed"


def test_completed_pod_conditions():
    p = pod("Never")
    s = gen(p, runtime(inst(p, "a", ContainerState.EXITED, 0)))
    assert cond(s, "Ready") == {"type": "Ready", "status": "False", "reason": "PodCompleted"}
    assert cond(s, "ContainersReady")["reason"] == "PodCompleted"
    term = s["containerStatuses"][0]["state"]["terminated"]
    assert term["reason"] == "Completed" and term["exitCode"] == 0 and term["containerID"].startswith("runc://")
    s = gen(p, runtime(inst(p, "a", ContainerState.EXITED, 3)))
    assert cond(s, "Ready")["reason"] == "PodFailed" and s["phase"] == "Failed"


def test_crash_loop_shows_waiting_with_last_state():
    p = pod("Always")
    rt = runtime(inst(p, "a", ContainerState.EXITED, 1, restart=0), inst(p, "a", ContainerState.EXITED, 1, restart=1))
    msg = "back-off 10s restarting failed container=a pod=p_d(u1)"
    s = gen(p, rt, reasons={"a": ("CrashLoopBackOff", msg)})
    cs = s["containerStatuses"][0]
    assert cs["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": msg}}
    assert cs["lastState"]["terminated"]["exitCode"] == 1 and cs["restartCount"] == 1
    assert s["phase"] == "Running"


def test_running_after_restart_has_last_state():
    p = pod()
    rt = runtime(inst(p, "a", ContainerState.EXITED, 137, reason="OOMKilled"),
                 inst(p, "a", ContainerState.RUNNING, restart=1))
    cs = gen(p, rt)["containerStatuses"][0]
    assert "running" in cs["state"] and cs["restartCount"] == 1
    assert cs["lastState"]["terminated"]["reason"] == "OOMKilled"


def test_init_containers():
    p = pod(inits=("i1", "i2"))
    s = gen(p, runtime(inst(p, "i1", ContainerState.RUNNING)))
    assert s["phase"] == "Pending"
    assert cond(s, "Initialized") == {"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized",
                                      "message": "containers with incomplete status: [i1 i2]"}
    assert [c["name"] for c in s["initContainerStatuses"]] == ["i1", "i2"]
    assert s["initContainerStatuses"][1]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert s["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    s = gen(p, runtime(inst(p, "i1", ContainerState.EXITED, 0), inst(p, "i2", ContainerState.EXITED, 0),
                       inst(p, "a", ContainerState.RUNNING)))
    assert cond(s, "Initialized") == {"type": "Initialized", "status": "True"}
    assert s["initContainerStatuses"][0]["ready"] is True and s["phase"] == "Running"


def test_failed_init_container_with_never_fails_the_pod():
    p = pod("Never", inits=("i1",))
    assert gen(p, runtime(inst(p, "i1", ContainerState.EXITED, 1)))["phase"] == "Failed"


def test_terminal_phase_never_goes_back():
    p = pod("Never")
    s = gen(p, RuntimePodStatus(uid="u1"), old={"phase": "Succeeded"})
    assert s["phase"] == "Succeeded"


def test_readiness_from_probes():
    p = pod()
    rt = runtime(inst(p, "a", ContainerState.RUNNING))
    s = gen(p, rt, ready=lambda name, cid, running: False)
    assert s["containerStatuses"][0]["ready"] is False and cond(s, "Ready")["status"] == "False"
    s = gen(p, rt, started=lambda name, cid, running: False)
    assert s["containerStatuses"][0]["started"] is False


def test_foreign_conditions_kept_and_readiness_gates():
    p = pod()
    p["spec"]["readinessGates"] = [{"conditionType": "example.com/lb"}]
    p["status"]["conditions"].append({"type": "example.com/lb", "status": "False"})
    s = gen(p, runtime(inst(p, "a", ContainerState.RUNNING)))
    assert s["conditions"][0]["type"] == "example.com/lb"
    assert cond(s, "Ready") == {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady",
                                "message": 'the status of pod readiness gate "example.com/lb" is not "True", '
                                           "but False"}


def test_container_vanished_while_running_is_unknown():
    p = pod()
    old = {"containerStatuses": [{"name": "a", "restartCount": 0, "state": {"running": {"startedAt": "x"}}}]}
    s = gen(p, runtime(ready=False), old=old)
    term = s["containerStatuses"][0]["state"]["terminated"]
    assert term["reason"] == "ContainerStatusUnknown" and term["exitCode"] == 137


def test_phase_table():
    p = pod("Always", containers=("a", "b"))
    statuses = [{"name": "a", "state": {"running": {}}}, {"name": "b", "state": {"waiting": {}}}]
    assert get_phase(p, statuses, False) == "Running"
    assert get_phase(p, [{"name": "a", "state": {"waiting": {}}}], False) == "Pending"
