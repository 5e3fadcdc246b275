"""The managed service end to end: `kubelite cloud` as a process, driven by the real AWS CLI
(v1) and kubectl. Every cluster is a real control plane; kubectl authenticates with IAM tokens
(`aws eks get-token`) that the cluster checks through the service.

Node groups with real nodes need the node-agent modules and root; see
`test_nodegroup_with_real_nodes` (skipped without them)."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kubelite.cloud.testing import CLUSTER_ROLE, CloudProcess, aws_env, run_aws, run_kubectl
from kubelite.testing import wait_until

pytestmark = pytest.mark.slow

ACCT = "000000000000"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    base = tmp_path_factory.mktemp("eks")
    c = CloudProcess(base / "cloud")
    c.start()
    yield c
    c.stop()
    # Nothing the service started outlives it.
    assert not _children_of_cloud(c), "control plane processes left behind"


def _children_of_cloud(c: CloudProcess) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines() if "kubelite.cloud.provisioner.child" in ln and str(c.data_dir) in ln]


@pytest.fixture(scope="module")
def admin(cloud, tmp_path_factory):
    return aws_env(tmp_path_factory.mktemp("admin-home"), cloud.endpoint)


def create_cluster(env, name, *extra):
    r = run_aws(env, "eks", "create-cluster", "--name", name, "--role-arn", CLUSTER_ROLE,
                "--resources-vpc-config", "{}", *extra)
    assert json.loads(r.stdout)["cluster"]["status"] == "CREATING"


def wait_active(env, name, timeout=90):
    def active():
        r = run_aws(env, "eks", "describe-cluster", "--name", name, "--query", "cluster.status", "--output", "text")
        status = r.stdout.strip()
        assert status not in ("FAILED", "DELETING"), status
        return status == "ACTIVE"
    wait_until(active, timeout=timeout, interval=0.5, message=f"cluster {name} ACTIVE")


def kubeconfig_for(env, name, path: Path, *extra) -> dict:
    run_aws(env, "eks", "update-kubeconfig", "--name", name, "--kubeconfig", str(path), *extra)
    return {**env, "KUBECONFIG": str(path)}


def user_env(admin_env, home: Path, name: str, endpoint: str, *, endpoint_in_env: bool = True) -> dict:
    run_aws(admin_env, "iam", "create-user", "--user-name", name)
    key = json.loads(run_aws(admin_env, "iam", "create-access-key", "--user-name", name).stdout)["AccessKey"]
    env = aws_env(home, endpoint, access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    if not endpoint_in_env:
        # Tokens then name the real STS host, as they do for most users; the cluster accepts them.
        env.pop("AWS_ENDPOINT_URL")
    return env


def test_create_cluster_wait_update_kubeconfig_kubectl(cloud, admin, tmp_path):
    create_cluster(admin, "demo", "--access-config", "authenticationMode=API_AND_CONFIG_MAP")
    run_aws(admin, "eks", "wait", "cluster-active", "--name", "demo", timeout=120)  # the real waiter
    c = json.loads(run_aws(admin, "eks", "describe-cluster", "--name", "demo").stdout)["cluster"]
    assert c["endpoint"].startswith("https://127.0.0.1:") and c["arn"] == f"arn:aws:eks:us-east-1:{ACCT}:cluster/demo"
    assert base64.b64decode(c["certificateAuthority"]["data"]).startswith(b"-----BEGIN CERTIFICATE-----")
    kenv = kubeconfig_for(admin, "demo", tmp_path / "kc")
    out = run_kubectl(kenv, "get", "ns", "-o", "name").stdout.split()
    assert "namespace/kube-system" in out
    who = run_kubectl(kenv, "auth", "whoami", "-o", "json").stdout
    info = json.loads(who)["status"]["userInfo"]
    # API_AND_CONFIG_MAP: the creator has an access entry with AmazonEKSClusterAdminPolicy.
    assert info["username"] == f"arn:aws:iam::{ACCT}:user/admin"
    assert info["extra"]["canonicalArn"] == [f"arn:aws:iam::{ACCT}:user/admin"]
    run_kubectl(kenv, "create", "namespace", "team-a")
    entries = json.loads(run_aws(admin, "eks", "list-access-entries", "--cluster-name", "demo").stdout)
    assert entries["accessEntries"] == [f"arn:aws:iam::{ACCT}:user/admin"]


def test_second_user_needs_an_access_entry_then_views_only(cloud, admin, tmp_path):
    wait_active(admin, "demo")
    alice = user_env(admin, tmp_path / "alice", "alice", cloud.endpoint, endpoint_in_env=False)
    # update-kubeconfig calls DescribeCluster: the one EKS action her IAM policy allows.
    run_aws(admin, "iam", "put-user-policy", "--user-name", "alice", "--policy-name", "describe",
            "--policy-document", json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}]}))
    kenv = kubeconfig_for(alice, "demo", tmp_path / "kc-alice", "--endpoint-url", cloud.endpoint)
    r = run_kubectl(kenv, "get", "ns", check=False)
    assert r.returncode != 0 and "You must be logged in to the server" in r.stderr, r.stderr
    # Nor may she touch EKS itself: no identity policy allows it.
    r = run_aws(alice, "--endpoint-url", cloud.endpoint, "eks", "list-clusters", check=False)
    assert r.returncode != 0 and "AccessDeniedException" in r.stderr
    alice_arn = f"arn:aws:iam::{ACCT}:user/alice"
    run_aws(admin, "eks", "create-access-entry", "--cluster-name", "demo", "--principal-arn", alice_arn)
    run_aws(admin, "eks", "associate-access-policy", "--cluster-name", "demo", "--principal-arn", alice_arn,
            "--policy-arn", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
            "--access-scope", "type=cluster")
    wait_until(lambda: run_kubectl(kenv, "get", "ns", check=False).returncode == 0, timeout=30,
               message="alice can list namespaces")
    assert "team-a" in run_kubectl(kenv, "get", "ns").stdout
    r = run_kubectl(kenv, "delete", "ns", "team-a", check=False)
    assert r.returncode != 0 and "Forbidden" in r.stderr, r.stderr
    assert run_kubectl(kenv, "auth", "can-i", "delete", "namespaces", check=False).stdout.strip() == "no"
    # Removing the entry takes her access away again.
    run_aws(admin, "eks", "delete-access-entry", "--cluster-name", "demo", "--principal-arn", alice_arn)
    wait_until(lambda: run_kubectl(kenv, "get", "pods", "-n", "team-a", check=False).returncode != 0, timeout=60,
               message="alice loses access")


def test_role_session_tokens_and_templated_usernames(cloud, admin, tmp_path):
    wait_active(admin, "demo")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/admin"}, "Action": "sts:AssumeRole"}]})
    role = json.loads(run_aws(admin, "iam", "create-role", "--role-name", "dev", "--path", "/teams/",
                              "--assume-role-policy-document", trust).stdout)["Role"]["Arn"]
    assert role == f"arn:aws:iam::{ACCT}:role/teams/dev"
    run_aws(admin, "eks", "create-access-entry", "--cluster-name", "demo", "--principal-arn", role,
            "--kubernetes-groups", "devs", "--username", "dev:{{SessionName}}")
    run_aws(admin, "eks", "associate-access-policy", "--cluster-name", "demo", "--principal-arn", role,
            "--policy-arn", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
            "--access-scope", "type=namespace,namespaces=team-*")
    kenv = kubeconfig_for(admin, "demo", tmp_path / "kc-dev", "--role-arn", role)
    who = wait_until(lambda: run_kubectl(kenv, "auth", "whoami", "-o", "json", check=False).stdout, timeout=30)
    info = json.loads(who)["status"]["userInfo"]
    assert info["username"] == "dev:EKSGetTokenAuth"
    assert "devs" in info["groups"]
    assert info["extra"]["arn"] == [f"arn:aws:sts::{ACCT}:assumed-role/dev/EKSGetTokenAuth"]
    wait_until(lambda: run_kubectl(kenv, "create", "configmap", "x", "-n", "team-a", check=False).returncode == 0,
               timeout=30, message="edit in team-a")
    r = run_kubectl(kenv, "create", "configmap", "x", "-n", "default", check=False)
    assert r.returncode != 0 and "forbidden" in r.stderr.lower(), r.stderr


def _status_with_token(endpoint: str, ca_b64: str, token: str) -> int:
    ctx = ssl.create_default_context(cadata=base64.b64decode(ca_b64).decode())
    req = urllib.request.Request(f"{endpoint}/api/v1/namespaces", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_two_clusters_and_tokens_are_bound_to_their_cluster(cloud, admin, tmp_path):
    create_cluster(admin, "alpha")
    create_cluster(admin, "beta")
    wait_active(admin, "alpha")
    wait_active(admin, "beta")
    info = {n: json.loads(run_aws(admin, "eks", "describe-cluster", "--name", n).stdout)["cluster"]
            for n in ("alpha", "beta")}
    assert info["alpha"]["endpoint"] != info["beta"]["endpoint"]
    assert info["alpha"]["certificateAuthority"] != info["beta"]["certificateAuthority"]
    token_a = json.loads(run_aws(admin, "eks", "get-token", "--cluster-name", "alpha").stdout)["status"]["token"]
    assert _status_with_token(info["alpha"]["endpoint"], info["alpha"]["certificateAuthority"]["data"],
                              token_a) == 200
    assert _status_with_token(info["beta"]["endpoint"], info["beta"]["certificateAuthority"]["data"], token_a) == 401
    tampered = token_a[:-3] + ("AAA" if not token_a.endswith("AAA") else "BBB")
    assert _status_with_token(info["alpha"]["endpoint"], info["alpha"]["certificateAuthority"]["data"],
                              tampered) == 401
    # Each cluster is its own: an object made in one is not in the other.
    ka = kubeconfig_for(admin, "alpha", tmp_path / "kc-a")
    kb = kubeconfig_for(admin, "beta", tmp_path / "kc-b")
    run_kubectl(ka, "create", "namespace", "only-in-alpha")
    assert run_kubectl(kb, "get", "namespace", "only-in-alpha", check=False).returncode != 0
    names = json.loads(run_aws(admin, "eks", "list-clusters").stdout)["clusters"]
    assert {"alpha", "beta", "demo"} <= set(names)


def test_bad_input_gets_aws_errors_and_the_service_keeps_running(cloud, admin):
    cases = [
        (["eks", "describe-cluster", "--name", "missing"], "ResourceNotFoundException",
         "No cluster found for name: missing."),
        (["eks", "create-cluster", "--name", "demo", "--role-arn", CLUSTER_ROLE, "--resources-vpc-config", "{}"],
         "ResourceInUseException", "Cluster already exists with name: demo"),
        (["eks", "create-cluster", "--name=_bad", "--role-arn", CLUSTER_ROLE, "--resources-vpc-config", "{}"],
         "InvalidParameterException", "'name'"),
        (["eks", "create-cluster", "--name", "x", "--role-arn", "not-an-arn", "--resources-vpc-config", "{}"],
         "InvalidParameterException", "Invalid Role Arn"),
        (["eks", "create-nodegroup", "--cluster-name", "demo", "--nodegroup-name", "ng", "--subnets", "subnet-nope",
          "--node-role", f"arn:aws:iam::{ACCT}:role/AmazonEKSNodeRole"], "InvalidParameterException", "subnet-nope"),
        (["eks", "update-cluster-version", "--name", "demo", "--kubernetes-version", "1.99"],
         "InvalidParameterException", "Unsupported Kubernetes minor version update"),
        (["eks", "describe-update", "--name", "demo", "--update-id", "nope"], "ResourceNotFoundException", "nope"),
        (["eks", "tag-resource", "--resource-arn", f"arn:aws:eks:us-east-1:{ACCT}:cluster/missing", "--tags", "a=b"],
         "NotFoundException", ""),
        (["iam", "get-role", "--role-name", "missing"], "NoSuchEntity", "cannot be found"),
        (["sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCT}:role/missing", "--role-session-name", "sess"],
         "AccessDenied", "not authorized to perform: sts:AssumeRole"),
        (["ec2", "describe-subnets", "--subnet-ids", "subnet-0"], "InvalidSubnetID.NotFound", "subnet-0"),
    ]
    for args, code, text in cases:
        r = run_aws(admin, *args, check=False)
        assert r.returncode != 0, args
        assert f"({code})" in r.stderr and text in r.stderr, (args, r.stderr)
    env = {**admin, "AWS_SECRET_ACCESS_KEY": "wrong"}
    r = run_aws(env, "eks", "list-clusters", check=False)
    assert "(InvalidSignatureException)" in r.stderr
    env = {**admin, "AWS_ACCESS_KEY_ID": "AKIANOTAKEY000000000"}
    r = run_aws(env, "sts", "get-caller-identity", check=False)
    assert "(InvalidClientTokenId)" in r.stderr
    assert json.loads(run_aws(admin, "sts", "get-caller-identity").stdout)["Account"] == ACCT


def test_delete_clusters_leaves_nothing_behind(cloud, admin):
    for name in ("alpha", "beta", "demo"):
        wait_active(admin, name)
        run_aws(admin, "eks", "delete-cluster", "--name", name)
    for name in ("alpha", "beta", "demo"):
        wait_until(lambda: run_aws(admin, "eks", "describe-cluster", "--name", name, check=False).returncode != 0,
                   timeout=60, message=f"{name} gone")
        r = run_aws(admin, "eks", "describe-cluster", "--name", name, check=False)
        assert "ResourceNotFoundException" in r.stderr
    run_aws(admin, "eks", "wait", "cluster-deleted", "--name", "demo")
    assert json.loads(run_aws(admin, "eks", "list-clusters").stdout)["clusters"] == []
    assert not _children_of_cloud(cloud)
    clusters_dir = cloud.data_dir / "clusters"
    assert not clusters_dir.exists() or os.listdir(clusters_dir) == []


def _node_leftovers() -> list[str]:
    out = [f"netns {n}" for n in (os.listdir("/var/run/netns") if os.path.isdir("/var/run/netns") else [])
           if n.startswith(("kln-", "klp"))]
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout.split("\n")
    out += [f"link {ln.split()[0]}" for ln in links if ln.startswith(("klw", "klv"))]
    for h in Path("/sys/fs/cgroup").iterdir():
        if h.is_dir():
            out += [f"cgroup {d}" for d in h.iterdir() if d.name.startswith("kln")]
    ps = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    out += [ln for ln in ps.splitlines() if "kubelite.cloud.provisioner.node_agent" in ln]
    return out


def _ready_nodes(kenv) -> list[str]:
    doc = json.loads(run_kubectl(kenv, "get", "nodes", "-o", "json").stdout)
    return sorted(n["metadata"]["name"] for n in doc["items"]
                  if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"]))


def _wait_update(env, cluster, nodegroup, update_id, timeout=180):
    def done():
        r = run_aws(env, "eks", "describe-update", "--name", cluster, "--nodegroup-name", nodegroup, "--update-id",
                    update_id, "--query", "update.status", "--output", "text")
        return r.stdout.strip() != "InProgress" and r.stdout.strip()
    return wait_until(done, timeout=timeout, interval=1.0, message=f"update {update_id}")


@pytest.mark.root
def test_nodegroup_with_real_nodes(cloud, admin, tmp_path):
    """Two clusters, each with its own real nodes (node agents in network namespaces); an app
    that survives scaling its node group 2 → 3 → 1; nothing left on the machine afterwards."""
    from kubelite.agent.testing import missing_reason

    if missing_reason():
        pytest.skip(missing_reason())
    assert not _node_leftovers()
    node_role = f"arn:aws:iam::{ACCT}:role/AmazonEKSNodeRole"
    subnets = run_aws(admin, "ec2", "describe-subnets", "--query", "Subnets[].SubnetId", "--output",
                      "text").stdout.split()
    for name, size in (("nodes-a", 2), ("nodes-b", 1)):
        create_cluster(admin, name)
    for name, size in (("nodes-a", 2), ("nodes-b", 1)):
        wait_active(admin, name)
        run_aws(admin, "eks", "create-nodegroup", "--cluster-name", name, "--nodegroup-name", "workers",
                "--subnets", *subnets, "--node-role", node_role, "--scaling-config",
                f"minSize=1,maxSize=3,desiredSize={size}", "--labels", "app=demo")
    for name in ("nodes-a", "nodes-b"):
        run_aws(admin, "eks", "wait", "nodegroup-active", "--cluster-name", name, "--nodegroup-name", "workers",
                timeout=300)
    ka = kubeconfig_for(admin, "nodes-a", tmp_path / "kc-a")
    kb = kubeconfig_for(admin, "nodes-b", tmp_path / "kc-b")
    nodes_a = wait_until(lambda: len(_ready_nodes(ka)) == 2 and _ready_nodes(ka), timeout=60)
    nodes_b = wait_until(lambda: len(_ready_nodes(kb)) == 1 and _ready_nodes(kb), timeout=60)
    assert not set(nodes_a) & set(nodes_b)
    node = json.loads(run_kubectl(ka, "get", "node", nodes_a[0], "-o", "json").stdout)["metadata"]["labels"]
    assert node["eks.amazonaws.com/nodegroup"] == "workers" and node["app"] == "demo"
    assert node["eks.amazonaws.com/capacityType"] == "ON_DEMAND"

    run_kubectl(ka, "create", "deployment", "web", "--image=busybox", "--replicas=4", "--", "sleep", "3600")

    def running(kenv):
        pods = json.loads(run_kubectl(kenv, "get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
        return [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get(
            "deletionTimestamp")]
    wait_until(lambda: len(running(ka)) == 4, timeout=120, interval=1.0, message="4 pods running")
    for desired in (3, 1):
        update = json.loads(run_aws(admin, "eks", "update-nodegroup-config", "--cluster-name", "nodes-a",
                                    "--nodegroup-name", "workers", "--scaling-config",
                                    f"minSize=1,maxSize=3,desiredSize={desired}").stdout)["update"]
        assert _wait_update(admin, "nodes-a", "workers", update["id"]) == "Successful"
        wait_until(lambda: len(_ready_nodes(ka)) == desired, timeout=60, message=f"{desired} nodes")
    (last,) = _ready_nodes(ka)
    pods = wait_until(lambda: len(running(ka)) == 4 and running(ka), timeout=120, interval=1.0,
                      message="4 pods running after scale-in")
    assert {p["spec"]["nodeName"] for p in pods} == {last}
    assert _ready_nodes(kb) == nodes_b  # the other cluster's node is untouched

    for name in ("nodes-a", "nodes-b"):
        run_aws(admin, "eks", "delete-nodegroup", "--cluster-name", name, "--nodegroup-name", "workers")
    for name in ("nodes-a", "nodes-b"):
        run_aws(admin, "eks", "wait", "nodegroup-deleted", "--cluster-name", name, "--nodegroup-name", "workers",
                timeout=300)
        run_aws(admin, "eks", "delete-cluster", "--name", name)
    for name in ("nodes-a", "nodes-b"):
        wait_until(lambda: run_aws(admin, "eks", "describe-cluster", "--name", name, check=False).returncode != 0,
                   timeout=60)
    wait_until(lambda: not _node_leftovers(), timeout=30, message="node leftovers")
    assert not (cloud.data_dir / "instances").exists() or not os.listdir(cloud.data_dir / "instances")
