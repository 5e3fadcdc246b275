"""The service across restarts (durable state, clusters brought back), cluster version updates
(with two versions offered), `kubelite cloud configure`, and raw requests with missing members."""

import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from kubelite.cloud import sigv4
from kubelite.cloud.config import STARTER_ACCESS_KEY_ID, STARTER_SECRET_ACCESS_KEY
from kubelite.cloud.provisioner.fake import FakeControlPlanes, FakeInstances
from kubelite.cloud.testing import CloudThread, aws_env, run_aws

FAST = {"Delay": 0.1, "MaxAttempts": 100}


def test_state_survives_a_restart(tmp_path):
    data = tmp_path / "data"
    cps = FakeControlPlanes()
    with CloudThread(data, control_planes=cps, instances=FakeInstances(cps)) as cloud:
        port = cloud.config.port
        cloud.client("iam").create_user(UserName="persistent")
        eks = cloud.client("eks")
        eks.create_cluster(name="kept", roleArn=cloud.cluster_role, resourcesVpcConfig={})
        eks.get_waiter("cluster_active").wait(name="kept", WaiterConfig=FAST)
        before = eks.describe_cluster(name="kept")["cluster"]
        vpc = cloud.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    cps2 = FakeControlPlanes()
    with CloudThread(data, control_planes=cps2, instances=FakeInstances(cps2), port=port) as cloud:
        assert cloud.client("iam").get_user(UserName="persistent")["User"]["UserName"] == "persistent"
        assert cloud.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"] == vpc
        eks = cloud.client("eks")
        eks.get_waiter("cluster_active").wait(name="kept", WaiterConfig=FAST)
        after = eks.describe_cluster(name="kept")["cluster"]
        assert after["endpoint"] == before["endpoint"] and after["id"] == before["id"]
        assert cps2.started == ["kept"]  # the restarted service started its control plane again


def test_version_update_restarts_the_control_plane(tmp_path):
    cps = FakeControlPlanes()
    with CloudThread(tmp_path / "data", control_planes=cps, instances=FakeInstances(cps),
                     versions=("1.31", "1.32")) as cloud:
        eks = cloud.client("eks")
        eks.create_cluster(name="old", roleArn=cloud.cluster_role, resourcesVpcConfig={}, version="1.31")
        eks.get_waiter("cluster_active").wait(name="old", WaiterConfig=FAST)
        subnets = eks.describe_cluster(name="old")["cluster"]["resourcesVpcConfig"]["subnetIds"]
        eks.create_nodegroup(clusterName="old", nodegroupName="ng", subnets=subnets, nodeRole=cloud.node_role,
                             scalingConfig={"minSize": 0, "maxSize": 1, "desiredSize": 0})
        eks.get_waiter("nodegroup_active").wait(clusterName="old", nodegroupName="ng", WaiterConfig=FAST)
        with pytest.raises(eks.exceptions.InvalidParameterException):
            eks.update_cluster_version(name="old", version="1.33")
        u = eks.update_cluster_version(name="old", version="1.32")["update"]
        assert u["type"] == "VersionUpdate" and {"type": "Version", "value": "1.32"} in u["params"]
        eks.get_waiter("cluster_active").wait(name="old", WaiterConfig=FAST)
        assert eks.describe_update(name="old", updateId=u["id"])["update"]["status"] == "Successful"
        assert eks.describe_cluster(name="old")["cluster"]["version"] == "1.32"
        assert [s.version for s in cps.specs.values()] == ["1.32"] and cps.started.count("old") == 2
        # The node group is behind now: the next cluster update waits for it.
        assert eks.describe_nodegroup(clusterName="old", nodegroupName="ng")["nodegroup"]["version"] == "1.31"


def test_configure_writes_a_working_profile(tmp_path):
    from kubelite.cli.cloud import cloud_group

    cps = FakeControlPlanes()
    with CloudThread(tmp_path / "data", control_planes=cps, instances=FakeInstances(cps)) as cloud:
        aws_dir = tmp_path / "dot-aws"
        (aws_dir).mkdir()
        (aws_dir / "config").write_text("[profile other]\nregion = eu-west-1\n")
        r = CliRunner().invoke(cloud_group, ["--addr", f"127.0.0.1:{cloud.config.port}", "configure",
                                             "--aws-dir", str(aws_dir)])
        assert r.exit_code == 0, r.output
        assert "[profile other]" in (aws_dir / "config").read_text()  # other profiles kept
        env = aws_env(tmp_path / "home", cloud.endpoint)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
            env.pop(k)
        env.update(AWS_CONFIG_FILE=str(aws_dir / "config"), AWS_SHARED_CREDENTIALS_FILE=str(aws_dir / "credentials"))
        who = json.loads(run_aws(env, "--profile", "kubelite", "sts", "get-caller-identity").stdout)
        assert who["Arn"] == "arn:aws:iam::000000000000:user/admin"
        assert (aws_dir / "credentials").stat().st_mode & 0o777 == 0o600


