"""kubectl's everyday writes: apply (client- and server-side), diff, edit, patch, set, scale and the
`kubectl create <thing>` generators (protobuf bodies)."""

import json
import os
import stat

import pytest
import yaml


def deployment(name, ns, image="busybox:1.36", env=None, replicas=2, extra_container=False):
    containers = [{"name": "app", "image": image, "command": ["sleep", "3600"],
                   "env": [{"name": k, "value": v} for k, v in (env or {}).items()]}]
    if extra_container:
        containers.append({"name": "side", "image": "busybox", "command": ["sleep", "3600"]})
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}}}


def get(kubectl, kind, name, ns):
    return json.loads(kubectl("get", kind, name, "-n", ns, "-o", "json").stdout)


def test_client_side_apply_create_change_remove(kubectl, ns):
    d = deployment("web", ns, env={"A": "1", "B": "2"})
    out = kubectl("apply", "-f", "-", input=json.dumps(d)).stdout
    assert "deployment.apps/web created" in out
    assert "unchanged" in kubectl("apply", "-f", "-", input=json.dumps(d)).stdout
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.37"
    d["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "9"}]  # B removed
    out = kubectl("apply", "-f", "-", input=json.dumps(d)).stdout
    assert "configured" in out
    live = get(kubectl, "deployment", "web", ns)
    c = live["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "busybox:1.37" and c["env"] == [{"name": "A", "value": "9"}]
    last = json.loads(live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["replicas"] == 2
    view = kubectl("apply", "view-last-applied", "deployment/web", "-n", ns, "-o", "json").stdout
    assert json.loads(view)["metadata"]["name"] == "web"


def test_apply_prune_with_selector(kubectl, ns):
    def cm(name):
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns,
                                                                     "labels": {"set": "p"}}, "data": {"k": name}}
    both = yaml.safe_dump_all([cm("keep"), cm("drop")])
    kubectl("apply", "-f", "-", "-l", "set=p", input=both)
    out = kubectl("apply", "-f", "-", "-l", "set=p", "--prune", "--prune-allowlist=core/v1/ConfigMap",
                  input=yaml.safe_dump_all([cm("keep")])).stdout
    assert "configmap/drop pruned" in out
    names = kubectl("get", "configmaps", "-n", ns, "-l", "set=p", "-o", "name").stdout.split()
    assert names == ["configmap/keep"]


def test_diff(kubectl, ns):
    d = deployment("diffed", ns)
    kubectl("apply", "-f", "-", input=json.dumps(d))
    same = kubectl("diff", "-f", "-", input=json.dumps(d), check=False)
    assert same.returncode == 0 and same.stdout == ""
    d["spec"]["replicas"] = 5
    changed = kubectl("diff", "-f", "-", input=json.dumps(d), check=False)
    assert changed.returncode == 1 and "+  replicas: 5" in changed.stdout
    assert get(kubectl, "deployment", "diffed", ns)["spec"]["replicas"] == 2  # diff is a dry run


def test_server_side_apply_conflicts_and_force(kubectl, ns):
    d = deployment("ssa", ns)
    out = kubectl("apply", "--server-side", "-f", "-", input=json.dumps(d)).stdout
    assert "serverside-applied" in out
    live = json.loads(kubectl("get", "deployment", "ssa", "-n", ns, "-o", "json", "--show-managed-fields").stdout)
    managers = {m["manager"]: m["operation"] for m in live["metadata"]["managedFields"]}
    assert managers.get("kubectl") == "Apply"
    kubectl("scale", "deployment", "ssa", "-n", ns, "--replicas=4")
    r = kubectl("apply", "--server-side", "-f", "-", input=json.dumps(d), check=False)
    assert r.returncode != 0 and "conflict" in r.stderr.lower() and ".spec.replicas" in r.stderr
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(d))
    assert get(kubectl, "deployment", "ssa", ns)["spec"]["replicas"] == 2
    del d["metadata"]["labels"]
    kubectl("apply", "--server-side", "-f", "-", input=json.dumps(d))
    assert "labels" not in get(kubectl, "deployment", "ssa", ns)["metadata"] or \
        get(kubectl, "deployment", "ssa", ns)["metadata"]["labels"] == {}


def test_edit_with_editor_script(kubectl, ns, tmp_path):
    kubectl("apply", "-f", "-", input=json.dumps(deployment("edited", ns)))
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/replicas: 2/replicas: 7/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    out = kubectl("edit", "deployment", "edited", "-n", ns, env={"EDITOR": str(editor),
                                                                  "KUBE_EDITOR": str(editor)}).stdout
    assert "edited" in out
    assert get(kubectl, "deployment", "edited", ns)["spec"]["replicas"] == 7


