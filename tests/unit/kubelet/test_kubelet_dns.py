"""resolv.conf for each dnsPolicy, dnsConfig merging, and the managed /etc/hosts."""

from kubelite.kubelet.dns import ResolvConf, parse_resolv_conf, pod_hosts_file, pod_resolv_conf

HOST = ResolvConf(["10.0.0.2"], ["corp.example"], ["timeout:2"])


def pod(**spec):
    return {"metadata": {"name": "web-0", "namespace": "shop"}, "spec": spec}


def test_cluster_first():
    conf, warning = pod_resolv_conf(pod(), ["198.18.128.10"], "cluster.local", HOST)
    assert conf.nameservers == ["198.18.128.10"] and conf.options == ["ndots:5"] and not warning
    assert conf.searches == ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"]


def test_host_network_and_default_use_the_node():
    for p in (pod(hostNetwork=True), pod(dnsPolicy="Default")):
        conf, _ = pod_resolv_conf(p, ["198.18.128.10"], "cluster.local", HOST)
        assert conf.nameservers == ["10.0.0.2"] and conf.searches == ["corp.example"]
    conf, _ = pod_resolv_conf(pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet"), ["198.18.128.10"],
                              "cluster.local", HOST)
    assert conf.nameservers == ["198.18.128.10"]


def test_missing_cluster_dns_falls_back_with_warning():
    conf, warning = pod_resolv_conf(pod(), [], "cluster.local", HOST)
    assert conf.nameservers == ["10.0.0.2"] and 'Falling back to "Default" policy' in warning


def test_none_with_dns_config():
    p = pod(dnsPolicy="None", dnsConfig={"nameservers": ["1.1.1.1", "1.1.1.1"], "searches": ["a.b"],
                                         "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]})
    conf, _ = pod_resolv_conf(p, ["198.18.128.10"], "cluster.local", HOST)
    assert conf == ResolvConf(["1.1.1.1"], ["a.b"], ["ndots:2", "edns0"])
    p = pod(dnsConfig={"options": [{"name": "ndots", "value": "1"}]})
    conf, _ = pod_resolv_conf(p, ["198.18.128.10"], "cluster.local", HOST)
    assert conf.options == ["ndots:1"]


def test_parse_resolv_conf():
    conf = parse_resolv_conf("# c\nnameserver 1.2.3.4\nsearch a b\noptions ndots:1 rotate\nnameserver 5.6.7.8\n")
    assert conf == ResolvConf(["1.2.3.4", "5.6.7.8"], ["a", "b"], ["ndots:1", "rotate"])


def test_hosts_file():
    text = pod_hosts_file(pod(hostname="h", subdomain="sub", hostAliases=[{"ip": "10.1.1.1",
                                                                           "hostnames": ["foo", "bar"]}]),
                          ["198.19.0.5"], "cluster.local")
    lines = text.splitlines()
    assert lines[0] == "# Kubernetes-managed hosts file." and "127.0.0.1\tlocalhost" in lines
    assert "198.19.0.5\th.sub.shop.svc.cluster.local\th" in lines
    assert lines[-2:] == ["# Entries added by HostAliases.", "10.1.1.1\tfoo\tbar"]
    assert "198.19.0.5\tweb-0" in pod_hosts_file(pod(), ["198.19.0.5"], "cluster.local").splitlines()
    host = pod_hosts_file(pod(hostNetwork=True), [], "cluster.local", node_hosts="127.0.0.1 node\n")
    assert host.startswith("# Kubernetes-managed hosts file (host network).\n127.0.0.1 node")
