"""Pure pod helpers: QoS class, readiness, effective requests; the Job selector rule."""

from __future__ import annotations

import pytest

from kubelite.api.helpers import generate_job_selector, is_pod_ready, pod_limits, pod_qos_class, pod_requests


def pod(containers: list[dict], init: list[dict] | None = None, **spec) -> dict:
    s = {"containers": containers, **spec}
    if init is not None:
        s["initContainers"] = init
    return {"spec": s}


def c(requests: dict | None = None, limits: dict | None = None, **kw) -> dict:
    res = {}
    if requests is not None:
        res["requests"] = requests
    if limits is not None:
        res["limits"] = limits
    return {"name": "c", "image": "i", "resources": res, **kw}


GUARANTEED = {"cpu": "500m", "memory": "128Mi"}

QOS_CASES = [
    ("no-resources", pod([c()]), "BestEffort"),
    ("zero-requests", pod([c(requests={"cpu": "0"})]), "BestEffort"),
    ("only-extended-resources", pod([c(requests={"example.com/gpu": "1"}, limits={"example.com/gpu": "1"})]),
     "BestEffort"),
    ("requests-only", pod([c(requests={"cpu": "100m"})]), "Burstable"),
    ("limits-equal-requests", pod([c(requests=GUARANTEED, limits=GUARANTEED)]), "Guaranteed"),
    ("equal-in-other-units", pod([c(requests={"cpu": "0.5", "memory": "134217728"}, limits=GUARANTEED)]),
     "Guaranteed"),
    ("limits-only-cpu-and-memory", pod([c(limits=GUARANTEED)]), "Burstable"),  # requests not defaulted here
    ("requests-below-limits", pod([c(requests={"cpu": "100m", "memory": "128Mi"}, limits=GUARANTEED)]), "Burstable"),
    ("memory-limit-missing", pod([c(requests={"cpu": "1"}, limits={"cpu": "1"})]), "Burstable"),
    ("one-container-best-effort", pod([c(requests=GUARANTEED, limits=GUARANTEED), c()]), "Burstable"),
    ("init-container-counts", pod([c(requests=GUARANTEED, limits=GUARANTEED)], init=[c(requests={"cpu": "1"})]),
     "Burstable"),
    ("all-guaranteed-with-init", pod([c(requests=GUARANTEED, limits=GUARANTEED)],
                                     init=[c(requests=GUARANTEED, limits=GUARANTEED)]), "Guaranteed"),
]


@pytest.mark.parametrize("obj,expected", [q[1:] for q in QOS_CASES], ids=[q[0] for q in QOS_CASES])
def test_pod_qos_class(obj, expected):
    assert pod_qos_class(obj) == expected


def test_qos_after_defaulting_limits_only_pod_is_guaranteed():
    from kubelite.api.defaults import apply_defaults
    p = pod([c(limits=GUARANTEED)])
    apply_defaults("", "v1", "Pod", p)
    assert pod_qos_class(p) == "Guaranteed"


@pytest.mark.parametrize("conditions,ready", [
    ([], False),
    ([{"type": "Ready", "status": "True"}], True),
    ([{"type": "Ready", "status": "False"}], False),
    ([{"type": "ContainersReady", "status": "True"}], False),
    ([{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}], True),
], ids=["none", "ready", "not-ready", "containers-ready-only", "among-others"])
def test_is_pod_ready(conditions, ready):
    assert is_pod_ready({"status": {"conditions": conditions}}) is ready


REQUEST_CASES = [
    ("empty", pod([c()]), {}),
    ("sum-of-containers", pod([c(requests={"cpu": "250m", "memory": "64Mi"}), c(requests={"cpu": "0.5"})]),
     {"cpu": 750, "memory": 64 * 2**20}),
    ("init-max-wins", pod([c(requests={"cpu": "100m"})], init=[c(requests={"cpu": "1", "memory": "1Gi"}),
                                                               c(requests={"cpu": "200m"})]),
     {"cpu": 1000, "memory": 2**30}),
    ("containers-win-over-init", pod([c(requests={"cpu": "2"})], init=[c(requests={"cpu": "1"})]), {"cpu": 2000}),
    ("sidecar-adds-up", pod([c(requests={"cpu": "500m"})],
                            init=[c(requests={"cpu": "100m"}, restartPolicy="Always"),
                                  c(requests={"cpu": "550m"})]),
     {"cpu": 650}),
    ("overhead", pod([c(requests={"cpu": "100m", "memory": "10Mi"})], overhead={"cpu": "250m", "memory": "120Mi"}),
     {"cpu": 350, "memory": 130 * 2**20}),
    ("cpu-rounds-up", pod([c(requests={"cpu": "0.0001"})]), {"cpu": 1}),
    ("extended", pod([c(requests={"example.com/gpu": "2"})]), {"example.com/gpu": 2}),
]


@pytest.mark.parametrize("obj,expected", [r[1:] for r in REQUEST_CASES], ids=[r[0] for r in REQUEST_CASES])
def test_pod_requests(obj, expected):
    assert pod_requests(obj) == expected


def test_pod_requests_without_overhead():
    assert pod_requests(pod([c(requests={"cpu": "1"})], overhead={"cpu": "1"}), exclude_overhead=True) == {"cpu": 1000}


def test_pod_limits():
    assert pod_limits(pod([c(requests={"cpu": "1"}, limits={"cpu": "2", "memory": "1Gi"}), c()])) == {
        "cpu": 2000, "memory": 2**30}


def test_generate_job_selector():
    job = {"metadata": {"name": "pi", "uid": "u-1"},
           "spec": {"template": {"metadata": {"labels": {"app": "pi"}}, "spec": {}}}}
    generate_job_selector(job)
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    assert job["spec"]["template"]["metadata"]["labels"] == {
        "app": "pi", "batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "u-1", "job-name": "pi"}


def test_generate_job_selector_respects_manual_selector():
    job = {"metadata": {"name": "pi", "uid": "u-1"},
           "spec": {"manualSelector": True, "selector": {"matchLabels": {"a": "b"}}, "template": {}}}
    generate_job_selector(job)
    assert job["spec"]["selector"] == {"matchLabels": {"a": "b"}} and job["spec"]["template"] == {}
