"""The pure rules of `apiserver.node_proxy` (they belong in tests/unit/apiserver; kept here with
the streaming suite that exercises them end to end)."""

import pytest

from kubelite.apiserver import node_proxy as npx
from kubelite.machinery import errors


def pod(containers=("a",), init=(), statuses=None, name="p"):
    return {"metadata": {"name": name, "namespace": "default", "uid": "u1", "labels": {"app": "x"}},
            "spec": {"containers": [{"name": c} for c in containers],
                     "initContainers": [{"name": c} for c in init]},
            "status": {"containerStatuses": statuses or []}}


def test_container_defaulting():
    assert npx.resolve_container(pod(), "") == "a"
    assert npx.resolve_container(pod(("a", "b")), "b") == "b"
    assert npx.resolve_container(pod(("a",), init=("i",)), "i") == "i"
    with pytest.raises(errors.StatusError, match=r"^a container name must be specified for pod p, choose one of: "
                                                 r"\[a b\] or one of the init containers: \[i\]$"):
        npx.resolve_container(pod(("a", "b"), init=("i",)), "")
    with pytest.raises(errors.StatusError, match="^container z is not valid for pod p$"):
        npx.resolve_container(pod(), "z")


@pytest.mark.parametrize("state,last,previous,message", [
    ({"running": {}}, {}, False, None),
    ({"terminated": {"containerID": "x://1"}}, {}, False, None),
    ({"waiting": {"reason": "CrashLoopBackOff"}}, {"terminated": {"containerID": "x://1"}}, False, None),
    ({"waiting": {"reason": "ContainerCreating"}}, {}, False,
     'container "a" in pod "p" is waiting to start: ContainerCreating'),
    ({"waiting": {"reason": "ErrImagePull"}}, {}, False, 'container "a" in pod "p" is waiting to start: image '
                                                          "can't be pulled"),
    ({"waiting": {"reason": "ImagePullBackOff"}}, {}, False,
     'container "a" in pod "p" is waiting to start: trying and failing to pull image'),
    ({}, {}, False, 'container "a" in pod "p" is waiting to start - no logs yet'),
    ({"running": {}}, {}, True, 'previous terminated container "a" in pod "p" not found'),
    ({"running": {}}, {"terminated": {"containerID": "x://0"}}, True, None),
])
def test_log_status_rules(state, last, previous, message):
    p = pod(statuses=[{"name": "a", "state": state, "lastState": last}])
    if message is None:
        npx.check_log_status(p, "a", previous)
    else:
        with pytest.raises(errors.StatusError) as e:
            npx.check_log_status(p, "a", previous)
        assert e.value.code == 400 and e.value.message == message


def test_node_address_prefers_internal_ip_and_the_daemon_port():
    node = {"status": {"addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP",
                                                                           "address": "198.18.0.5"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10251}}}}
    assert npx.node_address(node) == ("198.18.0.5", 10251)
    assert npx.node_address({"status": {"addresses": [{"type": "Hostname", "address": "n1"}]}}) == ("n1", 10250)
    with pytest.raises(errors.StatusError):
        npx.node_address({"status": {}})


@pytest.mark.parametrize("n,q", [(0, "0"), (2_000_000_000, "2"), (12_000_000, "12m"), (1_500_000, "1500u"),
                                 (1234, "1234n")])
def test_cpu_quantities(n, q):
    assert npx.format_cpu(n) == q


def test_pod_metrics_from_a_summary_entry():
    sp = {"podRef": {"name": "p", "namespace": "default", "uid": "u1"},
          "containers": [{"name": "a", "cpu": {"time": "2024-01-01T00:00:00Z", "usageNanoCores": 12_000_000},
                          "memory": {"workingSetBytes": 20 << 20}}]}
    m = npx.pod_metrics(sp, pod())
    assert m["kind"] == "PodMetrics" and m["window"] == "10s" and m["timestamp"] == "2024-01-01T00:00:00Z"
    assert m["metadata"]["labels"] == {"app": "x"}
    assert m["containers"] == [{"name": "a", "usage": {"cpu": "12m", "memory": "20Mi"}}]
    del sp["containers"][0]["cpu"]["usageNanoCores"]
    assert npx.pod_metrics(sp, pod()) is None  # one sample only: no rate yet


def test_kubelet_errors_become_statuses():
    e = npx._response_error(400, b"container \"a\" in pod \"p\" is not running\n")
    assert (e.code, e.reason, e.message) == (400, errors.StatusReason.BAD_REQUEST,
                                             'container "a" in pod "p" is not running')
    assert npx._response_error(404, b"").reason == errors.StatusReason.NOT_FOUND
