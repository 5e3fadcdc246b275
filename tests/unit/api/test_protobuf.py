"""Protobuf bodies: the wire format on small test messages, then real kubectl bodies.

The fixtures under tests/fixtures/protobuf/ were captured from the real kubectl v1.32.4 by
tests/fixtures/protobuf/capture.py: `<name>.bin` is the request body and `<name>.json` is what
`kubectl ... --dry-run=client -o json` prints for the same command.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import struct
from pathlib import Path
from typing import Any

import pytest

import kubelite.api.types  # noqa: F401  (registers the real messages)
from kubelite.api import protobuf
from kubelite.api.protobuf import (
    MAGIC, decode_envelope, decode_message, decode_object, encode_envelope, encode_message, encode_object,
    format_duration, parse_duration,
)
from kubelite.api.schema import (
    BOOL, BYTES, DOUBLE, DURATION, F, FIELDS_V1, INT32, INT64, INT_OR_STRING, MICRO_TIME, QUANTITY, RAW, STRING,
    TIME, define,
)
from kubelite.api.types.common import define_embedding
from kubelite.machinery.errors import StatusError, StatusReason

FIXTURES = Path(__file__).parents[2] / "fixtures" / "protobuf"
CASES = json.loads((FIXTURES / "cases.json").read_text())

T = "test.pb.v1."
define(T + "Inner", [F(1, "name", STRING), F(2, "count", INT32)])
define(T + "Thing", [
    F(1, "s", STRING), F(2, "i32", INT32), F(3, "i64", INT64), F(4, "b", BOOL), F(5, "d", DOUBLE),
    F(6, "raw", BYTES), F(7, "q", QUANTITY), F(8, "ios", INT_OR_STRING), F(9, "t", TIME), F(10, "mt", MICRO_TIME),
    F(11, "dur", DURATION), F(12, "ext", RAW), F(13, "fields", FIELDS_V1),
    F(14, "inner", T + "Inner"), F(15, "inners", T + "Inner", repeated=True),
    F(16, "nums", INT32, repeated=True), F(17, "strs", STRING, repeated=True),
    F(18, "labels", STRING, map=True), F(19, "data", BYTES, map=True), F(20, "limits", QUANTITY, map=True),
    F(21, "byName", T + "Inner", map=True), F(22, "extra", STRING, map=True, repeated=True),
    F(23, "req", STRING, required=True), F(24, "reqNum", INT32, required=True),
    F(25, "doubles", DOUBLE, repeated=True),
])
define(T + "Source", [F(1, "path", STRING), F(2, "empty", T + "Inner")])
define_embedding(T + "Holder", [F(1, "name", STRING)], embedded=((2, T + "Source"),))


def bad(fn, *args) -> StatusError:
    with pytest.raises(StatusError) as e:
        fn(*args)
    assert e.value.code == 400 and e.value.reason == StatusReason.BAD_REQUEST
    return e.value


def varint(v: int) -> bytes:
    out = bytearray()
    protobuf._put_varint(out, v)
    return bytes(out)


def key(number: int, wt: int) -> bytes:
    return varint(number << 3 | wt)


def ld(number: int, data: bytes) -> bytes:
    return key(number, 2) + varint(len(data)) + data


# -- the wire format ------------------------------------------------------------------------------


FULL: dict[str, Any] = {
    "s": "héllo", "i32": -5, "i64": -(1 << 40), "b": True, "d": 2.5, "raw": "AAEC/w==", "q": "500m",
    "ios": "25%", "t": "2023-11-14T22:13:20Z", "mt": "2023-11-14T22:13:20.123456Z", "dur": "1m30s",
    "ext": {"apiVersion": "v1", "kind": "Pod", "x": [1, None, "y"]}, "fields": {"f:metadata": {}},
    "inner": {"name": "a", "count": 1}, "inners": [{"name": "x"}, {}, {"count": 2}],
    "nums": [1, 0, -1, 2147483647, -2147483648], "strs": ["", "b"],
    "labels": {"tier": "", "app": "web"}, "data": {"k": "", "v": "aGk="}, "limits": {"cpu": "0", "memory": "1Gi"},
    "byName": {"a": {}, "b": {"name": "b"}}, "extra": {"scopes": ["a", "b"], "none": []},
    "req": "", "reqNum": 0, "doubles": [0.5, 3],
}


def test_round_trip_of_every_type():
    raw = encode_message(FULL, T + "Thing")
    assert decode_message(raw, T + "Thing") == FULL


def test_envelope_round_trip():
    body = encode_object({"apiVersion": "test.pb/v1", "kind": "Thing", **FULL}, T + "Thing")
    assert body[:4] == MAGIC
    api_version, kind, raw = decode_envelope(body)
    assert (api_version, kind) == ("test.pb/v1", "Thing")
    assert decode_message(raw, T + "Thing") == FULL


@pytest.mark.parametrize("raw, want", [
    (key(2, 0) + b"\xff" * 9 + b"\x01", {"i32": -1}),                   # negative int32: 10-byte varint
    (key(2, 0) + varint((1 << 64) - 2147483648), {"i32": -2147483648}),
    (key(3, 0) + varint((1 << 64) - 1), {"i64": -1}),
    (key(4, 0) + b"\x02", {"b": True}),
    (key(5, 1) + struct.pack("<d", -0.25), {"d": -0.25}),
    (key(5, 1) + struct.pack("<d", 3.0), {"d": 3}),
    (ld(16, varint(1) + varint(2) + varint((1 << 64) - 3)), {"nums": [1, 2, -3]}),        # packed
    (key(16, 0) + varint(1) + key(16, 0) + varint(0), {"nums": [1, 0]}),                  # unpacked
    (ld(16, varint(1)) + key(16, 0) + varint(7), {"nums": [1, 7]}),                       # both
    (ld(25, struct.pack("<dd", 1.5, 2.0)), {"doubles": [1.5, 2]}),
    (ld(8, key(1, 0) + varint(0) + key(2, 0) + varint(8080)), {"ios": 8080}),
    (ld(8, key(1, 0) + varint(1) + ld(3, b"http")), {"ios": "http"}),
    (ld(9, key(1, 0) + varint(1700000000) + key(2, 0) + varint(999)), {"t": "2023-11-14T22:13:20Z"}),
    (ld(10, key(1, 0) + varint(1700000000) + key(2, 0) + varint(123456789)), {"mt": "2023-11-14T22:13:20.123456Z"}),
    (ld(11, key(1, 0) + varint(1_500_000)), {"dur": "1.5ms"}),
    (ld(12, ld(1, b'{"a":1}')), {"ext": {"a": 1}}),
    (ld(18, ld(1, b"k")), {"labels": {"k": ""}}),                                         # value omitted
    (ld(14, ld(1, b"x")) + ld(14, ld(1, b"y")), {"inner": {"name": "y"}}),                # last one wins
], ids=["neg-int32", "min-int32", "neg-int64", "bool", "double", "integral-double", "packed", "unpacked",
        "mixed", "packed-doubles", "intorstring-int", "intorstring-str", "time-drops-nanos", "microtime",
        "duration", "rawextension", "map-default-value", "last-wins"])
def test_wire_encodings(raw, want):
    assert decode_message(raw, T + "Thing") == want


def test_gogo_empties_are_dropped():
    # gogo writes every non-pointer field: empty strings, zeros, false, empty messages, the zero Time.
    raw = (ld(1, b"") + key(2, 0) + varint(0) + key(3, 0) + varint(0) + key(4, 0) + varint(0)
           + key(5, 1) + struct.pack("<d", 0.0) + ld(6, b"") + ld(8, key(1, 0) + varint(0) + key(2, 0) + varint(0))
           + ld(9, b"") + ld(10, b"") + ld(12, b"") + ld(13, b"") + ld(14, ld(1, b"") + key(2, 0) + varint(0))
           + ld(7, ld(1, b"")))
    assert decode_message(raw, T + "Thing") == {}


def test_meaningful_zeros_are_kept():
    raw = (ld(17, b"") + ld(15, b"") + ld(18, ld(1, b"tier") + ld(2, b"")) + ld(23, b"")
           + key(24, 0) + varint(0) + key(16, 0) + varint(0))
    assert decode_message(raw, T + "Thing") == {
        "strs": [""], "inners": [{}], "labels": {"tier": ""}, "req": "", "reqNum": 0, "nums": [0]}


def test_embedded_message_is_inlined():
    raw = ld(1, b"vol") + ld(2, ld(1, b"/data"))
    assert decode_message(raw, T + "Holder") == {"name": "vol", "path": "/data"}
    assert decode_message(encode_message({"name": "v", "path": "/p"}, T + "Holder"), T + "Holder") == {
        "name": "v", "path": "/p"}


def test_unknown_field_with_zero_value_is_tolerated():
    # A newer client may write fields we do not know; gogo writes them even when empty.
    raw = ld(1, b"x") + ld(99, b"") + key(98, 0) + varint(0)
    assert decode_message(raw, T + "Thing") == {"s": "x"}


def test_nested_k8s_object_in_raw_extension():
    inner = encode_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns1"}})
    got = decode_message(ld(12, ld(1, inner)), T + "Thing")
    assert got == {"ext": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns1"}}}


@pytest.mark.parametrize("ns, text", [
    (0, "0s"), (1, "1ns"), (1500, "1.5µs"), (1_000_000, "1ms"), (1_000_000_000, "1s"), (90_000_000_000, "1m30s"),
    (3_600_000_000_000, "1h0m0s"), (3_723_500_000_000, "1h2m3.5s"), (-2_000_000_000, "-2s"),
])
def test_go_durations(ns, text):
    assert format_duration(ns) == text
    assert parse_duration(text) == ns


def test_parse_duration_rejects_garbage():
    for text in ("", "1", "1x", "h", ".h", "--1s", "1s2"):
        with pytest.raises(ValueError, match="time: invalid duration"):
            parse_duration(text)


# -- garbage --------------------------------------------------------------------------------------


def test_wrong_magic():
    err = bad(decode_envelope, b'{"kind":"Pod"}')
    assert err.message == ("provided data does not appear to be a protobuf message, "
                           "expected prefix [107 56 115 0]")


@pytest.mark.parametrize("raw, message", [
    (b"\x0a\x05ab", "Thing: unexpected EOF"),
    (key(2, 0) + b"\xff" * 3, "Thing: unexpected EOF"),
    (key(2, 0) + b"\xff" * 10 + b"\x01", "Thing: integer overflow"),
    (ld(99, b"x"), "Thing: unknown field number 99 (length-delimited) in test.pb.v1.Thing"),
    (key(97, 0) + varint(3), "Thing: unknown field number 97 (varint) in test.pb.v1.Thing"),
    (key(2, 2) + varint(0), "Thing.i32: wrong wire type 2 (length-delimited) for a int32 field"),
    (key(1, 0) + varint(0), "Thing.s: wrong wire type 0 (varint) for a string field"),
    (key(5, 0) + varint(0), "Thing.d: wrong wire type 0 (varint) for a double field"),
    (key(14, 5) + b"\0\0\0\0", "Thing.inner: wrong wire type 5 (fixed32) for a test.pb.v1.Inner field"),
    (key(1, 3), "Thing: field 1: groups (wire type 3) are not supported"),
    (key(1, 7), "Thing: field 1: illegal wire type 7"),
    (key(0, 0) + varint(1), "Thing: illegal field number 0"),
    (ld(1, b"\xff\xfe"), "Thing.s: invalid UTF-8 in string at byte 0"),
    (ld(8, key(1, 0) + varint(2)), "Thing.ios: IntOrString has invalid type 2"),
    (ld(12, ld(1, b"{not json")), "Thing.ext: raw value is not JSON"),
    (key(5, 1) + struct.pack("<d", float("nan")), "Thing.d: nan is not a JSON number"),
    (ld(9, key(1, 0) + varint(1 << 62)), "Thing.t: timestamp 4611686018427387904s 0ns is out of range"),
    (ld(15, ld(1, b"a")) + ld(15, ld(9, b"x")),
     "Thing.inners[1]: unknown field number 9 (length-delimited) in test.pb.v1.Inner"),
    (ld(21, ld(1, b"k") + ld(2, key(2, 2) + varint(0))), "Thing.byName[k].count: wrong wire type 2"),
], ids=lambda x: x if isinstance(x, str) and len(x) < 30 else None)
def test_malformed_messages(raw, message):
    err = bad(decode_message, raw, T + "Thing")
    assert err.message.startswith("unable to decode protobuf body: " + message)


@pytest.mark.parametrize("body, message", [
    (MAGIC, "Unknown.typeMeta: kind is not set"),
    (MAGIC + ld(1, ld(1, b"v1")), "Unknown.typeMeta: kind is not set"),
    (MAGIC + ld(1, ld(2, b"Pod")) + ld(3, b"gzip"),
     "Unknown.contentEncoding: content encoding 'gzip' is not supported"),
    (MAGIC + ld(1, ld(2, b"Pod")) + ld(9, b"x"), "Unknown: unknown field number 9"),
    (MAGIC + key(1, 0), "Unknown: unexpected EOF"),
], ids=["empty", "no-kind", "gzip", "unknown-field", "truncated"])
def test_malformed_envelopes(body, message):
    assert bad(decode_envelope, body).message.startswith("unable to decode protobuf body: " + message)


def test_meta_kinds_resolve_in_any_group():
    body = encode_envelope("apps/v1", "DeleteOptions",
                           encode_message({"propagationPolicy": "Foreground", "gracePeriodSeconds": 0},
                                          "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"))
    assert decode_object(body) == {"apiVersion": "apps/v1", "kind": "DeleteOptions",
                                   "propagationPolicy": "Foreground", "gracePeriodSeconds": 0}
    assert protobuf.message_name_for("autoscaling/v1", "Scale") == "io.k8s.api.autoscaling.v1.Scale"
    assert protobuf.message_name_for("apps/v1", "DeploymentList") == "io.k8s.api.apps.v1.DeploymentList"


def test_unregistered_kind():
    body = encode_envelope("v1", "Nonsense", b"")
    assert bad(decode_object, body).message == (
        'no kind "Nonsense" is registered for version "v1" in protobuf bodies')


def test_every_truncation_of_a_real_body_is_a_bad_request():
    body = (FIXTURES / "deployment.bin").read_bytes()
    for n in range(len(body)):
        try:
            decode_object(body[:n])
        except StatusError as e:
            assert e.code == 400
        # Some prefixes end on a field boundary and decode to a partial object: also fine.


def test_random_corruption_never_escapes_as_another_exception():
    rng = random.Random(1234)
    bodies = [p.read_bytes() for p in sorted(FIXTURES.glob("*.bin"))]
    for _ in range(3000):
        body = bytearray(rng.choice(bodies))
        for _ in range(rng.randint(1, 4)):
            body[rng.randrange(4, len(body))] = rng.randrange(256)
        try:
            decode_object(bytes(body))
        except StatusError as e:
            assert e.code == 400


# -- real kubectl bodies --------------------------------------------------------------------------


def kubectl_json(value: Any) -> Any:
    """kubectl's JSON with what protobuf cannot tell apart from absence removed: null (the zero
    Time) and empty objects for non-pointer structs (`"status": {}`, `"resources": {}`)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = kubectl_json(v)
            if v is not None and v != {}:
                out[k] = v
        return out
    if isinstance(value, list):
        return [kubectl_json(v) if isinstance(v, list) else
                ({k: kubectl_json(x) for k, x in v.items() if kubectl_json(x) not in (None, {})}
                 if isinstance(v, dict) else v) for v in value]
    return value


