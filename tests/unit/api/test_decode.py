"""Strict decoding of JSON bodies: unknown and duplicate fields, Go-style type errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import kubelite.api.types  # noqa: F401  (registers the real messages)
from kubelite.api.decode import (
    QUANTITY_ERROR, check_fields, parse_json, strict_error, strict_warnings, time_error, type_error,
)
from kubelite.api.schema import DOUBLE, DURATION, F, INT32, INT_OR_STRING, MICRO_TIME, STRING, define
from kubelite.machinery.errors import StatusError, StatusReason

FIXTURES = Path(__file__).parents[2] / "fixtures" / "protobuf"
DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
POD = "io.k8s.api.core.v1.Pod"

define("test.decode.v1.Small", [F(1, "name", STRING), F(2, "count", INT32), F(3, "every", DURATION),
                                 F(4, "port", INT_OR_STRING), F(5, "at", MICRO_TIME), F(6, "ratio", DOUBLE)])


def deployment() -> dict:
    return json.loads((FIXTURES / "deployment.json").read_text())


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json") if p.stem != "cases"))
def test_kubectl_objects_are_clean(name):
    from kubelite.api.protobuf import message_name_for

    obj = json.loads((FIXTURES / f"{name}.json").read_text())
    assert check_fields(obj, message_name_for(obj["apiVersion"], obj["kind"])) == ([], [])


def test_unknown_fields_have_json_paths():
    d = deployment()
    d["spec"]["foo"] = 1
    d["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    d["metadata"]["labels"]["fine"] = "map keys are never unknown"
    d["status"]["bar"] = {"nested": True}
    d["extra"] = None
    unknown, type_errors = check_fields(d, DEPLOYMENT)
    # In document order, as Go's decoder meets them.
    assert unknown == ["spec.template.spec.containers[0].imagee", "spec.foo", "status.bar", "extra"]
    assert type_errors == []


def test_embedded_fields_are_known():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "i", "livenessProbe": {"httpGet": {"port": 80}},
                                    "env": [{"name": "A",
                                             "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]}],
                    "volumes": [{"name": "v", "emptyDir": {}, "nope": 1}]}}
    assert check_fields(pod, POD) == (["spec.volumes[0].nope"], [])


@pytest.mark.parametrize("path, value, message", [
    (("spec", "replicas"), "2",
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
    (("spec", "replicas"), 1.5,
     "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    (("spec", "replicas"), 3000000000,
     "json: cannot unmarshal number 3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    (("spec", "replicas"), True,
     "json: cannot unmarshal bool into Go struct field DeploymentSpec.spec.replicas of type int32"),
    (("spec", "paused"), "yes",
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type bool"),
    (("spec",), [],
     "json: cannot unmarshal array into Go struct field Deployment.spec of type v1.DeploymentSpec"),
    (("metadata", "labels"), ["a"],
     "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string"),
    (("metadata", "labels", "app"), 1,
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
    (("spec", "template", "spec", "containers"), {},
     "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container"),
    (("spec", "template", "spec", "containers", 0, "env"), [{"name": "A", "value": True}],
     "json: cannot unmarshal bool into Go struct field EnvVar.spec.template.spec.containers.env.value of type string"),
    (("spec", "template", "spec", "containers", 0, "args"), ["a", 1],
     "json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.args of type string"),
    (("spec", "template", "spec", "containers", 0, "resources"), {"limits": {"cpu": "lots"}}, QUANTITY_ERROR),
    (("spec", "template", "spec", "containers", 0, "resources"), {"limits": {"cpu": True}}, QUANTITY_ERROR),
    (("spec", "strategy"), {"rollingUpdate": {"maxSurge": 1.5}},
     "json: cannot unmarshal number 1.5 into Go value of type int32"),
    (("spec", "strategy"), {"rollingUpdate": {"maxSurge": [1]}},
     "json: cannot unmarshal array into Go value of type int32"),
    (("metadata", "creationTimestamp"), 5, "json: cannot unmarshal number into Go value of type string"),
    (("metadata", "creationTimestamp"), "yesterday",
     'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"'),
    (("metadata", "managedFields"), [{"fieldsV1": "anything goes", "time": "2024-02-30T00:00:00Z"}],
     'parsing time "2024-02-30T00:00:00Z": day out of range'),
], ids=lambda x: None if not isinstance(x, str) or len(x) > 40 else x)
def test_type_errors(path, value, message):
    d = deployment()
    target = d
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    unknown, type_errors = check_fields(d, DEPLOYMENT)
    assert type_errors == [message]


@pytest.mark.parametrize("value", ["1", "500m", "1Gi", "1e3", 2, 0.5, -1])
def test_quantities_accept_strings_and_numbers(value):
    d = deployment()
    d["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": value}}
    assert check_fields(d, DEPLOYMENT) == ([], [])


def test_nulls_are_always_fine():
    d = deployment()
    d["spec"]["replicas"] = None
    d["metadata"]["creationTimestamp"] = None
    d["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": None}
    assert check_fields(d, DEPLOYMENT) == ([], [])


def test_secret_data_must_be_base64():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "data": {"ok": "aGk=", "bad": "not base64!", "short": "aGk"}}
    _, errs = check_fields(secret, "io.k8s.api.core.v1.Secret")
    assert errs == ["illegal base64 data at input byte 3", "illegal base64 data at input byte 0"]
    secret["data"] = {"n": 5}
    assert check_fields(secret, "io.k8s.api.core.v1.Secret")[1] == [
        "json: cannot unmarshal number into Go struct field Secret.data of type []uint8"]


def test_top_level_must_be_an_object():
    assert check_fields([1], "test.decode.v1.Small") == (
        [], ["json: cannot unmarshal array into Go value of type v1.Small"])


def test_raw_extension_accepts_any_json():
    rev = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"}, "revision": 1,
           "data": {"spec": {"whatever": [1, "x", None]}}}
    assert check_fields(rev, "io.k8s.api.apps.v1.ControllerRevision") == ([], [])


def test_times_with_offsets_and_fractions_parse():
    assert time_error("2024-01-02T03:04:05+02:00") == ""
    assert time_error("2024-01-02T03:04:05.123456Z") == ""


@pytest.mark.parametrize("obj, errors", [
    ({"every": "1h30m", "port": "http", "at": "2024-01-02T03:04:05.000001Z", "ratio": 1}, []),
    ({"port": 8080, "ratio": 0.5, "count": -3}, []),
    ({"every": "soon"}, ['time: invalid duration "soon"']),
    ({"every": 60}, ["json: cannot unmarshal number into Go value of type string"]),
    ({"port": 2**31}, ["json: cannot unmarshal number 2147483648 into Go value of type int32"]),
    ({"port": False}, ["json: cannot unmarshal bool into Go value of type int32"]),
    ({"ratio": "1"}, ["json: cannot unmarshal string into Go struct field Small.ratio of type float64"]),
    ({"name": {}}, ["json: cannot unmarshal object into Go struct field Small.name of type string"]),
], ids=["fine", "fine-numbers", "bad-duration", "duration-number", "int-or-string-range", "int-or-string-bool",
        "double-string", "string-object"])
def test_scalar_type_errors(obj, errors):
    assert check_fields(obj, "test.decode.v1.Small") == ([], errors)


# -- duplicates -----------------------------------------------------------------------------------


def test_duplicates_are_found_in_the_raw_text():
    text = ('{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a","name":"b"},'
            '"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x","image":"y"}]}},'
            '"replicas":1,"replicas":2}}')
    obj, duplicates = parse_json(text)
    assert duplicates == ["metadata.name", "spec.template.spec.containers[0].image", "spec.replicas"]
    assert parse_json('[{"a":1,"a":{"b":1,"b":2}}]')[1] == ["[0].a", "[0].a.b"]
    assert obj["metadata"]["name"] == "b" and obj["spec"]["replicas"] == 2   # the last value wins
    assert type(obj["metadata"]) is dict


def test_parse_json_rejects_broken_text():
    for text in ("{", '{"a": NaN}', b"\xff"):
        with pytest.raises(StatusError) as e:
            parse_json(text)
        assert e.value.code == 400


# -- errors ---------------------------------------------------------------------------------------


def test_strict_error_message():
    err = strict_error("Deployment", ["spec.foo", "spec.template.spec.containers[0].imagee"], ["metadata.name"],
                       version="v1")
    assert err.code == 400 and err.reason == StatusReason.BAD_REQUEST
    assert err.message == ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
                           'unknown field "spec.foo", unknown field "spec.template.spec.containers[0].imagee", '
                           'duplicate field "metadata.name"')
    assert strict_error("", ["spec.foo"], []).message == 'strict decoding error: unknown field "spec.foo"'
    assert strict_error("Deployment", ["spec.foo"], []).message == 'strict decoding error: unknown field "spec.foo"'


def test_warnings():
    assert strict_warnings(["spec.foo"], ["metadata.name"]) == [
        'unknown field "spec.foo"', 'duplicate field "metadata.name"']


def test_type_error_message():
    d = copy.deepcopy(deployment())
    d["spec"]["replicas"] = "2"
    err = type_error("Deployment", "v1", check_fields(d, DEPLOYMENT)[1])
    assert err.code == 400
    assert err.message == ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal '
                           'string into Go struct field DeploymentSpec.spec.replicas of type int32')
