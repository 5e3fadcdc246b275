"""The official `kubernetes` Python client (strict pydantic models) against kubelite."""

import json
import threading
import uuid

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException


@pytest.fixture
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client):
    return client.AppsV1Api(api_client)


@pytest.fixture
def pyns(core):
    name = f"py-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    from kubelite.testing import wait_until
    wait_until(lambda: core.read_namespaced_service_account("default", name), timeout=30)
    yield name
    try:
        core.delete_namespace(name)
    except ApiException:
        pass


def test_namespace_crud(core):
    name = f"pyns-{uuid.uuid4().hex[:6]}"
    created = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"a": "b"})))
    assert created.metadata.uid and created.status.phase == "Active"
    got = core.read_namespace(name)
    assert got.metadata.labels["a"] == "b"
    listed = core.list_namespace(label_selector="a=b")
    assert name in [n.metadata.name for n in listed.items]
    got.metadata.labels["c"] = "d"
    replaced = core.replace_namespace(name, got)
    assert replaced.metadata.labels == {"a": "b", "c": "d", "kubernetes.io/metadata.name": name} or \
        replaced.metadata.labels.get("c") == "d"
    core.delete_namespace(name)


def test_pod_configmap_service_crud(core, pyns):
    p = core.create_namespaced_pod(pyns, client.V1Pod(
        metadata=client.V1ObjectMeta(name="pp", labels={"app": "x"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox", command=["sleep", "1"])])))
    assert p.status.phase == "Pending" and p.spec.containers[0].image == "busybox"
    pods = core.list_namespaced_pod(pyns, label_selector="app=x", field_selector="metadata.name=pp")
    assert [i.metadata.name for i in pods.items] == ["pp"]
    empty = core.list_namespaced_pod(pyns, label_selector="app=none")
    assert empty.items == []
    cm = core.create_namespaced_config_map(pyns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm"),
                                                                     data={"k": "v"}))
    cm.data["k"] = "v2"
    cm = core.replace_namespaced_config_map("cm", pyns, cm)
    assert core.read_namespaced_config_map("cm", pyns).data == {"k": "v2"}
    patched = core.patch_namespaced_config_map("cm", pyns, {"data": {"n": "1"}})
    assert patched.data == {"k": "v2", "n": "1"}
    svc = core.create_namespaced_service(pyns, client.V1Service(
        metadata=client.V1ObjectMeta(name="svc"),
        spec=client.V1ServiceSpec(selector={"app": "x"}, ports=[client.V1ServicePort(port=80, target_port=8080)])))
    assert svc.spec.cluster_ip and svc.spec.type == "ClusterIP"
    deleted_pod = core.delete_namespaced_pod("pp", pyns)
    assert deleted_pod.metadata.name == "pp"
    core.delete_namespaced_config_map("cm", pyns)
    core.delete_namespaced_service("svc", pyns)
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("cm", pyns)
    assert e.value.status == 404 and json.loads(e.value.body)["reason"] == "NotFound"


def test_deployment_crud(apps, pyns):
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="dep"),
        spec=client.V1DeploymentSpec(
            replicas=2, selector=client.V1LabelSelector(match_labels={"app": "dep"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "dep"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))))
    d = apps.create_namespaced_deployment(pyns, body)
    assert d.metadata.generation == 1 and d.spec.replicas == 2
    d = apps.patch_namespaced_deployment("dep", pyns, {"spec": {"replicas": 3}})
    assert d.spec.replicas == 3 and d.metadata.generation == 2
    scale = apps.read_namespaced_deployment_scale("dep", pyns)
    assert scale.spec.replicas == 3
    apps.patch_namespaced_deployment_scale("dep", pyns, {"spec": {"replicas": 1}})
    assert apps.read_namespaced_deployment("dep", pyns).spec.replicas == 1
    with pytest.raises(ApiException) as e:
        apps.create_namespaced_deployment(pyns, body)
    assert e.value.status == 409 and json.loads(e.value.body)["reason"] == "AlreadyExists"
    apps.delete_namespaced_deployment("dep", pyns, propagation_policy="Foreground")


def test_watch_stream(core, pyns):
    seen = []
    w = watch.Watch()

    def make():
        core.create_namespaced_config_map(pyns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w1")))
        core.delete_namespaced_config_map("w1", pyns)

    t = threading.Timer(0.5, make)
    t.start()
    for ev in w.stream(core.list_namespaced_config_map, pyns, timeout_seconds=5):
        if ev["object"].metadata.name == "w1":
            seen.append(ev["type"])
        if "DELETED" in seen:
            w.stop()
    assert seen == ["ADDED", "DELETED"]


def test_watch_resumes_from_resource_version(core, pyns):
    core.create_namespaced_config_map(pyns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="r1")))
    rv = core.list_namespaced_config_map(pyns).metadata.resource_version
    core.create_namespaced_config_map(pyns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="r2")))
    names = [(e["type"], e["object"].metadata.name) for e in
             watch.Watch().stream(core.list_namespaced_config_map, pyns, resource_version=rv, timeout_seconds=2)]
    assert names == [("ADDED", "r2")]
