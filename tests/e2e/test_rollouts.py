"""Deployments, ReplicaSets, cascading deletion and namespace deletion, driven by the real kubectl
against `kubelite server --no-agent`. There is no node agent: a helper thread plays the kubelet
and reports every pod of the test's namespace Running and Ready."""

import json
import threading
import uuid

import pytest

from kubelite.testing import wait_until

TIMEOUT = "60s"


class FakeKubelet(threading.Thread):
    """Marks the namespace's pods Running and Ready (by patching pods/status) until stopped."""

    def __init__(self, server, ns):
        super().__init__(daemon=True, name=f"fake-kubelet-{ns}")
        self.server, self.ns = server, ns
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                self.mark_ready()
            except (OSError, ValueError):
                pass
            self.stopped.wait(0.1)

    def mark_ready(self):
        status, _, body = self.server.request("GET", f"/api/v1/namespaces/{self.ns}/pods")
        if status != 200:
            return
        for pod in json.loads(body)["items"]:
            md, st = pod["metadata"], pod.get("status") or {}
            if md.get("deletionTimestamp") or any(c.get("type") == "Ready" and c.get("status") == "True"
                                                  for c in st.get("conditions") or []):
                continue
            now = md.get("creationTimestamp")
            patch = {"status": {
                "phase": "Running", "podIP": "198.19.0.20", "startTime": now,
                "conditions": [{"type": t, "status": "True", "lastTransitionTime": now}
                               for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
                "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "ready": True,
                                       "restartCount": 0, "started": True,
                                       "state": {"running": {"startedAt": now}}}
                                      for c in pod["spec"].get("containers") or []]}}
            self.server.request("PATCH", f"/api/v1/namespaces/{self.ns}/pods/{md['name']}/status",
                                json.dumps(patch), headers={"Content-Type": "application/merge-patch+json"})

    def stop(self):
        self.stopped.set()
        self.join(5)


@pytest.fixture
def kubelet(server, ns):
    k = FakeKubelet(server, ns)
    k.start()
    yield k
    k.stop()


def get_json(kubectl, *args):
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def replica_sets(kubectl, ns, selector="app=web"):
    return sorted(get_json(kubectl, "rs", "-n", ns, "-l", selector)["items"],
                  key=lambda r: int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))


def image_of(kubectl, ns, name="web"):
    return get_json(kubectl, "deployment", name, "-n", ns)["spec"]["template"]["spec"]["containers"][0]["image"]


def rollout_status(kubectl, ns, name="web"):
    out = kubectl("rollout", "status", f"deployment/{name}", "-n", ns, f"--timeout={TIMEOUT}").stdout
    assert f'deployment "{name}" successfully rolled out' in out
    return out


