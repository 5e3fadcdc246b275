"""The schema language for the API's wire types.

Objects travel and live as plain JSON dicts; these definitions describe them once, and every
piece that needs to know a type's shape reads them from here:

- strict field validation (unknown fields, wrong JSON types, required fields),
- protobuf decoding of kubectl's request bodies (field numbers are facts of the wire format),
- strategic merge patch and server-side apply (merge keys, patch strategies, list types),
- the OpenAPI v3 documents that kubectl validates against and `kubectl explain` prints.

A message is named as Kubernetes' OpenAPI names it (`io.k8s.api.core.v1.Pod`), so the same names
appear in `/openapi/v3` component schemas.

Example::

    define("io.k8s.api.core.v1.ContainerPort", [
        F(1, "name", STRING),
        F(3, "containerPort", INT32, required=True),
        F(4, "protocol", STRING, enum=("TCP", "UDP", "SCTP")),
    ])
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Scalar types (JSON type, protobuf wire type).
STRING = "string"            # JSON string; proto length-delimited
INT32 = "int32"              # JSON integer; proto varint
INT64 = "int64"              # JSON integer; proto varint
BOOL = "boolean"             # JSON bool; proto varint
DOUBLE = "double"            # JSON number; proto fixed64
BYTES = "bytes"              # JSON base64 string; proto length-delimited raw bytes
# Well-known apimachinery types, JSON-encoded as scalars; each has its own protobuf message.
QUANTITY = "Quantity"        # JSON string ("500m"); proto {1 string}
INT_OR_STRING = "IntOrString"  # JSON int or string; proto {1 type, 2 intVal, 3 strVal}
TIME = "Time"                # JSON RFC3339 string; proto {1 seconds int64, 2 nanos int32}
MICRO_TIME = "MicroTime"     # JSON RFC3339 with 6 fractional digits; proto as Time
DURATION = "Duration"        # JSON Go duration string ("1h0m0s"); proto {1 duration int64 ns}
RAW = "RawExtension"         # any JSON value; proto {1 raw bytes holding JSON}
FIELDS_V1 = "FieldsV1"       # any JSON object; proto {1 raw bytes holding JSON}
JSON_ANY = "JSON"            # any JSON value (apiextensions); proto {1 raw bytes}

SCALARS = frozenset({STRING, INT32, INT64, BOOL, DOUBLE, BYTES, QUANTITY, INT_OR_STRING, TIME,
                     MICRO_TIME, DURATION, RAW, FIELDS_V1, JSON_ANY})


@dataclass(frozen=True)
class Field:
    """One field of a message.

    `type` is a scalar name above or the name of another message. `repeated` makes it a JSON
    array; `map` makes it a JSON object with string keys and values of `type`.
    """

    number: int                      # protobuf field number; 0 = not on the protobuf wire (apiVersion, kind)
    name: str                        # JSON name (camelCase), as the wire spells it
    type: str
    repeated: bool = False
    map: bool = False
    required: bool = False
    merge_key: str = ""              # strategic merge patch: x-kubernetes-patch-merge-key
    patch_strategy: str = ""         # "merge", "retainKeys", "merge,retainKeys", "replace"
    list_type: str = ""              # server-side apply: "atomic", "set", "map"
    list_map_keys: tuple[str, ...] = ()
    map_type: str = ""               # "atomic" or "granular" for maps and structs
    enum: tuple[str, ...] = ()
    doc: str = ""

    @property
    def is_message(self) -> bool:
        return self.type not in SCALARS


@dataclass
class Message:
    name: str
    fields: tuple[Field, ...]
    doc: str = ""
    map_type: str = ""               # "atomic" struct (e.g. LabelSelector is granular, ObjectReference atomic)
    by_name: dict[str, Field] = field(default_factory=dict, repr=False)
    by_number: dict[int, Field] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.by_name = {f.name: f for f in self.fields}
        self.by_number = {f.number: f for f in self.fields if f.number}

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]


MESSAGES: dict[str, Message] = {}

F = Field


def define(name: str, fields: list[Field] | tuple[Field, ...], doc: str = "", map_type: str = "") -> Message:
    """Register a message. Defining the same name twice is a programming error."""
    if name in MESSAGES:
        raise ValueError(f"message {name} defined twice")
    seen_numbers: set[int] = set()
    for f in fields:
        if f.number:
            if f.number in seen_numbers:
                raise ValueError(f"{name}: field number {f.number} used twice")
            seen_numbers.add(f.number)
    m = Message(name, tuple(fields), doc, map_type)
    MESSAGES[name] = m
    return m


def message(name: str) -> Message:
    try:
        return MESSAGES[name]
    except KeyError:
        raise KeyError(f"unknown message {name}") from None


def type_meta_fields() -> list[Field]:
    """`apiVersion` and `kind`: in JSON on every top-level object, in protobuf only in the envelope."""
    return [F(0, "apiVersion", STRING), F(0, "kind", STRING)]


def field_at(message_name: str, path: list[str]) -> Field | None:
    """The field reached by following JSON names from a message (list items are transparent)."""
    m = MESSAGES.get(message_name)
    f: Field | None = None
    for part in path:
        if m is None:
            return None
        f = m.by_name.get(part)
        if f is None:
            return None
        m = MESSAGES.get(f.type) if f.is_message else None
    return f
