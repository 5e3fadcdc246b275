"""IAM, STS and EC2 with the real AWS CLI (v1) and boto3: users, keys, roles and trust, AssumeRole,
policies deciding what a caller may do, the default VPC; and every authentication failure in
each protocol's own error codes (expired and skewed requests through a moved clock)."""

import json
from datetime import timedelta

import pytest

from kubelite.cloud.provisioner.fake import FakeControlPlanes, FakeInstances
from kubelite.cloud.testing import CloudThread, OffsetClock, aws_env, aws_error, aws_json, run_aws

ACCT = "000000000000"


@pytest.fixture(scope="module")
def clock():
    return OffsetClock()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, clock):
    cps = FakeControlPlanes()
    c = CloudThread(tmp_path_factory.mktemp("cloud") / "data", control_planes=cps, instances=FakeInstances(cps),
                    clock=clock)
    c.start()
    yield c
    c.stop()


@pytest.fixture(autouse=True)
def reset_clock(clock):
    clock.offset = timedelta(0)
    yield
    clock.offset = timedelta(0)


def test_caller_identity_users_keys_and_policies(cloud, tmp_path):
    admin = aws_env(tmp_path / "a", cloud.endpoint)
    assert aws_json(admin, "sts", "get-caller-identity") == {
        "UserId": aws_json(admin, "iam", "get-user")["User"]["UserId"], "Account": ACCT,
        "Arn": f"arn:aws:iam::{ACCT}:user/admin"}
    user = aws_json(admin, "iam", "create-user", "--user-name", "carol", "--path", "/ops/")["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCT}:user/ops/carol" and user["UserId"].startswith("AIDA")
    key = aws_json(admin, "iam", "create-access-key", "--user-name", "carol")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40 and key["Status"] == "Active"
    carol = aws_env(tmp_path / "c", cloud.endpoint, access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert aws_json(carol, "sts", "get-caller-identity")["Arn"] == user["Arn"]
    # No policy: denied everywhere (but may always ask who she is).
    assert "(AccessDenied)" in aws_error(carol, "iam", "create-user", "--user-name", "x")
    assert "(AccessDeniedException)" in aws_error(carol, "eks", "list-clusters")
    assert "(UnauthorizedOperation)" in aws_error(carol, "ec2", "describe-vpcs")
    run_aws(admin, "iam", "attach-user-policy", "--user-name", "carol", "--policy-arn",
            "arn:aws:iam::aws:policy/ReadOnlyAccess")
    aws_json(carol, "eks", "list-clusters")
    aws_json(carol, "ec2", "describe-vpcs")
    assert "(AccessDeniedException)" in aws_error(carol, "eks", "create-cluster", "--name", "x", "--role-arn",
                                                  cloud.cluster_role, "--resources-vpc-config", "{}")
    # A customer managed policy with an explicit deny beats AdministratorAccess.
    pol = aws_json(admin, "iam", "create-policy", "--policy-name", "no-delete", "--policy-document", json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "eks:Delete*", "Resource": "*"}]}))
    run_aws(admin, "iam", "attach-user-policy", "--user-name", "carol", "--policy-arn",
            "arn:aws:iam::aws:policy/AdministratorAccess")
    run_aws(admin, "iam", "attach-user-policy", "--user-name", "carol", "--policy-arn", pol["Policy"]["Arn"])
    assert "(AccessDeniedException)" in aws_error(carol, "eks", "delete-cluster", "--name", "anything")
    assert "(ResourceNotFoundException)" in aws_error(carol, "eks", "describe-cluster", "--name", "anything")
    attached = aws_json(admin, "iam", "list-attached-user-policies", "--user-name", "carol")["AttachedPolicies"]
    assert {p["PolicyName"] for p in attached} == {"ReadOnlyAccess", "AdministratorAccess", "no-delete"}
    # Deleting a user with keys is a conflict; keys first.
    assert "(DeleteConflict)" in aws_error(admin, "iam", "delete-user", "--user-name", "carol")
    keys = aws_json(admin, "iam", "list-access-keys", "--user-name", "carol")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key["AccessKeyId"]]
    run_aws(admin, "iam", "update-access-key", "--user-name", "carol", "--access-key-id", key["AccessKeyId"],
            "--status", "Inactive")
    assert "(InvalidClientTokenId)" in aws_error(carol, "sts", "get-caller-identity")


