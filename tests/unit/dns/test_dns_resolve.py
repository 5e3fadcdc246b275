"""`resolve` against `ClusterRecords` (pure): the Kubernetes DNS specification's records."""

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from kubelite.dns import ClusterRecords, DNSOptions, resolve


def service(name, ip="198.18.128.20", ports=({"name": "http", "port": 80},), ns="default", **spec):
    return {"metadata": {"namespace": ns, "name": name},
            "spec": {"clusterIP": ip, **({"clusterIPs": [ip]} if ip != "None" else {}), "ports": list(ports), **spec}}


def slice_(svc, endpoints, ports=({"name": "http", "port": 8080},), name=None, ns="default"):
    return {"metadata": {"namespace": ns, "name": name or f"{svc}-abc",
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": [{"protocol": "TCP", **p} for p in ports], "endpoints": endpoints}


def ep(ip, ready=True, hostname=None):
    e = {"addresses": [ip], "conditions": {"ready": ready}}
    if hostname:
        e["hostname"] = hostname
    return e


@pytest.fixture
def records():
    r = ClusterRecords()
    r.set_service(service("web"))
    r.set_service(service("db", "None", ports=({"name": "pg", "port": 5432}, {"port": 9000})))
    r.set_slice(slice_("db", [ep("198.19.1.5", hostname="db-0"), ep("198.19.1.6"), ep("198.19.1.7", ready=False)],
                       ports=({"name": "pg", "port": 5432}, {"name": "", "port": 9000})))
    r.set_service(service("empty", "None"))
    r.set_service({"metadata": {"namespace": "default", "name": "ext"},
                   "spec": {"type": "ExternalName", "externalName": "www.example.test"}})
    r.set_pod({"metadata": {"namespace": "default", "name": "p"}, "status": {"podIP": "198.19.1.5"}})
    return r


def ask(records, name, qtype="A", **opts):
    return resolve(DNSRecord.question(name, qtype), records, DNSOptions(**opts))


def answers(res):
    return sorted((QTYPE[rr.rtype], str(rr.rdata)) for rr in res.reply.rr)


def test_clusterip_service_a_record(records):
    res = ask(records, "web.default.svc.cluster.local")
    assert res.reply.header.rcode == RCODE.NOERROR and res.reply.header.aa
    assert answers(res) == [("A", "198.18.128.20")]
    assert all(rr.ttl == 5 for rr in res.reply.rr)


def test_names_are_case_insensitive_and_keep_the_question_spelling(records):
    res = ask(records, "WEB.Default.SVC.cluster.local")
    assert answers(res) == [("A", "198.18.128.20")]
    assert str(res.reply.rr[0].rname) == "WEB.Default.SVC.cluster.local."


@pytest.mark.parametrize("name", ["nope.default.svc.cluster.local", "web.other.svc.cluster.local",
                                  "x.y.web.default.svc.cluster.local", "foo.cluster.local",
                                  "empty.default.svc.cluster.local", "other.pod.cluster.local"],
                         ids=["no-service", "no-namespace", "too-deep", "unknown-kind", "headless-no-endpoints",
                              "pod-namespace-unknown"])
def test_nxdomain_with_soa(records, name):
    res = ask(records, name)
    assert res.reply.header.rcode == RCODE.NXDOMAIN
    assert not res.reply.rr
    assert [QTYPE[a.rtype] for a in res.reply.auth] == ["SOA"]
    assert str(res.reply.auth[0].rname) == "cluster.local."


def test_nodata_for_existing_name_and_other_type(records):
    res = ask(records, "web.default.svc.cluster.local", "AAAA")
    assert res.reply.header.rcode == RCODE.NOERROR and not res.reply.rr
    assert [QTYPE[a.rtype] for a in res.reply.auth] == ["SOA"]
    assert ask(records, "default.svc.cluster.local").reply.header.rcode == RCODE.NOERROR


def test_headless_service_one_a_per_ready_endpoint(records):
    assert answers(ask(records, "db.default.svc.cluster.local")) == [("A", "198.19.1.5"), ("A", "198.19.1.6")]


def test_headless_endpoint_hostnames(records):
    assert answers(ask(records, "db-0.db.default.svc.cluster.local")) == [("A", "198.19.1.5")]
    assert answers(ask(records, "198-19-1-6.db.default.svc.cluster.local")) == [("A", "198.19.1.6")]
    assert ask(records, "198-19-1-7.db.default.svc.cluster.local").reply.header.rcode == RCODE.NXDOMAIN


def test_publish_not_ready_addresses(records):
    records.set_service(service("db", "None", ports=({"name": "pg", "port": 5432},), publishNotReadyAddresses=True))
    assert len(answers(ask(records, "db.default.svc.cluster.local"))) == 3


def test_srv_for_named_port_of_clusterip_service(records):
    res = ask(records, "_http._tcp.web.default.svc.cluster.local", "SRV")
    assert answers(res) == [("SRV", "0 100 80 web.default.svc.cluster.local.")]
    assert [(str(a.rname), str(a.rdata)) for a in res.reply.ar] == [("web.default.svc.cluster.local.", "198.18.128.20")]


def test_srv_for_headless_service_lists_every_ready_endpoint(records):
    res = ask(records, "_pg._tcp.db.default.svc.cluster.local", "SRV")
    assert answers(res) == [("SRV", "0 50 5432 198-19-1-6.db.default.svc.cluster.local."),
                            ("SRV", "0 50 5432 db-0.db.default.svc.cluster.local.")]
    assert len(res.reply.ar) == 2


@pytest.mark.parametrize("name", ["_nope._tcp.web.default.svc.cluster.local",
                                  "_http._udp.web.default.svc.cluster.local"])
def test_srv_unknown_port_or_protocol_is_nxdomain(records, name):
    assert ask(records, name, "SRV").reply.header.rcode == RCODE.NXDOMAIN


def test_external_name_is_a_cname_to_follow(records):
    res = ask(records, "ext.default.svc.cluster.local")
    assert answers(res) == [("CNAME", "www.example.test.")]
    assert res.chase == "www.example.test"
    assert ask(records, "ext.default.svc.cluster.local", "CNAME").chase == ""


@pytest.mark.parametrize("mode,name,want", [
    ("insecure", "198-19-9-9.default.pod.cluster.local", [("A", "198.19.9.9")]),
    ("verified", "198-19-1-5.default.pod.cluster.local", [("A", "198.19.1.5")]),
    ("verified", "198-19-9-9.default.pod.cluster.local", None),
    ("verified", "198-19-1-5.other.pod.cluster.local", None),
    ("disabled", "198-19-1-5.default.pod.cluster.local", None),
    ("insecure", "not-an-ip.default.pod.cluster.local", None),
])
def test_pod_records(records, mode, name, want):
    res = ask(records, name, pods=mode)
    if want is None:
        assert res.reply.header.rcode == RCODE.NXDOMAIN
    else:
        assert answers(res) == want


def test_pod_delete_removes_verified_record(records):
    records.delete_pod({"metadata": {"namespace": "default", "name": "p"}})
    assert ask(records, "198-19-1-5.default.pod.cluster.local").reply.header.rcode == RCODE.NXDOMAIN


def test_ptr_for_cluster_ip_and_headless_endpoint(records):
    assert answers(ask(records, "20.128.18.198.in-addr.arpa", "PTR")) == [("PTR", "web.default.svc.cluster.local.")]
    assert answers(ask(records, "5.1.19.198.in-addr.arpa", "PTR")) == [("PTR", "db-0.db.default.svc.cluster.local.")]
    assert ask(records, "9.9.19.198.in-addr.arpa", "PTR").forward


def test_outside_the_zone_is_forwarded(records):
    assert ask(records, "www.example.test").forward
    assert ask(records, "cluster.local.example.test").forward


def test_zone_apex_and_schema_version(records):
    assert [QTYPE[r.rtype] for r in ask(records, "cluster.local", "SOA").reply.rr] == ["SOA"]
    assert answers(ask(records, "dns-version.cluster.local", "TXT")) == [("TXT", '"1.1.0"')]


def test_custom_zone_and_ttl(records):
    res = ask(records, "web.default.svc.k8s.example", zone="k8s.example", ttl=30)
    assert answers(res) == [("A", "198.18.128.20")] and res.reply.rr[0].ttl == 30
    assert ask(records, "web.default.svc.cluster.local", zone="k8s.example").forward


def test_records_follow_deletes(records):
    records.delete_service(service("web"))
    assert ask(records, "web.default.svc.cluster.local").reply.header.rcode == RCODE.NXDOMAIN
    assert ask(records, "20.128.18.198.in-addr.arpa", "PTR").forward
    records.delete_slice(slice_("db", []))
    assert ask(records, "db.default.svc.cluster.local").reply.header.rcode == RCODE.NXDOMAIN


def test_endpoints_merge_across_slices(records):
    records.set_slice(slice_("db", [ep("198.19.1.8"), ep("198.19.1.6")], name="db-2",
                             ports=({"name": "pg", "port": 5432},)))
    assert [a[1] for a in answers(ask(records, "db.default.svc.cluster.local"))] == \
        ["198.19.1.5", "198.19.1.6", "198.19.1.8"]
