"""`pod_resolv_conf`, `pod_dns_config` and `pod_hosts_file`: the kubelet's files (pure)."""

import pytest

from kubelite.dns import parse_resolv_conf, pod_dns_config, pod_hosts_file, pod_resolv_conf

HOST = "nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example. lab.example\noptions edns0 timeout:2\n"


def pod(policy=None, ns="team", host_network=False, dns_config=None, **spec):
    s = dict(spec)
    if policy:
        s["dnsPolicy"] = policy
    if host_network:
        s["hostNetwork"] = True
    if dns_config is not None:
        s["dnsConfig"] = dns_config
    return {"metadata": {"namespace": ns, "name": "web-0"}, "spec": s}


def test_cluster_first_default():
    assert pod_resolv_conf(pod(), "198.18.128.10", "cluster.local", HOST) == (
        "search team.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\n"
        "nameserver 198.18.128.10\n"
        "options ndots:5\n")


@pytest.mark.parametrize("policy,host_network,cluster_dns,want_servers", [
    ("ClusterFirst", True, "198.18.128.10", ("192.0.2.53", "192.0.2.54")),
    ("ClusterFirstWithHostNet", True, "198.18.128.10", ("198.18.128.10",)),
    ("ClusterFirst", False, None, ("192.0.2.53", "192.0.2.54")),
    ("Default", False, "198.18.128.10", ("192.0.2.53", "192.0.2.54")),
    ("None", False, "198.18.128.10", ()),
], ids=["hostnet-falls-back", "with-hostnet", "no-cluster-dns", "default", "none"])
def test_policies(policy, host_network, cluster_dns, want_servers):
    cfg = pod_dns_config(pod(policy, host_network=host_network), cluster_dns, "cluster.local", HOST)
    assert cfg.servers == want_servers
    if want_servers and want_servers[0].startswith("192"):
        assert cfg.searches == ("corp.example", "lab.example") and cfg.options == ("edns0", "timeout:2")
    if cluster_dns is None:
        assert cfg.warnings


def test_dns_config_is_merged():
    cfg = pod_dns_config(pod(dns_config={"nameservers": ["192.0.2.99", "198.18.128.10"],
                                         "searches": ["extra.example", "svc.cluster.local"],
                                         "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}),
                         "198.18.128.10", "cluster.local", HOST)
    assert cfg.servers == ("198.18.128.10", "192.0.2.99")
    assert cfg.searches[-1] == "extra.example" and cfg.searches.count("svc.cluster.local") == 1
    assert cfg.options == ("ndots:2", "edns0")


def test_none_policy_uses_only_dns_config():
    text = pod_resolv_conf(pod("None", dns_config={"nameservers": ["192.0.2.1"], "searches": ["a.example"],
                                                   "options": [{"name": "ndots", "value": "1"}]}),
                           "198.18.128.10", "cluster.local", HOST)
    assert text == "search a.example\nnameserver 192.0.2.1\noptions ndots:1\n"


def test_limits():
    cfg = pod_dns_config(pod("None", dns_config={"nameservers": [f"192.0.2.{i}" for i in range(5)],
                                                 "searches": [f"s{i}.example" for i in range(40)]}), None)
    assert len(cfg.servers) == 3 and len(cfg.searches) == 32 and len(cfg.warnings) == 2


def test_parse_resolv_conf():
    rc = parse_resolv_conf("# c\nnameserver 1.1.1.1 # x\ndomain a.example\nsearch b.example .\noptions rotate\n")
    assert rc.nameservers == ("1.1.1.1",) and rc.searches == ("b.example",) and rc.options == ("rotate",)


def test_hosts_file():
    p = pod(hostname="db-0", subdomain="db", hostAliases=[{"ip": "192.0.2.7", "hostnames": ["a.example", "b"]}])
    text = pod_hosts_file(p, ["198.19.1.5"])
    assert text.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
    assert "198.19.1.5\tdb-0.db.team.svc.cluster.local\tdb-0\n" in text
    assert text.endswith("\n# Entries added by HostAliases.\n192.0.2.7\ta.example\tb\n")
    assert "198.19.1.5\tweb-0\n" in pod_hosts_file(pod(), ["198.19.1.5"], [])


def test_hosts_file_for_host_network_pods():
    p = pod(host_network=True, hostAliases=[{"ip": "192.0.2.7", "hostnames": ["a.example"]}])
    text = pod_hosts_file(p, ["198.18.0.11"], node_hosts="127.0.0.1\tlocalhost\n198.18.0.11\tnode-1\n")
    assert text == ("# Kubernetes-managed hosts file (host network).\n127.0.0.1\tlocalhost\n198.18.0.11\tnode-1\n"
                    "\n# Entries added by HostAliases.\n192.0.2.7\ta.example\n")
