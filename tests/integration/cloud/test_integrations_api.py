"""The EKS integrations through the real AWS CLI and boto3 against a service with fake control
planes: VPCs and subnets, clusters in chosen subnets, Fargate profiles, ECR (API, tokens, the
registry's authentication, namespacing and expiry), ACM, and load balancers made by the in-cluster
controller from Services and Ingresses (served on loopback addresses here), shown by the ELBv2
Describe APIs."""

import base64
import hashlib
import http.client
import http.server
import json
import socket
import ssl
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from kubelite.cloud.provisioner.fake import FakeControlPlanes, FakeInstances
from kubelite.cloud.testing import CloudThread, OffsetClock, aws_env, aws_error, aws_json, run_aws
from kubelite.lb import self_signed
from kubelite.testing import wait_until

ACCT = "000000000000"
HOST = f"{ACCT}.dkr.ecr.us-east-1.amazonaws.com"
FAST = {"Delay": 0.1, "MaxAttempts": 100}


@pytest.fixture(scope="module")
def clock():
    return OffsetClock()


@pytest.fixture(scope="module")
def fakes():
    cps = FakeControlPlanes()
    return cps, FakeInstances(cps)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, fakes, clock):
    cps, inst = fakes
    # Public load balancers on loopback addresses; the ECR registry on 127.0.0.1 (any port).
    c = CloudThread(tmp_path_factory.mktemp("cloud") / "data", control_planes=cps, instances=inst, clock=clock,
                    resync=1.0, lb_pool="127.77.0.0/24")
    c.start()
    yield c
    c.stop()


@pytest.fixture
def cli(cloud, tmp_path):
    return aws_env(tmp_path / "home", cloud.endpoint)


# -- VPC ------------------------------------------------------------------------------------------

def test_vpc_subnets_and_a_cluster_in_them(cloud, cli):
    vpc = aws_json(cli, "ec2", "create-vpc", "--cidr-block", "198.18.96.0/20", "--tag-specifications",
                   "ResourceType=vpc,Tags=[{Key=Name,Value=apps}]")["Vpc"]
    assert vpc["State"] == "available" and not vpc["IsDefault"] and vpc["Tags"] == [{"Key": "Name", "Value": "apps"}]
    a = aws_json(cli, "ec2", "create-subnet", "--vpc-id", vpc["VpcId"], "--cidr-block", "198.18.96.0/22",
                 "--availability-zone", "us-east-1a")["Subnet"]
    b = aws_json(cli, "ec2", "create-subnet", "--vpc-id", vpc["VpcId"], "--cidr-block", "198.18.100.0/22",
                 "--availability-zone", "us-east-1b")["Subnet"]
    assert a["AvailableIpAddressCount"] == 1019 and a["CidrBlock"] == "198.18.96.0/22"
    assert "(InvalidSubnet.Conflict)" in aws_error(cli, "ec2", "create-subnet", "--vpc-id", vpc["VpcId"],
                                                   "--cidr-block", "198.18.97.0/24")
    assert "(InvalidSubnet.Range)" in aws_error(cli, "ec2", "create-subnet", "--vpc-id", vpc["VpcId"],
                                                "--cidr-block", "198.18.120.0/24")
    assert "(InvalidVpc.Range)" in aws_error(cli, "ec2", "create-vpc", "--cidr-block", "10.0.0.0/16")
    assert "(InvalidVpcID.NotFound)" in aws_error(cli, "ec2", "create-subnet", "--vpc-id", "vpc-0123",
                                                  "--cidr-block", "198.18.98.0/24")
    listed = aws_json(cli, "ec2", "describe-subnets", "--filters", f"Name=vpc-id,Values={vpc['VpcId']}")["Subnets"]
    assert {s["SubnetId"] for s in listed} == {a["SubnetId"], b["SubnetId"]}
    eks = cloud.client("eks")
    eks.create_cluster(name="invpc", roleArn=cloud.cluster_role,
                       resourcesVpcConfig={"subnetIds": [a["SubnetId"], b["SubnetId"]]})
    eks.get_waiter("cluster_active").wait(name="invpc", WaiterConfig=FAST)
    c = eks.describe_cluster(name="invpc")["cluster"]
    assert c["resourcesVpcConfig"]["vpcId"] == vpc["VpcId"]
    # The control plane has an interface in the VPC: an address of the first subnet is in use.
    sub = aws_json(cli, "ec2", "describe-subnets", "--subnet-ids", a["SubnetId"])["Subnets"][0]
    assert sub["AvailableIpAddressCount"] == 1019 - 1
    assert "(DependencyViolation)" in aws_error(cli, "ec2", "delete-subnet", "--subnet-id", a["SubnetId"])
    eks.delete_cluster(name="invpc")
    eks.get_waiter("cluster_deleted").wait(name="invpc", WaiterConfig=FAST)
    for s in (a, b):
        run_aws(cli, "ec2", "delete-subnet", "--subnet-id", s["SubnetId"])
    run_aws(cli, "ec2", "delete-vpc", "--vpc-id", vpc["VpcId"])


