import asyncio

from kubelite.api.resources import SCHEME
from kubelite.bootstrap.csr import ApprovalStrategy, CSRIdentity
from kubelite.registry.generic.store import AdmissionAttributes, UserInfo
from kubelite.registry.generic.strategy import Strategy

CSR = SCHEME.by_gvr("certificates.k8s.io", "v1", "certificatesigningrequests")


def attrs(op, obj, old=None, sub="", user=None):
    return AdmissionAttributes(op, CSR, sub, "", "x", obj, old, user, False)


def test_create_stamps_the_requester():
    obj = {"spec": {"username": "system:admin", "groups": ["system:masters"], "uid": "fake",
                    "extra": {"a": ["b"]}, "request": "..."}}
    user = UserInfo("system:bootstrap:abcdef", "", ["system:bootstrappers", "system:authenticated"])
    asyncio.run(CSRIdentity().admit(attrs("CREATE", obj, user=user)))
    assert obj["spec"]["username"] == "system:bootstrap:abcdef"
    assert obj["spec"]["groups"] == ["system:bootstrappers", "system:authenticated"]
    assert "uid" not in obj["spec"] and "extra" not in obj["spec"]


def test_plain_update_keeps_spec_and_status():
    old = {"spec": {"username": "u", "request": "r"}, "status": {"conditions": [{"type": "Approved"}]}}
    new = {"spec": {"username": "evil", "request": "r2"}, "status": {}}
    asyncio.run(CSRIdentity().admit(attrs("UPDATE", new, old)))
    assert new["spec"] == old["spec"] and new["status"] == old["status"]


def test_status_update_cannot_approve():
    old = {"spec": {}, "status": {}}
    new = {"spec": {}, "status": {"certificate": "Y2VydA==", "conditions": [
        {"type": "Approved", "status": "True"}, {"type": "Failed", "status": "True"}]}}
    asyncio.run(CSRIdentity().admit(attrs("UPDATE", new, old, sub="status")))
    assert [c["type"] for c in new["status"]["conditions"]] == ["Failed"]
    assert new["status"]["certificate"] == "Y2VydA=="


def test_approval_changes_only_the_approval_conditions():
    s = ApprovalStrategy(Strategy(CSR))
    old = {"metadata": {"name": "x", "resourceVersion": "5"}, "spec": {"username": "u"},
           "status": {"certificate": "abc", "conditions": [{"type": "Failed", "status": "True"}]}}
    new = {"metadata": {"name": "x", "resourceVersion": "5", "labels": {"sneaky": "1"}},
           "spec": {"username": "evil"},
           "status": {"certificate": "forged", "conditions": [{"type": "Approved", "status": "True",
                                                               "reason": "R"}]}}
    s.prepare_for_update(new, old)
    assert new["spec"] == {"username": "u"} and "labels" not in new["metadata"]
    assert new["status"]["certificate"] == "abc"
    assert [c["type"] for c in new["status"]["conditions"]] == ["Approved", "Failed"]
    assert new["status"]["conditions"][0]["lastTransitionTime"]


def test_approved_and_denied_are_exclusive_and_sticky():
    s = ApprovalStrategy(Strategy(CSR))
    both = {"status": {"conditions": [{"type": "Approved", "status": "True"}, {"type": "Denied", "status": "True"}]}}
    assert any("mutually exclusive" in e.detail for e in s.validate_update(both, {"status": {}}))
    approved = {"status": {"conditions": [{"type": "Approved", "status": "True"}]}}
    assert any("may not remove" in e.detail for e in s.validate_update({"status": {}}, approved))
