"""Objects seen through their schema, as server-side apply needs them (structured-merge-diff's `typed`).

A `TypeRef` says how a value at some place in an object merges: a scalar, a struct (a message),
a map (`map[string]T`), a list (`atomic`, `set` or `map` keyed by fields), or `deduced` when the
schema says nothing (custom resources, `RawExtension`): deduced maps are granular and deduced
lists atomic. Atomic structs, maps and lists are leaves.

Four operations walk an object and its type together:

- `field_set(obj)`: the paths an applied configuration sets (the applier's ownership).
- `compare(old, new)`: the paths added, modified and removed between two versions.
- `merge(live, config)`: the configuration merged into the live object.
- `remove_paths(obj, paths)`: the object with those fields and items taken out.

JSON `null` counts as absent, because Kubernetes' typed objects never keep one.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any

from kubelite.api import schema

from . import fieldpath as fp
from .fieldpath import Element, Path

SCALAR, STRUCT, MAP, LIST, DEDUCED = "scalar", "struct", "map", "list", "deduced"
_UNTYPED = frozenset({schema.RAW, schema.JSON_ANY, schema.FIELDS_V1})

# List-map keys that Kubernetes' OpenAPI gives a default, so an item may omit them.
KEY_DEFAULTS = {"protocol": "TCP"}

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


class SchemaError(ValueError):
    """An applied configuration that does not fit its schema; `path` is where."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{fp.path_string(path)}: {message}" if path else message)
        self.path = path


@dataclass(frozen=True)
class TypeRef:
    kind: str
    name: str = ""                        # STRUCT: message name; LIST/MAP: element type name
    atomic: bool = False
    list_type: str = ""                   # LIST: "atomic", "set" or "map"
    keys: tuple[str, ...] = ()
    elem_cache: dict = dc_field(default_factory=dict, compare=False, hash=False, repr=False)


DEDUCED_REF = TypeRef(DEDUCED)
SCALAR_REF = TypeRef(SCALAR)


def _type_ref(type_name: str) -> TypeRef:
    if type_name in _UNTYPED:
        return DEDUCED_REF
    if type_name in schema.SCALARS:
        return SCALAR_REF
    m = schema.MESSAGES.get(type_name)
    if m is None:
        return DEDUCED_REF
    return TypeRef(STRUCT, type_name, atomic=m.map_type == "atomic")


def root_ref(message_name: str) -> TypeRef:
    """The type of a whole object; an unknown message (a custom resource) is deduced."""
    return _type_ref(message_name) if message_name else DEDUCED_REF


def field_ref(f: schema.Field) -> TypeRef:
    if f.repeated:
        list_type, keys = f.list_type, tuple(f.list_map_keys)
        if not list_type:
            if "merge" in f.patch_strategy.split(","):
                if f.merge_key:
                    list_type, keys = "map", (f.merge_key,)
                else:
                    list_type = "set" if not f.is_message else "atomic"
            else:
                list_type = "atomic"
        if list_type == "map" and not keys:
            keys = (f.merge_key,) if f.merge_key else ()
            list_type = "map" if keys else "atomic"
        return TypeRef(LIST, f.type, atomic=list_type == "atomic", list_type=list_type, keys=keys)
    if f.map:
        return TypeRef(MAP, f.type, atomic=f.map_type == "atomic")
    ref = _type_ref(f.type)
    if ref.kind == STRUCT and f.map_type:
        return TypeRef(STRUCT, ref.name, atomic=f.map_type == "atomic")
    return ref


def child_ref(ref: TypeRef, name: str) -> tuple[TypeRef | None, bool]:
    """The type of member `name` and whether it is a declared struct field (None: undeclared)."""
    if ref.kind == STRUCT:
        m = schema.MESSAGES.get(ref.name)
        f = m.by_name.get(name) if m else None
        if f is None:
            return None, False
        cached = ref.elem_cache.get(name)
        if cached is None:
            cached = ref.elem_cache[name] = field_ref(f)
        return cached, True
    if ref.kind == MAP:
        return element_ref(ref), False
    return DEDUCED_REF, False


def element_ref(ref: TypeRef) -> TypeRef:
    if ref.kind in (LIST, MAP):
        cached = ref.elem_cache.get("")
        if cached is None:
            cached = ref.elem_cache[""] = _type_ref(ref.name)
        return cached
    return DEDUCED_REF


def _shape(v: Any, ref: TypeRef) -> str:
    """How to walk `v`: "dict", "list" (granular) or "leaf"."""
    kind = ref.kind
    if kind == DEDUCED:
        return "dict" if isinstance(v, dict) else "leaf"
    if ref.atomic or kind == SCALAR:
        return "leaf"
    if kind in (STRUCT, MAP):
        return "dict" if isinstance(v, dict) else "leaf"
    return "list" if isinstance(v, list) else "leaf"