# -- Fargate --------------------------------------------------------------------------------------

def test_fargate_profiles(cloud, cli, fakes):
    eks = cloud.client("eks")
    eks.create_cluster(name="fg", roleArn=cloud.cluster_role, resourcesVpcConfig={})
    eks.get_waiter("cluster_active").wait(name="fg", WaiterConfig=FAST)
    role = f"arn:aws:iam::{ACCT}:role/AmazonEKSFargatePodExecutionRole"
    err = aws_error(cli, "eks", "create-fargate-profile", "--cluster-name", "fg", "--fargate-profile-name", "p",
                    "--pod-execution-role-arn", role)
    assert "(InvalidParameterException)" in err and "requires at least one selector" in err
    err = aws_error(cli, "eks", "create-fargate-profile", "--cluster-name", "fg", "--fargate-profile-name", "p",
                    "--pod-execution-role-arn", role, "--selectors", "labels={a=b}")
    assert "at least one namespace" in err
    err = aws_error(cli, "eks", "create-fargate-profile", "--cluster-name", "fg", "--fargate-profile-name", "p",
                    "--pod-execution-role-arn", cloud.node_role, "--selectors", "namespace=x")
    assert "(InvalidParameterException)" in err and "could not be assumed" in err
    p = aws_json(cli, "eks", "create-fargate-profile", "--cluster-name", "fg", "--fargate-profile-name", "p",
                 "--pod-execution-role-arn", role, "--selectors", "namespace=serverless,labels={tier=web*}")
    assert p["fargateProfile"]["status"] == "CREATING"
    assert p["fargateProfile"]["fargateProfileArn"].startswith(f"arn:aws:eks:us-east-1:{ACCT}:fargateprofile/fg/p/")
    eks.get_waiter("fargate_profile_active").wait(clusterName="fg", fargateProfileName="p", WaiterConfig=FAST)
    d = eks.describe_fargate_profile(clusterName="fg", fargateProfileName="p")["fargateProfile"]
    assert d["selectors"] == [{"namespace": "serverless", "labels": {"tier": "web*"}}] and len(d["subnets"]) == 3
    assert eks.list_fargate_profiles(clusterName="fg")["fargateProfileNames"] == ["p"]
    # The pod execution role may register Fargate nodes.
    cid = eks.describe_cluster(name="fg")["cluster"]["id"]
    client = fakes[0].client(cid)
    cm = cloud.call(client.get("configmaps", "aws-auth", "kube-system"))
    assert "AmazonEKSFargatePodExecutionRole" in cm["data"]["mapRoles"]
    assert "system:node:{{SessionName}}" in cm["data"]["mapRoles"]
    with pytest.raises(eks.exceptions.ResourceInUseException):
        eks.create_fargate_profile(clusterName="fg", fargateProfileName="p", podExecutionRoleArn=role,
                                   selectors=[{"namespace": "y"}])
    with pytest.raises(eks.exceptions.ResourceInUseException):
        eks.delete_cluster(name="fg")
    eks.delete_fargate_profile(clusterName="fg", fargateProfileName="p")
    eks.get_waiter("fargate_profile_deleted").wait(clusterName="fg", fargateProfileName="p", WaiterConfig=FAST)
    with pytest.raises(eks.exceptions.ResourceNotFoundException) as e:
        eks.describe_fargate_profile(clusterName="fg", fargateProfileName="p")
    assert e.value.response["Error"]["Message"] == "No Fargate Profile found with name: p."
    eks.delete_cluster(name="fg")


