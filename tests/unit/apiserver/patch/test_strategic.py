import json

import pytest

from kubelite.apiserver.patch import apply_strategic_merge_patch, supports_strategic
from kubelite.apiserver.patch.jsonpatch import REJECTED_MESSAGE
from kubelite.machinery.errors import StatusError, StatusReason

from patch_fixtures import DEPLOYMENT, NODE, POD, clone, deployment, node, pod

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def smp(obj, patch, message=DEPLOYMENT):
    before = clone(obj)
    out = apply_strategic_merge_patch(obj, patch, message)
    assert obj == before, "the input is never mutated"
    assert "$" not in json.dumps(out), "no directive survives"
    return out


def names(items):
    return [x["name"] for x in items]


# -- the exact bodies kubectl sends (kubectl-contract §9.1) -------------------------------------------

def test_client_side_apply_body_with_set_element_order():
    patch = {"metadata": {"annotations": {LAST_APPLIED: "{\"kind\":\"Deployment\"}\n"}},
             "spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}],
                                            "containers": [{"$setElementOrder/env": [{"name": "A"}],
                                                            "env": [{"name": "A", "value": "2"}],
                                                            "image": "nginx:1.26", "name": "nginx"}]}}}}
    out = smp(deployment(), patch)
    c = out["spec"]["template"]["spec"]["containers"]
    assert c == [{"name": "nginx", "image": "nginx:1.26", "env": [{"name": "A", "value": "2"}],
                  "ports": [{"containerPort": 80, "protocol": "TCP"}]}]
    assert out["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1",
                                              LAST_APPLIED: "{\"kind\":\"Deployment\"}\n"}


def test_set_image_body():
    patch = {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}],
                                            "containers": [{"image": "nginx:1.27", "name": "nginx"}]}}}}
    out = smp(deployment(), patch)
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert out["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]


def test_rollout_restart_body():
    patch = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-11-25T21:44:32Z"}}}}}
    out = smp(deployment(), patch)
    assert out["spec"]["template"]["metadata"] == {
        "labels": {"app": "web"}, "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-25T21:44:32Z"}}


@pytest.mark.parametrize("patch,paused", [
    ({"spec": {"paused": True}}, True),
    ({"spec": {"paused": None}}, None),
], ids=["pause", "resume"])
def test_rollout_pause_and_resume_bodies(patch, paused):
    d = deployment(spec__paused=True) if paused is None else deployment()
    assert smp(d, patch)["spec"].get("paused") == paused


@pytest.mark.parametrize("before,patch,after", [
    ({}, {"spec": {"unschedulable": True}}, {"unschedulable": True}),
    ({"unschedulable": True, "podCIDR": "10.0.0.0/24"}, {"spec": {"unschedulable": None}}, {"podCIDR": "10.0.0.0/24"}),
], ids=["cordon", "uncordon"])
def test_cordon_and_uncordon_bodies(before, patch, after):
    assert smp(node(**before), patch, NODE)["spec"] == after


def test_python_client_scale_body():
    assert smp(deployment(), {"spec": {"replicas": 3}})["spec"]["replicas"] == 3


# -- §9.2 merge rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("patch,check", [
    ({"metadata": {"labels": {"tier": "fe"}}}, lambda o: o["metadata"]["labels"] == {"app": "web", "tier": "fe"}),
    ({"metadata": {"labels": {"app": None}}}, lambda o: o["metadata"]["labels"] == {}),
    ({"metadata": {"labels": None}}, lambda o: "labels" not in o["metadata"]),
    ({"spec": {"selector": {"matchLabels": {"x": "y"}}}},
     lambda o: o["spec"]["selector"]["matchLabels"] == {"app": "web", "x": "y"}),
    ({"spec": {"template": {"metadata": {"annotations": {"a": "1", "b": None}}}}},
     lambda o: o["spec"]["template"]["metadata"]["annotations"] == {"a": "1"}),
    ({"spec": {"revisionHistoryLimit": {"unexpected": "map"}}},
     lambda o: o["spec"]["revisionHistoryLimit"] == {"unexpected": "map"}),
    ({"status": {"replicas": 5}}, lambda o: o["status"] == {"replicas": 5}),
], ids=["map-merges", "null-deletes-key", "null-deletes-map", "nested-map-merges", "new-map-drops-nulls",
        "type-change-replaces", "status-merges"])
def test_maps(patch, check):
    assert check(smp(deployment(), patch))


