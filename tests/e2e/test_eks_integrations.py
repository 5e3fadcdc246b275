"""The EKS integrations end to end, as root with real nodes: `kubelite cloud` as a process, driven by
the real AWS CLI, kubectl, `kubelite build/login/push`, and HTTP from this host (a machine inside
the VPC).

A VPC with two subnets, a cluster in them and a node group: pods take VPC addresses and are
reached directly; cluster DNS, logs and exec work on managed nodes. A LoadBalancer Service
answers at its hostname through a rolling update without an error; an `alb` Ingress routes `/api`
and `/` over HTTPS with the Secret's certificate. A pod in a Fargate namespace gets its own node.
An image pushed to ECR with the CLI's login runs in the cluster. Two VPCs do not reach each other.
Deleting everything leaves nothing on the machine.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kubelite.cloud.testing import CLUSTER_ROLE, NODE_ROLE, CloudProcess, aws_env, run_aws, run_kubectl
from kubelite.testing import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.root]

ACCT = "000000000000"
VPC_POOL, LB_POOL = "198.18.96.0/19", "198.18.204.0/22"
FARGATE_ROLE = f"arn:aws:iam::{ACCT}:role/AmazonEKSFargatePodExecutionRole"
PREFIXES = ("kln-", "klp")


def _leftovers(cloud: CloudProcess) -> list[str]:
    out = [f"netns {n}" for n in (os.listdir("/var/run/netns") if os.path.isdir("/var/run/netns") else [])
           if n.startswith(PREFIXES)]
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout.splitlines()
    out += [f"link {ln.split()[0]}" for ln in links if ln.startswith(("klw", "klv"))]
    lo = subprocess.run(["ip", "-br", "addr", "show", "lo"], capture_output=True, text=True).stdout
    out += [f"lo address {a}" for a in lo.split() if a.startswith("198.18.20")]
    hosts = Path("/etc/hosts").read_text()
    if f"kubelite-cloud {cloud.endpoint}" in hosts:
        out.append("hosts block")
    for h in Path("/sys/fs/cgroup").iterdir():
        if h.is_dir():
            out += [f"cgroup {d}" for d in h.iterdir() if d.name.startswith("kln")]
    ps = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    out += [ln for ln in ps.splitlines() if ("kubelite.cloud.provisioner" in ln and str(cloud.data_dir) in ln)]
    return out


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    from kubelite.agent.testing import missing_reason

    if os.geteuid() != 0 or missing_reason():
        pytest.skip(missing_reason() or "needs root")
    base = tmp_path_factory.mktemp("eksi")
    c = CloudProcess(base / "cloud", args=["--vpc-pool", VPC_POOL, "--lb-pool", LB_POOL])
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def admin(cloud, tmp_path_factory):
    return aws_env(tmp_path_factory.mktemp("admin-home"), cloud.endpoint)


@pytest.fixture(scope="module")
def world(cloud, admin, tmp_path_factory):
    """VPC + 2 subnets, cluster `apps` in them with 2 t3.small nodes, a kubeconfig."""
    vpc = json.loads(run_aws(admin, "ec2", "create-vpc", "--cidr-block", "198.18.112.0/20").stdout)["Vpc"]
    subnets = [json.loads(run_aws(admin, "ec2", "create-subnet", "--vpc-id", vpc["VpcId"], "--cidr-block", cidr,
                                  "--availability-zone", zone).stdout)["Subnet"]
               for cidr, zone in (("198.18.112.0/22", "us-east-1a"), ("198.18.116.0/22", "us-east-1b"))]
    ids = [s["SubnetId"] for s in subnets]
    run_aws(admin, "eks", "create-cluster", "--name", "apps", "--role-arn", CLUSTER_ROLE, "--resources-vpc-config",
            f"subnetIds={','.join(ids)}")
    wait_until(lambda: _status(admin, "apps") == "ACTIVE", timeout=120, interval=0.5, message="apps ACTIVE")
    run_aws(admin, "eks", "create-nodegroup", "--cluster-name", "apps", "--nodegroup-name", "workers", "--subnets",
            *ids, "--node-role", NODE_ROLE, "--instance-types", "t3.small", "--scaling-config",
            "minSize=1,maxSize=3,desiredSize=2")
    run_aws(admin, "eks", "wait", "nodegroup-active", "--cluster-name", "apps", "--nodegroup-name", "workers",
            timeout=300)
    kc = tmp_path_factory.mktemp("kc") / "config"
    run_aws(admin, "eks", "update-kubeconfig", "--name", "apps", "--kubeconfig", str(kc))
    yield {"vpc": vpc, "subnets": subnets, "kenv": {**admin, "KUBECONFIG": str(kc)}}
    if cloud.proc is not None:   # the last test stops the service; after a failure, clean up through the API
        _delete_all(admin)


def _delete_all(env) -> None:
    """Best effort: every Fargate profile, node group and cluster, through the API."""
    for cl in json.loads(run_aws(env, "eks", "list-clusters").stdout)["clusters"]:
        for fp in json.loads(run_aws(env, "eks", "list-fargate-profiles", "--cluster-name", cl).stdout)[
                "fargateProfileNames"]:
            run_aws(env, "eks", "delete-fargate-profile", "--cluster-name", cl, "--fargate-profile-name", fp,
                    check=False)
            run_aws(env, "eks", "wait", "fargate-profile-deleted", "--cluster-name", cl, "--fargate-profile-name", fp,
                    check=False)
        for ng in json.loads(run_aws(env, "eks", "list-nodegroups", "--cluster-name", cl).stdout)["nodegroups"]:
            run_aws(env, "eks", "delete-nodegroup", "--cluster-name", cl, "--nodegroup-name", ng, check=False)
            run_aws(env, "eks", "wait", "nodegroup-deleted", "--cluster-name", cl, "--nodegroup-name", ng,
                    check=False, timeout=300)
        run_aws(env, "eks", "delete-cluster", "--name", cl, check=False)
        wait_until(lambda: _status(env, cl) == "", timeout=120, message=f"{cl} deleted")


def _status(env, name):
    r = run_aws(env, "eks", "describe-cluster", "--name", name, "--query", "cluster.status", "--output", "text",
                check=False)
    return r.stdout.strip()


def _json(kenv, *args):
    return json.loads(run_kubectl(kenv, *args, "-o", "json").stdout)


def _in_subnets(ip: str, subnets: list[dict]) -> bool:
    import ipaddress
    return any(ipaddress.ip_address(ip) in ipaddress.ip_network(s["CidrBlock"]) for s in subnets)


def _http(url: str | urllib.request.Request, *, timeout: float = 3.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _running(kenv, selector, ns="default"):
    pods = _json(kenv, "get", "pods", "-n", ns, "-l", selector)["items"]
    return [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
            and all(c.get("ready") for c in p["status"].get("containerStatuses") or [])]


WEB = """apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: NAME}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: NAME}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: web
        image: busybox
        command: [sh, -c, "mkdir -p /www/api && echo NAME-$(hostname) > /www/index.html && cp /www/index.html /www/api/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
        lifecycle: {preStop: {exec: {command: [sleep, "3"]}}}
---
apiVersion: v1
kind: Service
metadata:
  name: NAME
  annotations: ANNOTATIONS
spec:
  type: TYPE
  selector: {app: NAME}
  ports: [{name: http, port: 80, targetPort: 8080}]
"""


def _deploy(kenv, tmp_path, name, replicas=2, type_="ClusterIP", annotations="{}"):
    f = tmp_path / f"{name}.yaml"
    f.write_text(WEB.replace("NAME", name).replace("REPLICAS", str(replicas)).replace("TYPE", type_)
                 .replace("ANNOTATIONS", annotations))
    run_kubectl(kenv, "apply", "-f", str(f))
    wait_until(lambda: len(_running(kenv, f"app={name}")) == replicas, timeout=120, interval=1.0,
               message=f"{name} running")


def test_pods_take_vpc_addresses_and_are_reached_directly(world, tmp_path):
    kenv, subnets = world["kenv"], world["subnets"]
    nodes = _json(kenv, "get", "nodes")["items"]
    assert len(nodes) == 2
    for n in nodes:
        ip = next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP")
        assert _in_subnets(ip, subnets)
        assert n["status"]["capacity"]["pods"] == "11"       # t3.small: 3 ENIs x (4 - 1) + 2
    _deploy(kenv, tmp_path, "web", replicas=4)
    pods = _running(kenv, "app=web")
    assert {p["spec"]["nodeName"] for p in pods} == {n["metadata"]["name"] for n in nodes}
    for p in pods:   # no overlay: every pod address is a VPC address the host reaches directly
        assert _in_subnets(p["status"]["podIP"], subnets)
        assert _http(f"http://{p['status']['podIP']}:8080/") == (200, f"web-{p['metadata']['name']}\n")
    a = pods[0]
    b = next(p for p in pods if p["spec"]["nodeName"] != a["spec"]["nodeName"])
    out = run_kubectl(kenv, "exec", a["metadata"]["name"], "--", "sh", "-c",
                      f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {b['status']['podIP']} 8080").stdout
    assert f"web-{b['metadata']['name']}" in out                       # pod to pod across nodes
    out = run_kubectl(kenv, "exec", a["metadata"]["name"], "--", "nslookup", "web.default.svc.cluster.local").stdout
    svc_ip = _json(kenv, "get", "svc", "web")["spec"]["clusterIP"]
    assert svc_ip in out                                                # cluster DNS
    run_kubectl(kenv, "logs", a["metadata"]["name"])                     # the kubelet server on the node IP


def test_nlb_answers_at_its_hostname_through_a_rolling_update(world, admin, tmp_path):
    kenv = world["kenv"]
    ann = ('{"service.beta.kubernetes.io/aws-load-balancer-type": "external", '
           '"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip", '
           '"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}')
    t0 = time.monotonic()
    _deploy(kenv, tmp_path, "front", replicas=2, type_="LoadBalancer", annotations=ann)
    host = wait_until(lambda: (_json(kenv, "get", "svc", "front")["status"].get("loadBalancer") or {}).get(
        "ingress", [{}])[0].get("hostname"), timeout=60, message="NLB hostname")
    assert host.endswith(".elb.us-east-1.amazonaws.com")
    addr = socket.gethostbyname(host)                                    # resolves on this machine
    wait_until(lambda: _http(f"http://{host}/")[0] == 200, timeout=30, message="NLB answers")
    print(f"service to NLB answering: {time.monotonic() - t0:.2f}s")
    stop = threading.Event()
    counts = {"ok": 0, "err": 0, "errors": []}

    def hammer():
        while not stop.is_set():
            try:
                status, body = _http(f"http://{host}/", timeout=5)
                if status == 200 and body.startswith("front-"):
                    counts["ok"] += 1
                    continue
                counts["errors"].append(f"{status} {body[:60]}")
            except Exception as e:  # noqa: BLE001 - counted
                counts["errors"].append(repr(e)[:100])
            counts["err"] += 1

    t = threading.Thread(target=hammer)
    t.start()
    try:
        time.sleep(1)
        run_kubectl(kenv, "rollout", "restart", "deployment/front")
        run_kubectl(kenv, "rollout", "status", "deployment/front", "--timeout=120s", timeout=150)
        time.sleep(4)   # the last old pod's preStop and drain
    finally:
        stop.set()
        t.join()
    assert counts["ok"] > 100 and counts["err"] == 0, counts
    lb = json.loads(run_aws(admin, "elbv2", "describe-load-balancers").stdout)["LoadBalancers"]
    (mine,) = [x for x in lb if x["DNSName"] == host]
    assert mine["Type"] == "network" and mine["AvailabilityZones"][0]["LoadBalancerAddresses"][0]["IpAddress"] == addr
    tg = json.loads(run_aws(admin, "elbv2", "describe-target-groups", "--load-balancer-arn",
                            mine["LoadBalancerArn"]).stdout)["TargetGroups"][0]
    ips = {p["status"]["podIP"] for p in _running(kenv, "app=front")}

    def healthy():
        rows = json.loads(run_aws(admin, "elbv2", "describe-target-health", "--target-group-arn",
                                  tg["TargetGroupArn"]).stdout)["TargetHealthDescriptions"]
        return {h["Target"]["Id"] for h in rows if h["TargetHealth"]["State"] == "healthy"}
    wait_until(lambda: healthy() == ips, timeout=90, message="the new pods are the healthy targets")


def test_alb_routes_api_and_root_over_https(world, admin, tmp_path):
    kenv = world["kenv"]
    _deploy(kenv, tmp_path, "api")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "tls.key"),
                    "-out", str(tmp_path / "tls.crt"), "-days", "2", "-subj", "/CN=shop.example.com", "-addext",
                    "subjectAltName=DNS:shop.example.com"], check=True, capture_output=True)
    run_kubectl(kenv, "create", "secret", "tls", "shop-tls", "--cert", str(tmp_path / "tls.crt"), "--key",
                str(tmp_path / "tls.key"))
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop", "annotations": {
        "alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]',
        "alb.ingress.kubernetes.io/ssl-redirect": "443", "alb.ingress.kubernetes.io/healthcheck-path": "/"}},
        "spec": {"ingressClassName": "alb", "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
                 "rules": [{"host": "shop.example.com", "http": {"paths": [
                     {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {
                         "number": 80}}}},
                     {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {
                         "number": 80}}}}]}}]}}
    (tmp_path / "ing.json").write_text(json.dumps(ing))
    run_kubectl(kenv, "apply", "-f", str(tmp_path / "ing.json"))
    host = wait_until(lambda: (_json(kenv, "get", "ingress", "shop")["status"].get("loadBalancer") or {}).get(
        "ingress", [{}])[0].get("hostname"), timeout=60, message="ALB hostname")
    addr = socket.gethostbyname(host)
    ctx = ssl.create_default_context(cafile=str(tmp_path / "tls.crt"))

    def https(path):
        with socket.create_connection((addr, 443), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="shop.example.com") as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, body = data.decode().partition("\r\n\r\n")
        return int(head.split()[1]), body

    wait_until(lambda: https("/api/")[0] == 200, timeout=30, message="ALB answers over HTTPS")
    assert https("/api/")[1].startswith("api-") and https("/")[1].startswith("web-")
    req = urllib.request.Request(f"http://{host}/api/", headers={"Host": "shop.example.com"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    try:
        urllib.request.build_opener(NoRedirect).open(req, timeout=5)
        raise AssertionError("no redirect")
    except urllib.error.HTTPError as e:
        assert e.code == 301 and e.headers["Location"] in ("https://shop.example.com/api/",
                                                           "https://shop.example.com:443/api/")
    # Bad input: a missing backend Service answers 503 and is reported; so is an invalid Secret.
    ing["metadata"]["name"] = "broken"
    ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"] = "broken"
    del ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/ssl-redirect"]
    ing["spec"]["tls"][0]["secretName"] = "bad-tls"
    ing["spec"]["rules"][0]["http"]["paths"] = [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "nothing-here", "port": {"number": 80}}}}]
    run_kubectl(kenv, "create", "secret", "generic", "bad-tls", "--type", "kubernetes.io/tls",
                "--from-literal=tls.crt=garbage", "--from-literal=tls.key=garbage")
    (tmp_path / "broken.json").write_text(json.dumps(ing))
    run_kubectl(kenv, "apply", "-f", str(tmp_path / "broken.json"))

    def reasons():
        evs = _json(kenv, "get", "events", "--field-selector", "involvedObject.name=broken")["items"]
        return {e["reason"] for e in evs}
    wait_until(lambda: {"ServiceNotFound", "InvalidCertificate"} <= reasons(), timeout=60, message="events")
    bhost = _json(kenv, "get", "ingress", "broken")["status"]["loadBalancer"]["ingress"][0]["hostname"]
    # No usable certificate: served over plain HTTP, and the missing Service answers 503.
    assert _http(urllib.request.Request(f"http://{bhost}/", headers={"Host": "shop.example.com"}))[0] == 503
    run_kubectl(kenv, "delete", "ingress", "broken", "--wait=true")


def test_fargate_pod_gets_its_own_node_with_a_vpc_address(world, admin, tmp_path):
    kenv, subnets = world["kenv"], world["subnets"]
    run_aws(admin, "eks", "create-fargate-profile", "--cluster-name", "apps", "--fargate-profile-name", "serverless",
            "--pod-execution-role-arn", FARGATE_ROLE, "--selectors", "namespace=serverless")
    run_aws(admin, "eks", "wait", "fargate-profile-active", "--cluster-name", "apps", "--fargate-profile-name",
            "serverless")
    run_kubectl(kenv, "create", "namespace", "serverless")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fg", "namespace": "serverless"},
           "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["httpd", "-f", "-p", "8080", "-h",
                                                                                  "/etc"],
                                    "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}]}}
    (tmp_path / "fg.json").write_text(json.dumps(pod))
    run_kubectl(kenv, "apply", "-f", str(tmp_path / "fg.json"))
    p = wait_until(lambda: (lambda x: x if x["status"].get("phase") == "Running" else None)(
        _json(kenv, "get", "pod", "fg", "-n", "serverless")), timeout=120, interval=1.0, message="fargate pod")
    node_name = p["spec"]["nodeName"]
    assert node_name.startswith("fargate-ip-") and p["spec"]["schedulerName"] == "fargate-scheduler"
    assert p["metadata"]["annotations"]["CapacityProvisioned"] == "0.25vCPU 0.5GB"
    node = _json(kenv, "get", "node", node_name)
    assert node["metadata"]["labels"]["eks.amazonaws.com/compute-type"] == "fargate"
    assert node["status"]["capacity"]["pods"] == "1"
    assert _in_subnets(p["status"]["podIP"], subnets)
    assert _http(f"http://{p['status']['podIP']}:8080/hostname")[0] == 200
    others = [n["metadata"]["name"] for n in _json(kenv, "get", "nodes")["items"]]
    assert all(n == node_name or not n.startswith("fargate-") for n in others)
    assert all(not x["spec"]["nodeName"].startswith("fargate-") for x in _running(kenv, "app=web"))
    run_kubectl(kenv, "delete", "pod", "fg", "-n", "serverless", "--wait=true", timeout=90)
    wait_until(lambda: node_name not in [n["metadata"]["name"] for n in _json(kenv, "get", "nodes")["items"]],
               timeout=60, message="fargate node gone")


def test_image_pushed_to_ecr_with_the_cli_login_runs(world, admin, cloud, tmp_path):
    kenv = world["kenv"]
    uri = json.loads(run_aws(admin, "ecr", "create-repository", "--repository-name", "team/app").stdout)[
        "repository"]["repositoryUri"]
    assert uri == f"{ACCT}.dkr.ecr.us-east-1.amazonaws.com/team/app"
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text('FROM busybox\nRUN echo "hello from ecr" > /msg\n'
                                                 'CMD ["sh", "-c", "cat /msg; sleep 3600"]\n')
    env = {**admin, "KUBELITE_IMAGE_ROOT": str(tmp_path / "images"), "DOCKER_CONFIG": str(tmp_path / "docker"),
           "KUBELITE_REGISTRIES": str(cloud.data_dir / "ecr" / "registries.yaml")}
    kubelite = ["kubelite"]
    subprocess.run([*kubelite, "build", "-t", f"{uri}:v1", str(tmp_path / "ctx")], env=env, check=True,
                   capture_output=True, timeout=120)
    password = run_aws(admin, "ecr", "get-login-password").stdout
    r = subprocess.run([*kubelite, "login", "--username", "AWS", "--password-stdin", uri.split("/")[0]],
                       input=password, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Login Succeeded" in r.stdout, r.stderr
    r = subprocess.run([*kubelite, "push", f"{uri}:v1"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    tags = json.loads(run_aws(admin, "ecr", "list-images", "--repository-name", "team/app").stdout)["imageIds"]
    assert [t.get("imageTag") for t in tags] == ["v1"]
    run_kubectl(kenv, "create", "deployment", "fromecr", f"--image={uri}:v1")
    wait_until(lambda: len(_running(kenv, "app=fromecr")) == 1, timeout=120, interval=1.0, message="ECR image runs")
    pod = _running(kenv, "app=fromecr")[0]["metadata"]["name"]
    wait_until(lambda: "hello from ecr" in run_kubectl(kenv, "logs", pod).stdout, timeout=30)
    # A push with a token the service no longer knows is refused.
    r = subprocess.run([*kubelite, "login", "--username", "AWS", "--password-stdin", uri.split("/")[0]],
                       input="not-a-token", env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0


def test_two_vpcs_cannot_reach_each_others_pods(world, admin, tmp_path_factory):
    kenv = world["kenv"]
    run_aws(admin, "eks", "create-cluster", "--name", "other", "--role-arn", CLUSTER_ROLE,
            "--resources-vpc-config", "{}")      # the default VPC
    wait_until(lambda: _status(admin, "other") == "ACTIVE", timeout=120, interval=0.5)
    subnets = json.loads(run_aws(admin, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true")
                         .stdout)["Subnets"]
    run_aws(admin, "eks", "create-nodegroup", "--cluster-name", "other", "--nodegroup-name", "one", "--subnets",
            subnets[0]["SubnetId"], "--node-role", NODE_ROLE, "--scaling-config", "minSize=1,maxSize=1,desiredSize=1")
    run_aws(admin, "eks", "wait", "nodegroup-active", "--cluster-name", "other", "--nodegroup-name", "one",
            timeout=300)
    kc = tmp_path_factory.mktemp("kc2") / "config"
    run_aws(admin, "eks", "update-kubeconfig", "--name", "other", "--kubeconfig", str(kc))
    kb = {**admin, "KUBECONFIG": str(kc)}
    run_kubectl(kb, "create", "deployment", "b", "--image=busybox", "--", "httpd", "-f", "-p", "8080", "-h", "/etc")
    wait_until(lambda: len(_running(kb, "app=b")) == 1, timeout=120, interval=1.0)
    b_ip = _running(kb, "app=b")[0]["status"]["podIP"]
    assert _http(f"http://{b_ip}:8080/hostname")[0] == 200           # the host is in both VPCs
    a = _running(kenv, "app=web")[0]["metadata"]["name"]
    r = run_kubectl(kenv, "exec", a, "--", "sh", "-c", f"echo | nc -w 2 {b_ip} 8080 && echo REACHED", check=False)
    assert "REACHED" not in r.stdout
    run_aws(admin, "eks", "delete-nodegroup", "--cluster-name", "other", "--nodegroup-name", "one")
    run_aws(admin, "eks", "wait", "nodegroup-deleted", "--cluster-name", "other", "--nodegroup-name", "one",
            timeout=300)
    run_aws(admin, "eks", "delete-cluster", "--name", "other")


def test_deleting_everything_leaves_nothing_behind(world, admin, cloud):
    kenv = world["kenv"]
    run_kubectl(kenv, "delete", "ingress", "shop", "--wait=true", timeout=60)
    run_kubectl(kenv, "delete", "svc", "front", "--wait=true", timeout=60)
    wait_until(lambda: json.loads(run_aws(admin, "elbv2", "describe-load-balancers").stdout)["LoadBalancers"] == [],
               timeout=60, message="load balancers gone")
    run_aws(admin, "eks", "delete-fargate-profile", "--cluster-name", "apps", "--fargate-profile-name", "serverless")
    run_aws(admin, "eks", "wait", "fargate-profile-deleted", "--cluster-name", "apps", "--fargate-profile-name",
            "serverless")
    run_aws(admin, "eks", "delete-nodegroup", "--cluster-name", "apps", "--nodegroup-name", "workers")
    run_aws(admin, "eks", "wait", "nodegroup-deleted", "--cluster-name", "apps", "--nodegroup-name", "workers",
            timeout=300)
    run_aws(admin, "eks", "delete-cluster", "--name", "apps")
    for name in ("apps", "other"):
        wait_until(lambda: _status(admin, name) == "", timeout=90, message=f"{name} gone")
    run_aws(admin, "ecr", "delete-repository", "--repository-name", "team/app", "--force")
    for s in world["subnets"]:
        run_aws(admin, "ec2", "delete-subnet", "--subnet-id", s["SubnetId"])
    run_aws(admin, "ec2", "delete-vpc", "--vpc-id", world["vpc"]["VpcId"])
    # While the service runs, only the ECR registry's address and name stay.
    wait_until(lambda: [x for x in _leftovers(cloud) if x not in ("lo address 198.18.204.1/32", "hosts block")] == [],
               timeout=60, message="nothing left but the ECR registry")
    cloud.stop()
    wait_until(lambda: not _leftovers(cloud), timeout=30, message=f"leftovers: {_leftovers(cloud)}")
