import pytest

from kubelite.apiserver.patch import apply_json_patch
from kubelite.apiserver.patch.jsonpatch import REJECTED_MESSAGE
from kubelite.machinery.errors import StatusError, StatusReason

from patch_fixtures import clone, deployment

DOC = {"a": {"b": [1, 2, 3], "c": "x"}, "m~n": 1, "s/t": 2}


@pytest.mark.parametrize("ops,want", [
    ([{"op": "add", "path": "/a/d", "value": 4}], {**DOC, "a": {**DOC["a"], "d": 4}}),
    ([{"op": "add", "path": "/a/b/-", "value": 9}], {**DOC, "a": {"b": [1, 2, 3, 9], "c": "x"}}),
    ([{"op": "add", "path": "/a/b/0", "value": 0}], {**DOC, "a": {"b": [0, 1, 2, 3], "c": "x"}}),
    ([{"op": "add", "path": "/a/b/3", "value": 4}], {**DOC, "a": {"b": [1, 2, 3, 4], "c": "x"}}),
    ([{"op": "add", "path": "/a/c", "value": "y"}], {**DOC, "a": {"b": [1, 2, 3], "c": "y"}}),
    ([{"op": "remove", "path": "/a/b/1"}], {**DOC, "a": {"b": [1, 3], "c": "x"}}),
    ([{"op": "remove", "path": "/a/b/-1"}], {**DOC, "a": {"b": [1, 2], "c": "x"}}),
    ([{"op": "remove", "path": "/m~0n"}], {"a": DOC["a"], "s/t": 2}),
    ([{"op": "replace", "path": "/s~1t", "value": 3}], {**DOC, "s/t": 3}),
    ([{"op": "replace", "path": "/a/b/2", "value": 30}], {**DOC, "a": {"b": [1, 2, 30], "c": "x"}}),
    ([{"op": "move", "from": "/a/c", "path": "/z"}], {"a": {"b": [1, 2, 3]}, "m~n": 1, "s/t": 2, "z": "x"}),
    ([{"op": "move", "from": "/a/b/0", "path": "/a/b/-"}], {**DOC, "a": {"b": [2, 3, 1], "c": "x"}}),
    ([{"op": "copy", "from": "/a/b", "path": "/bb"}], {**DOC, "bb": [1, 2, 3]}),
    ([{"op": "test", "path": "/a/b", "value": [1, 2, 3]}, {"op": "test", "path": "/m~0n", "value": 1.0}], DOC),
    ([{"op": "test", "path": "/missing", "value": None}], DOC),
    ([{"op": "add", "path": "/n"}], {**DOC, "n": None}),
    ([], DOC),
], ids=["add-member", "add-append-dash", "add-insert-front", "add-at-end-index", "add-replaces-member",
        "remove-index", "remove-negative-index", "remove-escaped-tilde", "replace-escaped-slash", "replace-index",
        "move-member", "move-item", "copy", "test-pass", "test-missing-null", "add-without-value-is-null", "empty"])
def test_operations(ops, want):
    original = clone(DOC)
    assert apply_json_patch(original, ops) == want
    assert original == DOC, "the input is never mutated"


def test_copy_is_independent_of_its_source():
    out = apply_json_patch({"a": {"x": 1}}, [{"op": "copy", "from": "/a", "path": "/b"},
                                             {"op": "replace", "path": "/b/x", "value": 2}])
    assert out == {"a": {"x": 1}, "b": {"x": 2}}


def test_rollout_undo_body_replaces_template_and_annotations():
    d = deployment()
    template = clone(d["spec"]["template"])
    template["spec"]["containers"][0]["image"] = "nginx:1.24"
    annotations = {"deployment.kubernetes.io/revision": "1", "kubernetes.io/change-cause": "old"}
    out = apply_json_patch(d, [{"op": "replace", "path": "/spec/template", "value": template},
                               {"op": "replace", "path": "/metadata/annotations", "value": annotations}])
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.24"
    assert out["metadata"]["annotations"] == annotations
    assert out["spec"]["replicas"] == 2