WITH_JSON = sorted(p.stem for p in FIXTURES.glob("*.json") if p.stem in CASES)


@pytest.mark.parametrize("name", WITH_JSON)
def test_kubectl_body_decodes_to_the_json_kubectl_would_send(name):
    body = (FIXTURES / f"{name}.bin").read_bytes()
    want = kubectl_json(json.loads((FIXTURES / f"{name}.json").read_text()))
    assert decode_object(body) == want


NO_JSON = {
    "can_i": {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}},
              "status": {"allowed": False}},
    "can_i_subresource": {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                          "spec": {"resourceAttributes": {"namespace": "kube-system", "verb": "get", "group": "apps",
                                                          "resource": "deployments", "subresource": "scale"}},
                          "status": {"allowed": False}},
    "can_i_list": {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                   "spec": {"namespace": "default"}, "status": {"incomplete": False}},
    "token": {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
              "spec": {"audiences": ["api"], "expirationSeconds": 600}, "status": {"token": ""}},
    "whoami": {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
}


@pytest.mark.parametrize("name", sorted(NO_JSON))
def test_kubectl_bodies_without_a_dry_run(name):
    assert decode_object((FIXTURES / f"{name}.bin").read_bytes()) == NO_JSON[name]


def test_every_captured_case_is_checked():
    assert set(CASES) == set(WITH_JSON) | set(NO_JSON)
    assert all(c["contentType"] == protobuf.MEDIA_TYPE for c in CASES.values())


