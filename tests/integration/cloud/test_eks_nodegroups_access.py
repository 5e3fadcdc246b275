"""Node groups and access entries through boto3, against the seam's fakes: instances register
Nodes in the cluster's fake API server; access policies become RBAC bindings there."""

import pytest

FAST = {"Delay": 0.1, "MaxAttempts": 100}
NODEGROUP = "workers"


def active_cluster(eks, cloud, name, mode="API_AND_CONFIG_MAP"):
    eks.create_cluster(name=name, roleArn=cloud.cluster_role, resourcesVpcConfig={},
                       accessConfig={"authenticationMode": mode})
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=FAST)
    return eks.describe_cluster(name=name)["cluster"]


def wait_update(eks, name, update_id, nodegroup=None):
    kw = {"nodegroupName": nodegroup} if nodegroup else {}
    for _ in range(300):
        u = eks.describe_update(name=name, updateId=update_id, **kw)["update"]
        if u["status"] != "InProgress":
            return u
        import time

        time.sleep(0.05)
    raise AssertionError("update did not finish")


def nodes(fakes, cluster):
    return {n["metadata"]["name"]: n for n in fakes[0].apis[cluster["id"]].objects("nodes")}


def test_nodegroup_lifecycle(eks, cloud, name, fakes):
    c = active_cluster(eks, cloud, name)
    subnets = c["resourcesVpcConfig"]["subnetIds"]
    ng = eks.create_nodegroup(clusterName=name, nodegroupName=NODEGROUP, subnets=subnets, nodeRole=cloud.node_role,
                              scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 2},
                              labels={"team": "a"}, taints=[{"key": "dedicated", "value": "a",
                                                             "effect": "NO_SCHEDULE"}],
                              instanceTypes=["m5.large"], capacityType="SPOT")["nodegroup"]
    assert ng["status"] == "CREATING" and ng["nodegroupArn"].startswith(
        f"arn:aws:eks:us-east-1:000000000000:nodegroup/{name}/{NODEGROUP}/")
    assert ng["resources"]["autoScalingGroups"][0]["name"].startswith(f"eks-{NODEGROUP}-")
    eks.get_waiter("nodegroup_active").wait(clusterName=name, nodegroupName=NODEGROUP, WaiterConfig=FAST)
    ng = eks.describe_nodegroup(clusterName=name, nodegroupName=NODEGROUP)["nodegroup"]
    assert ng["status"] == "ACTIVE" and ng["health"] == {"issues": []} and ng["version"] == c["version"]
    ns = nodes(fakes, c)
    assert len(ns) == 2
    zones = set()
    for n in ns.values():
        lb = n["metadata"]["labels"]
        assert lb["eks.amazonaws.com/nodegroup"] == NODEGROUP and lb["eks.amazonaws.com/capacityType"] == "SPOT"
        assert lb["node.kubernetes.io/instance-type"] == "m5.large" and lb["team"] == "a"
        assert {"key": "dedicated", "value": "a", "effect": "NoSchedule"} in n["spec"]["taints"]
        assert n["metadata"]["name"].startswith("ip-198-18-") and n["metadata"]["name"].endswith(".ec2.internal")
        zones.add(lb["topology.kubernetes.io/zone"])
    assert len(zones) == 2  # spread over the subnets' zones
    # The node role was mapped for the nodes: an EC2_LINUX access entry in API modes.
    entry = eks.describe_access_entry(clusterName=name, principalArn=cloud.node_role)["accessEntry"]
    assert entry["type"] == "EC2_LINUX" and entry["username"] == "system:node:{{EC2PrivateDNSName}}"
    assert entry["kubernetesGroups"] == ["system:nodes"]
    # EC2 sees the instances.
    insts = [i for r in cloud.client("ec2").describe_instances(Filters=[
        {"Name": "tag:eks:nodegroup-name", "Values": [NODEGROUP]}, {"Name": "tag:eks:cluster-name",
                                                                    "Values": [name]}])["Reservations"]
             for i in r["Instances"]]
    assert sorted(i["PrivateDnsName"] for i in insts) == sorted(ns)

    # Scale out to 3, then in to 1 (scale-in cordons and drains first).
    u = eks.update_nodegroup_config(clusterName=name, nodegroupName=NODEGROUP,
                                    scalingConfig={"desiredSize": 3})["update"]
    assert u["type"] == "ConfigUpdate" and {"type": "DesiredSize", "value": "3"} in u["params"]
    assert wait_update(eks, name, u["id"], NODEGROUP)["status"] == "Successful"
    assert len(nodes(fakes, c)) == 3
    u = eks.update_nodegroup_config(clusterName=name, nodegroupName=NODEGROUP,
                                    scalingConfig={"desiredSize": 1, "minSize": 1})["update"]
    assert wait_update(eks, name, u["id"], NODEGROUP)["status"] == "Successful"
    assert len(nodes(fakes, c)) == 1
    assert eks.list_updates(name=name, nodegroupName=NODEGROUP)["updateIds"][-1] == u["id"]

    # Labels and taints.
    u = eks.update_nodegroup_config(clusterName=name, nodegroupName=NODEGROUP,
                                    labels={"addOrUpdateLabels": {"tier": "web"}, "removeLabels": ["team"]},
                                    taints={"removeTaints": [{"key": "dedicated", "value": "a",
                                                              "effect": "NO_SCHEDULE"}]})["update"]
    assert wait_update(eks, name, u["id"], NODEGROUP)["status"] == "Successful"
    (node,) = nodes(fakes, c).values()
    assert node["metadata"]["labels"]["tier"] == "web" and "team" not in node["metadata"]["labels"]
    assert not node["spec"].get("taints")
    ng = eks.describe_nodegroup(clusterName=name, nodegroupName=NODEGROUP)["nodegroup"]
    assert ng["labels"] == {"tier": "web"} and "taints" not in ng

    # A version update replaces the node.
    old = set(nodes(fakes, c))
    u = eks.update_nodegroup_version(clusterName=name, nodegroupName=NODEGROUP)["update"]
    assert u["type"] == "VersionUpdate"
    assert wait_update(eks, name, u["id"], NODEGROUP)["status"] == "Successful"
    assert len(nodes(fakes, c)) == 1 and not (set(nodes(fakes, c)) & old)

    eks.delete_nodegroup(clusterName=name, nodegroupName=NODEGROUP)
    eks.get_waiter("nodegroup_deleted").wait(clusterName=name, nodegroupName=NODEGROUP, WaiterConfig=FAST)
    assert nodes(fakes, c) == {}
    assert not [i for r in cloud.client("ec2").describe_instances(Filters=[
        {"Name": "tag:eks:cluster-name", "Values": [name]}])["Reservations"] for i in r["Instances"]]