def test_create_scale_update_history_undo_describe(kubectl, ns, kubelet):
    kubectl("create", "deployment", "web", "--image=nginx:1.25", "--replicas=2", "-n", ns)
    rollout_status(kubectl, ns)
    [rs1] = replica_sets(kubectl, ns)
    h1 = rs1["metadata"]["labels"]["pod-template-hash"]
    assert rs1["metadata"]["name"] == f"web-{h1}"
    assert rs1["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "3"

    kubectl("scale", "deployment", "web", "--replicas=4", "-n", ns)
    rollout_status(kubectl, ns)
    out = kubectl("get", "rs", "-n", ns).stdout
    assert f"web-{h1}" in out and " 4 " in out

    kubectl("set", "image", "deployment/web", "nginx=nginx:1.26", "-n", ns)
    rollout_status(kubectl, ns)
    kubectl("annotate", "deployment", "web", "kubernetes.io/change-cause=bump to 1.26", "-n", ns)
    wait_until(lambda: replica_sets(kubectl, ns)[-1]["metadata"]["annotations"].get("kubernetes.io/change-cause")
               == "bump to 1.26", timeout=20, message="change-cause copied")
    rss = replica_sets(kubectl, ns)
    assert [r["spec"]["replicas"] for r in rss] == [0, 4]
    hist = kubectl("rollout", "history", "deployment/web", "-n", ns).stdout
    lines = [line.split(None, 1) for line in hist.splitlines()[2:] if line.strip()]
    assert lines == [["1", "<none>"], ["2", "bump to 1.26"]], hist
    rev1 = kubectl("rollout", "history", "deployment/web", "-n", ns, "--revision=1").stdout
    assert "nginx:1.25" in rev1 and "revision #1" in rev1

    out = kubectl("rollout", "undo", "deployment/web", "-n", ns).stdout
    assert "deployment.apps/web rolled back" in out
    rollout_status(kubectl, ns)
    assert image_of(kubectl, ns) == "nginx:1.25"
    d = get_json(kubectl, "deployment", "web", "-n", ns)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    rss = replica_sets(kubectl, ns)
    assert rss[-1]["metadata"]["name"] == f"web-{h1}"
    assert rss[-1]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"

    kubectl("rollout", "undo", "deployment/web", "-n", ns, "--to-revision=2")
    rollout_status(kubectl, ns)
    assert image_of(kubectl, ns) == "nginx:1.26"
    hist = kubectl("rollout", "history", "deployment/web", "-n", ns).stdout
    assert [line.split(None, 1)[0] for line in hist.splitlines()[2:] if line.strip()] == ["3", "4"]

    desc = kubectl("describe", "deploy", "web", "-n", ns).stdout
    new, old = replica_sets(kubectl, ns)[-1], replica_sets(kubectl, ns)[0]
    assert f"NewReplicaSet:   {new['metadata']['name']} (4/4 replicas created)" in desc, desc
    assert f"OldReplicaSets:  {old['metadata']['name']} (0/0 replicas created)" in desc, desc
    assert "ScalingReplicaSet" in desc and "Scaled up replica set" in desc
    assert "MinimumReplicasAvailable" in desc and "NewReplicaSetAvailable" in desc
    pods = get_json(kubectl, "pods", "-n", ns, "-l", "app=web")["items"]
    assert len(pods) == 4 and all(p["metadata"]["name"].startswith(new["metadata"]["name"] + "-") for p in pods)


def test_pause_resume_restart(kubectl, ns, kubelet):
    kubectl("create", "deployment", "web", "--image=nginx:1.25", "--replicas=2", "-n", ns)
    rollout_status(kubectl, ns)
    assert "deployment.apps/web paused" in kubectl("rollout", "pause", "deployment/web", "-n", ns).stdout
    kubectl("set", "image", "deployment/web", "nginx=nginx:1.26", "-n", ns)

    def paused_observed():
        d = get_json(kubectl, "deployment", "web", "-n", ns)
        conds = {c["type"]: c for c in d["status"].get("conditions") or []}
        return d["status"].get("observedGeneration") == d["metadata"]["generation"] and \
            conds.get("Progressing", {}).get("reason") == "DeploymentPaused"
    wait_until(paused_observed, timeout=20, message="pause observed")
    assert len(replica_sets(kubectl, ns)) == 1
    assert "deployment.apps/web resumed" in kubectl("rollout", "resume", "deployment/web", "-n", ns).stdout
    rollout_status(kubectl, ns)
    assert len(replica_sets(kubectl, ns)) == 2
    assert "deployment.apps/web restarted" in kubectl("rollout", "restart", "deployment/web", "-n", ns).stdout
    rollout_status(kubectl, ns)
    rss = replica_sets(kubectl, ns)
    assert len(rss) == 3 and [r["spec"]["replicas"] for r in rss] == [0, 0, 2]
    assert "kubectl.kubernetes.io/restartedAt" in rss[-1]["spec"]["template"]["metadata"]["annotations"]


@pytest.mark.parametrize("cascade", ["foreground", "background", "orphan"])
def test_delete_cascade(kubectl, ns, kubelet, cascade):
    kubectl("create", "deployment", "web", "--image=nginx:1.25", "--replicas=2", "-n", ns)
    rollout_status(kubectl, ns)
    [rs] = replica_sets(kubectl, ns)
    out = kubectl("delete", "deployment", "web", "-n", ns, f"--cascade={cascade}").stdout
    assert 'deployment.apps "web" deleted' in out
    assert kubectl("get", "deployment", "web", "-n", ns, check=False).returncode != 0
    if cascade == "foreground":
        # The deployment went last: nothing of it is left.
        assert get_json(kubectl, "rs", "-n", ns)["items"] == []
        assert get_json(kubectl, "pods", "-n", ns)["items"] == []
    elif cascade == "background":
        wait_until(lambda: not get_json(kubectl, "rs", "-n", ns)["items"]
                   and not get_json(kubectl, "pods", "-n", ns)["items"], timeout=20, message="collected")
    else:
        [kept] = get_json(kubectl, "rs", "-n", ns)["items"]
        assert kept["metadata"]["uid"] == rs["metadata"]["uid"]
        assert not kept["metadata"].get("ownerReferences")
        assert len(get_json(kubectl, "pods", "-n", ns, "-l", "app=web")["items"]) == 2


def test_delete_namespace_waits_until_it_is_gone(server, kubectl):
    ns = f"e2e-gone-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", ns)
    k = FakeKubelet(server, ns)
    k.start()
    try:
        kubectl("create", "deployment", "web", "--image=nginx:1.25", "--replicas=2", "-n", ns)
        kubectl("create", "configmap", "cfg", "--from-literal=a=b", "-n", ns)
        rollout_status(kubectl, ns)
        wait_until(lambda: kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0, timeout=20,
                   message="default service account")
        out = kubectl("delete", "namespace", ns, "--timeout=60s").stdout
        assert f'namespace "{ns}" deleted' in out
        r = kubectl("get", "namespace", ns, check=False)
        assert r.returncode != 0 and "NotFound" in r.stderr
    finally:
        k.stop()
