"""Field paths and sets of them: how server-side apply names the fields a manager owns.

This mirrors structured-merge-diff's `fieldpath` package. A path is a tuple of path elements;
an element is a pair:

    ("f", "replicas")                   a struct field or a map key          -> `f:replicas`
    ("k", '{"name":"nginx"}')           a list-map item, by its key fields   -> `k:{"name":"nginx"}`
    ("v", '"foregroundDeletion"')       a set item, by its value             -> `v:"foregroundDeletion"`
    ("i", 3)                            a list item by position (never produced here)

Key and value payloads are canonical JSON (sorted keys, no spaces), so equal items give equal
elements. A set of paths is a plain Python `set`; `to_fields_v1` and `from_fields_v1` convert it
to and from the FieldsV1 tree stored in `metadata.managedFields`, where `".": {}` marks a path
that is itself a member and also has members below it.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

Element = tuple[str, Any]
Path = tuple[Element, ...]


def canonical(value: Any) -> str:
    """Canonical JSON for key and value payloads (Go encodes object keys sorted, compactly)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def field(name: str) -> Element:
    return ("f", name)


def key(fields: dict[str, Any]) -> Element:
    return ("k", canonical(fields))


def value(v: Any) -> Element:
    return ("v", canonical(v))


def make_path(dotted: str) -> Path:
    """`"spec.replicas"` -> the path of struct fields; used for reset fields."""
    return tuple(field(part) for part in dotted.split(".") if part)


# -- ordering, as structured-merge-diff sorts path elements and values --------------------------

def _value_rank(v: Any) -> tuple:
    # Numbers < strings < booleans < lists < maps < null (value.Compare's total order).
    if isinstance(v, bool):
        return (2, v)
    if isinstance(v, (int, float)):
        return (0, float(v))
    if isinstance(v, str):
        return (1, v)
    if isinstance(v, list):
        return (3, tuple(_value_rank(x) for x in v))
    if isinstance(v, dict):
        return (4, tuple((k, _value_rank(v[k])) for k in sorted(v)))
    return (5,)


def element_sort_key(e: Element) -> tuple:
    kind, payload = e
    if kind == "f":
        return (0, payload)
    if kind == "k":
        fields = json.loads(payload)
        return (1, tuple((name, _value_rank(fields[name])) for name in sorted(fields)))
    if kind == "v":
        return (2, _value_rank(json.loads(payload)))
    return (3, payload)


# -- rendering -----------------------------------------------------------------------------------

def _to_string(v: Any) -> str:
    """A value as structured-merge-diff prints it in a path (strings quoted, Go style)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_to_string(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={_to_string(v[k])}" for k in sorted(v)) + "}"
    return str(v)


def element_string(e: Element) -> str:
    kind, payload = e
    if kind == "f":
        return "." + payload
    if kind == "k":
        fields = json.loads(payload)
        return "[" + ",".join(f"{name}={_to_string(fields[name])}" for name in sorted(fields)) + "]"
    if kind == "v":
        return f"[={_to_string(json.loads(payload))}]"
    return f"[{payload}]"


def path_string(path: Path) -> str:
    """`.spec.template.spec.containers[name="nginx"].image`, as conflict messages print it."""
    return "".join(element_string(e) for e in path)


def _element_token(e: Element) -> str:
    kind, payload = e
    return f"{kind}:{payload}"


# -- set algebra beyond Python's -----------------------------------------------------------------

def prefixes(paths: set[Path]) -> set[Path]:
    """Every proper, non-empty prefix of every path (the interior nodes of the set's tree)."""
    out: set[Path] = set()
    for p in paths:
        for i in range(1, len(p)):
            out.add(p[:i])
    return out


def without_prefixes(paths: set[Path], excluded: set[Path]) -> set[Path]:
    """Drop every path that equals or lies below one of `excluded` (a recursive difference)."""
    if not excluded:
        return set(paths)
    return {p for p in paths if not any(p[:i] in excluded for i in range(1, len(p) + 1))}


class _Node:
    __slots__ = ("members", "children")

    def __init__(self) -> None:
        self.members: set[Element] = set()
        self.children: dict[Element, _Node] = {}


def _tree(paths: set[Path]) -> _Node:
    root = _Node()
    for p in paths:
        if not p:
            continue
        node = root
        for e in p[:-1]:
            node = node.children.setdefault(e, _Node())
        node.members.add(p[-1])
    return root


def iterate(paths: set[Path]) -> Iterator[Path]:
    """Paths in structured-merge-diff's iteration order: a level's members, then its children."""

    def walk(node: _Node, prefix: Path) -> Iterator[Path]:
        for e in sorted(node.members, key=element_sort_key):
            yield prefix + (e,)
        for e in sorted(node.children, key=element_sort_key):
            yield from walk(node.children[e], prefix + (e,))

    yield from walk(_tree(paths), ())


# -- FieldsV1 --------------------------------------------------------------------------------------

def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    """The FieldsV1 JSON tree of a set (keys in Kubernetes' order, `"."` first)."""

    def emit(node: _Node, is_member: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if is_member:
            out["."] = {}
        for e in sorted(node.members | set(node.children), key=element_sort_key):
            child = node.children.get(e)
            out[_element_token(e)] = emit(child, e in node.members) if child else {}
        return out

    return emit(_tree(paths), False)


def _parse_token(token: str) -> Element:
    kind, sep, payload = token.partition(":")
    if not sep or kind not in ("f", "k", "v", "i"):
        raise ValueError(f"unexpected path element {token!r}")
    if kind == "f":
        return ("f", payload)
    if kind == "i":
        try:
            return ("i", int(payload))
        except ValueError:
            raise ValueError(f"invalid index in path element {token!r}") from None
    try:
        decoded = json.loads(payload)
    except ValueError:
        raise ValueError(f"invalid JSON in path element {token!r}") from None
    if kind == "k" and not isinstance(decoded, dict):
        raise ValueError(f"key path element {token!r} is not an object")
    return (kind, canonical(decoded))


def from_fields_v1(tree: Any) -> set[Path]:
    """Parse a FieldsV1 tree; raises ValueError on anything that is not one."""
    if not isinstance(tree, dict):
        raise ValueError("FieldsV1 must be a JSON object")
    out: set[Path] = set()

    def walk(node: dict[str, Any], prefix: Path) -> None:
        for token, sub in node.items():
            if not isinstance(sub, dict):
                raise ValueError(f"FieldsV1 entry {token!r} is not an object")
            if token == ".":
                if prefix:
                    out.add(prefix)
                continue
            p = prefix + (_parse_token(token),)
            if sub:
                walk(sub, p)
            else:
                out.add(p)

    walk(tree, ())
    return out
