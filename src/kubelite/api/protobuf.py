"""Protocol Buffers bodies (`application/vnd.kubernetes.protobuf`), read and written via the schema.

kubectl 1.32's typed clients send protobuf for every `kubectl create <generator>`, for
`create token` and for `auth can-i`. A body is the magic `k8s\\0` followed by a `runtime.Unknown`
message: {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType}, where `raw`
is the object encoded with the field numbers recorded in `kubelite.api.schema`.

`decode_message` turns `raw` into the JSON object the same request would have carried as JSON:

- Scalars: varint int32/int64 (two's complement; negative int32 arrive as 10-byte varints), bool,
  double (fixed64), strings, bytes (base64 text in JSON). Repeated scalars may be packed or not.
- Maps are repeated entries {1 key, 2 value}. A map whose values are lists (`extra` in reviews)
  wraps each list in a message {1 items}.
- Well-known types: Time and MicroTime {1 seconds, 2 nanos} become RFC 3339 strings (an empty
  message is the zero time, which JSON writes as null, so it is left out); Quantity {1 string};
  IntOrString {1 type, 2 intVal, 3 strVal}; Duration {1 nanoseconds} becomes Go's duration text;
  RawExtension, FieldsV1 and JSON {1 raw} hold JSON text (or a nested `k8s\\0` object).
- Go's gogo-protobuf writes every non-pointer field even when it is empty, so zero values (empty
  strings, 0, false, empty messages) are dropped as JSON's omitempty would. Zero values are kept
  where they carry meaning: list items (`apiGroups: [""]`), map values (`{"tier": ""}`), required
  fields (JSON writes them unconditionally) and Go pointer fields, where a zero differs from absence
  (`replicas: 0`, `maxUnavailable: 0`, `emptyDir: {}`).

Every malformed body (wrong magic, truncation, wrong wire types, unknown field numbers carrying a
value, invalid UTF-8) raises `StatusError` 400 BadRequest naming the JSON path of the problem.

`encode_message` and `encode_envelope` are the inverse, for tests and for clients that ask for
protobuf.
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
from datetime import datetime, timedelta, timezone
from typing import Any

from kubelite.machinery.errors import StatusError, new_bad_request
from kubelite.machinery.timeutil import parse_time

from . import schema
from .resources import SCHEME
from .schema import Field, Message
from .types.common import EMBEDDED

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

# Wire types.
VARINT = 0
FIXED64 = 1
LENGTH_DELIMITED = 2
START_GROUP = 3
END_GROUP = 4
FIXED32 = 5
_WIRE_NAMES = {0: "varint", 1: "fixed64", 2: "length-delimited", 3: "start-group", 4: "end-group", 5: "fixed32"}

_VARINT_TYPES = frozenset({schema.INT32, schema.INT64, schema.BOOL})
_PACKABLE = _VARINT_TYPES | {schema.DOUBLE}
_JSON_RAW_TYPES = frozenset({schema.RAW, schema.FIELDS_V1, schema.JSON_ANY})
_TIME_TYPES = frozenset({schema.TIME, schema.MICRO_TIME})

# Go's time.Time range that Kubernetes can represent in RFC 3339 (years 1 through 9999).
_MIN_SECONDS = -62135596800
_MAX_SECONDS = 253402300799
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# Go pointer fields whose zero value differs from absence. The schema has no pointer flag yet; until
# it does, the fields that Go clients commonly set to zero are listed here by message. A `pointer`
# attribute on a Field, when present, takes precedence.
_CORE = "io.k8s.api.core.v1."
_APPS = "io.k8s.api.apps.v1."
_BATCH = "io.k8s.api.batch.v1."
POINTER_FIELDS: dict[str, frozenset[str]] = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions": frozenset({"gracePeriodSeconds", "orphanDependents"}),
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": frozenset({"deletionGracePeriodSeconds"}),
    _APPS + "DeploymentSpec": frozenset({"replicas", "revisionHistoryLimit", "progressDeadlineSeconds"}),
    _APPS + "RollingUpdateDeployment": frozenset({"maxUnavailable", "maxSurge"}),
    _APPS + "ReplicaSetSpec": frozenset({"replicas"}),
    _APPS + "StatefulSetSpec": frozenset({"replicas", "revisionHistoryLimit"}),
    _APPS + "RollingUpdateStatefulSetStrategy": frozenset({"partition", "maxUnavailable"}),
    _APPS + "DaemonSetSpec": frozenset({"revisionHistoryLimit"}),
    _APPS + "RollingUpdateDaemonSet": frozenset({"maxUnavailable", "maxSurge"}),
    _BATCH + "JobSpec": frozenset({
        "parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished",
        "suspend", "manualSelector", "backoffLimitPerIndex", "maxFailedIndexes"}),
    _BATCH + "CronJobSpec": frozenset({
        "startingDeadlineSeconds", "suspend", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"}),
    "io.k8s.api.policy.v1.PodDisruptionBudgetSpec": frozenset({"minAvailable", "maxUnavailable"}),
    "io.k8s.api.authentication.v1.TokenRequestSpec": frozenset({"expirationSeconds"}),
    "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec": frozenset({
        "minReplicas", "targetCPUUtilizationPercentage"}),
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec": frozenset({"minReplicas"}),
    "io.k8s.api.autoscaling.v2.HPAScalingRules": frozenset({"stabilizationWindowSeconds"}),
    "io.k8s.api.coordination.v1.LeaseSpec": frozenset({"leaseDurationSeconds", "leaseTransitions"}),
    "io.k8s.api.discovery.v1.EndpointConditions": frozenset({"ready", "serving", "terminating"}),
    "io.k8s.api.discovery.v1.EndpointPort": frozenset({"port"}),
    _CORE + "PodSpec": frozenset({
        "terminationGracePeriodSeconds", "activeDeadlineSeconds", "automountServiceAccountToken",
        "enableServiceLinks", "shareProcessNamespace", "hostUsers", "priority", "setHostnameAsFQDN"}),
    _CORE + "ServiceAccount": frozenset({"automountServiceAccountToken"}),
    _CORE + "Secret": frozenset({"immutable"}),
    _CORE + "ConfigMap": frozenset({"immutable"}),
    _CORE + "SecurityContext": frozenset({
        "runAsUser", "runAsGroup", "runAsNonRoot", "privileged", "readOnlyRootFilesystem",
        "allowPrivilegeEscalation"}),
    _CORE + "PodSecurityContext": frozenset({"runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup"}),
    _CORE + "Probe": frozenset({"terminationGracePeriodSeconds"}),
    _CORE + "VolumeSource": frozenset({"emptyDir"}),
    _CORE + "EmptyDirVolumeSource": frozenset({"sizeLimit"}),
    _CORE + "PersistentVolumeClaimSpec": frozenset({"storageClassName"}),
    _CORE + "ConfigMapVolumeSource": frozenset({"defaultMode"}),
    _CORE + "SecretVolumeSource": frozenset({"defaultMode"}),
    _CORE + "ProjectedVolumeSource": frozenset({"defaultMode"}),
    _CORE + "KeyToPath": frozenset({"mode"}),
    _CORE + "ConfigMapKeySelector": frozenset({"optional"}),
    _CORE + "SecretKeySelector": frozenset({"optional"}),
    _CORE + "ServiceSpec": frozenset({"allocateLoadBalancerNodePorts"}),
    "io.k8s.api.networking.v1.IngressSpec": frozenset({"ingressClassName"}),
    "io.k8s.api.networking.v1.NetworkPolicyPort": frozenset({"port"}),
}


def _fail(where: str, problem: str) -> StatusError:
    return new_bad_request(f"unable to decode protobuf body: {where}: {problem}")


def _keeps_zero(msg: Message, f: Field) -> bool:
    pointer = getattr(f, "pointer", None)
    if pointer is not None:
        return bool(pointer) or f.required
    return f.required or f.name in POINTER_FIELDS.get(msg.name, ())


# -- the envelope ---------------------------------------------------------------------------------


def decode_envelope(body: bytes) -> tuple[str, str, bytes]:
    """Split a `k8s\\0` body into (apiVersion, kind, raw object bytes)."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise new_bad_request("unable to decode protobuf body: not bytes")
    body = bytes(body)
    if body[:4] != MAGIC:
        raise new_bad_request("provided data does not appear to be a protobuf message, "
                              "expected prefix [107 56 115 0]")
    api_version = kind = ""
    raw = b""
    for number, wt, value in _fields(body, 4, len(body), "Unknown"):
        if number == 1:
            start, stop = _expect_bytes(wt, value, "Unknown.typeMeta")
            for n2, wt2, v2 in _fields(body, start, stop, "Unknown.typeMeta"):
                if n2 in (1, 2):
                    text = _string(body, _expect_bytes(wt2, v2, "Unknown.typeMeta"), "Unknown.typeMeta")
                    if n2 == 1:
                        api_version = text
                    else:
                        kind = text
                else:
                    _unknown(wt2, v2, n2, "Unknown.typeMeta", "TypeMeta")
        elif number == 2:
            start, stop = _expect_bytes(wt, value, "Unknown.raw")
            raw = body[start:stop]
        elif number in (3, 4):
            what = "contentEncoding" if number == 3 else "contentType"
            text = _string(body, _expect_bytes(wt, value, f"Unknown.{what}"), f"Unknown.{what}")
            if number == 3 and text:
                raise _fail("Unknown.contentEncoding", f"content encoding {text!r} is not supported")
            if number == 4 and text and text != MEDIA_TYPE:
                raise _fail("Unknown.contentType", f"content type {text!r} is not supported")
        else:
            _unknown(wt, value, number, "Unknown", "runtime.Unknown")
    if not kind:
        raise _fail("Unknown.typeMeta", "kind is not set")
    return api_version, kind, raw