def signed(cloud, method, path, body: dict | None, query=""):
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else b""
    host = cloud.endpoint.split("//")[1]
    headers = {"Host": host, "Content-Type": "application/json"}
    headers.update(sigv4.sign_request(method, path, query, headers, data, access_key_id=STARTER_ACCESS_KEY_ID,
                                      secret=STARTER_SECRET_ACCESS_KEY, region="us-east-1", service="eks",
                                      now=datetime.now(timezone.utc)))
    url = cloud.endpoint + path + (f"?{query}" if query else "")
    req = urllib.request.Request(url, data=data if method != "GET" else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"{}")


@pytest.fixture(scope="module")
def raw_cloud(tmp_path_factory):
    cps = FakeControlPlanes()
    c = CloudThread(tmp_path_factory.mktemp("raw") / "data", control_planes=cps, instances=FakeInstances(cps))
    c.start()
    eks = c.client("eks")
    eks.create_cluster(name="raw", roleArn=c.cluster_role, resourcesVpcConfig={},
                       accessConfig={"authenticationMode": "API"})
    eks.get_waiter("cluster_active").wait(name="raw", WaiterConfig=FAST)
    yield c
    c.stop()


@pytest.mark.parametrize("method,path,body,field", [
    ("POST", "/clusters", {}, "'name'"),
    ("POST", "/clusters", {"name": "x"}, "'roleArn'"),
    ("POST", "/clusters", {"name": "x", "roleArn": "arn:aws:iam::000000000000:role/eksClusterRole"},
     "'resourcesVpcConfig'"),
    ("POST", "/clusters", {"name": 5}, "parameter name"),
    ("POST", "/clusters/raw/updates", {}, "'version'"),
    ("POST", "/clusters/raw/node-groups", {}, "'nodegroupName'"),
    ("POST", "/clusters/raw/node-groups", {"nodegroupName": "n"}, "'subnets'"),
    ("POST", "/clusters/raw/node-groups", {"nodegroupName": "n", "subnets": ["s"]}, "'nodeRole'"),
    ("POST", "/clusters/raw/node-groups", {"nodegroupName": "n", "subnets": "s"}, "parameter subnets"),
    ("POST", "/clusters/raw/access-entries", {}, "'principalArn'"),
    ("POST", "/clusters/raw/access-entries/arn%3Aaws%3Aiam%3A%3A000000000000%3Auser%2Fadmin/access-policies",
     {"accessScope": {"type": "cluster"}}, "'policyArn'"),
    ("POST", "/clusters/raw/access-entries/arn%3Aaws%3Aiam%3A%3A000000000000%3Auser%2Fadmin/access-policies",
     {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"}, "'accessScope'"),
    ("POST", "/clusters/raw/access-entries/arn%3Aaws%3Aiam%3A%3A000000000000%3Auser%2Fadmin/access-policies",
     {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
      "accessScope": {"type": "namespace"}}, "namespace"),
    ("POST", "/clusters/raw/update-config", {"logging": "yes"}, "parameter logging"),
    ("GET", "/clusters", None, "maxResults"),
], ids=["create-name", "create-role", "create-vpc", "create-type", "version", "ng-name", "ng-subnets", "ng-role",
        "ng-subnets-type", "entry-arn", "assoc-policy", "assoc-scope", "assoc-namespaces", "logging-type",
        "maxresults"])
def test_missing_or_invalid_members_name_the_field(raw_cloud, method, path, body, field):
    query = "maxResults=0" if field == "maxResults" else ""
    status, headers, doc = signed(raw_cloud, method, path, body, query)
    assert status == 400, doc
    assert headers["x-amzn-ErrorType"] == "InvalidParameterException"
    assert field in doc["message"], doc


def test_arn_paths_route_on_raw_segments(raw_cloud):
    eks = raw_cloud.client("eks")
    role = "arn:aws:iam::000000000000:role/dev/team/my-role"
    eks.create_access_entry(clusterName="raw", principalArn=role)
    assert eks.describe_access_entry(clusterName="raw", principalArn=role)["accessEntry"]["principalArn"] == role
    status, _, doc = signed(raw_cloud, "GET", "/clusters/raw/access-entries/" + role.replace(":", "%3A").replace(
        "/", "%2F"), None)
    assert status == 200 and doc["accessEntry"]["principalArn"] == role
    arn = eks.describe_access_entry(clusterName="raw", principalArn=role)["accessEntry"]["accessEntryArn"]
    eks.tag_resource(resourceArn=arn, tags={"a": "b"})
    assert eks.list_tags_for_resource(resourceArn=arn)["tags"] == {"a": "b"}
