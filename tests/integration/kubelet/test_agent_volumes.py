"""Volumes, environment, service account credentials and securityContext with the real runtime."""

import asyncio
import base64

import pytest

from kubelite.agent.testing import pod_manifest

pytestmark = pytest.mark.root


def cs(pod, name):
    return next(s for s in pod["status"].get("containerStatuses") or [] if s["name"] == name)


def waiting_reason(pod, name="c"):
    return (cs(pod, name).get("state") or {}).get("waiting", {}).get("reason") if pod["status"].get(
        "containerStatuses") else None


def output(h, pod, container="c"):
    md = pod["metadata"]
    path = h.env.log_dir / f"{md['namespace']}_{md['name']}_{md['uid']}" / container / "0.log"
    return [ln.split(" ", 3)[3] for ln in path.read_text().splitlines()]


def test_missing_configmap_waits_then_starts(harness):
    c = {"name": "c", "command": ["sh", "-c", "cat /cfg/greeting; echo; sleep 600"],
         "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}]}
    async def body():
        async with harness() as h:
            await h.client.create("pods", pod_manifest("cm", [c], nodeName=h.env.node_name,
                                                       terminationGracePeriodSeconds=1,
                                                       volumes=[{"name": "cfg", "configMap": {"name": "later"}}]),
                                  "default")
            pod = await h.wait_pod("cm", lambda p: waiting_reason(p) == "ContainerCreating")
            assert pod["status"]["phase"] == "Pending"
            for _ in range(50):
                evs = await h.events("cm")
                if any(r == "FailedMount" for r, _ in evs):
                    break
                await asyncio.sleep(0.1)
            assert ("FailedMount", 'MountVolume.SetUp failed for volume "cfg" : configmap "later" not found') in evs
            await h.client.create("configmaps", {"metadata": {"name": "later"}, "data": {"greeting": "hi there"}},
                                  "default")
            pod = await h.wait_pod("cm", lambda p: p["status"].get("phase") == "Running", timeout=20)
            for _ in range(50):
                if "hi there" in output(h, pod):
                    break
                await asyncio.sleep(0.1)
            assert "hi there" in output(h, pod)
    asyncio.run(body())


def test_env_volumes_and_service_account(harness):
    script = ("echo GREETING=$GREETING; echo POD=$MY_POD/$MY_NS; echo EXPANDED=$EXPANDED; echo CPU=$CPU_LIMIT; "
              "echo SECRET=$PASSWORD; echo FROM=$APP_mode; cat /etc/podinfo/labels; echo; "
              "cat /etc/secret/password; echo; ls /var/run/secrets/kubernetes.io/serviceaccount; "
              "cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; id -u; "
              "echo KHOST=$KUBERNETES_SERVICE_HOST; ls -ld /scratch /mem; mount | grep ' /mem ' ; "
              "cat /etc/hosts | tail -1")
    c = {"name": "c", "command": ["sh", "-c", script],
         "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "greeting"}}},
                 {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                 {"name": "MY_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                 {"name": "EXPANDED", "value": "$(MY_POD)-x-$$(MY_POD)"},
                 {"name": "CPU_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
                 {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}}],
         "envFrom": [{"configMapRef": {"name": "app"}, "prefix": "APP_"}],
         "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}},
         "securityContext": {"runAsUser": 1234},
         "volumeMounts": [{"name": "podinfo", "mountPath": "/etc/podinfo"},
                          {"name": "secret", "mountPath": "/etc/secret"},
                          {"name": "scratch", "mountPath": "/scratch"},
                          {"name": "mem", "mountPath": "/mem"}]}
    volumes = [{"name": "podinfo", "downwardAPI": {"items": [{"path": "labels",
                                                              "fieldRef": {"fieldPath": "metadata.labels"}}]}},
               {"name": "secret", "secret": {"secretName": "creds"}},
               {"name": "scratch", "emptyDir": {}},
               {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}}]
    async def body():
        async with harness() as h:
            await h.client.create("configmaps", {"metadata": {"name": "app"},
                                                 "data": {"greeting": "hello", "mode": "fast"}}, "default")
            await h.client.create("secrets", {"metadata": {"name": "creds"},
                                              "data": {"password": base64.b64encode(b"s3cret").decode()}}, "default")
            pod = pod_manifest("env", [c], nodeName=h.env.node_name, restartPolicy="Never", volumes=volumes,
                               hostname="myhost", subdomain="sub")
            pod["metadata"]["labels"] = {"app": "demo", "tier": "web"}
            await h.client.create("pods", pod, "default")
            pod = await h.wait_pod("env", lambda p: p["status"].get("phase") in ("Succeeded", "Failed"))
            out = output(h, pod)
            assert pod["status"]["phase"] == "Succeeded", (pod["status"], out)
            assert "GREETING=hello" in out and "POD=env/default" in out
            assert "EXPANDED=env-x-$(MY_POD)" in out and "CPU=250" in out and "SECRET=s3cret" in out
            assert "FROM=fast" in out
            assert 'app="demo"' in out and 'tier="web"' in out and "s3cret" in out
            assert {"ca.crt", "namespace", "token"} <= set(out) and "default" in out and "1234" in out
            assert any(line.startswith("drwxrwxrwx") and line.endswith("/scratch") for line in out), out
            assert any("tmpfs on /mem type tmpfs" in line and "size=8192k" in line for line in out), out
            assert out[-1].split() == [pod["status"]["podIP"], "myhost.sub.default.svc.cluster.local", "myhost"]
            assert "KHOST=198.18.128.1" in out  # the `kubernetes` Service, for the in-cluster client config
    asyncio.run(body())


def test_service_account_token_authenticates(harness):
    c = {"name": "c", "command": ["sh", "-c", "cat /var/run/secrets/kubernetes.io/serviceaccount/token"]}
    async def body():
        async with harness() as h:
            await h.client.create("pods", pod_manifest("sa", [c], nodeName=h.env.node_name, restartPolicy="Never"),
                                  "default")
            pod = await h.wait_pod("sa", lambda p: p["status"].get("phase") == "Succeeded")
            token = output(h, pod)[0]
            client = h.api.new_client(token=token)
            try:
                from kubelite.machinery.errors import StatusError, is_forbidden

                try:
                    await client.get("namespaces", "default")
                except StatusError as e:
                    assert is_forbidden(e), e  # authenticated as the service account, just not allowed
                    assert "system:serviceaccount:default:default" in str(e)
            finally:
                await client.close()
    asyncio.run(body())


def test_security_context_and_bad_hostpath(harness):
    async def body():
        async with harness() as h:
            node = h.env.node_name
            await h.client.create("pods", pod_manifest("nonroot", [{"name": "c", "command": ["sleep", "600"],
                                                                    "securityContext": {"runAsNonRoot": True}}],
                                                       nodeName=node), "default")
            await h.client.create("pods", pod_manifest("hp", [{"name": "c", "command": ["sleep", "600"],
                                                               "volumeMounts": [{"name": "h", "mountPath": "/h"}]}],
                                                       nodeName=node, volumes=[{"name": "h", "hostPath": {
                                                           "path": "/nonexistent-kubelite", "type": "Directory"}}]),
                                  "default")
            pod = await h.wait_pod("nonroot", lambda p: waiting_reason(p) == "CreateContainerConfigError")
            msg = cs(pod, "c")["state"]["waiting"]["message"]
            assert msg.startswith('container has runAsNonRoot and image will run as root (pod: "nonroot_default('), msg
            await h.wait_pod("hp", lambda p: waiting_reason(p) == "ContainerCreating")
            for _ in range(50):
                evs = await h.events("hp")
                if any(r == "FailedMount" for r, _ in evs):
                    break
                await asyncio.sleep(0.1)
            assert ("FailedMount", 'MountVolume.SetUp failed for volume "h" : hostPath type check failed: '
                                   "/nonexistent-kubelite is not a directory") in evs
    asyncio.run(body())
