from datetime import timedelta

import pytest

from kubelite.apiserver.patch import update_managed_fields
from kubelite.apiserver.patch import fieldpath as fp

from patch_fixtures import DEPLOYMENT, POD, T0, T1, T2, clone, deployment, pod

GV = "apps/v1"

CREATE_FIELDS = {
    "f:metadata": {"f:annotations": {".": {}, "f:deployment.kubernetes.io/revision": {}},
                   "f:labels": {".": {}, "f:app": {}}},
    "f:spec": {
        "f:replicas": {}, "f:revisionHistoryLimit": {}, "f:selector": {},
        "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}},
        "f:template": {
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {'k:{"name":"nginx"}': {
                    ".": {}, "f:env": {".": {}, 'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                    "f:image": {}, "f:name": {},
                    "f:ports": {".": {}, 'k:{"containerPort":80,"protocol":"TCP"}': {
                        ".": {}, "f:containerPort": {}, "f:protocol": {}}}}},
                "f:restartPolicy": {}}}},
}


def write(old, new, manager, now, **kw):
    """Record a write and return the stored object, as the registry would."""
    kw.setdefault("reset_fields", ("status",))
    mf = update_managed_fields(old, new, manager, api_version=kw.pop("api_version", GV), now=now,
                               message_name=kw.pop("message_name", DEPLOYMENT), **kw)
    out = clone(new)
    if mf:
        out["metadata"]["managedFields"] = mf
    else:
        out["metadata"].pop("managedFields", None)
    return out


def by_manager(obj):
    return {e["manager"]: e for e in obj["metadata"].get("managedFields", [])}


def test_create_records_every_field_in_kubernetes_shape():
    created = write(None, deployment(), "kubectl-create", T0)
    assert created["metadata"]["managedFields"] == [{
        "manager": "kubectl-create", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-11-25T21:44:32Z",
        "fieldsType": "FieldsV1", "fieldsV1": CREATE_FIELDS}]


