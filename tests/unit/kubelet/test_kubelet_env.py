"""Container environment: $(VAR) expansion, valueFrom sources, envFrom, service links."""

import asyncio
import base64

import pytest

from kubelite.kubelet.env import EnvError, PodRuntimeInfo, expand, format_map, make_environment, resource_value
from kubelite.kubelet.envvars import service_env_map
from kubelite.kubelet.objects import FakeObjectSource, ObjectNotFound


@pytest.mark.parametrize("text,want", [
    ("$(A)", "a"), ("x$(A)y$(B)z", "xaybz"), ("$(UNSET)", "$(UNSET)"), ("$$(A)", "$(A)"), ("$$", "$"),
    ("$(A", "$(A"), ("$A", "$A"), ("a$", "a$"), ("$()", "$()"), ("$(A)$(A)", "aa"), ("$$$(A)", "$a"),
])
def test_expand(text, want):
    assert expand(text, {"A": "a", "B": "b"}.get) == want


def svc(name, ns, ip, ports):
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip, "ports": ports}}


def test_service_links():
    services = [svc("kubernetes", "default", "198.18.128.1", [{"name": "https", "port": 443, "protocol": "TCP"}]),
                svc("my-db", "app", "198.18.128.7", [{"port": 5432}, {"name": "metrics", "port": 9100,
                                                                       "protocol": "UDP"}]),
                svc("headless", "app", "None", [{"port": 1}]), svc("other", "elsewhere", "198.18.128.9",
                                                                  [{"port": 80}])]
    env = service_env_map(services, "app", True)
    assert env["KUBERNETES_SERVICE_HOST"] == "198.18.128.1" and env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443" and env["KUBERNETES_PORT"] == "tcp://198.18.128.1:443"
    assert env["MY_DB_SERVICE_HOST"] == "198.18.128.7" and env["MY_DB_PORT_5432_TCP_ADDR"] == "198.18.128.7"
    assert env["MY_DB_PORT_9100_UDP"] == "udp://198.18.128.7:9100" and env["MY_DB_SERVICE_PORT_METRICS"] == "9100"
    assert not any(k.startswith("HEADLESS") or k.startswith("OTHER") for k in env)
    off = service_env_map(services, "app", False)
    assert "KUBERNETES_SERVICE_HOST" in off and not any(k.startswith("MY_DB") for k in off)


def make_pod():
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u1", "labels": {"b": "2", "a": "1"}},
            "spec": {"nodeName": "n1", "serviceAccountName": "sa",
                     "containers": [{"name": "c", "resources": {"limits": {"memory": "64Mi"},
                                                                "requests": {"cpu": "250m"}}}]}}


def objects():
    o = FakeObjectSource()
    o.add("configmap", "ns", {"metadata": {"name": "cm"}, "data": {"k": "v", "bad=key": "x", "MODE": "m"}})
    o.add("secret", "ns", {"metadata": {"name": "s"}, "data": {"pw": base64.b64encode(b"hunter2").decode()}})
    return o


def build(container, service_env=None, warnings=None):
    pod = make_pod()
    return asyncio.run(make_environment(
        pod, container, objects=objects(), service_env=service_env or {"SVC_HOST": "1.2.3.4"},
        info=PodRuntimeInfo(["198.19.0.5"], ["198.18.0.2"]), allocatable={"cpu": "2", "memory": "1Gi"},
        warn=(warnings.append if warnings is not None else None)))


def test_environment_sources_and_order():
    warnings = []
    c = {"name": "c", "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}},
         "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}],
         "env": [{"name": "A", "value": "a"}, {"name": "B", "value": "$(A)-$(SVC_HOST)-$(LATER)"},
                 {"name": "LATER", "value": "l"},
                 {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                 {"name": "LBL", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['a']"}}},
                 {"name": "LBLS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels"}}},
                 {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                 {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIPs"}}},
                 {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                 {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                 {"name": "REQ", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
                 {"name": "V", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}},
                 {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw"}}},
                 {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "x", "optional": True}}},
                 {"name": "EMPTY"}]}
    env = build(c, warnings=warnings)
    d = dict(env)
    assert d["B"] == "a-1.2.3.4-$(LATER)" and d["NAME"] == "p" and d["LBL"] == "1"
    assert d["LBLS"] == 'a="1"\nb="2"' and d["IP"] == "198.19.0.5" and d["HOST"] == "198.18.0.2"
    assert d["MEM"] == "64" and d["CPU"] == "2" and d["REQ"] == "250"  # no cpu limit: the node's allocatable
    assert d["V"] == "v" and d["PW"] == "hunter2" and "OPT" not in d and d["EMPTY"] == ""
    assert d["CM_k"] == "v" and d["CM_MODE"] == "m" and "CM_bad=key" not in d
    assert warnings == ["Keys [CM_bad=key] from the EnvFrom configMap ns/cm were skipped since they are considered "
                        "invalid environment variable names."]
    assert env[-1] == ("SVC_HOST", "1.2.3.4")  # service variables come last


def test_missing_sources_are_config_errors():
    with pytest.raises(ObjectNotFound, match='configmap "missing" not found'):
        build({"name": "c", "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "missing", "key": "k"}}}]})
    with pytest.raises(EnvError, match="couldn't find key nokey in ConfigMap ns/cm"):
        build({"name": "c", "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "nokey"}}}]})
    with pytest.raises(EnvError, match="couldn't find key x in Secret ns/s"):
        build({"name": "c", "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "x"}}}]})
    with pytest.raises(ObjectNotFound, match='secret "gone" not found'):
        build({"name": "c", "envFrom": [{"secretRef": {"name": "gone"}}]})
    assert build({"name": "c", "envFrom": [{"secretRef": {"name": "gone", "optional": True}}]}) == [
        ("SVC_HOST", "1.2.3.4")]


def test_resource_value_and_format_map():
    c = {"resources": {"limits": {"cpu": "1500m"}}}
    assert resource_value({"resource": "limits.cpu"}, c, {}) == "2"  # rounded up to whole cores
    assert resource_value({"resource": "limits.cpu", "divisor": "1m"}, c, {}) == "1500"
    with pytest.raises(EnvError):
        resource_value({"resource": "limits.gpu"}, c, {})
    assert format_map({"z": 'q"uote', "a": "x"}) == 'a="x"\nz="q\\"uote"'
