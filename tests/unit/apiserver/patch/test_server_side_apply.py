import json

import pytest

from kubelite.apiserver.patch import server_side_apply, update_managed_fields
from kubelite.machinery.errors import StatusError, StatusReason

from patch_fixtures import DEPLOYMENT, POD, T0, T1, T2, clone

GV = "apps/v1"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def config(**spec):
    c = {"apiVersion": GV, "kind": "Deployment",
         "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                                        "ports": [{"containerPort": 80}]}]}}}}
    c["spec"].update(spec)
    return c


def apply(live, cfg, manager="kubectl", now=T0, force=False, message=DEPLOYMENT, api_version=GV):
    before = clone(live) if live is not None else None
    out = server_side_apply(live, cfg, manager, message, force, api_version, now, reset_fields=("status",))
    assert live == before, "the live object is never mutated"
    return out


def update(old, new, manager, now):
    new = clone(new)
    new["metadata"]["managedFields"] = update_managed_fields(old, new, manager, api_version=GV, now=now,
                                                             message_name=DEPLOYMENT, reset_fields=("status",))
    return new


def entries(obj):
    return {e["manager"]: e for e in obj["metadata"].get("managedFields", [])}


def conflict(fn):
    with pytest.raises(StatusError) as e:
        fn()
    assert (e.value.code, e.value.reason) == (409, StatusReason.CONFLICT)
    return e.value


def test_create_records_an_apply_entry_with_the_configuration_fields():
    cfg = config()
    cfg["status"] = {"replicas": 9}
    out = apply(None, cfg)
    assert out["spec"] == cfg["spec"]
    assert out["metadata"]["managedFields"] == [{
        "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-11-25T21:44:32Z",
        "fieldsType": "FieldsV1", "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {'k:{"name":"nginx"}': {
                    ".": {}, "f:image": {}, "f:name": {},
                    "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}}}}}}}}]


def test_reapply_with_fields_removed_prunes_them():
    first = config()
    first["metadata"]["labels"]["tier"] = "fe"
    first["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    first["spec"]["paused"] = True
    live = apply(None, first)
    out = apply(live, config(), now=T1)
    assert out["metadata"]["labels"] == {"app": "web"}
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["nginx"]
    assert "paused" not in out["spec"]
    fields = entries(out)["kubectl"]["fieldsV1"]
    assert "f:tier" not in fields["f:metadata"]["f:labels"] and "f:paused" not in fields["f:spec"]
    assert entries(out)["kubectl"]["time"] == "2026-11-25T21:50:00Z"


def test_pruning_never_removes_identity_fields():
    first = config()
    first["metadata"]["labels"]["tier"] = "fe"
    live = apply(None, first)
    live["metadata"].update(uid="u-1", resourceVersion="7", creationTimestamp="2026-11-25T21:00:00Z")
    cfg = config()
    del cfg["metadata"]["labels"]
    out = apply(live, cfg, now=T1)
    assert {k: v for k, v in out["metadata"].items() if k != "managedFields"} == {
        "name": "web", "namespace": "default", "uid": "u-1", "resourceVersion": "7",
        "creationTimestamp": "2026-11-25T21:00:00Z"}
    assert "f:metadata" not in entries(out)["kubectl"]["fieldsV1"]


def test_removed_field_stays_when_another_applier_shares_it():
    cfg = config()
    cfg["metadata"]["labels"]["tier"] = "fe"
    live = apply(None, cfg)
    live = apply(live, {"apiVersion": GV, "kind": "Deployment",
                        "metadata": {"name": "web", "labels": {"tier": "fe"}}}, manager="other", now=T1)
    out = apply(live, config(), now=T2)
    assert out["metadata"]["labels"] == {"app": "web", "tier": "fe"}
    assert "f:tier" in entries(out)["other"]["fieldsV1"]["f:metadata"]["f:labels"]


def test_removed_field_stays_when_an_updater_took_it_over():
    cfg = config()
    cfg["metadata"]["labels"]["tier"] = "fe"
    live = apply(None, cfg)
    labelled = clone(live)
    labelled["metadata"]["labels"]["tier"] = "be"
    live = update(live, labelled, "kubectl-label", T1)
    out = apply(live, config(), now=T2)
    assert out["metadata"]["labels"] == {"app": "web", "tier": "be"}


def test_conflict_with_an_updater_names_manager_version_and_field():
    live = apply(None, config())
    scaled = clone(live)
    scaled["spec"]["replicas"] = 5
    live = update(live, scaled, "kubectl-client-side-apply", T1)
    e = conflict(lambda: apply(live, config(replicas=3), now=T2))
    assert e.message == ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
                         '.spec.replicas')
    assert e.details == {"causes": [{"reason": "FieldManagerConflict",
                                     "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
                                     "field": ".spec.replicas"}]}
    assert json.loads(json.dumps(e.status()))["code"] == 409


def test_force_moves_ownership_to_the_applier():
    live = apply(None, config())
    scaled = clone(live)
    scaled["spec"]["replicas"] = 5
    live = update(live, scaled, "kubectl-scale", T1)
    assert "kubectl-scale" in entries(live)
    out = apply(live, config(replicas=3), force=True, now=T2)
    assert out["spec"]["replicas"] == 3
    assert "kubectl-scale" not in entries(out), "its only field moved, so its entry is gone"
    assert "f:replicas" in entries(out)["kubectl"]["fieldsV1"]["f:spec"]


def test_conflicts_with_appliers_and_several_fields():
    live = apply(None, config(), manager="a")
    live = apply(live, {"apiVersion": GV, "kind": "Deployment", "metadata": {"name": "web"},
                        "spec": {"paused": True, "revisionHistoryLimit": 3}}, manager="b", now=T1)
    e = conflict(lambda: apply(live, config(replicas=4, paused=False, revisionHistoryLimit=5), manager="c", now=T2))
    assert e.message == ('Apply failed with 3 conflicts: conflicts with "a":\n- .spec.replicas\n'
                         'conflicts with "b":\n- .spec.paused\n- .spec.revisionHistoryLimit')
    assert [(c["message"], c["field"]) for c in e.details["causes"]] == [
        ('conflict with "a"', ".spec.replicas"), ('conflict with "b"', ".spec.paused"),
        ('conflict with "b"', ".spec.revisionHistoryLimit")]


def test_same_value_is_shared_not_a_conflict():
    live = apply(None, config(), manager="a")
    out = apply(live, config(), manager="b", now=T1)
    assert out["spec"] == live["spec"]
    assert "f:replicas" in entries(out)["a"]["fieldsV1"]["f:spec"]
    assert "f:replicas" in entries(out)["b"]["fieldsV1"]["f:spec"]


def test_noop_reapply_keeps_the_entry_time():
    live = apply(None, config())
    out = apply(live, config(), now=T2)
    assert out == live


def test_list_types_decide_how_lists_merge():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["a"]},
           "spec": {"containers": [{"name": "a", "image": "a"}, {"name": "b", "image": "b"}],
                    "tolerations": [{"key": "k1"}]}}
    live = server_side_apply(None, pod, "first", POD, False, "v1", T0)
    cfg = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["z"]},
           "spec": {"containers": [{"name": "c", "image": "c"}], "tolerations": [{"key": "k2"}]}}
    out = server_side_apply(live, cfg, "second", POD, True, "v1", T1)
    assert out["metadata"]["finalizers"] == ["a", "z"]
    assert [c["name"] for c in out["spec"]["containers"]] == ["a", "b", "c"]
    assert out["spec"]["tolerations"] == [{"key": "k2"}]
    second = entries(out)["second"]["fieldsV1"]
    assert second["f:metadata"]["f:finalizers"] == {'v:"z"': {}}
    assert "f:tolerations" not in entries(out)["first"]["fieldsV1"]["f:spec"], "forced away from first"


