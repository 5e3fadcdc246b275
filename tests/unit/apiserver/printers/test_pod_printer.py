"""The Pod printer: READY, STATUS, RESTARTS and the wide cells, against a fixed clock."""

from __future__ import annotations

import pytest
from printer_fixtures import NOW, ago, metadata

from kubelite.apiserver.printers import column_definitions, row_cells, row_conditions


def pod(*, containers=1, statuses=(), init=(), init_statuses=(), phase="Running", reason=None, conditions=(),
        deleting=False, spec_extra=None, status_extra=None) -> dict:
    meta = metadata("web-1", 600)
    if deleting:
        meta["deletionTimestamp"] = ago(5)
    spec = {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)],
            "nodeName": "node-1", **(spec_extra or {})}
    if init:
        spec["initContainers"] = list(init)
    status = {"phase": phase, "conditions": list(conditions), "containerStatuses": list(statuses),
              "podIPs": [{"ip": "10.244.0.7"}], **(status_extra or {})}
    if reason:
        status["reason"] = reason
    if init_statuses:
        status["initContainerStatuses"] = list(init_statuses)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def running(name="c0", ready=True, restarts=0, last_finished=None) -> dict:
    cs = {"name": name, "ready": ready, "restartCount": restarts, "started": True,
          "state": {"running": {"startedAt": ago(60)}}}
    if last_finished:
        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": last_finished}}
    return cs


def waiting(reason, name="c0", restarts=0, last_finished=None) -> dict:
    cs = {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}
    if last_finished:
        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": last_finished}}
    return cs


def terminated(name="c0", exit_code=0, reason=None, signal=None) -> dict:
    term = {"exitCode": exit_code, "finishedAt": ago(30)}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": term}}


READY = {"type": "Ready", "status": "True"}
INITIALIZED = {"type": "Initialized", "status": "True"}
SIDECAR = {"name": "proxy", "image": "envoy", "restartPolicy": "Always"}