def encode_envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    """`k8s\\0` + runtime.Unknown around an encoded object."""
    type_meta = bytearray()
    _put_bytes(type_meta, 1, api_version.encode())
    _put_bytes(type_meta, 2, kind.encode())
    out = bytearray(MAGIC)
    _put_bytes(out, 1, bytes(type_meta))
    _put_bytes(out, 2, raw)
    return bytes(out)


def message_name_for(api_version: str, kind: str) -> str:
    """The schema message for a kind: from the scheme, its subresources, or Kubernetes' naming."""
    group, _, version = api_version.rpartition("/")
    r = SCHEME.by_gvk(group, version, kind)
    if r is not None and r.message:
        return r.message
    if r is None and kind.endswith("List"):
        item = SCHEME.by_gvk(group, version, kind[: -len("List")])
        if item is not None and item.message:
            return item.message + "List"
    candidates = []
    if not group or group == "meta.k8s.io":
        candidates.append(f"io.k8s.apimachinery.pkg.apis.meta.{version}.{kind}")
    pkg = group.split(".")[0] if group else "core"
    if group.endswith(".k8s.io"):
        pkg = "rbac" if group == "rbac.authorization.k8s.io" else group[: -len(".k8s.io")].replace(".", "")
    candidates.append(f"io.k8s.api.{pkg}.{version}.{kind}")
    candidates.append(f"io.k8s.apimachinery.pkg.apis.meta.v1.{kind}")
    for c in candidates:
        if c in schema.MESSAGES:
            return c
    return candidates[0]