def test_roles_trust_and_assume_role(cloud, tmp_path):
    admin = aws_env(tmp_path / "a", cloud.endpoint)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                      "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                                                      "Action": "sts:AssumeRole"}]}
    role = aws_json(admin, "iam", "create-role", "--role-name", "deployer", "--assume-role-policy-document",
                    json.dumps(trust), "--max-session-duration", "7200")["Role"]
    assert role["RoleId"].startswith("AROA") and role["MaxSessionDuration"] == 7200
    assert aws_json(admin, "iam", "get-role", "--role-name", "deployer")["Role"]["AssumeRolePolicyDocument"] == trust
    creds = aws_json(admin, "sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "ci@build")
    c = creds["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and c["SessionToken"]
    assert creds["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCT}:assumed-role/deployer/ci@build"
    session = aws_env(tmp_path / "s", cloud.endpoint, access_key_id=c["AccessKeyId"], secret=c["SecretAccessKey"],
                      session_token=c["SessionToken"])
    who = aws_json(session, "sts", "get-caller-identity")
    assert who["Arn"] == creds["AssumedRoleUser"]["Arn"] and who["UserId"] == f"{role['RoleId']}:ci@build"
    # The role has no permissions yet.
    assert "(AccessDeniedException)" in aws_error(session, "eks", "list-clusters")
    run_aws(admin, "iam", "put-role-policy", "--role-name", "deployer", "--policy-name", "eks", "--policy-document",
            json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:*",
                                                                 "Resource": "*"}]}))
    aws_json(session, "eks", "list-clusters")
    # A session token that does not match is rejected; so is one past its expiry.
    wrong = {**session, "AWS_SESSION_TOKEN": "x" + c["SessionToken"][1:]}
    assert "(UnrecognizedClientException)" in aws_error(wrong, "eks", "list-clusters")
    assert "(ExpiredTokenException)" not in aws_error(wrong, "eks", "list-clusters")
    # A user that the trust policy does not name, and who has no identity policy, may not assume it.
    run_aws(admin, "iam", "create-user", "--user-name", "dave")
    k = aws_json(admin, "iam", "create-access-key", "--user-name", "dave")["AccessKey"]
    dave = aws_env(tmp_path / "d", cloud.endpoint, access_key_id=k["AccessKeyId"], secret=k["SecretAccessKey"])
    err = aws_error(dave, "sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "x1")
    assert "(AccessDenied)" in err and f"User: arn:aws:iam::{ACCT}:user/dave is not authorized" in err
    assert "(ValidationError)" in aws_error(admin, "sts", "assume-role", "--role-arn", role["Arn"],
                                             "--role-session-name", "ok", "--duration-seconds", "9000")
    assert "(MalformedPolicyDocument)" in aws_error(admin, "iam", "create-role", "--role-name", "bad",
                                                     "--assume-role-policy-document", "{nope")
    assert "(EntityAlreadyExists)" in aws_error(admin, "iam", "create-role", "--role-name", "DEPLOYER",
                                                 "--assume-role-policy-document", json.dumps(trust))


def test_expired_session_and_skewed_requests(cloud, clock, tmp_path):
    admin = aws_env(tmp_path / "a", cloud.endpoint)
    clock.offset = timedelta(minutes=-2)  # the session starts two minutes "ago"
    creds = aws_json(admin, "sts", "assume-role", "--role-arn", cloud.cluster_role.replace("eksClusterRole",
                                                                                           "deployer"),
                     "--role-session-name", "short", "--duration-seconds", "900")["Credentials"]
    session = aws_env(tmp_path / "s", cloud.endpoint, access_key_id=creds["AccessKeyId"],
                      secret=creds["SecretAccessKey"], session_token=creds["SessionToken"])
    aws_json(session, "sts", "get-caller-identity")
    clock.offset = timedelta(minutes=16)  # the session is over; requests are also 16 minutes "old"
    err = aws_error(admin, "eks", "list-clusters")
    assert "(InvalidSignatureException)" in err and "Signature expired" in err
    assert "(SignatureDoesNotMatch)" in aws_error(admin, "sts", "get-caller-identity")
    assert "(RequestExpired)" in aws_error(admin, "ec2", "describe-vpcs")
    clock.offset = timedelta(minutes=14)  # within the allowed skew, but 16 minutes into a 15-minute session
    assert "(ExpiredTokenException)" in aws_error(session, "eks", "list-clusters")
    assert "(ExpiredToken)" in aws_error(session, "sts", "get-caller-identity")
    clock.offset = timedelta(0)
    aws_json(admin, "eks", "list-clusters")


def test_unknown_keys_and_other_accounts(cloud, tmp_path):
    admin = aws_env(tmp_path / "a", cloud.endpoint)
    stranger = aws_env(tmp_path / "x", cloud.endpoint, access_key_id="AKIAOTHERACCOUNT0001", secret="s" * 40)
    assert "(UnrecognizedClientException)" in aws_error(stranger, "eks", "list-clusters")
    assert "(InvalidClientTokenId)" in aws_error(stranger, "iam", "list-users")
    assert "(AuthFailure)" in aws_error(stranger, "ec2", "describe-subnets")
    # A second account: its keys see only its own resources.
    other = "111111111111"
    iam = cloud.service.iam
    cloud.call(iam.create_account(other, "other"))
    cloud.call(iam.create_user(other, "root-admin"))
    cloud.call(iam.attach_policy("user", other, "root-admin", "arn:aws:iam::aws:policy/AdministratorAccess"))
    k = cloud.call(iam.create_access_key(other, "root-admin"))
    b = aws_env(tmp_path / "b", cloud.endpoint, access_key_id=k["AccessKeyId"], secret=k["SecretAccessKey"])
    assert aws_json(b, "sts", "get-caller-identity")["Account"] == other
    run_aws(admin, "eks", "create-cluster", "--name", "mine", "--role-arn", cloud.cluster_role,
            "--resources-vpc-config", "{}")
    assert "mine" not in aws_json(b, "eks", "list-clusters")["clusters"]
    assert "(ResourceNotFoundException)" in aws_error(b, "eks", "describe-cluster", "--name", "mine")
    # Its default VPC is its own, in other addresses.
    vpcs_a = aws_json(admin, "ec2", "describe-vpcs")["Vpcs"]
    vpcs_b = aws_json(b, "ec2", "describe-vpcs")["Vpcs"]
    assert vpcs_a[0]["VpcId"] != vpcs_b[0]["VpcId"] and vpcs_a[0]["CidrBlock"] != vpcs_b[0]["CidrBlock"]
    # Passing another account's role is refused.
    assert "(InvalidParameterException)" in aws_error(b, "eks", "create-cluster", "--name", "theirs", "--role-arn",
                                                      cloud.cluster_role, "--resources-vpc-config", "{}")


def test_default_vpc_and_filters(cloud, tmp_path):
    admin = aws_env(tmp_path / "a", cloud.endpoint)
    vpc = aws_json(admin, "ec2", "describe-vpcs", "--filters", "Name=is-default,Values=true")["Vpcs"][0]
    assert vpc["IsDefault"] and vpc["State"] == "available" and vpc["OwnerId"] == ACCT
    subnets = aws_json(admin, "ec2", "describe-subnets", "--filters", f"Name=vpc-id,Values={vpc['VpcId']}")["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    for s in subnets:
        assert s["DefaultForAz"] and s["AvailableIpAddressCount"] > 0 and s["SubnetArn"].endswith(s["SubnetId"])
    one = aws_json(admin, "ec2", "describe-subnets", "--filters", "Name=availability-zone,Values=us-east-1b")
    assert [s["AvailabilityZone"] for s in one["Subnets"]] == ["us-east-1b"]
    zones = aws_json(admin, "ec2", "describe-availability-zones")["AvailabilityZones"]
    assert [z["ZoneId"] for z in zones] == ["use1-az1", "use1-az2", "use1-az3"]
    eu = aws_json(admin, "--region", "eu-west-1", "ec2", "describe-vpcs")["Vpcs"]
    assert eu[0]["VpcId"] != vpc["VpcId"]
    assert "(InvalidVpcID.NotFound)" in aws_error(admin, "ec2", "describe-vpcs", "--vpc-ids", "vpc-0000")


def test_service_keeps_running_after_garbage(cloud):
    import urllib.error
    import urllib.request

    for body, ctype in [(b"\xff\xfe", "application/x-www-form-urlencoded"), (b"Action=&Version=2010-05-08",
                                                                            "application/x-www-form-urlencoded"),
                        (b"x" * 100000, "application/json")]:
        req = urllib.request.Request(cloud.endpoint + "/", data=body, headers={"Content-Type": ctype}, method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=5)
        assert 400 <= e.value.code < 500
    with urllib.request.urlopen(cloud.endpoint + "/_kubelite/healthz", timeout=5) as r:
        assert r.status == 200