def item_element(item: Any, ref: TypeRef, index: int, strict: bool = False, where: Path = ()) -> Element:
    """The path element naming one item of a granular list."""
    if ref.list_type == "set":
        return fp.value(item)
    if not isinstance(item, dict):
        if strict:
            raise SchemaError(where, f"element {index}: expected map, got {_json_type(item)}")
        return ("i", index)
    fields: dict[str, Any] = {}
    for k in ref.keys:
        v = item.get(k)
        if v is not None:
            fields[k] = v
        elif k in KEY_DEFAULTS:
            fields[k] = KEY_DEFAULTS[k]
        elif strict:
            raise SchemaError(where, f'element {index}: associative list with keys has an element that omits key '
                                     f'field "{k}" (and doesn\'t have default value)')
    return fp.key(fields)


def _items(values: list, ref: TypeRef, strict: bool, where: Path) -> list[tuple[Element, Any]]:
    out = []
    seen: set[Element] = set()
    for i, item in enumerate(values):
        pe = item_element(item, ref, i, strict, where)
        if pe in seen and strict:
            raise SchemaError(where, f"duplicate entries for key {fp.element_string(pe)}")
        seen.add(pe)
        out.append((pe, item))
    return out


def _first_by_element(items: list[tuple[Element, Any]]) -> dict[Element, Any]:
    out: dict[Element, Any] = {}
    for pe, item in items:
        out.setdefault(pe, item)
    return out


# -- field_set ------------------------------------------------------------------------------------

def field_set(obj: Any, ref: TypeRef, strict: bool = False) -> set[Path]:
    """The paths of every leaf, list item and empty or null map entry in `obj` (ToFieldSet).

    With `strict`, undeclared fields, duplicate list items and items without their keys raise
    `SchemaError` (an applied configuration must fit its schema); otherwise they are deduced.
    """
    out: set[Path] = set()
    _field_set(obj, ref, (), out, strict)
    return out


def _field_set(v: Any, ref: TypeRef, path: Path, out: set[Path], strict: bool) -> None:
    shape = _shape(v, ref)
    if shape == "leaf":
        if strict and v is not None and ref.kind in (STRUCT, MAP) and not ref.atomic:
            raise SchemaError(path, f"expected map, got {_json_type(v)}")
        if strict and v is not None and ref.kind == LIST and not isinstance(v, list):
            raise SchemaError(path, f"expected list, got {_json_type(v)}")
        if path:
            out.add(path)
        return
    if shape == "dict":
        for k, child in v.items():
            cref, declared = child_ref(ref, k)
            if cref is None:
                if strict:
                    raise SchemaError(path + (fp.field(k),), "field not declared in schema")
                cref = DEDUCED_REF
            p = path + (fp.field(k),)
            _field_set(child, cref, p, out, strict)
            if child is None or child == {} or not declared:
                out.add(p)
        return
    elem = element_ref(ref)
    for pe, item in _items(v, ref, strict, path):
        p = path + (pe,)
        _field_set(item, elem, p, out, strict)
        out.add(p)


def _json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    return "map"


# -- compare --------------------------------------------------------------------------------------

@dataclass
class Comparison:
    added: set[Path] = dc_field(default_factory=set)
    modified: set[Path] = dc_field(default_factory=set)
    removed: set[Path] = dc_field(default_factory=set)

    def without_prefixes(self, excluded: set[Path]) -> "Comparison":
        return Comparison(fp.without_prefixes(self.added, excluded), fp.without_prefixes(self.modified, excluded),
                          fp.without_prefixes(self.removed, excluded))


def equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)):
        return isinstance(b, (int, float)) and a == b
    return type(a) is type(b) and a == b


def compare(old: Any, new: Any, ref: TypeRef) -> Comparison:
    c = Comparison()
    _compare(old, new, ref, (), c)
    return c


def _compare(lhs: Any, rhs: Any, ref: TypeRef, path: Path, c: Comparison) -> None:
    if lhs is None:
        lhs = MISSING
    if rhs is None:
        rhs = MISSING
    if lhs is MISSING and rhs is MISSING:
        return
    lshape = _shape(lhs, ref) if lhs is not MISSING else None
    rshape = _shape(rhs, ref) if rhs is not MISSING else None
    shape = lshape or rshape
    if shape == "leaf" or (lshape and rshape and lshape != rshape):
        if not path:
            return
        if lhs is MISSING:
            c.added.add(path)
        elif rhs is MISSING:
            c.removed.add(path)
        elif not equal(lhs, rhs):
            c.modified.add(path)
        return
    if shape == "dict":
        ld = lhs if lhs is not MISSING else {}
        rd = rhs if rhs is not MISSING else {}
        for k in list(ld) + [k for k in rd if k not in ld]:
            cref, _ = child_ref(ref, k)
            _compare(ld.get(k, MISSING), rd.get(k, MISSING), cref or DEDUCED_REF, path + (fp.field(k),), c)
    else:
        elem = element_ref(ref)
        litems = _first_by_element(_items(lhs if lhs is not MISSING else [], ref, False, path))
        ritems = _first_by_element(_items(rhs if rhs is not MISSING else [], ref, False, path))
        for pe in list(litems) + [pe for pe in ritems if pe not in litems]:
            _compare(litems.get(pe, MISSING), ritems.get(pe, MISSING), elem, path + (pe,), c)
    if path:
        if lhs is MISSING:
            c.added.add(path)
        elif rhs is MISSING:
            c.removed.add(path)


