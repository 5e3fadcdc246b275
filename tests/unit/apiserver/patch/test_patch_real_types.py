"""The patch code against the real v1.32 types in `kubelite.api.types` (their markers matter)."""

import pytest

from kubelite.apiserver.patch import (apply_strategic_merge_patch, server_side_apply, supports_strategic,
                                      update_managed_fields)

from patch_fixtures import T0, T1, deployment, pod

types = pytest.importorskip("kubelite.api.types")

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
POD = "io.k8s.api.core.v1.Pod"


def test_built_in_kinds_support_strategic_merge_patch():
    assert supports_strategic(DEPLOYMENT) and supports_strategic(POD)


def test_kubectl_apply_body_and_retain_keys_on_the_real_deployment():
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"},
                      "template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}],
                                            "containers": [{"$setElementOrder/env": [{"name": "A"}],
                                                            "env": [{"name": "A", "value": "2"}],
                                                            "image": "nginx:1.26", "name": "nginx"}]}}}}
    out = apply_strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    assert out["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "2"}]


def test_real_pod_lists_merge_or_replace_by_their_markers():
    patch = {"metadata": {"finalizers": ["c"]},
             "spec": {"containers": [{"name": "b", "image": "b:2"}], "tolerations": [{"key": "k9"}]},
             "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    out = apply_strategic_merge_patch(pod(), patch, POD)
    assert sorted(out["metadata"]["finalizers"]) == ["a", "b", "c"]
    assert [c["image"] for c in out["spec"]["containers"]] == ["a:1", "b:2"]
    assert out["spec"]["tolerations"] == [{"key": "k9"}]
    assert [c["status"] for c in out["status"]["conditions"]] == ["False", "True"]


def test_create_shape_and_apply_conflict_on_the_real_deployment():
    d = deployment()
    d["metadata"]["managedFields"] = update_managed_fields(None, d, "kubectl-create", api_version="apps/v1", now=T0,
                                                           message_name=DEPLOYMENT, reset_fields=("status",))
    fields = d["metadata"]["managedFields"][0]["fieldsV1"]
    assert fields["f:spec"]["f:strategy"]["f:rollingUpdate"]["."] == {}
    assert "." not in fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
    with pytest.raises(Exception) as e:
        server_side_apply(d, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                              "spec": {"replicas": 3}}, "kubectl", DEPLOYMENT, False, "apps/v1", T1)
    assert e.value.message == ('Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: '
                               '.spec.replicas')