# -- ECR ------------------------------------------------------------------------------------------

class Registry:
    """Raw Distribution API calls to the service's registry, as `<account>.dkr.ecr.<region>...`."""

    def __init__(self, cloud):
        svc = cloud.service
        self.port = svc.registry.port
        self.ctx = ssl.create_default_context(cafile=str(svc.registry.ca_file))

    def call(self, method, path, body=b"", password=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=10)
        h = {"Host": f"{HOST}:{self.port}", **(headers or {})}
        if password is not None:
            h["Authorization"] = "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, dict(r.getheaders()), data

    def push(self, repo, tag, password):
        config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
        digest = "sha256:" + hashlib.sha256(config).hexdigest()
        st, h, body = self.call("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", config, password,
                                {"Content-Type": "application/octet-stream"})
        if st != 201:
            return st, h, body
        assert h["Location"] == f"/v2/{repo}/blobs/{digest}"   # the namespace never shows
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": digest, "size": len(config)}, "layers": []}).encode()
        return self.call("PUT", f"/v2/{repo}/manifests/{tag}", manifest, password,
                         {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})


def test_ecr_repositories_tokens_and_the_registry(cloud, cli, clock):
    repo = aws_json(cli, "ecr", "create-repository", "--repository-name", "team/app")["repository"]
    assert repo["repositoryUri"] == f"{HOST}/team/app"
    assert repo["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCT}:repository/team/app"
    assert "(RepositoryAlreadyExistsException)" in aws_error(cli, "ecr", "create-repository", "--repository-name",
                                                             "team/app")
    assert "(InvalidParameterException)" in aws_error(cli, "ecr", "create-repository", "--repository-name", "Bad_")
    assert "(RepositoryNotFoundException)" in aws_error(cli, "ecr", "describe-repositories", "--repository-names",
                                                        "nope")
    password = run_aws(cli, "ecr", "get-login-password").stdout.strip()
    assert password and ":" not in password
    tok = aws_json(cli, "ecr", "get-authorization-token")["authorizationData"][0]
    assert base64.b64decode(tok["authorizationToken"]).decode().startswith("AWS:")
    assert tok["proxyEndpoint"] == f"https://{HOST}"

    reg = Registry(cloud)
    st, h, _ = reg.call("GET", "/v2/")
    assert st == 401 and h["WWW-Authenticate"].startswith(f'Basic realm="https://{HOST}')
    assert reg.call("GET", "/v2/", password="wrong")[0] == 401
    assert reg.call("GET", "/v2/", password=password)[0] == 200
    st, _, body = reg.call("HEAD", "/v2/team/nope/manifests/v1", password=password)
    assert st == 404
    assert reg.push("team/app", "v1", password)[0] == 201
    ids = aws_json(cli, "ecr", "list-images", "--repository-name", "team/app")["imageIds"]
    assert [i["imageTag"] for i in ids] == ["v1"] and ids[0]["imageDigest"].startswith("sha256:")
    det = aws_json(cli, "ecr", "describe-images", "--repository-name", "team/app")["imageDetails"][0]
    assert det["imageTags"] == ["v1"] and det["repositoryName"] == "team/app"
    assert "(RepositoryNotEmptyException)" in aws_error(cli, "ecr", "delete-repository", "--repository-name",
                                                        "team/app")
    # Repository policies.
    assert "(RepositoryPolicyNotFoundException)" in aws_error(cli, "ecr", "get-repository-policy",
                                                              "--repository-name", "team/app")
    pol = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "pull", "Effect": "Allow", "Principal":
                                                              {"AWS": f"arn:aws:iam::{ACCT}:root"},
                                                              "Action": ["ecr:BatchGetImage"]}]})
    run_aws(cli, "ecr", "set-repository-policy", "--repository-name", "team/app", "--policy-text", pol)
    assert json.loads(aws_json(cli, "ecr", "get-repository-policy", "--repository-name",
                               "team/app")["policyText"]) == json.loads(pol)
    assert "(InvalidParameterException)" in aws_error(cli, "ecr", "set-repository-policy", "--repository-name",
                                                      "team/app", "--policy-text", "{nope")
    # A user without ECR permissions: refused by the registry too.
    run_aws(cli, "iam", "create-user", "--user-name", "ecrless")
    key = aws_json(cli, "iam", "create-access-key", "--user-name", "ecrless")["AccessKey"]
    run_aws(cli, "iam", "put-user-policy", "--user-name", "ecrless", "--policy-name", "tok", "--policy-document",
            json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action":
                                                                "ecr:GetAuthorizationToken", "Resource": "*"}]}))
    other = aws_env(Path(cli["HOME"] + "-2"), cloud.endpoint, access_key_id=key["AccessKeyId"],
                    secret=key["SecretAccessKey"])
    weak = run_aws(other, "ecr", "get-login-password").stdout.strip()
    st, _, body = reg.push("team/app", "v2", weak)
    assert st == 403 and b"not authorized to perform: ecr:" in body
    # An expired token is refused with ECR's message.
    clock.offset = timedelta(hours=13)
    try:
        st, _, body = reg.push("team/app", "v3", password)
        assert st == 403 and b"Your authorization token has expired" in body
    finally:
        clock.offset = timedelta(0)
    out = aws_json(cli, "ecr", "batch-delete-image", "--repository-name", "team/app", "--image-ids", "imageTag=v1")
    assert out["imageIds"][0]["imageTag"] == "v1" and out["failures"] == []
    run_aws(cli, "ecr", "delete-repository", "--repository-name", "team/app")
    assert aws_json(cli, "ecr", "describe-repositories")["repositories"] == []


