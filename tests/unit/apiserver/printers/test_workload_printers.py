"""Printers for apps/v1, batch/v1 and autoscaling."""

from __future__ import annotations

import pytest
from printer_fixtures import NOW, ago, metadata

from kubelite.apiserver.printers import row_cells

TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}, {"name": "log", "image": "busybox"}]}}


def test_deployment():
    d = {"metadata": metadata("web", 300), "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                                                    "template": TEMPLATE},
         "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert row_cells("apps", "Deployment", d, NOW) == ["web", "2/3", 3, 2, "5m", "web,log", "nginx:1.25,busybox",
                                                       "app=web"]


def test_deployment_new_has_zero_status_and_sorted_selector():
    d = {"metadata": metadata("web", 5), "spec": {
        "selector": {"matchLabels": {"tier": "fe"}, "matchExpressions": [
            {"key": "app", "operator": "In", "values": ["b", "a"]}, {"key": "canary", "operator": "DoesNotExist"}]},
        "template": TEMPLATE}}
    assert row_cells("apps", "Deployment", d, NOW) == ["web", "0/1", 0, 0, "5s", "web,log", "nginx:1.25,busybox",
                                                       "app in (a,b),!canary,tier=fe"]


def test_replicaset():
    selector = {"matchLabels": {"app": "web", "pod-template-hash": "7d4b9c"}}
    rs = {"metadata": metadata("web-7d4b9c", 300), "spec": {"replicas": 2, "template": TEMPLATE, "selector": selector},
          "status": {"replicas": 2, "readyReplicas": 1}}
    assert row_cells("apps", "ReplicaSet", rs, NOW) == ["web-7d4b9c", 2, 2, 1, "5m", "web,log", "nginx:1.25,busybox",
                                                        "app=web,pod-template-hash=7d4b9c"]


def test_replicaset_scaled_to_zero():
    rs = {"metadata": metadata("old", 300), "spec": {"replicas": 0, "template": TEMPLATE, "selector": {}},
          "status": {"replicas": 0}}
    assert row_cells("apps", "ReplicaSet", rs, NOW)[1:4] == [0, 0, 0]
    assert row_cells("apps", "ReplicaSet", rs, NOW)[-1] == "<none>"


def test_statefulset():
    sts = {"metadata": metadata("db", 3600), "spec": {"replicas": 3, "template": TEMPLATE},
           "status": {"readyReplicas": 1}}
    assert row_cells("apps", "StatefulSet", sts, NOW) == ["db", "1/3", "60m", "web,log", "nginx:1.25,busybox"]


def test_daemonset():
    ds = {"metadata": metadata("proxy", 86400), "spec": {
        "selector": {"matchLabels": {"k8s-app": "proxy"}},
        "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                              "containers": [{"name": "proxy", "image": "kube-proxy:v1.32"}]}}},
        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                   "updatedNumberScheduled": 3, "numberAvailable": 2}}
    assert row_cells("apps", "DaemonSet", ds, NOW) == ["proxy", 3, 3, 2, 3, 2, "kubernetes.io/os=linux", "24h",
                                                       "proxy", "kube-proxy:v1.32", "k8s-app=proxy"]