def test_pointer_zeros_survive():
    # --replicas=0, --max-unavailable=0 and a copied backoffLimit: 0 are pointers set to zero.
    assert decode_object((FIXTURES / "deployment_zero.bin").read_bytes())["spec"]["replicas"] == 0
    assert decode_object((FIXTURES / "pdb_zero.bin").read_bytes())["spec"]["maxUnavailable"] == 0
    assert decode_object((FIXTURES / "job_from_cronjob.bin").read_bytes())["spec"]["backoffLimit"] == 0
    assert decode_object((FIXTURES / "priorityclass_zero.bin").read_bytes())["value"] == 0


def test_pointer_table_names_real_fields():
    from kubelite.api.schema import MESSAGES

    for message_name, fields in protobuf.POINTER_FIELDS.items():
        for field in fields:
            assert field in MESSAGES[message_name].by_name, (message_name, field)
            assert MESSAGES[message_name].by_name[field].number, (message_name, field)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reencoding_a_kubectl_body_decodes_the_same(name):
    obj = decode_object((FIXTURES / f"{name}.bin").read_bytes())
    assert decode_object(encode_object(obj)) == obj


def test_real_pod_with_embedded_and_pointer_fields_round_trips():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": ""}},
           "spec": {"containers": [{"name": "c", "image": "busybox",
                                    "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5},
                                    "securityContext": {"runAsUser": 0, "allowPrivilegeEscalation": False},
                                    "env": [{"name": "E", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
                                    "volumeMounts": [{"name": "scratch", "mountPath": "/tmp"}]}],
                    "volumes": [{"name": "scratch", "emptyDir": {}},
                                {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420}}],
                    "terminationGracePeriodSeconds": 0}}
    assert decode_object(encode_object(pod)) == pod


# -- capturing again from the real kubectl --------------------------------------------------------


def load_capture():
    spec = importlib.util.spec_from_file_location("kubelite_capture", FIXTURES / "capture.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not os.access("/usr/bin/kubectl", os.X_OK), reason="needs /usr/bin/kubectl")
def test_live_kubectl_still_sends_the_captured_bodies():
    capture = load_capture()
    results = asyncio.run(capture.capture(["deployment", "can_i"]))
    for name, r in results.items():
        assert r["contentType"] == protobuf.MEDIA_TYPE
        assert decode_object(r["body"]) == decode_object((FIXTURES / f"{name}.bin").read_bytes())
