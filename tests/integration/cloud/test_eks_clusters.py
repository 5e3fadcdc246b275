"""The EKS cluster API through boto3 (fake control planes): shapes, statuses the waiters follow,
modelled errors with their members, updates, tags, pagination, idempotency."""

import base64

import pytest
from botocore.exceptions import ClientError

FAST = {"Delay": 0.1, "MaxAttempts": 100}


def create(eks, cloud, name, **kw):
    kw.setdefault("resourcesVpcConfig", {})
    return eks.create_cluster(name=name, roleArn=cloud.cluster_role, **kw)["cluster"]


def active(eks, cloud, name, **kw):
    create(eks, cloud, name, **kw)
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=FAST)
    return eks.describe_cluster(name=name)["cluster"]


def error(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["Error"]["Message"], e


def test_create_describe_list_delete(eks, cloud, name, fakes):
    c = create(eks, cloud, name, tags={"team": "a"})
    assert c["status"] == "CREATING" and "endpoint" not in c
    assert c["arn"] == f"arn:aws:eks:us-east-1:000000000000:cluster/{name}"
    assert c["accessConfig"] == {"bootstrapClusterCreatorAdminPermissions": True, "authenticationMode": "CONFIG_MAP"}
    assert c["kubernetesNetworkConfig"]["serviceIpv4Cidr"] == "198.18.128.0/20"
    assert c["logging"]["clusterLogging"] == [{"types": ["api", "audit", "authenticator", "controllerManager",
                                                         "scheduler"], "enabled": False}]
    assert len(c["resourcesVpcConfig"]["subnetIds"]) == 3 and c["resourcesVpcConfig"]["vpcId"].startswith("vpc-")
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=FAST)
    c = eks.describe_cluster(name=name)["cluster"]
    assert c["status"] == "ACTIVE" and c["endpoint"].startswith("https://127.0.0.1:")
    assert base64.b64decode(c["certificateAuthority"]["data"]).startswith(b"-----BEGIN CERTIFICATE")
    assert c["health"] == {"issues": []} and c["tags"] == {"team": "a"} and c["platformVersion"] == "eks.1"
    assert name in eks.list_clusters()["clusters"]
    assert eks.delete_cluster(name=name)["cluster"]["status"] == "DELETING"
    eks.get_waiter("cluster_deleted").wait(name=name, WaiterConfig=FAST)
    assert name in fakes[0].destroyed
    with pytest.raises(eks.exceptions.ResourceNotFoundException) as e:
        eks.describe_cluster(name=name)
    code, msg, resp = error(e)
    assert msg == f"No cluster found for name: {name}." and resp["clusterName"] == name
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_failed_start_is_failed_with_health(eks, cloud, name, fakes):
    fakes[0].fail[name] = "the control plane exited with code 1"
    create(eks, cloud, name)
    with pytest.raises(Exception) as e:
        eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=FAST)
    assert "FAILED" in str(e.value)
    c = eks.describe_cluster(name=name)["cluster"]
    assert c["status"] == "FAILED"
    assert c["health"]["issues"][0]["message"] == "the control plane exited with code 1"
    eks.delete_cluster(name=name)
    eks.get_waiter("cluster_deleted").wait(name=name, WaiterConfig=FAST)


@pytest.mark.parametrize("kw,field", [
    ({"name": "bad name"}, "'name'"),
    ({"name": "x" * 101}, "'name'"),
    ({"roleArn": "arn:aws:iam::000000000000:user/admin"}, "Invalid Role Arn"),
    ({"roleArn": "arn:aws:iam::000000000000:role/missing"}, "could not be assumed"),
    ({"version": "1.10"}, "unsupported Kubernetes version"),
    ({"resourcesVpcConfig": {"subnetIds": ["subnet-nope"]}}, "subnet-nope"),
    ({"kubernetesNetworkConfig": {"serviceIpv4Cidr": "8.8.0.0/16"}}, "private ranges"),
    ({"kubernetesNetworkConfig": {"serviceIpv4Cidr": "10.0.0.0/8"}}, "/12 and /24"),
    ({"kubernetesNetworkConfig": {"serviceIpv4Cidr": "198.18.64.0/20"}}, "overlaps"),
    ({"accessConfig": {"authenticationMode": "CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": False}},
     "bootstrapClusterCreatorAdminPermissions"),
    ({"logging": {"clusterLogging": [{"types": ["nope"], "enabled": True}]}}, "enum value set"),
    ({"tags": {"aws:x": "y"}}, "reserved"),
], ids=["name", "long-name", "role-kind", "role-missing", "version", "subnet", "cidr-public", "cidr-size",
        "cidr-overlap", "bootstrap", "logging", "tag"])