@pytest.mark.parametrize("patch,want", [
    ({"spec": {"containers": [{"name": "b", "image": "b:2"}]}}, [("a", "a:1"), ("b", "b:2")]),
    ({"spec": {"containers": [{"name": "c", "image": "c:1"}]}}, [("c", "c:1"), ("a", "a:1"), ("b", "b:1")]),
    ({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
               "containers": [{"name": "c", "image": "c:1"}]}}, [("a", "a:1"), ("b", "b:1"), ("c", "c:1")]),
    ({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}, [("b", "b:1"), ("a", "a:1")]),
    ({"spec": {"$setElementOrder/containers": [{"name": "a"}],
               "containers": [{"$patch": "delete", "name": "b"}]}}, [("a", "a:1")]),
    ({"spec": {"containers": [{"$patch": "delete", "name": "a"}, {"$patch": "delete", "name": "zz"}]}},
     [("b", "b:1")]),
    ({"spec": {"containers": [{"$patch": "replace"}, {"name": "c", "image": "c:1"}]}}, [("c", "c:1")]),
], ids=["merge-by-key", "new-item-without-order-goes-first", "set-element-order-appends", "set-element-order-reorders",
        "kubectl-apply-removal", "patch-delete-items", "patch-replace-list"])
def test_merge_list_by_key(patch, want):
    out = smp(pod(), patch, POD)
    assert [(c["name"], c["image"]) for c in out["spec"]["containers"]] == want


@pytest.mark.parametrize("field,patch_items,want", [
    ("containers", [{"name": "b", "image": "b:2"}], [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}]),
    ("tolerations", [{"key": "k2", "operator": "Equal", "value": "v"}],
     [{"key": "k2", "operator": "Equal", "value": "v"}]),
], ids=["containers-merge", "tolerations-replace"])
def test_merge_versus_replace_of_lists(field, patch_items, want):
    assert smp(pod(), {"spec": {field: patch_items}}, POD)["spec"][field] == want


def test_env_and_ports_merge_by_their_keys():
    patch = {"spec": {"template": {"spec": {"containers": [{
        "name": "nginx", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "9"}],
        "ports": [{"containerPort": 443, "protocol": "TCP"}]}]}}}}
    c = smp(deployment(), patch)["spec"]["template"]["spec"]["containers"][0]
    assert c["env"] == [{"name": "B", "value": "2"}, {"name": "A", "value": "9"}]
    assert c["ports"] == [{"containerPort": 443, "protocol": "TCP"}, {"containerPort": 80, "protocol": "TCP"}]


def test_owner_references_merge_by_uid_and_conditions_by_type():
    patch = {"metadata": {"ownerReferences": [{"uid": "rs-2", "name": "rs2", "kind": "ReplicaSet",
                                               "apiVersion": "apps/v1"}]},
             "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "X"}]}}
    out = smp(pod(), patch, POD)
    assert [o["uid"] for o in out["metadata"]["ownerReferences"]] == ["rs-2", "rs-1"]
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "False", "reason": "X"},
                                           {"type": "PodScheduled", "status": "True"}]


@pytest.mark.parametrize("patch,want", [
    ({"metadata": {"finalizers": ["c", "a"]}}, ["c", "a", "b"]),
    ({"metadata": {"finalizers": ["b"]}}, ["a", "b"]),
    ({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, ["b"]),
    ({"metadata": {"$deleteFromPrimitiveList/finalizers": ["zz"]}}, ["a", "b"]),
    ({"metadata": {"$setElementOrder/finalizers": ["b", "a"]}}, ["b", "a"]),
    ({"metadata": {"$setElementOrder/finalizers": ["a"], "$deleteFromPrimitiveList/finalizers": ["b"]}}, ["a"]),
    ({"metadata": {"finalizers": None}}, None),
], ids=["union", "union-existing", "delete-from-primitive-list", "delete-missing-value", "set-element-order",
        "kubectl-apply-removal", "null-removes"])
def test_primitive_merge_list(patch, want):
    assert smp(pod(), patch, POD)["metadata"].get("finalizers") == want


@pytest.mark.parametrize("patch,want", [
    ({"nodeSelector": {"$patch": "replace", "zone": "b"}}, {"zone": "b"}),
    ({"nodeSelector": {"$patch": "delete"}}, {}),
    ({"nodeSelector": {"zone": "b"}}, {"disk": "ssd", "zone": "b"}),
], ids=["replace", "delete", "merge-by-default"])
def test_patch_directive_in_maps(patch, want):
    assert smp(pod(), {"spec": patch}, POD)["spec"]["nodeSelector"] == want


# -- retainKeys ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("patch,want", [
    ({"$retainKeys": ["type"], "type": "Recreate"}, {"type": "Recreate"}),
    ({"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}, {"type": "Recreate"}),
    ({"type": "Recreate"}, {"type": "Recreate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    ({"$retainKeys": ["rollingUpdate", "type"], "rollingUpdate": {"maxSurge": 1}},
     {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}}),
], ids=["switch-to-recreate-clears-rolling-update", "kubectl-three-way-body", "without-directive-keeps",
        "retained-keys-merge"])
def test_retain_keys_on_deployment_strategy(patch, want):
    assert smp(deployment(), {"spec": {"strategy": patch}})["spec"]["strategy"] == want


def test_retain_keys_switches_a_volume_source():
    patch = {"spec": {"$setElementOrder/volumes": [{"name": "data"}, {"name": "cfg"}],
                      "volumes": [{"$retainKeys": ["hostPath", "name"], "hostPath": {"path": "/x"}, "name": "data"}]}}
    assert smp(pod(), patch, POD)["spec"]["volumes"] == [{"name": "data", "hostPath": {"path": "/x"}},
                                                         {"name": "cfg", "configMap": {"name": "c"}}]


# -- schema-less types -------------------------------------------------------------------------------

def test_supports_strategic():
    assert supports_strategic(DEPLOYMENT)
    assert not supports_strategic("com.example.v1.Widget")


def test_unknown_type_merges_maps_and_replaces_lists():
    cr = {"spec": {"items": [{"name": "a"}], "size": {"w": 1, "h": 2}}}
    out = smp(cr, {"spec": {"items": [{"name": "b"}], "size": {"h": 3}}}, "com.example.v1.Widget")
    assert out == {"spec": {"items": [{"name": "b"}], "size": {"w": 1, "h": 3}}}


def test_null_patch_is_no_change():
    assert smp(deployment(), None) == deployment()


def test_directives_inside_new_items_are_stripped():
    patch = {"spec": {"containers": [{"name": "c", "image": "c:1", "$setElementOrder/env": [{"name": "X"}],
                                      "env": [{"name": "X", "value": "1"}]}]}}
    out = smp(pod(), patch, POD)
    assert out["spec"]["containers"][0] == {"name": "c", "image": "c:1", "env": [{"name": "X", "value": "1"}]}


# -- garbage -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("patch,message", [
    ([{"op": "add"}], "json: cannot unmarshal array into Go value of type map[string]interface {}"),
    ("x", "json: cannot unmarshal string into Go value of type map[string]interface {}"),
    (7, "json: cannot unmarshal number into Go value of type map[string]interface {}"),
], ids=["array", "string", "number"])
def test_patch_that_is_not_an_object_is_400(patch, message):
    with pytest.raises(StatusError) as e:
        apply_strategic_merge_patch(pod(), patch, POD)
    assert (e.value.code, e.value.reason, e.value.message) == (400, StatusReason.BAD_REQUEST, message)