def test_later_update_by_another_manager_takes_the_fields_it_changed():
    created = write(None, deployment(), "kubectl-create", T0)
    edited = clone(created)
    c = edited["spec"]["template"]["spec"]["containers"][0]
    c["image"] = "nginx:1.26"
    c["env"].append({"name": "B", "value": "2"})
    edited = write(created, edited, "kubectl-edit", T1)
    entries = edited["metadata"]["managedFields"]
    assert [e["manager"] for e in entries] == ["kubectl-create", "kubectl-edit"]
    assert entries[1] == {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1",
                          "time": "2026-11-25T21:50:00Z", "fieldsType": "FieldsV1", "fieldsV1": {
                              "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"nginx"}': {
                                  "f:env": {'k:{"name":"B"}': {".": {}, "f:name": {}, "f:value": {}}},
                                  "f:image": {}}}}}}}}
    creator = entries[0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert "f:image" not in creator and "f:name" in creator
    assert entries[0]["time"] == "2026-11-25T21:44:32Z"


def test_same_manager_merges_into_its_entry_and_refreshes_time():
    created = write(None, deployment(), "kubectl-create", T0)
    scaled = clone(created)
    scaled["spec"]["replicas"] = 5
    scaled["metadata"]["labels"]["tier"] = "fe"
    out = write(created, scaled, "kubectl-create", T1)
    (entry,) = out["metadata"]["managedFields"]
    assert entry["time"] == "2026-11-25T21:50:00Z"
    assert entry["fieldsV1"]["f:metadata"]["f:labels"] == {".": {}, "f:app": {}, "f:tier": {}}
    assert entry["fieldsV1"]["f:spec"] == CREATE_FIELDS["f:spec"]


def test_an_update_that_changes_nothing_keeps_the_entries():
    created = write(None, deployment(), "kubectl-create", T0)
    same = clone(created)
    same["metadata"]["resourceVersion"] = "11"
    same["status"] = {"replicas": 7}
    assert write(created, same, "kubectl-replace", T1)["metadata"]["managedFields"] == \
        created["metadata"]["managedFields"]


def test_removed_fields_leave_their_owner():
    created = write(None, deployment(), "kubectl-create", T0)
    unlabelled = clone(created)
    del unlabelled["metadata"]["labels"]
    out = write(created, unlabelled, "kubectl-label", T1)
    assert "f:labels" not in by_manager(out)["kubectl-create"]["fieldsV1"]["f:metadata"]
    assert "kubectl-label" not in by_manager(out), "removing gives the remover nothing"


def test_entries_are_per_manager_and_api_version_and_sorted_by_time():
    created = write(None, deployment(), "kubectl-create", T2)
    v1 = clone(created)
    v1["spec"]["replicas"] = 3
    v1 = write(created, v1, "ctl", T1, api_version="apps/v1")
    v2 = clone(v1)
    v2["spec"]["paused"] = True
    v2 = write(v1, v2, "ctl", T0, api_version="apps/v1beta2")
    entries = [(e["manager"], e["apiVersion"], e["time"]) for e in v2["metadata"]["managedFields"]]
    assert entries == [("ctl", "apps/v1beta2", "2026-11-25T21:44:32Z"), ("ctl", "apps/v1", "2026-11-25T21:50:00Z"),
                       ("kubectl-create", "apps/v1", "2026-11-25T22:00:00Z")]


def test_empty_manager_is_unknown():
    assert write(None, deployment(), "", T0)["metadata"]["managedFields"][0]["manager"] == "unknown"


def test_apply_operation_is_not_an_update():
    with pytest.raises(ValueError):
        update_managed_fields(None, deployment(), "m", "Apply", GV, T0, message_name=DEPLOYMENT)


@pytest.mark.parametrize("requested", [[], [{}]], ids=["empty-list", "one-empty-entry"])
def test_request_can_reset_managed_fields(requested):
    created = write(None, deployment(), "kubectl-create", T0)
    reset = clone(created)
    reset["metadata"]["managedFields"] = requested
    assert update_managed_fields(created, reset, "m", api_version=GV, now=T1, message_name=DEPLOYMENT,
                                 reset_fields=("status",)) == []


@pytest.mark.parametrize("requested", [
    "garbage", [{"manager": "x", "operation": "Bogus"}], [{"operation": "Update", "fieldsV1": {"q:x": {}}}],
    [{"operation": "Update", "fieldsType": "FieldsV2"}], [1],
], ids=["not-a-list", "bad-operation", "bad-path-element", "bad-fields-type", "not-an-entry"])
def test_invalid_request_managed_fields_fall_back_to_the_live_ones(requested):
    created = write(None, deployment(), "kubectl-create", T0)
    changed = clone(created)
    changed["metadata"]["managedFields"] = requested
    changed["spec"]["replicas"] = 9
    out = write(created, changed, "kubectl-edit", T1)
    assert [e["manager"] for e in out["metadata"]["managedFields"]] == ["kubectl-create", "kubectl-edit"]


def test_subresource_writes_ignore_requested_managed_fields_and_are_tagged():
    created = write(None, deployment(), "kubectl-create", T0)
    status = clone(created)
    status["metadata"]["managedFields"] = []
    status["status"] = {"replicas": 3}
    out = write(created, status, "deployment-controller", T1, subresource="status", reset_fields=("spec",))
    entry = by_manager(out)["deployment-controller"]
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:replicas": {}}}
    assert "kubectl-create" in by_manager(out)


def test_reset_fields_are_never_owned_and_never_taken():
    created = write(None, deployment(), "kubectl-create", T0, reset_fields=())
    assert "f:status" in by_manager(created)["kubectl-create"]["fieldsV1"]
    updated = clone(created)
    updated["status"] = {"replicas": 9}
    out = write(created, updated, "other", T1, reset_fields=("status",))
    assert "other" not in by_manager(out)
    assert "f:status" in by_manager(out)["kubectl-create"]["fieldsV1"]


def test_more_than_ten_updaters_fold_into_ancient_changes():
    obj = write(None, deployment(), "creator", T0)
    for i in range(11):
        new = clone(obj)
        new["metadata"]["labels"][f"l{i}"] = "x"
        obj = write(obj, new, f"m{i:02d}", T1 + timedelta(minutes=i))
    managers = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert len(managers) == 10
    assert "ancient-changes" in managers and "creator" not in managers and "m00" not in managers
    ancient = by_manager(obj)["ancient-changes"]["fieldsV1"]
    assert "f:l0" in ancient["f:metadata"]["f:labels"] and "f:spec" in ancient


def test_sets_and_atomic_lists_and_maps():
    p = pod()
    out = update_managed_fields(None, p, "m", api_version="v1", now=T0, message_name=POD, reset_fields=("status",))
    fields = out[0]["fieldsV1"]
    assert fields["f:metadata"]["f:finalizers"] == {".": {}, 'v:"a"': {}, 'v:"b"': {}}
    assert fields["f:metadata"]["f:ownerReferences"] == {".": {}, 'k:{"uid":"rs-1"}': {}}
    assert fields["f:spec"]["f:tolerations"] == {}
    assert fields["f:spec"]["f:nodeSelector"] == {}
    assert fields["f:spec"]["f:volumes"]['k:{"name":"data"}'] == {".": {}, "f:emptyDir": {}, "f:name": {}}


def test_custom_resources_without_schema_are_deduced():
    cr = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
          "spec": {"size": {"w": 1}, "items": [1, 2]}}
    out = update_managed_fields(None, cr, "m", api_version="example.com/v1", now=T0,
                                message_name="com.example.v1.Widget")
    assert out[0]["fieldsV1"] == {"f:spec": {".": {}, "f:items": {}, "f:size": {".": {}, "f:w": {}}}}