def test_create_rejects_bad_input(eks, cloud, name, kw, field):
    args = {"name": name, "roleArn": cloud.cluster_role, "resourcesVpcConfig": {}}
    args.update(kw)
    with pytest.raises(eks.exceptions.InvalidParameterException) as e:
        eks.create_cluster(**args)
    code, msg, resp = error(e)
    assert field in msg
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_subnets_must_span_two_zones(eks, cloud, name):
    ec2 = cloud.client("ec2")
    subnets = ec2.describe_subnets()["Subnets"]
    one = subnets[0]["SubnetId"]
    with pytest.raises(eks.exceptions.InvalidParameterException) as e:
        eks.create_cluster(name=name, roleArn=cloud.cluster_role, resourcesVpcConfig={"subnetIds": [one]})
    assert "at least two different AZs" in error(e)[1]


def test_duplicate_and_delete_with_nodegroups(eks, cloud, name):
    c = active(eks, cloud, name)
    with pytest.raises(eks.exceptions.ResourceInUseException) as e:
        create(eks, cloud, name)
    assert error(e)[1] == f"Cluster already exists with name: {name}" and error(e)[2]["clusterName"] == name
    eks.create_nodegroup(clusterName=name, nodegroupName="ng", subnets=c["resourcesVpcConfig"]["subnetIds"],
                         nodeRole=cloud.node_role, scalingConfig={"minSize": 0, "maxSize": 1, "desiredSize": 0})
    eks.get_waiter("nodegroup_active").wait(clusterName=name, nodegroupName="ng", WaiterConfig=FAST)
    with pytest.raises(eks.exceptions.ResourceInUseException) as e:
        eks.delete_cluster(name=name)
    assert error(e)[1] == "Cluster has nodegroups attached"
    eks.delete_nodegroup(clusterName=name, nodegroupName="ng")
    eks.get_waiter("nodegroup_deleted").wait(clusterName=name, nodegroupName="ng", WaiterConfig=FAST)
    eks.delete_cluster(name=name)
    eks.get_waiter("cluster_deleted").wait(name=name, WaiterConfig=FAST)


def test_updates_one_at_a_time(eks, cloud, name, fakes):
    active(eks, cloud, name)
    u = eks.update_cluster_config(name=name, logging={"clusterLogging": [{"types": ["api"], "enabled": True}]})
    u = u["update"]
    assert u["type"] == "LoggingUpdate" and u["status"] == "InProgress"
    # While it runs, another update is refused (unless it already finished: then a no-op is refused).
    try:
        eks.update_cluster_config(name=name, resourcesVpcConfig={"endpointPrivateAccess": True})
        concurrent = None
    except ClientError as e:
        concurrent = e.response["Error"]["Code"]
    assert concurrent in (None, "ResourceInUseException")
    for _ in range(100):
        d = eks.describe_update(name=name, updateId=u["id"])["update"]
        if d["status"] != "InProgress":
            break
    assert d["status"] == "Successful"
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=FAST)
    c = eks.describe_cluster(name=name)["cluster"]
    assert {"types": ["api"], "enabled": True} in c["logging"]["clusterLogging"]
    ids = eks.list_updates(name=name)["updateIds"]
    assert u["id"] in ids
    with pytest.raises(eks.exceptions.InvalidParameterException) as e:
        eks.update_cluster_config(name=name, logging={"clusterLogging": [{"types": ["api"], "enabled": True}]},
                                  accessConfig={"authenticationMode": "API"})
    assert error(e)[1] == "Only one type of update can be allowed."
    with pytest.raises(eks.exceptions.InvalidParameterException) as e:
        eks.update_cluster_config(name=name, resourcesVpcConfig={"endpointPublicAccess": True})
    assert "already at the desired configuration" in error(e)[1]
    with pytest.raises(eks.exceptions.InvalidParameterException) as e:
        eks.update_cluster_version(name=name, version="1.32")
    assert "Unsupported Kubernetes minor version update from 1.32 to 1.32" == error(e)[1]
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.describe_update(name=name, updateId="00000000-0000-0000-0000-000000000000")


def test_concurrent_update_is_refused(eks, cloud, name, fakes):
    import asyncio

    active(eks, cloud, name)
    # Hold the control plane "restart" of an access-mode update so the update stays InProgress.
    svc = cloud.service
    orig = svc.controller.cluster_sync._apply_update
    hold = asyncio.Event()

    async def slow(key):
        await hold.wait()
        await orig(key)

    svc.controller.cluster_sync._apply_update = slow
    try:
        u = eks.update_cluster_config(name=name, accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})["update"]
        with pytest.raises(eks.exceptions.ResourceInUseException) as e:
            eks.update_cluster_config(name=name, resourcesVpcConfig={"endpointPrivateAccess": True})
        assert f"currently has update {u['id']} in progress" in error(e)[1]
        assert eks.describe_cluster(name=name)["cluster"]["status"] == "UPDATING"
        # Tagging is still allowed during an update.
        eks.tag_resource(resourceArn=eks.describe_cluster(name=name)["cluster"]["arn"], tags={"k": "v"})
    finally:
        cloud.loop.call_soon_threadsafe(hold.set)
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=FAST)
    svc.controller.cluster_sync._apply_update = orig
    c = eks.describe_cluster(name=name)["cluster"]
    assert c["accessConfig"]["authenticationMode"] == "API_AND_CONFIG_MAP"
    # Moving to an API mode keeps the creator an admin through an access entry.
    assert eks.list_access_entries(clusterName=name)["accessEntries"] == ["arn:aws:iam::000000000000:user/admin"]
    with pytest.raises(eks.exceptions.InvalidParameterException):
        eks.update_cluster_config(name=name, accessConfig={"authenticationMode": "CONFIG_MAP"})