@pytest.mark.parametrize("kw,code,text", [
    ({"scalingConfig": {"minSize": 3, "maxSize": 2, "desiredSize": 2}}, "InvalidParameterException",
     "Minimum capacity 3"),
    ({"scalingConfig": {"minSize": 0, "maxSize": 2, "desiredSize": 5}}, "InvalidParameterException",
     "Desired capacity 5"),
    ({"amiType": "WINDOWS_CORE_2022_x86_64"}, "InvalidParameterException", "not supported"),
    ({"nodeRole": "arn:aws:iam::000000000000:role/eksClusterRole"}, "InvalidParameterException",
     "could not be assumed"),
    ({"labels": {"kubernetes.io/x": "y"}}, "InvalidParameterException", "reserved"),
    ({"taints": [{"key": "k", "effect": "SOMETIMES"}]}, "InvalidParameterException", "enum value set"),
    ({"version": "1.31"}, "InvalidParameterException", "must match the cluster version"),
    ({"diskSize": 30, "launchTemplate": {"name": "lt"}}, "InvalidParameterException", "launch template"),
], ids=["min>max", "desired>max", "windows", "role-trust", "label", "taint", "version", "launch-template"])
def test_create_nodegroup_bad_input(eks, cloud, kw, code, text):
    c = _shared_cluster(eks, cloud)
    args = {"clusterName": c["name"], "nodegroupName": "bad", "subnets": c["resourcesVpcConfig"]["subnetIds"],
            "nodeRole": cloud.node_role}
    args.update(kw)
    with pytest.raises(getattr(eks.exceptions, code)) as e:
        eks.create_nodegroup(**args)
    assert text in e.value.response["Error"]["Message"]
    assert e.value.response["nodegroupName"] == "bad"


_SHARED: dict = {}


def _shared_cluster(eks, cloud):
    if "c" not in _SHARED:
        _SHARED["c"] = active_cluster(eks, cloud, "shared-ng-errors")
    return _SHARED["c"]