@pytest.mark.parametrize("owners,expected", [
    ([{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": True}], "statefulset.apps/db"),
    ([{"apiVersion": "v1", "kind": "Pod", "name": "p", "controller": True}], "pod/p"),
    ([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds"}], "<none>"),
    ([], "<none>"),
])
def test_controllerrevision(owners, expected):
    cr = {"metadata": metadata("db-5c8f", 60, ownerReferences=owners), "revision": 2}
    assert row_cells("apps", "ControllerRevision", cr, NOW) == ["db-5c8f", expected, 2, "60s"]


def job(*, conditions=(), completions=1, parallelism=1, succeeded=0, start=None, end=None, deleting=False):
    meta = metadata("pi", 600)
    if deleting:
        meta["deletionTimestamp"] = ago(1)
    spec = {"parallelism": parallelism, "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}},
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}}}
    if completions is not None:
        spec["completions"] = completions
    status = {"conditions": list(conditions), "succeeded": succeeded}
    if start:
        status["startTime"] = start
    if end:
        status["completionTime"] = end
    return {"metadata": meta, "spec": spec, "status": status}


def cond(type_, status="True"):
    return {"type": type_, "status": status}


JOBS = [
    ("complete", job(conditions=[cond("Complete")], succeeded=1, start=ago(600), end=ago(590)),
     ["Complete", "1/1", "10s"]),
    ("running", job(start=ago(125)), ["Running", "0/1", "2m5s"]),
    ("not-started", job(), ["Running", "0/1", ""]),
    ("failed", job(conditions=[cond("FailureTarget"), cond("Failed")], start=ago(600), end=ago(300)),
     ["Failed", "0/1", "5m"]),
    ("failure-target", job(conditions=[cond("FailureTarget")], start=ago(60)), ["FailureTarget", "0/1", "60s"]),
    ("suspended", job(conditions=[cond("Suspended")]), ["Suspended", "0/1", ""]),
    ("terminating", job(conditions=[cond("Suspended")], deleting=True), ["Terminating", "0/1", ""]),
    ("false-condition-ignored", job(conditions=[cond("Complete", "False")]), ["Running", "0/1", ""]),
    ("work-queue", job(completions=None, parallelism=3, succeeded=1), ["Running", "1/1 of 3", ""]),
    ("work-queue-serial", job(completions=None, parallelism=1), ["Running", "0/1", ""]),
    ("indexed", job(completions=5, parallelism=2, succeeded=3), ["Running", "3/5", ""]),
]


@pytest.mark.parametrize("obj,expected", [c[1:] for c in JOBS], ids=[c[0] for c in JOBS])
def test_job(obj, expected):
    assert row_cells("batch", "Job", obj, NOW) == ["pi", *expected, "10m", "pi", "perl",
                                                   "batch.kubernetes.io/controller-uid=abc"]


def test_cronjob():
    cj = {"metadata": metadata("hello", 3600), "spec": {
        "schedule": "*/5 * * * *", "suspend": False,
        "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "hello", "image": "busybox"}]}}}}},
        "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": ago(180)}}
    assert row_cells("batch", "CronJob", cj, NOW) == ["hello", "*/5 * * * *", "<none>", "False", 1, "3m", "60m",
                                                      "hello", "busybox", "<none>"]


def test_cronjob_never_scheduled_with_time_zone():
    cj = {"metadata": metadata("tz", 60), "spec": {"schedule": "0 0 * * *", "timeZone": "Etc/UTC",
                                                   "jobTemplate": {"spec": {"template": {"spec": {}}}}}}
    assert row_cells("batch", "CronJob", cj, NOW) == ["tz", "0 0 * * *", "Etc/UTC", "<unset>", 0, "<none>", "60s",
                                                      "", "", "<none>"]


def hpa_v2(metrics, current=(), min_replicas=1):
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 10,
            "metrics": list(metrics)}
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    return {"apiVersion": "autoscaling/v2", "metadata": metadata("web", 600), "spec": spec,
            "status": {"currentReplicas": 3, "currentMetrics": list(current)}}


CPU80 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
MEM = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                       "averageValue": "104857600"}}}
PODS = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue",
                                                                       "averageValue": "1k"}}}
EXTERNAL = {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value",
                                                                                    "value": "30"}}}
OBJECT_AVG = {"type": "Object", "object": {"target": {"type": "AverageValue", "averageValue": "500m"}}}

HPAS = [
    ("cpu-unknown", hpa_v2([CPU80]), "cpu: <unknown>/80%"),
    ("cpu-current", hpa_v2([CPU80], [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageUtilization": 42, "averageValue": "210m"}}}]), "cpu: 42%/80%"),
    ("memory-value", hpa_v2([MEM], [{"type": "Resource", "resource": {"name": "memory", "current": {
        "averageValue": "52428800"}}}]), "memory: 52428800/104857600"),
    ("pods", hpa_v2([PODS]), "<unknown>/1k"),
    ("external", hpa_v2([EXTERNAL], [{"type": "External", "external": {"current": {"value": "12"}}}]), "12/30"),
    ("object-avg", hpa_v2([OBJECT_AVG]), "<unknown>/500m (avg)"),
    ("more", hpa_v2([CPU80, MEM, PODS]), "cpu: <unknown>/80%, memory: <unknown>/104857600 + 1 more..."),
    ("none", hpa_v2([]), "<none>"),
    ("unknown-type", hpa_v2([{"type": "Bogus"}]), "<unknown type>"),
]


@pytest.mark.parametrize("obj,targets", [c[1:] for c in HPAS], ids=[c[0] for c in HPAS])
def test_hpa_v2(obj, targets):
    assert row_cells("autoscaling", "HorizontalPodAutoscaler", obj, NOW) == [
        "web", "Deployment/web", targets, "1", 10, 3, "10m"]


def test_hpa_v1():
    hpa = {"apiVersion": "autoscaling/v1", "metadata": metadata("web", 600), "spec": {
        "scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 5,
        "targetCPUUtilizationPercentage": 50}, "status": {"currentReplicas": 2, "currentCPUUtilizationPercentage": 7}}
    assert row_cells("autoscaling", "HorizontalPodAutoscaler", hpa, NOW) == [
        "web", "Deployment/web", "cpu: 7%/50%", "2", 5, 2, "10m"]


def test_hpa_min_unset():
    assert row_cells("autoscaling", "HorizontalPodAutoscaler", hpa_v2([CPU80], min_replicas=None), NOW)[3] == \
        "<unset>"


def test_scale():
    scale = {"metadata": metadata("web", 60), "spec": {"replicas": 3}, "status": {"replicas": 2}}
    assert row_cells("autoscaling", "Scale", scale, NOW) == ["web", 3, 2, "60s"]