def test_patch_all_types_and_set_commands(kubectl, ns):
    kubectl("apply", "-f", "-", input=json.dumps(deployment("pt", ns, extra_container=True)))
    kubectl("patch", "deployment", "pt", "-n", ns, "-p",
            '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox:patched"}]}}}}')
    live = get(kubectl, "deployment", "pt", ns)
    images = {c["name"]: c["image"] for c in live["spec"]["template"]["spec"]["containers"]}
    assert images == {"app": "busybox:1.36", "side": "busybox:patched"}  # strategic: merged by name
    kubectl("patch", "deployment", "pt", "-n", ns, "--type=merge", "-p", '{"metadata":{"labels":{"m":"1"}}}')
    kubectl("patch", "deployment", "pt", "-n", ns, "--type=json",
            "-p", '[{"op":"replace","path":"/spec/replicas","value":3}]')
    live = get(kubectl, "deployment", "pt", ns)
    assert live["metadata"]["labels"]["m"] == "1" and live["spec"]["replicas"] == 3
    r = kubectl("patch", "deployment", "pt", "-n", ns, "--type=json",
                "-p", '[{"op":"test","path":"/spec/replicas","value":99}]', check=False)
    assert r.returncode != 0
    kubectl("set", "image", "deployment/pt", "-n", ns, "app=busybox:set")
    kubectl("set", "env", "deployment/pt", "-n", ns, "-c", "app", "FOO=bar")
    kubectl("set", "resources", "deployment/pt", "-n", ns, "-c", "app", "--limits=cpu=200m,memory=64Mi")
    c = {c["name"]: c for c in get(kubectl, "deployment", "pt", ns)["spec"]["template"]["spec"]["containers"]}
    assert c["app"]["image"] == "busybox:set"
    assert {"name": "FOO", "value": "bar"} in c["app"]["env"]
    assert c["app"]["resources"]["limits"] == {"cpu": "200m", "memory": "64Mi"}
    kubectl("scale", "deployment", "pt", "-n", ns, "--replicas=5")
    assert get(kubectl, "deployment", "pt", ns)["spec"]["replicas"] == 5
    bad = kubectl("patch", "deployment", "pt", "-n", ns, "--type=merge", "-p", '{"spec":{"replicas":-1}}',
                  check=False)
    assert bad.returncode != 0 and "spec.replicas" in bad.stderr


def test_patch_immutable_field_is_refused(kubectl, ns):
    kubectl("apply", "-f", "-", input=json.dumps(deployment("imm", ns)))
    r = kubectl("patch", "deployment", "imm", "-n", ns, "--type=merge",
                "-p", '{"spec":{"selector":{"matchLabels":{"app":"other"}}}}', check=False)
    assert r.returncode != 0 and "field is immutable" in r.stderr


@pytest.mark.parametrize("args,kind,name", [
    (["configmap", "g1", "--from-literal=a=1", "--from-literal=b=2"], "configmap", "g1"),
    (["secret", "generic", "g2", "--from-literal=p=secret"], "secret", "g2"),
    (["secret", "docker-registry", "g3", "--docker-server=r.example", "--docker-username=u",
      "--docker-password=p"], "secret", "g3"),
    (["service", "clusterip", "g4", "--tcp=80:8080"], "service", "g4"),
    (["service", "nodeport", "g5", "--tcp=80:8080"], "service", "g5"),
    (["serviceaccount", "g6"], "serviceaccount", "g6"),
    (["deployment", "g7", "--image=busybox", "--replicas=2", "--port=80"], "deployment", "g7"),
    (["job", "g8", "--image=busybox", "--", "true"], "job", "g8"),
    (["cronjob", "g9", "--image=busybox", "--schedule=*/5 * * * *", "--", "true"], "cronjob", "g9"),
    (["role", "g10", "--verb=get", "--resource=pods"], "role", "g10"),
    (["rolebinding", "g11", "--role=g10", "--user=alice"], "rolebinding", "g11"),
    (["quota", "g12", "--hard=pods=10"], "quota", "g12"),
    (["poddisruptionbudget", "g13", "--selector=app=x", "--min-available=1"], "pdb", "g13"),
    (["ingress", "g14", "--rule=foo.example/bar=svc:80"], "ingress", "g14"),
])
def test_create_generators(kubectl, ns, args, kind, name):
    out = kubectl("create", "-n", ns, *args).stdout
    assert "created" in out
    obj = get(kubectl, kind, name, ns)
    assert obj["metadata"]["name"] == name and obj["metadata"]["uid"]


def test_create_cluster_scoped_generators(kubectl):
    kubectl("create", "clusterrole", "gen-cr", "--verb=get", "--resource=nodes")
    kubectl("create", "clusterrolebinding", "gen-crb", "--clusterrole=gen-cr", "--user=bob")
    kubectl("create", "priorityclass", "gen-pc", "--value=1000")
    assert json.loads(kubectl("get", "clusterrole", "gen-cr", "-o", "json").stdout)["rules"][0]["verbs"] == ["get"]
    for k, n in (("clusterrolebinding", "gen-crb"), ("clusterrole", "gen-cr"), ("priorityclass", "gen-pc")):
        kubectl("delete", k, n)


def test_create_configmap_and_secret_from_file(kubectl, ns, tmp_path):
    f = tmp_path / "app.properties"
    f.write_text("color=blue\n")
    kubectl("create", "configmap", "ff", "-n", ns, f"--from-file={f}")
    assert get(kubectl, "configmap", "ff", ns)["data"]["app.properties"] == "color=blue\n"
    kubectl("create", "secret", "generic", "sf", "-n", ns, f"--from-file=key={f}")
    import base64
    assert base64.b64decode(get(kubectl, "secret", "sf", ns)["data"]["key"]) == b"color=blue\n"


def test_auth_can_i_answers_yes_no_and_list(server, kubectl, ns):
    assert kubectl("auth", "can-i", "delete", "pods", "-n", ns).stdout.strip() == "yes"
    r = kubectl("auth", "can-i", "delete", "pods", "-n", ns, "--as=nobody", check=False)
    assert r.stdout.strip() == "no" and r.returncode == 1
    out = kubectl("auth", "can-i", "--list", "-n", ns).stdout
    assert "*.*" in out


def test_yaml_output_round_trips_through_replace(kubectl, ns):
    kubectl("create", "configmap", "rt", "-n", ns, "--from-literal=a=1")
    y = yaml.safe_load(kubectl("get", "configmap", "rt", "-n", ns, "-o", "yaml").stdout)
    y["data"]["a"] = "2"
    kubectl("replace", "-f", "-", input=yaml.safe_dump(y))
    assert get(kubectl, "configmap", "rt", ns)["data"]["a"] == "2"


_ = os