@pytest.mark.parametrize("ops", [
    [{"op": "test", "path": "/a/c", "value": "nope"}],
    [{"op": "test", "path": "/m~0n", "value": True}],
    [{"op": "test", "path": "/a/c", "value": None}],
    [{"op": "replace", "path": "/metadata/annotations", "value": {}}],
    [{"op": "remove", "path": "/a/nothing"}],
    [{"op": "add", "path": "/x/y/z", "value": 1}],
    [{"op": "add", "path": "/a/b/7", "value": 1}],
    [{"op": "replace", "path": "/a/b/x", "value": 1}],
    [{"op": "move", "from": "/nothing", "path": "/x"}],
    [{"op": "copy", "from": "/nothing", "path": "/x"}],
    [{"op": "copy", "path": "/x"}],
    [{"op": "bogus", "path": "/a"}],
    [{"path": "/a"}],
    [{"op": "add", "value": 1}],
    [{"op": "add", "path": "no-slash", "value": 1}],
    [{"op": "add", "path": "/a/c/deeper", "value": 1}],
    [{"op": "remove", "path": ""}],
], ids=["test-fails", "test-bool-is-not-number", "test-null-vs-value", "replace-missing-key", "remove-missing",
        "add-missing-parent", "add-index-out-of-range", "bad-index", "move-missing-from", "copy-missing-from",
        "copy-without-from", "unknown-op", "missing-op", "missing-path", "pointer-without-slash",
        "through-a-scalar", "remove-root"])
def test_operations_that_do_not_apply_are_422_with_the_generic_message(ops):
    with pytest.raises(StatusError) as e:
        apply_json_patch(clone(DOC), ops)
    assert e.value.code == 422
    assert e.value.reason == StatusReason.INVALID
    assert e.value.message == REJECTED_MESSAGE
    assert e.value.details == {}
    assert e.value.__cause__ is not None and str(e.value.__cause__)


def test_a_failed_operation_leaves_the_input_unchanged():
    original = clone(DOC)
    with pytest.raises(StatusError):
        apply_json_patch(original, [{"op": "remove", "path": "/a"}, {"op": "test", "path": "/a", "value": 1}])
    assert original == DOC


@pytest.mark.parametrize("body,message", [
    ({"op": "add"}, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
    ("[]", "json: cannot unmarshal string into Go value of type jsonpatch.Patch"),
    (None, "json: cannot unmarshal null into Go value of type jsonpatch.Patch"),
    (["add"], "json: cannot unmarshal string into Go value of type jsonpatch.Operation"),
    ([1], "json: cannot unmarshal number into Go value of type jsonpatch.Operation"),
], ids=["object", "string", "null", "string-op", "number-op"])
def test_bodies_that_are_not_a_list_of_objects_are_400(body, message):
    with pytest.raises(StatusError) as e:
        apply_json_patch(clone(DOC), body)
    assert (e.value.code, e.value.reason, e.value.message) == (400, StatusReason.BAD_REQUEST, message)


def test_too_many_operations_is_413():
    ops = [{"op": "test", "path": "/a/c", "value": "x"}] * 10001
    with pytest.raises(StatusError) as e:
        apply_json_patch(clone(DOC), ops)
    assert e.value.code == 413
    assert e.value.message == ("Request entity too large: The allowed maximum operations in a JSON patch is 10000, "
                               "got 10001")


def test_replacing_the_root_with_a_non_object_is_invalid():
    with pytest.raises(StatusError) as e:
        apply_json_patch(clone(DOC), [{"op": "replace", "path": "", "value": [1]}])
    assert e.value.code == 422
    assert e.value.message.startswith(' "" is invalid: patch: Invalid value: "[1]": json: cannot unmarshal array')


def test_replacing_the_root_with_an_object_is_allowed():
    assert apply_json_patch(clone(DOC), [{"op": "replace", "path": "", "value": {"x": 1}}]) == {"x": 1}