def decode_object(body: bytes) -> dict[str, Any]:
    """A whole protobuf request body to its JSON object, with `apiVersion` and `kind` set."""
    api_version, kind, raw = decode_envelope(body)
    name = message_name_for(api_version, kind)
    if name not in schema.MESSAGES:
        raise new_bad_request(f'no kind "{kind}" is registered for version "{api_version}" '
                              "in protobuf bodies")
    obj = {"apiVersion": api_version, "kind": kind}
    obj.update(decode_message(raw, name))
    return obj


def encode_object(obj: dict[str, Any], message_name: str | None = None) -> bytes:
    """A JSON object with `apiVersion` and `kind` to a whole `k8s\\0` body."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    name = message_name or message_name_for(api_version, kind)
    return encode_envelope(api_version, kind, encode_message(obj, name))


# -- reading the wire -----------------------------------------------------------------------------


def _varint(buf: bytes, pos: int, end: int, where: str) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise _fail(where, "unexpected EOF")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise _fail(where, "integer overflow")


def _fields(buf: bytes, pos: int, end: int, where: str):
    """Yield (field number, wire type, value) where value is an int, bytes (fixed) or (start, stop)."""
    while pos < end:
        key, pos = _varint(buf, pos, end, where)
        number, wt = key >> 3, key & 7
        if number == 0 or number > 0x1FFFFFFF:
            raise _fail(where, f"illegal field number {number}")
        if wt == VARINT:
            value, pos = _varint(buf, pos, end, where)
        elif wt == FIXED64:
            if pos + 8 > end:
                raise _fail(where, "unexpected EOF")
            value, pos = buf[pos:pos + 8], pos + 8
        elif wt == FIXED32:
            if pos + 4 > end:
                raise _fail(where, "unexpected EOF")
            value, pos = buf[pos:pos + 4], pos + 4
        elif wt == LENGTH_DELIMITED:
            n, pos = _varint(buf, pos, end, where)
            if n > end - pos:
                raise _fail(where, "unexpected EOF")
            value, pos = (pos, pos + n), pos + n
        elif wt in (START_GROUP, END_GROUP):
            raise _fail(where, f"field {number}: groups (wire type {wt}) are not supported")
        else:
            raise _fail(where, f"field {number}: illegal wire type {wt}")
        yield number, wt, value


def _unknown(wt: int, value: Any, number: int, where: str, message_name: str) -> None:
    """An unknown field is tolerated only when it carries the zero value gogo writes for empties."""
    if (wt == VARINT and value == 0) or (wt == LENGTH_DELIMITED and value[0] == value[1]):
        return
    raise _fail(where, f"unknown field number {number} ({_WIRE_NAMES.get(wt, wt)}) in {message_name}")


def _wrong_wire(where: str, wt: int, type_name: str) -> StatusError:
    return _fail(where, f"wrong wire type {wt} ({_WIRE_NAMES.get(wt, '?')}) for a {type_name} field")


def _expect_bytes(wt: int, value: Any, where: str, type_name: str = "length-delimited") -> tuple[int, int]:
    if wt != LENGTH_DELIMITED:
        raise _wrong_wire(where, wt, type_name)
    return value


def _string(buf: bytes, span: tuple[int, int], where: str) -> str:
    try:
        return buf[span[0]:span[1]].decode("utf-8")
    except UnicodeDecodeError as e:
        raise _fail(where, f"invalid UTF-8 in string at byte {e.start}") from None


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _signed32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _number(type_name: str, wt: int, value: Any, where: str) -> Any:
    """A varint or fixed64 scalar."""
    if type_name == schema.DOUBLE:
        if wt != FIXED64:
            raise _wrong_wire(where, wt, "double")
        d = struct.unpack("<d", value)[0]
        if math.isnan(d) or math.isinf(d):
            raise _fail(where, f"{d} is not a JSON number")
        return int(d) if d.is_integer() and abs(d) < 1e21 else d
    if wt != VARINT:
        raise _wrong_wire(where, wt, type_name)
    if type_name == schema.INT32:
        return _signed32(value)
    if type_name == schema.INT64:
        return _signed64(value)
    return value != 0


def _scalar_zero(v: Any) -> bool:
    return v is None or v == "" or v is False or (v == 0 and not isinstance(v, bool)) or v == {} or v == []


def _value(buf: bytes, f: Field, type_name: str, wt: int, value: Any, where: str) -> Any:
    """Decode one occurrence of a field of `type_name`. Zero times and raw values return None."""
    if type_name in _PACKABLE:
        return _number(type_name, wt, value, where)
    span = _expect_bytes(wt, value, where, type_name)
    if type_name == schema.STRING:
        return _string(buf, span, where)
    if type_name == schema.BYTES:
        return base64.b64encode(buf[span[0]:span[1]]).decode("ascii")
    if type_name == schema.QUANTITY:
        return _quantity(buf, span, where)
    if type_name == schema.INT_OR_STRING:
        return _int_or_string(buf, span, where)
    if type_name in _TIME_TYPES:
        return _time(buf, span, where, micro=type_name == schema.MICRO_TIME)
    if type_name == schema.DURATION:
        return _duration(buf, span, where)
    if type_name in _JSON_RAW_TYPES:
        return _raw_json(buf, span, where)
    msg = schema.MESSAGES.get(type_name)
    if msg is None:
        raise _fail(where, f"no schema for message {type_name}")
    return _decode(buf, span[0], span[1], msg, where)


def _quantity(buf: bytes, span: tuple[int, int], where: str) -> str:
    text = ""
    for number, wt, value in _fields(buf, span[0], span[1], where):
        if number == 1:
            text = _string(buf, _expect_bytes(wt, value, where, "Quantity"), where)
        else:
            _unknown(wt, value, number, where, "Quantity")
    return text


def _int_or_string(buf: bytes, span: tuple[int, int], where: str) -> int | str:
    kind, int_val, str_val = 0, 0, ""
    for number, wt, value in _fields(buf, span[0], span[1], where):
        if number == 1:
            kind = _number(schema.INT64, wt, value, where)
        elif number == 2:
            int_val = _number(schema.INT32, wt, value, where)
        elif number == 3:
            str_val = _string(buf, _expect_bytes(wt, value, where, "IntOrString"), where)
        else:
            _unknown(wt, value, number, where, "IntOrString")
    if kind == 0:
        return int_val
    if kind == 1:
        return str_val
    raise _fail(where, f"IntOrString has invalid type {kind}")


def _time(buf: bytes, span: tuple[int, int], where: str, micro: bool) -> str | None:
    seconds, nanos = 0, 0
    for number, wt, value in _fields(buf, span[0], span[1], where):
        if number == 1:
            seconds = _number(schema.INT64, wt, value, where)
        elif number == 2:
            nanos = _number(schema.INT32, wt, value, where)
        else:
            _unknown(wt, value, number, where, "Timestamp")
    if seconds == 0 and nanos == 0:
        return None
    if not _MIN_SECONDS <= seconds <= _MAX_SECONDS or not 0 <= nanos < 1_000_000_000:
        raise _fail(where, f"timestamp {seconds}s {nanos}ns is out of range")
    base = _datetime_from_seconds(seconds).strftime("%Y-%m-%dT%H:%M:%S")
    if micro:
        return f"{base}.{nanos // 1000:06d}Z"
    return base + "Z"


def _datetime_from_seconds(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _duration(buf: bytes, span: tuple[int, int], where: str) -> str:
    ns = 0
    for number, wt, value in _fields(buf, span[0], span[1], where):
        if number == 1:
            ns = _number(schema.INT64, wt, value, where)
        else:
            _unknown(wt, value, number, where, "Duration")
    return format_duration(ns)


def _raw_json(buf: bytes, span: tuple[int, int], where: str) -> Any:
    raw = b""
    for number, wt, value in _fields(buf, span[0], span[1], where):
        if number == 1:
            s = _expect_bytes(wt, value, where, "raw bytes")
            raw = buf[s[0]:s[1]]
        else:
            _unknown(wt, value, number, where, "RawExtension")
    if not raw:
        return None
    if raw[:4] == MAGIC:
        return decode_object(raw)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise _fail(where, f"raw value is not JSON: {e}") from None


def _map_entry(buf: bytes, f: Field, span: tuple[int, int], where: str) -> tuple[str, Any]:
    key = ""
    val: Any = None
    for number, wt, value in _fields(buf, span[0], span[1], where):
        if number == 1:
            key = _string(buf, _expect_bytes(wt, value, where, "map key"), where)
        elif number == 2:
            vwhere = f"{where}[{key}]"
            if f.repeated:
                items: list[Any] = []
                for n2, wt2, v2 in _fields(buf, *_expect_bytes(wt, value, vwhere, "list value"), vwhere):
                    if n2 != 1:
                        _unknown(wt2, v2, n2, vwhere, "map list value")
                    else:
                        items.extend(_items(buf, f, wt2, v2, vwhere))
                val = items
            else:
                val = _value(buf, f, f.type, wt, value, vwhere)
        else:
            _unknown(wt, value, number, where, "map entry")
    if val is None:
        val = _map_default(f)
    return key, val


def _map_default(f: Field) -> Any:
    if f.repeated:
        return []
    return {schema.STRING: "", schema.BYTES: "", schema.QUANTITY: "0", schema.INT32: 0, schema.INT64: 0,
            schema.BOOL: False, schema.DOUBLE: 0, schema.INT_OR_STRING: 0}.get(f.type, {})


def _items(buf: bytes, f: Field, wt: int, value: Any, where: str) -> list[Any]:
    """One wire occurrence of a repeated field: one item, or several when packed."""
    if wt == LENGTH_DELIMITED and f.type in _PACKABLE:
        start, stop = value
        out = []
        pos = start
        while pos < stop:
            if f.type == schema.DOUBLE:
                if pos + 8 > stop:
                    raise _fail(where, "unexpected EOF in packed doubles")
                out.append(_number(schema.DOUBLE, FIXED64, buf[pos:pos + 8], where))
                pos += 8
            else:
                v, pos = _varint(buf, pos, stop, where)
                out.append(_number(f.type, VARINT, v, where))
        return out
    return [_value(buf, f, f.type, wt, value, where)]


def _decode(buf: bytes, start: int, end: int, msg: Message, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, wt, value in _fields(buf, start, end, where):
        f = msg.by_number.get(number)
        if f is None:
            child = _embedded(msg, number)
            if child is None:
                _unknown(wt, value, number, where, msg.name)
            else:
                span = _expect_bytes(wt, value, where, child.name)
                out.update(_decode(buf, span[0], span[1], child, where))
            continue
        fwhere = f"{where}.{f.name}"
        if f.map:
            k, v = _map_entry(buf, f, _expect_bytes(wt, value, fwhere, "map"), fwhere)
            out.setdefault(f.name, {})[k] = v
        elif f.repeated:
            lst = out.setdefault(f.name, [])
            lst.extend(_items(buf, f, wt, value, f"{fwhere}[{len(lst)}]"))
        else:
            v = _value(buf, f, f.type, wt, value, fwhere)
            if v is None or (_scalar_zero(v) and not _keeps_zero(msg, f)):
                out.pop(f.name, None)
            else:
                out[f.name] = v
    return out


def _embedded(msg: Message, number: int) -> Message | None:
    """The Go-embedded message carried in field `number` of `msg`, whose fields JSON inlines."""
    for n, child in EMBEDDED.get(msg.name, ()):
        if n == number:
            return schema.MESSAGES.get(child)
    return None


def decode_message(raw: bytes, message_name: str) -> dict[str, Any]:
    """Decode protobuf `raw` as `message_name` into the equivalent JSON object."""
    msg = schema.message(message_name)
    raw = bytes(raw)
    root = message_name.rsplit(".", 1)[-1]
    try:
        return _decode(raw, 0, len(raw), msg, root)
    except StatusError:
        raise
    except (RecursionError, ValueError, OverflowError) as e:
        raise _fail(root, str(e)) from e


# -- Go durations ---------------------------------------------------------------------------------

_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                   "m": 60_000_000_000, "h": 3_600_000_000_000}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


def format_duration(ns: int) -> str:
    """Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if u >= size:
                return sign + _fraction(u, size) + unit
    hours, rest = divmod(u, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = _fraction(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}"
    if minutes:
        return f"{sign}{minutes}m{secs}"
    return sign + secs


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")


def parse_duration(text: str) -> int:
    """Go's `time.ParseDuration`, in nanoseconds. Raises ValueError as `time: invalid duration "x"`."""
    s = text
    sign = 1
    if s[:1] in ("-", "+"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f'time: invalid duration "{text}"')
    total = 0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None or m.group(1) in ("", "."):
            raise ValueError(f'time: invalid duration "{text}"')
        number, unit = m.group(1), m.group(2)
        whole, _, frac = number.partition(".")
        size = _DURATION_UNITS[unit]
        total += int(whole or "0") * size
        if frac:
            total += int(frac) * size // 10 ** len(frac)
        pos = m.end()
    if total > (1 << 63) - 1:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total


# -- writing the wire -----------------------------------------------------------------------------


def _put_varint(out: bytearray, v: int) -> None:
    v &= 0xFFFFFFFFFFFFFFFF
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _put_key(out: bytearray, number: int, wt: int) -> None:
    _put_varint(out, (number << 3) | wt)


def _put_bytes(out: bytearray, number: int, data: bytes) -> None:
    _put_key(out, number, LENGTH_DELIMITED)
    _put_varint(out, len(data))
    out += data


def _encode_value(out: bytearray, number: int, type_name: str, v: Any, where: str) -> None:
    if type_name in (schema.INT32, schema.INT64):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{where}: {type_name} wants an integer, got {v!r}")
        _put_key(out, number, VARINT)
        _put_varint(out, v)
    elif type_name == schema.BOOL:
        _put_key(out, number, VARINT)
        _put_varint(out, 1 if v else 0)
    elif type_name == schema.DOUBLE:
        _put_key(out, number, FIXED64)
        out += struct.pack("<d", float(v))
    elif type_name == schema.STRING:
        _put_bytes(out, number, str(v).encode())
    elif type_name == schema.BYTES:
        _put_bytes(out, number, base64.b64decode(v))
    elif type_name == schema.QUANTITY:
        inner = bytearray()
        _put_bytes(inner, 1, str(v).encode())
        _put_bytes(out, number, bytes(inner))
    elif type_name == schema.INT_OR_STRING:
        inner = bytearray()
        if isinstance(v, int) and not isinstance(v, bool):
            _put_key(inner, 1, VARINT)
            _put_varint(inner, 0)
            _put_key(inner, 2, VARINT)
            _put_varint(inner, v)
        else:
            _put_key(inner, 1, VARINT)
            _put_varint(inner, 1)
            _put_bytes(inner, 3, str(v).encode())
        _put_bytes(out, number, bytes(inner))
    elif type_name in _TIME_TYPES:
        dt = parse_time(v)
        inner = bytearray()
        if dt is not None:
            seconds = int(dt.timestamp() // 1)
            _put_key(inner, 1, VARINT)
            _put_varint(inner, seconds)
            if type_name == schema.MICRO_TIME and dt.microsecond:
                _put_key(inner, 2, VARINT)
                _put_varint(inner, dt.microsecond * 1000)
        _put_bytes(out, number, bytes(inner))
    elif type_name == schema.DURATION:
        inner = bytearray()
        _put_key(inner, 1, VARINT)
        _put_varint(inner, parse_duration(v))
        _put_bytes(out, number, bytes(inner))
    elif type_name in _JSON_RAW_TYPES:
        inner = bytearray()
        _put_bytes(inner, 1, json.dumps(v, separators=(",", ":")).encode())
        _put_bytes(out, number, bytes(inner))
    else:
        if not isinstance(v, dict):
            raise ValueError(f"{where}: {type_name} wants an object, got {v!r}")
        _put_bytes(out, number, _encode(v, schema.message(type_name), where))


def _encode(obj: dict[str, Any], msg: Message, where: str) -> bytes:
    out = bytearray()
    embedded = {n: child for n, child in EMBEDDED.get(msg.name, ())}
    numbered = [(f.number, f) for f in msg.fields if f.number]
    for number, child in embedded.items():
        numbered.append((number, None))
    for number, f in sorted(numbered, key=lambda x: x[0]):
        if f is None:
            _put_bytes(out, number, _encode(obj, schema.message(embedded[number]), where))
            continue
        if obj.get(f.name) is None:
            continue
        v = obj[f.name]
        fwhere = f"{where}.{f.name}"
        if f.map:
            if not isinstance(v, dict):
                raise ValueError(f"{fwhere}: wants an object, got {v!r}")
            for key, item in v.items():
                entry = bytearray()
                _put_bytes(entry, 1, str(key).encode())
                if f.repeated:
                    wrapper = bytearray()
                    for x in item or ():
                        _encode_value(wrapper, 1, f.type, x, fwhere)
                    _put_bytes(entry, 2, bytes(wrapper))
                elif item is not None:
                    _encode_value(entry, 2, f.type, item, fwhere)
                _put_bytes(out, f.number, bytes(entry))
        elif f.repeated:
            if not isinstance(v, list):
                raise ValueError(f"{fwhere}: wants a list, got {v!r}")
            for item in v:
                _encode_value(out, f.number, f.type, item, fwhere)
        else:
            _encode_value(out, f.number, f.type, v, fwhere)
    return bytes(out)


def encode_message(obj: dict[str, Any], message_name: str) -> bytes:
    """Encode a JSON object as protobuf `message_name` (fields absent from the schema are dropped)."""
    return _encode(obj, schema.message(message_name), message_name.rsplit(".", 1)[-1])
