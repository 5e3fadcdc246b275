"""Strict decoding of JSON request bodies against the schema (`fieldValidation`).

Kubernetes decodes a JSON body into Go structs. Two kinds of problems come out of that:

- *strict errors*: unknown fields and duplicate fields. `fieldValidation=Strict` (kubectl's
  default) turns them into 400 BadRequest, `Warn` into `Warning` headers, `Ignore` drops them.
  Paths are JSON paths with list indices: `spec.template.spec.containers[0].imagee`.
- *type errors*: a JSON value of the wrong type. These always fail, with Go's `encoding/json` text:
  `json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`
  (the struct that owns the field, then the field names from the root, without list indices).
  Quantities, IntOrString, Time and Duration have their own unmarshallers and their own messages.

Duplicates need the raw text, so `parse_json` finds them while parsing; `check_fields` walks the
parsed object against its message. The error constructors format the messages as the API server
does: `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: ...`.
"""

from __future__ import annotations

import calendar
import json
import re
from typing import Any

from kubelite.machinery import quantity
from kubelite.machinery.errors import StatusError, new_bad_request

from . import schema
from .protobuf import parse_duration
from .schema import Field, Message

QUANTITY_ERROR = ("quantities must match the regular expression "
                  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
RFC3339_LAYOUT = "2006-01-02T15:04:05Z07:00"

_INT32 = (-(1 << 31), (1 << 31) - 1)
_INT64 = (-(1 << 63), (1 << 63) - 1)

_GO_SCALARS = {
    schema.STRING: "string", schema.INT32: "int32", schema.INT64: "int64", schema.BOOL: "bool",
    schema.DOUBLE: "float64", schema.BYTES: "[]uint8", schema.QUANTITY: "resource.Quantity",
    schema.INT_OR_STRING: "intstr.IntOrString", schema.TIME: "v1.Time", schema.MICRO_TIME: "v1.MicroTime",
    schema.DURATION: "v1.Duration", schema.RAW: "runtime.RawExtension", schema.FIELDS_V1: "v1.FieldsV1",
    schema.JSON_ANY: "v1.JSON",
}
_ANY_JSON = frozenset({schema.RAW, schema.FIELDS_V1, schema.JSON_ANY})
_BASE64 = re.compile(r"[A-Za-z0-9+/]*")


# -- parsing --------------------------------------------------------------------------------------


class _Pairs(list):
    """A parsed JSON object before duplicate detection: its (key, value) pairs in document order."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def parse_json(body: bytes | str) -> tuple[Any, list[str]]:
    """Parse a JSON body; return (plain object, duplicate field paths in document order)."""
    try:
        parsed = json.loads(body, object_pairs_hook=_Pairs, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise new_bad_request(f"unable to decode JSON body: {e}") from None
    duplicates: list[str] = []
    return _plain(parsed, "", duplicates), duplicates


def _plain(v: Any, path: str, duplicates: list[str]) -> Any:
    if isinstance(v, _Pairs):
        out: dict[str, Any] = {}
        for k, x in v:
            p = f"{path}.{k}" if path else k
            if k in out and p not in duplicates:
                duplicates.append(p)
            out[k] = _plain(x, p, duplicates)       # the last value wins, as in Go
        return out
    if isinstance(v, list):
        return [_plain(x, f"{path}[{i}]", duplicates) for i, x in enumerate(v)]
    return v


# -- checking against the schema ------------------------------------------------------------------


def _json_kind(v: Any) -> str:
    """The `Value` part of Go's UnmarshalTypeError."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, list):
        return "array"
    return "object"


def go_type(type_name: str, *, repeated: bool = False, is_map: bool = False) -> str:
    """Go's spelling of a schema type, as `encoding/json` prints it."""
    if type_name in _GO_SCALARS:
        base = _GO_SCALARS[type_name]
    else:
        parts = type_name.split(".")
        base = f"{parts[-2]}.{parts[-1]}" if len(parts) >= 2 else type_name
    if is_map:
        return f"map[string]{'[]' if repeated else ''}{base}"
    if repeated:
        return f"[]{base}"
    return base


class _Checker:
    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.type_errors: list[str] = []

    def type_error(self, value: str, owner: Message, go_path: list[str], go_type_name: str) -> None:
        struct = owner.name.rsplit(".", 1)[-1]
        self.type_errors.append(f"json: cannot unmarshal {value} into Go struct field "
                                f"{struct}.{'.'.join(go_path)} of type {go_type_name}")

    def message(self, obj: dict[str, Any], msg: Message, path: str, go_path: list[str], root: bool) -> None:
        for key, v in obj.items():
            p = f"{path}.{key}" if path else key
            f = msg.by_name.get(key)
            if f is None:
                if root and key in ("apiVersion", "kind"):
                    if v is not None and not isinstance(v, str):
                        self.type_errors.append(f"json: cannot unmarshal {_json_kind(v)} into Go struct "
                                                f"field {msg.name.rsplit('.', 1)[-1]}.{key} of type string")
                    continue
                self.unknown.append(p)
                continue
            self.field(f, v, p, [*go_path, key], msg)

    def field(self, f: Field, v: Any, path: str, go_path: list[str], owner: Message) -> None:
        if v is None:
            return
        if f.map:
            if not isinstance(v, dict):
                self.type_error(_json_kind(v), owner, go_path, go_type(f.type, repeated=f.repeated, is_map=True))
                return
            for k, item in v.items():
                self.item(f, item, f"{path}.{k}", go_path, owner, f.repeated)
        elif f.repeated:
            if not isinstance(v, list):
                self.type_error(_json_kind(v), owner, go_path, go_type(f.type, repeated=True))
                return
            for i, item in enumerate(v):
                self.value(f.type, item, f"{path}[{i}]", go_path, owner)
        else:
            self.value(f.type, v, path, go_path, owner)

    def item(self, f: Field, v: Any, path: str, go_path: list[str], owner: Message, repeated: bool) -> None:
        if repeated:
            if v is None:
                return
            if not isinstance(v, list):
                self.type_error(_json_kind(v), owner, go_path, go_type(f.type, repeated=True))
                return
            for i, x in enumerate(v):
                self.value(f.type, x, f"{path}[{i}]", go_path, owner)
        else:
            self.value(f.type, v, path, go_path, owner)

    def value(self, t: str, v: Any, path: str, go_path: list[str], owner: Message) -> None:
        if v is None or t in _ANY_JSON:
            return
        err = _scalar_error(t, v)
        if err is _NOT_SCALAR:
            sub = schema.MESSAGES.get(t)
            if not isinstance(v, dict):
                self.type_error(_json_kind(v), owner, go_path, go_type(t))
            elif sub is not None:
                self.message(v, sub, path, go_path, root=False)
        elif err == _TYPE:
            self.type_error(_value_text(t, v), owner, go_path, go_type(t))
        elif err:
            self.type_errors.append(err)


_NOT_SCALAR = object()
_TYPE = "type"


def _value_text(t: str, v: Any) -> str:
    """Go prints the literal for numbers that are out of range or not integers."""
    if t in (schema.INT32, schema.INT64) and isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"number {v!r}"
    return _json_kind(v)


def _int_in(v: Any, bounds: tuple[int, int]) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and bounds[0] <= v <= bounds[1]


def _scalar_error(t: str, v: Any) -> Any:
    """"" when `v` is fine for scalar type `t`, _TYPE for a plain type mismatch, a message for a
    custom unmarshaller's error, or _NOT_SCALAR when `t` is a message."""
    if t == schema.STRING:
        return "" if isinstance(v, str) else _TYPE
    if t == schema.INT32:
        return "" if _int_in(v, _INT32) else _TYPE
    if t == schema.INT64:
        return "" if _int_in(v, _INT64) else _TYPE
    if t == schema.BOOL:
        return "" if isinstance(v, bool) else _TYPE
    if t == schema.DOUBLE:
        return "" if isinstance(v, (int, float)) and not isinstance(v, bool) else _TYPE
    if t == schema.BYTES:
        if not isinstance(v, str):
            return _TYPE
        return _base64_error(v)
    if t == schema.QUANTITY:
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            return QUANTITY_ERROR
        return "" if quantity.is_valid(v if isinstance(v, str) else repr(v)) else QUANTITY_ERROR
    if t == schema.INT_OR_STRING:
        if isinstance(v, str) or _int_in(v, _INT32):
            return ""
        what = f"number {v!r}" if isinstance(v, (int, float)) and not isinstance(v, bool) else _json_kind(v)
        return f"json: cannot unmarshal {what} into Go value of type int32"
    if t in (schema.TIME, schema.MICRO_TIME):
        if not isinstance(v, str):
            return f"json: cannot unmarshal {_json_kind(v)} into Go value of type string"
        return time_error(v) if v else ""
    if t == schema.DURATION:
        if not isinstance(v, str):
            return f"json: cannot unmarshal {_json_kind(v)} into Go value of type string"
        try:
            parse_duration(v)
        except ValueError as e:
            return str(e)
        return ""
    return _NOT_SCALAR


def _base64_error(s: str) -> str:
    """Go's `illegal base64 data at input byte N` for standard, padded base64 ("" when valid)."""
    body = _BASE64.match(s).end()  # type: ignore[union-attr]
    rest = s[body:]
    quantum = body % 4
    if rest in ("", "=", "==") and (quantum + len(rest)) % 4 == 0 and (not rest or quantum >= 2):
        return ""
    if rest and rest[0] != "=":
        return f"illegal base64 data at input byte {body}"
    return f"illegal base64 data at input byte {body - quantum}"


_LAYOUT = [(elem, re.compile(pattern)) for elem, pattern in (
    ("2006", r"\d{4}"), ("-", "-"), ("01", r"\d{2}"), ("-", "-"), ("02", r"\d{2}"), ("T", "T"),
    ("15", r"\d{2}"), (":", ":"), ("04", r"\d{2}"), (":", ":"), ("05", r"\d{2}"))]
_ZONE = re.compile(r"(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_RANGES = {"01": (1, 12, "month"), "02": (1, 31, "day"), "15": (0, 23, "hour"), "04": (0, 59, "minute"),
           "05": (0, 59, "second")}


def time_error(s: str) -> str:
    """Go's `time.Parse(time.RFC3339, s)` error text, or "" when `s` parses."""
    pos = 0
    values: dict[str, int] = {}
    for elem, pattern in _LAYOUT:
        m = pattern.match(s, pos)
        if m is None:
            return f'parsing time "{s}" as "{RFC3339_LAYOUT}": cannot parse "{s[pos:]}" as "{elem}"'
        if elem in _RANGES or elem == "2006":
            values[elem] = int(m.group())
        pos = m.end()
    m = _ZONE.match(s, pos)
    if m is None:
        return f'parsing time "{s}" as "{RFC3339_LAYOUT}": cannot parse "{s[pos:]}" as "Z07:00"'
    if m.end() != len(s):
        return f'parsing time "{s}": extra text: "{s[m.end():]}"'
    for elem, (lo, hi, name) in _RANGES.items():
        if not lo <= values[elem] <= hi:
            return f'parsing time "{s}": {name} out of range'
    if values["02"] > calendar.monthrange(values["2006"] or 2000, values["01"])[1]:
        return f'parsing time "{s}": day out of range'
    return ""


def check_fields(obj: Any, message_name: str) -> tuple[list[str], list[str]]:
    """Unknown field paths and Go-style type errors of `obj` as a `message_name`."""
    msg = schema.message(message_name)
    c = _Checker()
    if not isinstance(obj, dict):
        c.type_errors.append(f"json: cannot unmarshal {_json_kind(obj)} into Go value of type "
                             f"{go_type(message_name)}")
    else:
        c.message(obj, msg, "", [], root=True)
    return c.unknown, c.type_errors


# -- errors and warnings --------------------------------------------------------------------------


def strict_messages(unknown: list[str], duplicates: list[str]) -> list[str]:
    """The individual strict errors; with `fieldValidation=Warn` each becomes a `Warning` header."""
    return [f'unknown field "{p}"' for p in unknown] + [f'duplicate field "{p}"' for p in duplicates]


def strict_warnings(unknown: list[str], duplicates: list[str]) -> list[str]:
    return strict_messages(unknown, duplicates)


def cannot_handle(kind: str, version: str, detail: str) -> StatusError:
    """400 for a body the server could not decode into `kind` (create and update). Without a kind
    and version the message is the detail alone."""
    if not kind or not version:
        return new_bad_request(detail)
    return new_bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: {detail}')


def strict_error(kind: str, unknown: list[str], duplicates: list[str], version: str = "") -> StatusError:
    """400 BadRequest for `fieldValidation=Strict`:
    `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown
    field "spec.foo", duplicate field "metadata.name"` (create and update). Without a `version` the
    message is only the `strict decoding error: ...` part."""
    detail = "strict decoding error: " + ", ".join(strict_messages(unknown, duplicates))
    return cannot_handle(kind, version, detail)


def type_error(kind: str, version: str, type_errors: list[str]) -> StatusError:
    """400 for the first type error, as Go's decoder stops reporting after the first."""
    return cannot_handle(kind, version, type_errors[0])