def test_tags(eks, cloud, name):
    c = active(eks, cloud, name)
    arn = c["arn"]
    eks.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    eks.untag_resource(resourceArn=arn, tagKeys=["a", "zzz"])
    assert eks.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    with pytest.raises(eks.exceptions.NotFoundException):
        eks.list_tags_for_resource(resourceArn=arn.replace(name, "missing"))
    with pytest.raises(eks.exceptions.BadRequestException):
        eks.tag_resource(resourceArn="arn:aws:s3:::bucket", tags={"a": "b"})


def test_pagination_and_idempotency(eks, cloud):
    names = [f"pg{i}" for i in range(5)]
    for n in names:
        create(eks, cloud, n, clientRequestToken=f"token-{n}")
    again = create(eks, cloud, "pg0", clientRequestToken="token-pg0")  # a retry: the same answer
    assert again["name"] == "pg0"
    seen, token = [], None
    while True:
        page = eks.list_clusters(maxResults=2, **({"nextToken": token} if token else {}))
        seen += page["clusters"]
        token = page.get("nextToken")
        if not token:
            break
    assert [n for n in seen if n.startswith("pg")] == names
    assert seen == sorted(seen)
    with pytest.raises(eks.exceptions.InvalidParameterException):
        eks.list_clusters(maxResults=101)
    for n in names:
        eks.get_waiter("cluster_active").wait(name=n, WaiterConfig=FAST)
        eks.delete_cluster(name=n)


def test_identity_policies_decide_eks_actions(eks, cloud, name):
    iam = cloud.client("iam")
    iam.create_user(UserName=f"viewer-{name}")
    iam.put_user_policy(UserName=f"viewer-{name}", PolicyName="read", PolicyDocument=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["eks:Describe*","eks:List*"],'
        '"Resource":"*"}]}'))
    key = iam.create_access_key(UserName=f"viewer-{name}")["AccessKey"]
    viewer = cloud.client("eks", access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    viewer.list_clusters()
    with pytest.raises(viewer.exceptions.AccessDeniedException) as e:
        viewer.create_cluster(name=name, roleArn=cloud.cluster_role, resourcesVpcConfig={})
    assert error(e)[1] == (f"User: arn:aws:iam::000000000000:user/viewer-{name} is not authorized to perform: "
                           f"eks:CreateCluster on resource: arn:aws:eks:us-east-1:000000000000:cluster/{name}")
    assert error(e)[2]["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Allowed to create, but not to pass the role.
    iam.put_user_policy(UserName=f"viewer-{name}", PolicyName="create", PolicyDocument=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"eks:CreateCluster","Resource":"*"}]}'))
    with pytest.raises(viewer.exceptions.AccessDeniedException) as e:
        viewer.create_cluster(name=name, roleArn=cloud.cluster_role, resourcesVpcConfig={})
    assert "iam:PassRole" in error(e)[1]


def test_raw_requests_are_answered_with_aws_errors(cloud):
    import urllib.error
    import urllib.request

    for path, method, code in [("/clusters", "GET", "MissingAuthenticationTokenException"),
                               ("/nothing-here", "GET", "UnknownOperationException")]:
        req = urllib.request.Request(cloud.endpoint + path, method=method)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=5)
        assert 400 <= e.value.code < 500
        assert e.value.headers["x-amzn-ErrorType"] == code


def test_malformed_json_body_is_a_4xx(cloud):
    import urllib.error
    import urllib.request
    from datetime import datetime, timezone

    from kubelite.cloud import sigv4
    from kubelite.cloud.config import STARTER_ACCESS_KEY_ID, STARTER_SECRET_ACCESS_KEY

    body = b"{not json"
    host = cloud.endpoint.split("//")[1]
    headers = {"Host": host, "Content-Type": "application/json"}
    headers.update(sigv4.sign_request("POST", "/clusters", "", headers, body, access_key_id=STARTER_ACCESS_KEY_ID,
                                      secret=STARTER_SECRET_ACCESS_KEY, region="us-east-1", service="eks",
                                      now=datetime.now(timezone.utc)))
    req = urllib.request.Request(cloud.endpoint + "/clusters", data=body, headers=headers, method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 400 and e.value.headers["x-amzn-ErrorType"] == "SerializationException"