# -- load balancers -------------------------------------------------------------------------------

class Backend(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = f"backend {self.server.server_address[1]} {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def backend():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def _get(addr, path, host=None):
    conn = http.client.HTTPConnection(addr, 80, timeout=5)
    conn.request("GET", path, headers={"Host": host} if host else {})
    r = conn.getresponse()
    return r.status, r.read().decode()


def test_load_balancers_from_services_and_ingresses(cloud, cli, fakes, backend, tmp_path):
    eks = cloud.client("eks")
    eks.create_cluster(name="lbs", roleArn=cloud.cluster_role, resourcesVpcConfig={})
    eks.get_waiter("cluster_active").wait(name="lbs", WaiterConfig=FAST)
    client = fakes[0].client(eks.describe_cluster(name="lbs")["cluster"]["id"])
    call = cloud.call

    call(client.create("services", {"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "web", "namespace": "default", "annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "targetPort": backend,
                                                     "protocol": "TCP"}]}}, "default"))
    call(client.create("endpointslices", {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {
        "name": "web-1", "namespace": "default", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": backend, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]}, "default"))

    def hostname(plural, name):
        obj = call(client.get(plural, name, "default"))
        ing = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        return ing[0]["hostname"] if ing else None

    host = wait_until(lambda: hostname("services", "web"), timeout=30, message="NLB hostname")
    assert host.startswith("k8s-default-web-") and host.endswith(".elb.us-east-1.amazonaws.com")
    addr = cloud.service.hosts.lookup(host)
    assert addr and addr.startswith("127.77.0.")
    assert wait_until(lambda: _get(addr, "/x")[1] == f"backend {backend} /x", timeout=10)
    svc = call(client.get("services", "web", "default"))
    assert "service.k8s.aws/resources" in svc["metadata"]["finalizers"]

    lbs = aws_json(cli, "elbv2", "describe-load-balancers")["LoadBalancers"]
    (lb,) = [x for x in lbs if x["DNSName"] == host]
    assert lb["Type"] == "network" and lb["Scheme"] == "internet-facing" and lb["State"]["Code"] == "active"
    tgs = aws_json(cli, "elbv2", "describe-target-groups", "--load-balancer-arn", lb["LoadBalancerArn"])
    (tg,) = tgs["TargetGroups"]
    assert tg["TargetType"] == "ip" and tg["Protocol"] == "TCP" and tg["Port"] == backend
    health = aws_json(cli, "elbv2", "describe-target-health", "--target-group-arn", tg["TargetGroupArn"])
    assert health["TargetHealthDescriptions"][0]["Target"] == {"Id": "127.0.0.1", "Port": backend}
    lst = aws_json(cli, "elbv2", "describe-listeners", "--load-balancer-arn", lb["LoadBalancerArn"])["Listeners"]
    assert [(x["Port"], x["Protocol"]) for x in lst] == [(80, "TCP")]
    assert "(LoadBalancerNotFound)" in aws_error(cli, "elbv2", "describe-load-balancers", "--names", "nope")
    assert "(TargetGroupNotFound)" in aws_error(
        cli, "elbv2", "describe-target-health", "--target-group-arn",
        f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:targetgroup/nope/0123456789abcdef")

    # An ALB for an Ingress: host and path rules, a Service that does not exist answers 503.
    cert, key = self_signed("shop.example.com", hosts=("shop.example.com",))
    (tmp_path / "cert.pem").write_text(cert)
    (tmp_path / "key.pem").write_text(key)
    imported = aws_json(cli, "acm", "import-certificate", "--certificate", f"fileb://{tmp_path}/cert.pem",
                        "--private-key", f"fileb://{tmp_path}/key.pem")["CertificateArn"]
    assert aws_json(cli, "acm", "describe-certificate", "--certificate-arn", imported)["Certificate"][
        "DomainName"] == "shop.example.com"
    call(client.create("ingresses", {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {
        "name": "shop", "namespace": "default", "annotations": {
            "alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/target-type": "ip",
            "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]',
            "alb.ingress.kubernetes.io/certificate-arn": imported}},
        "spec": {"ingressClassName": "alb", "rules": [{"host": "shop.example.com", "http": {"paths": [
            {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "missing", "port": {
                "number": 80}}}}]}}]}}, "default"))
    alb_host = wait_until(lambda: hostname("ingresses", "shop"), timeout=30, message="ALB hostname")
    alb_addr = cloud.service.hosts.lookup(alb_host)
    assert wait_until(lambda: _get(alb_addr, "/api/v1", "shop.example.com") == (200, f"backend {backend} /api/v1"),
                      timeout=10)
    assert _get(alb_addr, "/", "shop.example.com")[0] == 503
    assert _get(alb_addr, "/api", "other.example.com")[0] == 404
    ctx = ssl.create_default_context(cadata=cert)
    sock_ctx = ctx.wrap_socket(socket.create_connection((alb_addr, 443), timeout=5),
                               server_hostname="shop.example.com")
    sock_ctx.sendall(b"GET /api/x HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n")
    resp = b""
    while chunk := sock_ctx.recv(4096):
        resp += chunk
    sock_ctx.close()
    assert resp.startswith(b"HTTP/1.1 200") and f"backend {backend} /api/x".encode() in resp
    events = call(client.list("events", "default"))["items"]
    assert any(e["reason"] == "ServiceNotFound" and e["involvedObject"]["name"] == "shop" for e in events)
    albs = [x for x in aws_json(cli, "elbv2", "describe-load-balancers")["LoadBalancers"] if x["DNSName"] == alb_host]
    assert albs[0]["Type"] == "application"
    listeners = aws_json(cli, "elbv2", "describe-listeners", "--load-balancer-arn", albs[0]["LoadBalancerArn"])
    https = [x for x in listeners["Listeners"] if x["Port"] == 443][0]
    assert https["Certificates"] == [{"CertificateArn": imported}]
    rules = aws_json(cli, "elbv2", "describe-rules", "--listener-arn", https["ListenerArn"])["Rules"]
    assert [r["Priority"] for r in rules] == ["1", "2", "default"]
    assert rules[0]["Conditions"][1]["Values"] == ["/api", "/api/*"]

    # Deleting the Service and the Ingress deletes their load balancers.
    call(client.delete("ingresses", "shop", "default"))
    call(client.delete("services", "web", "default"))
    wait_until(lambda: not aws_json(cli, "elbv2", "describe-load-balancers")["LoadBalancers"], timeout=30,
               message="load balancers deleted")
    assert cloud.service.hosts.lookup(host) is None and cloud.service.hosts.lookup(alb_host) is None
    eks.delete_cluster(name="lbs")
    eks.get_waiter("cluster_deleted").wait(name="lbs", WaiterConfig=FAST)
