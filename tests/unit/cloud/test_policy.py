"""IAM policy evaluation and trust policies, table-driven."""

import pytest

from kubelite.cloud.api.errors import ServiceError
from kubelite.cloud.iam import policy

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
EKS_READ = {"Statement": [{"Effect": "Allow", "Action": ["eks:Describe*", "eks:List*"], "Resource": "*"}]}
DENY_DELETE = {"Statement": {"Effect": "Deny", "Action": "eks:DeleteCluster",
                             "Resource": "arn:aws:eks:*:*:cluster/prod-*"}}
NOT_ACTION = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
COND = {"Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*",
                       "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}]}


@pytest.mark.parametrize("docs,action,resource,ctx,want", [
    ([ADMIN], "eks:CreateCluster", "arn:aws:eks:us-east-1:1:cluster/a", {}, policy.ALLOW),
    ([], "eks:CreateCluster", "*", {}, policy.IMPLICIT_DENY),
    ([EKS_READ], "eks:DescribeCluster", "x", {}, policy.ALLOW),
    ([EKS_READ], "EKS:describecluster", "x", {}, policy.ALLOW),
    ([EKS_READ], "eks:CreateCluster", "x", {}, policy.IMPLICIT_DENY),
    ([ADMIN, DENY_DELETE], "eks:DeleteCluster", "arn:aws:eks:us-east-1:1:cluster/prod-1", {}, policy.DENY),
    ([ADMIN, DENY_DELETE], "eks:DeleteCluster", "arn:aws:eks:us-east-1:1:cluster/dev-1", {}, policy.ALLOW),
    ([NOT_ACTION], "iam:CreateUser", "*", {}, policy.IMPLICIT_DENY),
    ([NOT_ACTION], "eks:ListClusters", "*", {}, policy.ALLOW),
    ([COND], "eks:ListClusters", "*", {"aws:RequestedRegion": "eu-west-1"}, policy.ALLOW),
    ([COND], "eks:ListClusters", "*", {"aws:RequestedRegion": "us-east-1"}, policy.IMPLICIT_DENY),
    ([COND], "eks:ListClusters", "*", {}, policy.IMPLICIT_DENY),
], ids=["admin", "none", "read", "case", "read-no-create", "deny-wins", "deny-other", "notaction-deny",
        "notaction-allow", "cond-match", "cond-miss", "cond-absent"])
def test_evaluate(docs, action, resource, ctx, want):
    assert policy.evaluate([policy.parse(d) for d in docs], action, resource, ctx) == want


@pytest.mark.parametrize("doc,trust,msg", [
    ("{not json", False, "Syntax errors"),
    ({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}, False, "Invalid effect"),
    ({"Statement": [{"Effect": "Allow", "Resource": "*"}]}, False, "actions"),
    ({"Statement": [{"Effect": "Allow", "Action": "*"}]}, False, "resources"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}]}, False, "principal"),
    ({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}, True, "Principal"),
    ({"Version": "2099-01-01", "Statement": []}, False, "version"),
])
def test_malformed(doc, trust, msg):
    with pytest.raises(ServiceError) as e:
        policy.parse(doc, trust=trust)
    assert e.value.code == "MalformedPolicyDocument" and msg in e.value.message


def trust(principal):
    return policy.parse({"Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]},
                        trust=True)


@pytest.mark.parametrize("principal,caller,want", [
    ({"AWS": "arn:aws:iam::111111111111:user/bob"},
     policy.Caller("111111111111", ("arn:aws:iam::111111111111:user/bob",)), "explicit"),
    ({"AWS": "arn:aws:iam::111111111111:root"},
     policy.Caller("111111111111", ("arn:aws:iam::111111111111:user/bob",)), "account"),
    ({"AWS": "111111111111"}, policy.Caller("111111111111", ("x",)), "account"),
    ({"AWS": "arn:aws:iam::222222222222:root"}, policy.Caller("111111111111", ("x",)), None),
    ({"Service": "eks.amazonaws.com"}, policy.Caller("", (), service="eks.amazonaws.com"), "explicit"),
    ({"Service": "eks.amazonaws.com"}, policy.Caller("", (), service="ec2.amazonaws.com"), None),
    ("*", policy.Caller("333333333333", ("x",)), "explicit"),
])
def test_trust(principal, caller, want):
    assert policy.trust_decision(trust(principal), caller, "sts:AssumeRole") == want