# -- FieldsV1 itself ---------------------------------------------------------------------------------

def test_fields_v1_round_trip_and_order():
    tree = {"f:spec": {"f:ports": {
        'k:{"protocol":"TCP","containerPort":8080}': {".": {}, "f:name": {}},
        'k:{"containerPort":80,"protocol":"TCP"}': {}}, "f:a": {}},
        "f:metadata": {"f:finalizers": {'v:"z"': {}, 'v:"a"': {}}}, "i:0": {}}
    paths = fp.from_fields_v1(tree)
    again = fp.to_fields_v1(paths)
    assert list(again) == ["f:metadata", "f:spec", "i:0"]
    assert list(again["f:spec"]) == ["f:a", "f:ports"]
    assert list(again["f:spec"]["f:ports"]) == ['k:{"containerPort":80,"protocol":"TCP"}',
                                                'k:{"containerPort":8080,"protocol":"TCP"}']
    assert list(again["f:metadata"]["f:finalizers"]) == ['v:"a"', 'v:"z"']
    assert fp.from_fields_v1(again) == paths


@pytest.mark.parametrize("path,text", [
    ((("f", "spec"), ("f", "replicas")), ".spec.replicas"),
    ((("f", "spec"), fp.key({"name": "c"}), ("f", "image")), '.spec[name="c"].image'),
    ((fp.key({"protocol": "TCP", "containerPort": 80}),), '[containerPort=80,protocol="TCP"]'),
    ((("f", "finalizers"), fp.value("x")), '.finalizers[="x"]'),
    ((("i", 2),), "[2]"),
], ids=["fields", "key", "multi-key", "value", "index"])
def test_path_strings(path, text):
    assert fp.path_string(path) == text


@pytest.mark.parametrize("tree", ["x", {"f:a": 1}, {"z:a": {}}, {"k:{bad": {}}, {"k:[1]": {}}, {"i:x": {}}],
                         ids=["not-object", "leaf-not-object", "bad-kind", "bad-json", "key-not-object", "bad-index"])
def test_fields_v1_garbage(tree):
    with pytest.raises(ValueError):
        fp.from_fields_v1(tree)
