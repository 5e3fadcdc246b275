"""Load balancers of a managed cluster, end to end: `kubelite cloud` with one cluster and one node,
a pod behind an `alb` Ingress and a LoadBalancer Service, load from this host with wrk.

Figures, each with its baseline measured in the same run:

1. Closed-loop throughput and p99 (wrk, keep-alive): through the ALB (L7, the service's
   `kubelite.lb` instance) / direct to the one pod; and the ALB's requests per CPU second of the
   service's process (where the load balancers run).
2. Latency at half of the ALB's measured throughput: added p99 over direct to the pod at the
   same rate.
3. Time from creating a LoadBalancer Service (NLB, ip targets) to its hostname answering 200
   from the host (median of N), against the time from creating a Deployment's pod to it
   answering (the same cluster's own pace).

Targets (issue 11): >= 3,000 req/s per core through the L7 load balancer, added p99 < 5 ms at
half load. Needs root (real nodes) and wrk.

Usage: python bench/eks_lb.py [--quick] [--duration SECONDS]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from kubelite.cloud.testing import CLUSTER_ROLE, NODE_ROLE, CloudProcess, aws_env, run_aws, run_kubectl

_spec = importlib.util.spec_from_file_location("lbbench", Path(__file__).with_name("lb.py"))
lbbench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lbbench)  # type: ignore[union-attr]

POD = """apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  replicas: 1
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec:
      containers:
      - name: web
        image: busybox
        command: [sh, -c, "echo hello > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata:
  name: NAME
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: external
    service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip
    service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing
spec:
  type: TYPE
  selector: {app: NAME}
  ports: [{name: http, port: 80, targetPort: 8080}]
"""

INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "bench", "annotations": {
    "alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/target-type": "ip"}},
    "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "bench", "port": {"number": 80}}}}]}}]}}


def wait(pred, timeout=120.0, interval=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise TimeoutError(pred)


def ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def hostname(kenv, kind, name):
    doc = json.loads(run_kubectl(kenv, "get", kind, name, "-o", "json").stdout)
    ing = (doc.get("status", {}).get("loadBalancer") or {}).get("ingress") or []
    return ing[0].get("hostname") if ing else None


def apply(kenv, d: Path, name: str, type_: str) -> None:
    f = d / f"{name}.yaml"
    f.write_text(POD.replace("NAME", name).replace("TYPE", type_))
    run_kubectl(kenv, "apply", "-f", str(f))


def pod_ip(kenv, name):
    pods = json.loads(run_kubectl(kenv, "get", "pods", "-l", f"app={name}", "-o", "json").stdout)["items"]
    for p in pods:
        if all(c.get("ready") for c in p["status"].get("containerStatuses") or [{}]) and p["status"].get("podIP"):
            return p["status"]["podIP"]
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--conns", type=int, default=32)
    args = ap.parse_args()
    dur = 4.0 if args.quick else args.duration
    tmp = Path(tempfile.mkdtemp(prefix="eks-lb-bench-"))
    cloud = CloudProcess(tmp / "cloud", args=["--vpc-pool", "198.18.96.0/19", "--lb-pool", "198.18.204.0/22"])
    cloud.start()
    env = aws_env(tmp / "home", cloud.endpoint)
    try:
        run_aws(env, "eks", "create-cluster", "--name", "bench", "--role-arn", CLUSTER_ROLE, "--resources-vpc-config",
                "{}")
        wait(lambda: run_aws(env, "eks", "describe-cluster", "--name", "bench", "--query", "cluster.status",
                             "--output", "text").stdout.strip() == "ACTIVE", 120, 0.5)
        subnets = run_aws(env, "ec2", "describe-subnets", "--query", "Subnets[].SubnetId", "--output",
                          "text").stdout.split()
        run_aws(env, "eks", "create-nodegroup", "--cluster-name", "bench", "--nodegroup-name", "n", "--subnets",
                subnets[0], "--node-role", NODE_ROLE, "--scaling-config", "minSize=1,maxSize=1,desiredSize=1")
        run_aws(env, "eks", "wait", "nodegroup-active", "--cluster-name", "bench", "--nodegroup-name", "n",
                timeout=300)
        run_aws(env, "eks", "update-kubeconfig", "--name", "bench", "--kubeconfig", str(tmp / "kc"))
        kenv = {**env, "KUBECONFIG": str(tmp / "kc")}

        # 3. Service → NLB answering, against a pod's own creation → answering.
        nlb_times, pod_times = [], []
        for i in range(2 if args.quick else 4):
            name = f"t{i}"
            t0 = time.monotonic()
            apply(kenv, tmp, name, "ClusterIP")
            ip = wait(lambda: pod_ip(kenv, name))
            wait(lambda: ok(f"http://{ip}:8080/index.html"))
            pod_times.append(time.monotonic() - t0)
            svc = tmp / f"{name}-lb.yaml"
            svc.write_text(POD.replace("NAME", name).replace("TYPE", "LoadBalancer").split("---\n")[1])
            t0 = time.monotonic()
            run_kubectl(kenv, "apply", "-f", str(svc))
            host = wait(lambda: hostname(kenv, "svc", name))
            wait(lambda: ok(f"http://{host}/index.html"), interval=0.02)
            nlb_times.append(time.monotonic() - t0)
            run_kubectl(kenv, "delete", "-f", str(tmp / f"{name}.yaml"), "--wait=true")

        # 1 and 2: ALB vs direct to the pod.
        apply(kenv, tmp, "bench", "ClusterIP")
        ip = wait(lambda: pod_ip(kenv, "bench"))
        (tmp / "ing.json").write_text(json.dumps(INGRESS))
        run_kubectl(kenv, "apply", "-f", str(tmp / "ing.json"))
        host = wait(lambda: hostname(kenv, "ingress", "bench"))
        addr = socket.gethostbyname(host)
        wait(lambda: ok(f"http://{addr}/index.html"))
        direct_url, alb_url = f"http://{ip}:8080/index.html", f"http://{addr}/index.html"
        lbbench.closed_loop(direct_url, 1, args.conns)     # warm up
        lbbench.closed_loop(alb_url, 1, args.conns)
        d_rps, d_p99 = lbbench.closed_loop(direct_url, dur, args.conns)
        c0 = lbbench.cpu_seconds(cloud.proc.pid)
        t0 = time.monotonic()
        a_rps, a_p99 = lbbench.closed_loop(alb_url, dur, args.conns)
        cpu = lbbench.cpu_seconds(cloud.proc.pid) - c0
        wall = time.monotonic() - t0
        per_core = a_rps * wall / cpu if cpu else float("nan")
        rate = a_rps / 2
        half_d = lbbench.paced(ip, 8080, rate, dur)
        half_a = lbbench.paced(addr, 80, rate, dur)

        print(f"cluster: 1 node (t3.medium), 1 busybox httpd pod; load: wrk -c{args.conns}, {dur:g}s runs")
        print(f"1. throughput  direct to the pod: {d_rps:8.0f} req/s  p99 {d_p99:6.2f} ms")
        print(f"               through the ALB:   {a_rps:8.0f} req/s  p99 {a_p99:6.2f} ms   "
              f"ratio {a_rps / d_rps:.2f}x  (p99 {a_p99 / d_p99:.2f}x)")
        print(f"               ALB req per CPU-second of the service process: {per_core:.0f}  "
              f"(target >= 3000 per core)")
        print(f"2. at half load ({rate:.0f} req/s): p99 direct {half_d['p99']:.2f} ms, via ALB {half_a['p99']:.2f} ms, "
              f"added {half_a['p99'] - half_d['p99']:.2f} ms (target < 5 ms)")
        print(f"3. Service created -> NLB hostname answering: median {statistics.median(nlb_times):.2f}s "
              f"(runs {', '.join(f'{t:.2f}' for t in nlb_times)}); a pod created -> answering: "
              f"{statistics.median(pod_times):.2f}s; ratio {statistics.median(nlb_times) / statistics.median(pod_times):.2f}x")
    finally:
        try:
            kc = str(tmp / "kc")
            if os.path.exists(kc):
                kenv = {**env, "KUBECONFIG": kc}
                run_kubectl(kenv, "delete", "ingress", "bench", "--wait=true", check=False)
                run_kubectl(kenv, "delete", "svc", "bench", "--wait=true", check=False)
            run_aws(env, "eks", "delete-nodegroup", "--cluster-name", "bench", "--nodegroup-name", "n", check=False)
            run_aws(env, "eks", "wait", "nodegroup-deleted", "--cluster-name", "bench", "--nodegroup-name", "n",
                    check=False, timeout=300)
            run_aws(env, "eks", "delete-cluster", "--name", "bench", check=False)
            wait(lambda: run_aws(env, "eks", "describe-cluster", "--name", "bench", check=False).returncode != 0, 90)
        finally:
            cloud.stop()


if __name__ == "__main__":
    main()