def test_nodegroup_not_found_and_duplicates(eks, cloud, fakes):
    c = _shared_cluster(eks, cloud)
    with pytest.raises(eks.exceptions.ResourceNotFoundException) as e:
        eks.describe_nodegroup(clusterName=c["name"], nodegroupName="nope")
    assert e.value.response["Error"]["Message"] == "No node group found for name: nope."
    assert e.value.response["nodegroupName"] == "nope"
    kw = dict(clusterName=c["name"], nodegroupName="dup", subnets=c["resourcesVpcConfig"]["subnetIds"],
              nodeRole=cloud.node_role, scalingConfig={"minSize": 0, "maxSize": 1, "desiredSize": 0})
    eks.create_nodegroup(**kw)
    with pytest.raises(eks.exceptions.ResourceInUseException) as e:
        eks.create_nodegroup(**kw)
    assert e.value.response["Error"]["Message"] == \
        f"NodeGroup already exists with name dup and cluster name {c['name']}"
    eks.get_waiter("nodegroup_active").wait(clusterName=c["name"], nodegroupName="dup", WaiterConfig=FAST)
    assert "dup" in eks.list_nodegroups(clusterName=c["name"])["nodegroups"]
    with pytest.raises(eks.exceptions.InvalidParameterException):
        eks.update_nodegroup_config(clusterName=c["name"], nodegroupName="dup")
    eks.delete_nodegroup(clusterName=c["name"], nodegroupName="dup")
    eks.get_waiter("nodegroup_deleted").wait(clusterName=c["name"], nodegroupName="dup", WaiterConfig=FAST)


def test_node_launch_failure_is_create_failed(eks, cloud, name, fakes):
    c = active_cluster(eks, cloud, name)
    fakes[1].fail_next = "no room for the node"
    eks.create_nodegroup(clusterName=name, nodegroupName="broken", subnets=c["resourcesVpcConfig"]["subnetIds"],
                         nodeRole=cloud.node_role, scalingConfig={"minSize": 1, "maxSize": 1, "desiredSize": 1})
    with pytest.raises(Exception) as e:
        eks.get_waiter("nodegroup_active").wait(clusterName=name, nodegroupName="broken", WaiterConfig=FAST)
    assert "CREATE_FAILED" in str(e.value)
    ng = eks.describe_nodegroup(clusterName=name, nodegroupName="broken")["nodegroup"]
    assert ng["health"]["issues"][0]["code"] == "NodeCreationFailure"
    assert "no room for the node" in ng["health"]["issues"][0]["message"]
    eks.delete_nodegroup(clusterName=name, nodegroupName="broken")
    eks.get_waiter("nodegroup_deleted").wait(clusterName=name, nodegroupName="broken", WaiterConfig=FAST)


def bindings(fakes, c):
    api = fakes[0].apis[c["id"]]
    return {(b["kind"], b["metadata"].get("namespace", ""), b["roleRef"]["name"], b["subjects"][0]["name"])
            for plural in ("clusterrolebindings", "rolebindings") for b in api.objects(plural)
            if (b["metadata"].get("labels") or {}).get("cloud.kubelite.io/managed-by") == "eks-access-entries"}


def wait_for(pred, timeout=10.0, show=None):
    import time

    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met: {show() if show else ''}")
        time.sleep(0.05)