# -- merge ----------------------------------------------------------------------------------------

def merge(live: Any, config: Any, ref: TypeRef) -> Any:
    """`config` merged into `live` (config wins on leaves; a null in config removes the field)."""
    out = _merge(live, config, ref, ())
    return {} if out is MISSING else out


def _merge(lhs: Any, rhs: Any, ref: TypeRef, path: Path) -> Any:
    if rhs is MISSING:
        return lhs
    if rhs is None:
        return MISSING
    if lhs is MISSING or lhs is None:
        return _drop_nulls(rhs)
    lshape, rshape = _shape(lhs, ref), _shape(rhs, ref)
    if rshape == "leaf" or lshape != rshape:
        return _drop_nulls(rhs)
    if rshape == "dict":
        out = dict(lhs)
        for k, rv in rhs.items():
            cref, _ = child_ref(ref, k)
            merged = _merge(lhs.get(k, MISSING), rv, cref or DEDUCED_REF, path + (fp.field(k),))
            if merged is MISSING:
                out.pop(k, None)
            else:
                out[k] = merged
        return out
    return _merge_list(lhs, rhs, ref, path)


def _drop_nulls(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _drop_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_drop_nulls(x) for x in v]
    return v


def _merge_list(lhs: list, rhs: list, ref: TypeRef, path: Path) -> list:
    """Merge two granular lists, keeping live-only items in place and shared ones in config order."""
    elem = element_ref(ref)
    lpes = [pe for pe, _ in _items(lhs, ref, False, path)]
    rpes = [pe for pe, _ in _items(rhs, ref, False, path)]
    lobs = _first_by_element(list(zip(lpes, lhs)))
    robs = _first_by_element(list(zip(rpes, rhs)))
    shared = [pe for pe in rpes if pe in lobs]
    next_shared = shared.pop(0) if shared else None
    done: set[Element] = set()
    out: list = []

    def emit(pe: Element) -> None:
        done.add(pe)
        merged = _merge(lobs.get(pe, MISSING), robs[pe], elem, path + (pe,))
        if merged is not MISSING:
            out.append(merged)

    li = ri = 0
    while li < len(lpes) or ri < len(rpes):
        if li < len(lpes) and ri < len(rpes):
            pe = lpes[li]
            if pe == rpes[ri]:
                if pe not in done:
                    emit(pe)
                li, ri = li + 1, ri + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in robs and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(lpes):
            pe = lpes[li]
            if pe not in robs:
                out.append(lhs[li])
                li += 1
                continue
            if pe in done:
                li += 1
                continue
        if ri < len(rpes):
            pe = rpes[ri]
            if pe not in done:
                emit(pe)
            ri += 1
    return out


# -- remove ---------------------------------------------------------------------------------------

def remove_paths(obj: Any, paths: set[Path], ref: TypeRef) -> Any:
    """`obj` without the fields and items at `paths` (each removed with everything below it)."""
    if not paths:
        return obj
    return _remove(obj, ref, (), paths, fp.prefixes(paths))


def _remove(v: Any, ref: TypeRef, path: Path, paths: set[Path], inner: set[Path]) -> Any:
    shape = _shape(v, ref)
    if shape == "dict":
        out = {}
        for k, child in v.items():
            p = path + (fp.field(k),)
            if p in paths:
                continue
            if p in inner:
                cref, _ = child_ref(ref, k)
                child = _remove(child, cref or DEDUCED_REF, p, paths, inner)
            out[k] = child
        return out
    if shape == "list":
        elem = element_ref(ref)
        out_list = []
        for pe, item in _items(v, ref, False, path):
            p = path + (pe,)
            if p in paths:
                continue
            if p in inner:
                item = _remove(item, elem, p, paths, inner)
            out_list.append(item)
        return out_list
    return v


def ensure_named_fields(paths: set[Path], ref: TypeRef) -> set[Path]:
    """The set plus every declared struct field that has members below it (not map keys)."""
    out = set(paths)
    for p in fp.prefixes(paths):
        if p in out or p[-1][0] != "f":
            continue
        parent = resolve(ref, p[:-1])
        if parent is not None and parent.kind == STRUCT and child_ref(parent, p[-1][1])[1]:
            out.add(p)
    return out


def resolve(ref: TypeRef, path: Path) -> TypeRef | None:
    """The type at `path` below `ref` (None when the path leaves the schema)."""
    for kind, payload in path:
        if kind == "f":
            nxt, _ = child_ref(ref, payload)
            if nxt is None:
                return None
            ref = nxt
        else:
            ref = element_ref(ref)
    return ref