def test_list_map_items_keep_live_order_and_take_config_order_for_shared_ones():
    live = apply(None, config(), manager="a")
    cfg = config()
    cfg["spec"]["template"]["spec"]["containers"] = [{"name": "side", "image": "busybox"},
                                                     {"name": "nginx", "image": "nginx:1.25"}]
    out = apply(live, cfg, manager="b", now=T1)
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["side", "nginx"]
    assert out["spec"]["template"]["spec"]["containers"][1]["ports"] == [{"containerPort": 80}]


def test_first_apply_to_an_object_without_managed_fields_conflicts_with_before_first_apply():
    live = apply(None, config())
    del live["metadata"]["managedFields"]
    e = conflict(lambda: apply(live, config(replicas=7), manager="ci", now=T1))
    assert e.message == ('Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: '
                         '.spec.replicas')
    out = apply(live, config(), manager="ci", now=T1)
    assert set(entries(out)) == {"before-first-apply", "ci"}


def test_kubectl_takes_over_client_side_applied_fields_and_syncs_the_annotation():
    cfg = config()
    created = clone(cfg)
    created["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(cfg) + "\n"}
    live = update(None, created, "kubectl-client-side-apply", T0)
    changed = config(replicas=4)
    e = conflict(lambda: apply(live, changed, manager="someone-else", now=T1))
    assert 'conflict with "kubectl-client-side-apply" using apps/v1' in e.message
    out = apply(live, changed, manager="kubectl", now=T1)
    assert out["spec"]["replicas"] == 4
    assert "f:replicas" not in entries(out)["kubectl-client-side-apply"]["fieldsV1"]["f:spec"]
    annotation = out["metadata"]["annotations"][LAST_APPLIED]
    assert annotation.endswith("\n") and json.loads(annotation) == changed
    assert annotation == json.dumps(changed, sort_keys=True, separators=(",", ":")) + "\n"


def test_custom_resources_merge_maps_and_replace_lists():
    cr = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
          "spec": {"size": {"w": 1}, "items": [1, 2]}}
    live = server_side_apply(None, cr, "a", "com.example.v1.Widget", False, "example.com/v1", T0)
    out = server_side_apply(live, {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                                   "spec": {"size": {"h": 2}, "items": [3]}}, "b", "com.example.v1.Widget", True,
                            "example.com/v1", T1)
    assert out["spec"] == {"size": {"w": 1, "h": 2}, "items": [3]}


