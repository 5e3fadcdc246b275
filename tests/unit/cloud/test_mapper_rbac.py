"""Identity mapping (access entries, creator, aws-auth, templates) and access policies as RBAC."""

import pytest

from kubelite.cloud.eks import mapper, rbac
from kubelite.cloud.iam.store import Principal

ACCT = "000000000000"
ALICE = Principal(ACCT, f"arn:aws:iam::{ACCT}:user/alice", "AIDAALICE", "user", "alice", "AKIAALICE")
ROLE_SESSION = Principal(ACCT, f"arn:aws:sts::{ACCT}:assumed-role/dev/bob@example.com", "AROADEV:bob@example.com",
                         "assumed-role", "dev", "ASIADEV", "bob@example.com", f"arn:aws:iam::{ACCT}:role/teams/dev")
NODE = Principal(ACCT, f"arn:aws:sts::{ACCT}:assumed-role/NodeRole/i-0123456789abcdef0",
                 "AROANODE:i-0123456789abcdef0", "assumed-role", "NodeRole", "ASIANODE", "i-0123456789abcdef0",
                 f"arn:aws:iam::{ACCT}:role/NodeRole")


def cluster(mode, creator=f"arn:aws:iam::{ACCT}:user/admin"):
    return {"accessConfig": {"authenticationMode": mode}, "internal": {"creator": creator}}


def nodes(instance_id):
    return {"i-0123456789abcdef0": "ip-198-18-64-4.ec2.internal"}.get(instance_id)


def test_access_entry_with_templated_username_and_groups():
    entry = {"principalArn": f"arn:aws:iam::{ACCT}:role/teams/dev", "type": "STANDARD",
             "username": "dev:{{SessionName}}:{{AccountID}}", "kubernetesGroups": ["devs"],
             "associatedAccessPolicies": [{"policyArn": "x"}]}
    u = mapper.map_user(ROLE_SESSION, cluster("API"), [entry], None, nodes)
    assert u.username == f"dev:bob-example.com:{ACCT}"
    assert u.groups == ["devs", f"eks-access-entry:arn:aws:iam::{ACCT}:role/teams/dev"]
    assert u.uid == f"aws-iam-authenticator:{ACCT}:AROADEV"
    assert u.extra["canonicalArn"] == [f"arn:aws:iam::{ACCT}:role/dev"]
    assert u.extra["sessionName"] == ["bob@example.com"]


def test_node_entry_renders_the_instance_node_name():
    entry = {"principalArn": f"arn:aws:iam::{ACCT}:role/NodeRole", "type": "EC2_LINUX",
             "username": "system:node:{{EC2PrivateDNSName}}", "kubernetesGroups": ["system:nodes"]}
    u = mapper.map_user(NODE, cluster("API_AND_CONFIG_MAP"), [entry], None, nodes)
    assert u.username == "system:node:ip-198-18-64-4.ec2.internal"
    assert u.groups == ["system:bootstrappers", "system:nodes"]
    unknown = Principal(ACCT, NODE.arn.replace("i-0123456789abcdef0", "i-ffffffffffffffff0"), "AROANODE:x",
                        "assumed-role", "NodeRole", "ASIA", "i-ffffffffffffffff0")
    assert mapper.map_user(unknown, cluster("API"), [entry], None, nodes) is None


@pytest.mark.parametrize("mode,expect", [("CONFIG_MAP", "kubernetes-admin"), ("API", None),
                                         ("API_AND_CONFIG_MAP", None)])
def test_creator_is_admin_only_through_config_map_mode(mode, expect):
    admin = Principal(ACCT, f"arn:aws:iam::{ACCT}:user/admin", "AIDAADMIN", "user", "admin", "AKIA")
    u = mapper.map_user(admin, cluster(mode), [], None, nodes)
    assert (u.username if u else None) == expect
    if u:
        assert u.groups == ["system:masters"]


def test_aws_auth_map_roles_users_accounts():
    aws_auth = {"mapRoles": f"- rolearn: arn:aws:iam::{ACCT}:role/DEV\n  username: dev-{{{{SessionName}}}}\n"
                            f"  groups: [team-a]\n",
                "mapUsers": f"- userarn: arn:aws:iam::{ACCT}:user/alice\n  username: alice\n"
                            f"  groups: [system:masters]\n",
                "mapAccounts": "- '111111111111'\n"}
    u = mapper.map_user(ROLE_SESSION, cluster("CONFIG_MAP"), [], aws_auth, nodes)
    assert (u.username, u.groups) == ("dev-bob-example.com", ["team-a"])  # case-insensitive ARN match
    u = mapper.map_user(ALICE, cluster("API_AND_CONFIG_MAP"), [], aws_auth, nodes)
    assert (u.username, u.groups) == ("alice", ["system:masters"])
    other = Principal("111111111111", "arn:aws:iam::111111111111:user/zed", "AIDAZ", "user", "zed", "AKIAZ")
    assert mapper.map_user(other, cluster("CONFIG_MAP"), [], aws_auth, nodes).username == other.arn
    assert mapper.map_user(ALICE, cluster("API"), [], aws_auth, nodes) is None  # API mode ignores aws-auth
    assert mapper.map_user(ALICE, cluster("CONFIG_MAP"), [], {"mapUsers": "{not: [valid"}, nodes) is None


def test_desired_bindings():
    entries = [
        {"principalArn": "arn:aws:iam::1:user/a", "associatedAccessPolicies": [
            {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
             "accessScope": {"type": "cluster", "namespaces": []}}]},
        {"principalArn": "arn:aws:iam::1:role/b", "associatedAccessPolicies": [
            {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
             "accessScope": {"type": "namespace", "namespaces": ["team-*", "exact"]}},
            {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy",
             "accessScope": {"type": "cluster", "namespaces": []}}]},
    ]
    got = rbac.desired_bindings(entries, ["default", "team-a", "team-b", "exact", "other"])
    summary = sorted((b["kind"], b["metadata"].get("namespace", ""), b["roleRef"]["name"], b["subjects"][0]["name"])
                     for b in got)
    assert summary == [("ClusterRoleBinding", "", "view", "eks-access-entry:arn:aws:iam::1:user/a"),
                       ("RoleBinding", "exact", "edit", "eks-access-entry:arn:aws:iam::1:role/b"),
                       ("RoleBinding", "team-a", "edit", "eks-access-entry:arn:aws:iam::1:role/b"),
                       ("RoleBinding", "team-b", "edit", "eks-access-entry:arn:aws:iam::1:role/b")]
    for b in got:
        assert b["metadata"]["labels"][rbac.MANAGED_BY] == rbac.MANAGER
        assert ":" not in b["metadata"]["name"]
