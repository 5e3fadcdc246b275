import pytest

from kubelite.apiserver.patch import apply_merge_patch
from kubelite.machinery.errors import StatusError, StatusReason

from patch_fixtures import deployment


# RFC 7386 Appendix A, where the target is an object (Kubernetes objects always are).
@pytest.mark.parametrize("target,patch,want", [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
], ids=["replace", "add", "delete", "delete-one", "array-to-scalar", "scalar-to-array", "nested", "array-replaced",
        "keeps-target-nulls", "prunes-new-nulls"])
def test_rfc7386_examples(target, patch, want):
    assert apply_merge_patch(target, patch) == want


def test_nulls_in_objects_nested_in_a_replacing_array_are_pruned():
    assert apply_merge_patch({}, {"a": [{"x": None, "y": 1}, None]}) == {"a": [{"y": 1}, None]}


@pytest.mark.parametrize("patch,labels", [
    ({"metadata": {"labels": {"tier": "fe"}}}, {"app": "web", "tier": "fe"}),
    ({"metadata": {"labels": {"app": None}}}, {}),
], ids=["label", "unlabel"])
def test_kubectl_label_bodies(patch, labels):
    assert apply_merge_patch(deployment(), patch)["metadata"]["labels"] == labels


def test_scale_body_and_lists_replace_wholesale():
    out = apply_merge_patch(deployment(), {"spec": {"replicas": 3, "template": {"spec": {
        "containers": [{"name": "other", "image": "x"}]}}}})
    assert out["spec"]["replicas"] == 3
    assert out["spec"]["template"]["spec"]["containers"] == [{"name": "other", "image": "x"}]
    assert out["spec"]["template"]["spec"]["restartPolicy"] == "Always"


def test_input_is_not_mutated():
    d = deployment()
    apply_merge_patch(d, {"metadata": {"labels": {"app": None}}})
    assert d == deployment()


@pytest.mark.parametrize("patch", [None, "x", 3, [1], True], ids=["null", "string", "number", "array", "bool"])
def test_a_patch_that_is_not_an_object_is_400(patch):
    with pytest.raises(StatusError) as e:
        apply_merge_patch(deployment(), patch)
    assert (e.value.code, e.value.reason, e.value.message) == (400, StatusReason.BAD_REQUEST, "Invalid JSON Patch")