def test_access_entries_and_policies(eks, cloud, name, fakes):
    c = active_cluster(eks, cloud, name)
    admin = "arn:aws:iam::000000000000:user/admin"
    group = f"eks-access-entry:{admin}"
    assert ("ClusterRoleBinding", "", "cluster-admin", group) in bindings(fakes, c)
    user = "arn:aws:iam::000000000000:user/alice"
    e = eks.create_access_entry(clusterName=name, principalArn=user, kubernetesGroups=["devs"])["accessEntry"]
    assert e["username"] == user and e["type"] == "STANDARD" and e["kubernetesGroups"] == ["devs"]
    assert e["accessEntryArn"].startswith(f"arn:aws:eks:us-east-1:000000000000:access-entry/{name}/user/"
                                          f"000000000000/alice/")
    role = "arn:aws:iam::000000000000:role/teams/dev"
    e = eks.create_access_entry(clusterName=name, principalArn=role)["accessEntry"]
    assert e["username"] == "arn:aws:sts::000000000000:assumed-role/dev/{{SessionName}}"
    with pytest.raises(eks.exceptions.ResourceInUseException):
        eks.create_access_entry(clusterName=name, principalArn=user)
    r = eks.associate_access_policy(clusterName=name, principalArn=user,
                                    policyArn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                                    accessScope={"type": "cluster"})
    assert r["associatedAccessPolicy"]["accessScope"] == {"type": "cluster", "namespaces": []}
    eks.associate_access_policy(clusterName=name, principalArn=role,
                                policyArn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
                                accessScope={"type": "namespace", "namespaces": ["kube-*", "default"]})
    wait_for(lambda: {("ClusterRoleBinding", "", "view", f"eks-access-entry:{user}"),
                      ("RoleBinding", "default", "edit", f"eks-access-entry:{role}"),
                      ("RoleBinding", "kube-system", "edit", f"eks-access-entry:{role}")} <= bindings(fakes, c),
             show=lambda: bindings(fakes, c))
    listed = eks.list_associated_access_policies(clusterName=name, principalArn=user)
    assert [p["policyArn"] for p in listed["associatedAccessPolicies"]] == [
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"]
    assert set(eks.list_access_entries(clusterName=name)["accessEntries"]) == {admin, user, role}
    assert eks.list_access_entries(clusterName=name, associatedPolicyArn=(
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"))["accessEntries"] == [user]
    assert len(eks.list_access_policies()["accessPolicies"]) >= 4
    eks.disassociate_access_policy(clusterName=name, principalArn=user,
                                   policyArn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy")
    eks.delete_access_entry(clusterName=name, principalArn=role)
    wait_for(lambda: not {b for b in bindings(fakes, c) if b[3] != group}, show=lambda: bindings(fakes, c))
    with pytest.raises(eks.exceptions.ResourceNotFoundException) as e:
        eks.describe_access_entry(clusterName=name, principalArn=role)
    assert "list-access-entries" in e.value.response["Error"]["Message"]


@pytest.mark.parametrize("kw,code", [
    ({"principalArn": "arn:aws:sts::000000000000:assumed-role/dev/s"}, "InvalidParameterException"),
    ({"principalArn": "arn:aws:iam::000000000000:user/u", "username": "system:admin"}, "InvalidParameterException"),
    ({"principalArn": "arn:aws:iam::000000000000:user/u", "kubernetesGroups": ["system:masters"]},
     "InvalidParameterException"),
    ({"principalArn": "arn:aws:iam::000000000000:user/u", "type": "EC2_LINUX"}, "InvalidParameterException"),
    ({"principalArn": "arn:aws:iam::000000000000:role/r", "type": "BOGUS"}, "InvalidParameterException"),
], ids=["session-arn", "reserved-username", "system-group", "ec2-user", "type"])
def test_access_entry_bad_input(eks, cloud, kw, code):
    c = _access_cluster(eks, cloud)
    with pytest.raises(getattr(eks.exceptions, code)):
        eks.create_access_entry(clusterName=c["name"], **kw)


_ACCESS: dict = {}


def _access_cluster(eks, cloud):
    if "c" not in _ACCESS:
        _ACCESS["c"] = active_cluster(eks, cloud, "shared-access-errors")
    return _ACCESS["c"]


def test_access_entries_need_an_api_mode(eks, cloud, name):
    active_cluster(eks, cloud, name, mode="CONFIG_MAP")
    with pytest.raises(eks.exceptions.InvalidRequestException) as e:
        eks.create_access_entry(clusterName=name, principalArn="arn:aws:iam::000000000000:user/x")
    assert "authentication mode" in e.value.response["Error"]["Message"]


def test_config_map_mode_maps_the_node_role_in_aws_auth(eks, cloud, name, fakes):
    import yaml

    c = active_cluster(eks, cloud, name, mode="CONFIG_MAP")
    eks.create_nodegroup(clusterName=name, nodegroupName="ng", subnets=c["resourcesVpcConfig"]["subnetIds"],
                         nodeRole=cloud.node_role, scalingConfig={"minSize": 1, "maxSize": 1, "desiredSize": 1})
    eks.get_waiter("nodegroup_active").wait(clusterName=name, nodegroupName="ng", WaiterConfig=FAST)
    cm = fakes[0].apis[c["id"]].get_object("configmaps", "aws-auth", "kube-system")
    roles = yaml.safe_load(cm["data"]["mapRoles"])
    assert roles == [{"rolearn": cloud.node_role, "username": "system:node:{{EC2PrivateDNSName}}",
                      "groups": ["system:bootstrappers", "system:nodes"]}]