CASES = [
    ("running", pod(statuses=[running()], conditions=[READY]), ("1/1", "Running", "0")),
    ("crash-loop", pod(statuses=[waiting("CrashLoopBackOff", restarts=3, last_finished=ago(120))]),
     ("0/1", "CrashLoopBackOff", "3 (2m ago)")),
    ("restarts-without-time", pod(statuses=[running(restarts=2)]), ("1/1", "Running", "2")),
    ("latest-restart-wins", pod(containers=2, statuses=[running("c0", restarts=1, last_finished=ago(3600)),
                                                        running("c1", restarts=2, last_finished=ago(90))]),
     ("2/2", "Running", "3 (90s ago)")),
    ("container-creating", pod(phase="Pending", statuses=[waiting("ContainerCreating")]),
     ("0/1", "ContainerCreating", "0")),
    ("image-pull", pod(phase="Pending", statuses=[waiting("ErrImagePull")]), ("0/1", "ErrImagePull", "0")),
    ("completed", pod(phase="Succeeded", statuses=[terminated(reason="Completed")]), ("0/1", "Completed", "0")),
    ("error", pod(phase="Failed", statuses=[terminated(exit_code=1, reason="Error")]), ("0/1", "Error", "0")),
    ("exit-code", pod(phase="Failed", statuses=[terminated(exit_code=137)]), ("0/1", "ExitCode:137", "0")),
    ("signal", pod(phase="Failed", statuses=[terminated(exit_code=137, signal=9)]), ("0/1", "Signal:9", "0")),
    ("first-container-decides", pod(containers=2, statuses=[waiting("CrashLoopBackOff", "c0"),
                                                            waiting("ErrImagePull", "c1")]),
     ("0/2", "CrashLoopBackOff", "0")),
    ("completed-but-running-ready", pod(containers=2, conditions=[READY],
                                        statuses=[running("c0"), terminated("c1", reason="Completed")]),
     ("1/2", "Running", "0")),
    ("completed-but-running-not-ready", pod(containers=2,
                                            statuses=[running("c0"), terminated("c1", reason="Completed")]),
     ("1/2", "NotReady", "0")),
    ("terminating", pod(statuses=[running()], deleting=True), ("1/1", "Terminating", "0")),
    ("terminating-after-success", pod(phase="Succeeded", statuses=[terminated(reason="Completed")], deleting=True),
     ("0/1", "Completed", "0")),
    ("node-lost", pod(statuses=[running()], reason="NodeLost", deleting=True), ("1/1", "Unknown", "0")),
    ("evicted", pod(phase="Failed", reason="Evicted"), ("0/1", "Evicted", "0")),
    ("pending-no-statuses", pod(phase="Pending"), ("0/1", "Pending", "0")),
    ("scheduling-gated", pod(phase="Pending", conditions=[{"type": "PodScheduled", "status": "False",
                                                           "reason": "SchedulingGated"}]),
     ("0/1", "SchedulingGated", "0")),
    ("init-running", pod(phase="Pending", init=[{"name": "i0"}, {"name": "i1"}],
                         init_statuses=[running("i0", ready=False), waiting("PodInitializing", "i1")],
                         statuses=[waiting("PodInitializing")]),
     ("0/1", "Init:0/2", "0")),
    ("init-second", pod(phase="Pending", init=[{"name": "i0"}, {"name": "i1"}],
                        init_statuses=[terminated("i0", reason="Completed"), running("i1", ready=False)],
                        statuses=[waiting("PodInitializing")]),
     ("0/1", "Init:1/2", "0")),
    ("init-error", pod(phase="Pending", init=[{"name": "i0"}, {"name": "i1"}],
                       init_statuses=[terminated("i0", exit_code=1, reason="Error"), waiting("PodInitializing", "i1")]),
     ("0/1", "Init:Error", "0")),
    ("init-exit-code", pod(phase="Pending", init=[{"name": "i0"}], init_statuses=[terminated("i0", exit_code=2)]),
     ("0/1", "Init:ExitCode:2", "0")),
    ("init-signal", pod(phase="Pending", init=[{"name": "i0"}],
                        init_statuses=[terminated("i0", exit_code=143, signal=15)]),
     ("0/1", "Init:Signal:15", "0")),
    ("init-crash-loop", pod(phase="Pending", init=[{"name": "i0"}],
                            init_statuses=[waiting("CrashLoopBackOff", "i0", restarts=4, last_finished=ago(30))],
                            statuses=[waiting("PodInitializing")]),
     ("0/1", "Init:CrashLoopBackOff", "4 (30s ago)")),
    ("init-waiting-initializing", pod(phase="Pending", init=[{"name": "i0"}],
                                      init_statuses=[waiting("PodInitializing", "i0")]),
     ("0/1", "Init:0/1", "0")),
    ("initialized-containers-decide", pod(init=[{"name": "i0"}], conditions=[INITIALIZED],
                                          init_statuses=[running("i0", ready=False, restarts=7)],
                                          statuses=[waiting("CrashLoopBackOff", restarts=5, last_finished=ago(45))]),
     ("0/1", "CrashLoopBackOff", "5 (45s ago)")),
    ("initialized-keeps-init-reason", pod(init=[{"name": "i0"}], conditions=[INITIALIZED, READY],
                                          init_statuses=[terminated("i0", exit_code=1, reason="Error")],
                                          statuses=[running()]),
     ("1/1", "Init:Error", "0")),
    ("sidecar", pod(init=[SIDECAR], conditions=[INITIALIZED, READY],
                    init_statuses=[running("proxy", restarts=1, last_finished=ago(600))], statuses=[running()]),
     ("2/2", "Running", "1 (10m ago)")),
    ("sidecar-not-started", pod(phase="Pending", init=[SIDECAR],
                                init_statuses=[waiting("ContainerCreating", "proxy")],
                                statuses=[waiting("PodInitializing")]),
     ("0/2", "Init:ContainerCreating", "0")),
]


@pytest.mark.parametrize("obj,expected", [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_ready_status_restarts(obj, expected):
    cells = row_cells("", "Pod", obj, NOW)
    assert (cells[1], cells[2], cells[3]) == expected


def test_full_row_with_wide_cells():
    obj = pod(statuses=[running()], conditions=[READY, {"type": "example.com/lb", "status": "True"}],
              spec_extra={"readinessGates": [{"conditionType": "example.com/lb"},
                                             {"conditionType": "example.com/dns"}]},
              status_extra={"nominatedNodeName": "node-2"})
    assert row_cells("", "Pod", obj, NOW) == [
        "web-1", "1/1", "Running", "0", "10m", "10.244.0.7", "node-1", "node-2", "1/2"]


def test_unscheduled_pod_wide_cells_are_none():
    obj = {"metadata": metadata("p", 30), "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Pending"}}
    assert row_cells("", "Pod", obj, NOW) == ["p", "0/1", "Pending", "0", "30s", "<none>", "<none>", "<none>",
                                              "<none>"]


def test_columns():
    cols = column_definitions("", "Pod")
    assert [(c["name"], c["type"], c["format"], c["priority"]) for c in cols] == [
        ("Name", "string", "name", 0), ("Ready", "string", "", 0), ("Status", "string", "", 0),
        ("Restarts", "string", "", 0), ("Age", "string", "", 0), ("IP", "string", "", 1),
        ("Node", "string", "", 1), ("Nominated Node", "string", "", 1), ("Readiness Gates", "string", "", 1)]


@pytest.mark.parametrize("phase,expected", [
    ("Succeeded", [{"type": "Completed", "status": "True", "reason": "Succeeded",
                    "message": "The pod has completed successfully."}]),
    ("Failed", [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
    ("Running", None),
    ("Pending", None),
])
def test_row_conditions(phase, expected):
    assert row_conditions("", "Pod", pod(phase=phase)) == expected
