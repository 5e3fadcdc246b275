"""Fargate: which pods a profile takes (admission), how a pod's node is sized; the hosts-file
block the service owns."""

import asyncio

import pytest

from kubelite.cloud.eks.fargate_sync import capacity_text, fargate_node_name, fargate_size, pod_requests
from kubelite.cloud.hosts import HostsFile, replace_block
from kubelite.cloud.provisioner.fargate_admission import (FARGATE_SCHEDULER, FargateAdmission, matching_profile,
                                                          write_profiles)

PROFILES = [{"name": "prod", "selectors": [{"namespace": "prod*", "labels": {"tier": "web?"}}]},
            {"name": "serverless", "selectors": [{"namespace": "serverless"}]},
            {"name": "also-serverless", "selectors": [{"namespace": "serverless"}]}]


def pod(ns="default", labels=None, ann=None, **spec):
    return {"metadata": {"name": "p", "namespace": ns, "labels": labels or {}, "annotations": ann or {}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


@pytest.mark.parametrize("p, want", [
    (pod("serverless"), "also-serverless"),                                     # several match: first by name
    (pod("serverless", labels={"eks.amazonaws.com/fargate-profile": "serverless"}), "serverless"),
    (pod("prod-eu", labels={"tier": "web1"}), "prod"),                          # wildcards
    (pod("prod-eu", labels={"tier": "db"}), None),                              # every selector label must match
    (pod("default"), None),                                                     # no profile: untouched
    (pod("serverless", ann={"eks.amazonaws.com/compute-type": "ec2"}), None),
    (pod("serverless", schedulerName="other"), None),
    (pod("serverless", nodeName="n1"), None),
], ids=["first", "labelled", "wildcards", "labels", "none", "ec2", "other-scheduler", "bound"])
def test_matching_profile(p, want):
    assert matching_profile(PROFILES, p) == want


def test_admission_hands_matching_pods_to_the_fargate_scheduler(tmp_path):
    from kubelite.registry.generic.store import AdmissionAttributes

    path = tmp_path / "fargate-profiles.json"
    adm = FargateAdmission(path)

    def admit(p):
        class R:
            kind, group = "Pod", ""
        a = AdmissionAttributes("CREATE", R(), "", p["metadata"]["namespace"], "p", p, None, None, False)
        asyncio.run(adm.admit(a))
        return p

    assert "schedulerName" not in admit(pod("serverless"))["spec"]      # no profiles yet
    write_profiles(path, PROFILES[1:2])
    p = admit(pod("serverless"))
    assert p["spec"]["schedulerName"] == FARGATE_SCHEDULER
    assert p["metadata"]["annotations"]["eks.amazonaws.com/fargate-profile"] == "serverless"
    assert "schedulerName" not in admit(pod("default"))["spec"]


@pytest.mark.parametrize("cpu, mem, want", [
    (None, None, (0.25, 0.5)), ("250m", "256Mi", (0.25, 0.5)), ("250m", "300Mi", (0.25, 1.0)), ("300m", "600Mi", (0.5, 1)),
    ("1", "3Gi", (1, 4)), ("2", "20Gi", (4, 21)),
])
def test_fargate_sizes(cpu, mem, want):
    res = {"requests": {k: v for k, v in (("cpu", cpu), ("memory", mem)) if v}}
    p = pod(containers=[{"name": "c", "image": "x", "resources": res}])
    assert fargate_size(*pod_requests(p)) == want


def test_fargate_names():
    assert capacity_text(0.25, 0.5) == "0.25vCPU 0.5GB"
    assert fargate_node_name("us-west-2", "198.18.64.9") == "fargate-ip-198-18-64-9.us-west-2.compute.internal"


def test_hosts_block_is_ours_only(tmp_path):
    text = "127.0.0.1 localhost\n# BEGIN t\n1.2.3.4 old\n# END t\n::1 ip6\n"
    assert replace_block(text, "t", "") == "127.0.0.1 localhost\n::1 ip6\n"
    f = tmp_path / "hosts"
    f.write_text("127.0.0.1 localhost\n")
    h = HostsFile("kubelite-cloud test", f)
    asyncio.run(h.set("a.elb.us-east-1.amazonaws.com", "198.18.200.2"))
    asyncio.run(h.set("b", "198.18.200.3"))
    asyncio.run(h.set("b", None))
    assert f.read_text() == ("127.0.0.1 localhost\n# BEGIN kubelite-cloud test\n"
                             "198.18.200.2\ta.elb.us-east-1.amazonaws.com\n# END kubelite-cloud test\n")
    asyncio.run(h.clear())
    assert f.read_text() == "127.0.0.1 localhost\n"