@pytest.mark.parametrize("patch,message", [
    ({"spec": {"strategy": {"$retainKeys": "type"}}}, "invalid patch format of retainKeys"),
    ({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}, "invalid patch format of retainKeys"),
    ({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}, "invalid patch format of primitive list"),
    ({"spec": {"$setElementOrderX": []}}, "invalid patch format of setElementOrder list"),
], ids=["retain-keys-not-a-list", "key-not-retained", "bad-delete-list-key", "bad-order-key"])
def test_malformed_directives_are_400(patch, message):
    with pytest.raises(StatusError) as e:
        apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert (e.value.code, e.value.message) == (400, message)


def test_list_of_lists_is_422():
    p = pod()
    p["metadata"]["finalizers"] = []
    with pytest.raises(StatusError) as e:
        apply_strategic_merge_patch(p, {"metadata": {"finalizers": [["x"]]}}, POD)
    assert (e.value.code, e.value.reason, e.value.message) == (422, StatusReason.INVALID, REJECTED_MESSAGE)


@pytest.mark.parametrize("patch,message", [
    ({"spec": {"containers": [{"image": "x"}]}}, "map: map[image:x] does not contain declared merge key: name"),
    ({"spec": {"containers": [{"$patch": "bogus", "name": "a"}]}},
     "unknown patch type: bogus in map: map[$patch:bogus name:a]"),
    ({"spec": {"containers": [{"$patch": "merge", "name": "a"}]}},
     "merging lists cannot yet be specified in the patch"),
    ({"spec": {"containers": [{"$patch": "delete"}]}}, "delete patch type with no merge key defined"),
    ({"spec": {"nodeSelector": {"$patch": "merge"}}}, "unknown patch type: merge in map: map[$patch:merge]"),
    ({"spec": {"$setElementOrder/containers": "a"}}, "expected a []interface {}, but received a string"),
    ({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "zz", "image": "z"}]}},
     "the order in patch list:\n[map[image:z name:zz]]\n doesn't match $setElementOrder list:\n[map[name:a]]"),
    ({"spec": {"containers": ["a"]}}, "list element types are not identical: [[map[image:a:1 name:a] "
                                      "map[image:b:1 name:b]] [a]]"),
], ids=["missing-merge-key", "unknown-list-directive", "merge-directive-in-list", "delete-without-key",
        "merge-directive-in-map", "order-not-a-list", "order-mismatch", "mixed-item-types"])
def test_other_failures_are_500_with_apimachinery_messages(patch, message):
    with pytest.raises(StatusError) as e:
        apply_strategic_merge_patch(pod(), patch, POD)
    assert (e.value.code, e.value.reason, e.value.message) == (500, StatusReason.UNKNOWN, message)