def test_config_naming_only_identity_leaves_no_entry():
    out = apply(None, {"apiVersion": GV, "kind": "Deployment", "metadata": {"name": "web"}})
    assert "managedFields" not in out["metadata"]


@pytest.mark.parametrize("cfg,code,message", [
    ([1], 400, "error decoding YAML: expected an object, got list"),
    ({**config(), "metadata": {"name": "web", "managedFields": []}}, 400, "metadata.managedFields must be nil"),
    ({**config(), "apiVersion": "apps/v1beta1"}, 400,
     "Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1"),
    ({**config(), "spec": {"foo": 1}}, 500,
     "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.foo: field not declared in "
     "schema"),
    ({**config(), "spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}, 500,
     "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: "
     "element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have "
     "default value)"),
    ({**config(), "spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "a"}]}}}}, 500,
     "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: "
     "duplicate entries for key [name=\"a\"]"),
    ({**config(), "spec": "nope"}, 500,
     "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec: expected map, got string"),
], ids=["not-an-object", "managed-fields-set", "wrong-version", "unknown-field", "item-without-key",
        "duplicate-items", "wrong-type"])
def test_bad_configurations(cfg, code, message):
    with pytest.raises(StatusError) as e:
        apply(apply(None, config()), cfg, now=T1)
    assert (e.value.code, e.value.message) == (code, message)
