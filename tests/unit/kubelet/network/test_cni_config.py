import pytest

from kubelite.kubelet.network.cni import config as cni
from kubelite.kubelet.network.interface import PodNetworkRequest, PortMapping

REQ = PodNetworkRequest("sb1", "web-0", "default", "uid-1",
                        [PortMapping(80, 8080), PortMapping(53, 0, "UDP"), PortMapping(443, 8443, "TCP", "198.18.0.11")])


def test_node_conflist_shape():
    c = cni.node_conflist(pod_cidr="198.19.1.0/24", data_dir="/run/klt/n1/ipam", bridge="kltbr0")
    bridge, portmap = c["plugins"]
    assert c["cniVersion"] == "1.0.0" and cni.validate_conflist(c) == []
    assert bridge["ipMasq"] is False and bridge["hairpinMode"] is True and bridge["isGateway"] is True
    assert bridge["ipam"]["ranges"] == [[{"subnet": "198.19.1.0/24", "gateway": "198.19.1.1"}]]
    assert bridge["ipam"]["dataDir"] == "/run/klt/n1/ipam"
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}
    assert cni.plugin_types(c) == ["bridge", "host-local", "portmap"]


def test_plugin_request_adds_version_name_runtime_config_and_prev_result():
    c = cni.node_conflist(pod_cidr="198.19.1.0/24", data_dir="/d")
    caps = cni.capability_args(REQ)
    assert caps == {"portMappings": [
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
        {"hostPort": 8443, "containerPort": 443, "protocol": "tcp", "hostIP": "198.18.0.11"},
    ]}
    bridge = cni.plugin_request(c, c["plugins"][0], prev_result=None, capabilities=caps)
    assert bridge["name"] == "kubelite" and bridge["cniVersion"] == "1.0.0"
    assert "runtimeConfig" not in bridge and "prevResult" not in bridge
    portmap = cni.plugin_request(c, c["plugins"][1], prev_result={"ips": []}, capabilities=caps)
    assert portmap["runtimeConfig"] == caps and portmap["prevResult"] == {"ips": []}
    assert "capabilities" not in portmap


def test_cni_args_and_skip_check():
    assert cni.format_cni_args(cni.cni_args(REQ)) == (
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;"
        "K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=uid-1"
    )
    c = cni.node_conflist(pod_cidr="198.19.1.0/24", data_dir="/d")
    assert [cni.skip_check(c, p) for p in c["plugins"]] == [False, True]
    assert cni.skip_check({**c, "disableCheck": True}, c["plugins"][0])


RESULT = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "cni0", "mac": "aa"}, {"name": "veth1", "mac": "bb"},
                   {"name": "eth0", "mac": "cc", "sandbox": "/var/run/netns/x"}],
    "ips": [{"interface": 2, "address": "198.19.1.2/24", "gateway": "198.19.1.1"},
            {"interface": 0, "address": "198.19.1.1/24"}],
}


@pytest.mark.parametrize("result,want", [(RESULT, ["198.19.1.2"]), (None, []), ({"ips": [{"address": "10.0.0.5/8"}]}, ["10.0.0.5"])])
def test_pod_ips(result, want):
    assert cni.pod_ips(result, "eth0") == want


def test_validate_conflist():
    assert cni.validate_conflist({"plugins": [{}]}) == [
        "conflist has no name", "conflist has no cniVersion", "plugin 0 has no type"]
