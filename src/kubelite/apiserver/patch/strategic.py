"""Strategic merge patch (`application/strategic-merge-patch+json`), as apimachinery applies it.

The patch metadata comes from the schema (`Field.patch_strategy`, `Field.merge_key`):

- maps merge recursively; `null` deletes a key; scalars and lists without `merge` are replaced;
- lists with strategy `merge` and a merge key merge item by item (`containers` by `name`);
  lists of scalars with `merge` are a set union (`finalizers`);
- directives: `$patch: replace|delete` in a map, `{"$patch": "replace"}` and
  `{"$patch": "delete", <key>: v}` items in a merge list, `$deleteFromPrimitiveList/<list>`,
  `$setElementOrder/<list>` (the final order: patch order, then live order), and `$retainKeys`
  (only those keys survive in that map; kubectl sends it for fields with strategy `retainKeys`,
  such as DeploymentSpec.strategy and volume sources). `$patch: merge` is an error, as there.
- no directive survives into the result.

Custom resources have no patch metadata: `supports_strategic` says so and callers answer 415
or use a JSON merge patch. Errors carry Kubernetes' messages and codes: malformed directives are
400, lists of lists 422, and other failures the 500 the real server answers with.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from kubelite.api import schema as api_schema
from kubelite.machinery.errors import StatusError, StatusReason, new_bad_request

from .jsonpatch import new_patch_rejected

DIRECTIVE = "$patch"
REPLACE, DELETE, MERGE = "replace", "delete", "merge"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"

# apimachinery's mergepatch sentinel errors.
ERR_BAD_JSON_DOC = "invalid JSON document"
ERR_NO_LIST_OF_LISTS = "lists of lists are not supported"
ERR_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
ERR_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
ERR_BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"
ERR_NOT_MATCH_RETAIN_KEYS = "patch content doesn't match retainKeys list"
ERR_UNSUPPORTED = "strategic merge patch format is not supported"
_BAD_REQUEST = {ERR_BAD_JSON_DOC, ERR_BAD_PRIMITIVE_LIST, ERR_BAD_RETAIN_KEYS, ERR_BAD_SET_ELEMENT_ORDER,
                ERR_UNSUPPORTED}
_INVALID = {ERR_NO_LIST_OF_LISTS, ERR_NOT_MATCH_RETAIN_KEYS}


class PatchError(ValueError):
    """A patch that cannot be applied, with apimachinery's message."""


@dataclass(frozen=True)
class Schema:
    """Where a map sits: a struct (a message) or a `map[string]T` whose values are of type `name`."""

    kind: str
    name: str


def _schema_of_type(type_name: str) -> Schema | None:
    return Schema("struct", type_name) if type_name in api_schema.MESSAGES else None


def _lookup(schema: Schema | None, key: str) -> tuple[Schema | None, str, str]:
    """(schema below `key`, patch strategy without retainKeys, merge key); lenient on unknowns."""
    if schema is None:
        return None, "", ""
    if schema.kind == "map":
        return _schema_of_type(schema.name), "", ""
    m = api_schema.MESSAGES.get(schema.name)
    f = m.by_name.get(key) if m else None
    if f is None:
        return None, "", ""
    strategies = [s for s in f.patch_strategy.split(",") if s and s != "retainKeys"]
    if len(strategies) > 1:
        raise PatchError(f"unexpected patch strategy: [{' '.join(f.patch_strategy.split(','))}]")
    sub = Schema("map", f.type) if f.map else _schema_of_type(f.type)
    return sub, (strategies[0] if strategies else ""), f.merge_key


def supports_strategic(message_name: str) -> bool:
    """Whether the type has patch metadata (built-in kinds); custom resources do not."""
    return message_name in api_schema.MESSAGES


# -- Go's view of JSON values, for messages and equality ---------------------------------------------

def _go_fmt(v: Any) -> str:
    """A value as Go's %v prints a decoded JSON value."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_fmt(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go_fmt(x) for x in v) + "]"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return str(v)


def _go_type(v: Any) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    return "int64" if isinstance(v, int) else "float64"


def _go_eq(a: Any, b: Any) -> bool:
    """Go's == on decoded JSON scalars: same dynamic type and value (maps and lists never match)."""
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return _go_type(a) == _go_type(b) and a == b


def _bad_arg_type(expected: str, actual: Any) -> PatchError:
    return PatchError(f"expected a {expected}, but received a {_go_type(actual)}")


def _no_merge_key(m: dict, key: str) -> PatchError:
    return PatchError(f"map: {_go_fmt(m)} does not contain declared merge key: {key}")


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise PatchError(ERR_BAD_PRIMITIVE_LIST if prefix == DELETE_FROM_PRIMITIVE_LIST else ERR_BAD_SET_ELEMENT_ORDER)
    return rest


# -- maps -----------------------------------------------------------------------------------------

def _merge_map(original: dict | None, patch: dict, schema: Schema | None) -> dict:
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == REPLACE:
            return {k: v for k, v in patch.items() if k != DIRECTIVE}
        if directive == DELETE:
            return {}
        raise PatchError(f"unknown patch type: {_go_fmt(directive)} in map: {_go_fmt(patch)}")
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)
    keys = [k for k in patch if not k.startswith(DELETE_FROM_PRIMITIVE_LIST)]
    keys += [k for k in patch if k.startswith(DELETE_FROM_PRIMITIVE_LIST)]
    for k in keys:
        patch_v = patch[k]
        is_delete_list = k.startswith(DELETE_FROM_PRIMITIVE_LIST)
        if is_delete_list:
            k = _extract_key(k, DELETE_FROM_PRIMITIVE_LIST)
        if patch_v is None:
            original.pop(k, None)
            continue
        if k not in original or _kind(original[k]) != _kind(patch_v):
            if not is_delete_list:
                _discard_nulls(patch_v)
                value, keep = _remove_directives(patch_v)
                if keep:
                    original[k] = value
                else:
                    original.pop(k, None)
            continue
        if isinstance(patch_v, dict):
            sub, strategy, _ = _lookup(schema, k)
            original[k] = patch_v if strategy == REPLACE else _merge_map(original[k], patch_v, sub)
        elif isinstance(patch_v, list):
            sub, strategy, merge_key = _lookup(schema, k)
            if strategy == MERGE:
                original[k] = _merge_slice(original[k], patch_v, sub, merge_key, is_delete_list, k)
            else:
                original[k] = patch_v
        else:
            original[k] = patch_v
    return original


def _kind(v: Any) -> str:
    return "map" if isinstance(v, dict) else "slice" if isinstance(v, list) else _go_type(v)


def _apply_retain_keys(original: dict, patch: dict) -> None:
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list) or any(isinstance(x, (dict, list)) for x in retain):
        raise PatchError(ERR_BAD_RETAIN_KEYS)
    allowed = [x for x in retain if isinstance(x, str)]
    for k, v in patch.items():
        if v is None or k.startswith(DELETE_FROM_PRIMITIVE_LIST) or k.startswith(SET_ELEMENT_ORDER):
            continue
        if k not in allowed:
            raise PatchError(ERR_BAD_RETAIN_KEYS)
    for k in list(original):
        if k not in allowed:
            del original[k]


def _discard_nulls(v: Any) -> None:
    if isinstance(v, dict):
        for k in [k for k, x in v.items() if x is None]:
            del v[k]
        for x in v.values():
            _discard_nulls(x)
    elif isinstance(v, list):
        for x in v:
            _discard_nulls(x)


def _remove_directives(v: Any) -> tuple[Any, bool]:
    if isinstance(v, dict):
        if DIRECTIVE in v:
            return None, False
        out = {}
        for k, x in v.items():
            value, keep = _remove_directives(x)
            if keep:
                out[k] = value
        return out, True
    if isinstance(v, list):
        return [value for value, keep in map(_remove_directives, v) if keep], True
    return v, True


def _strip_directives(v: Any) -> Any:
    """The result without any directive key (Kubernetes' typed decoding drops them)."""
    if isinstance(v, dict):
        return {k: _strip_directives(x) for k, x in v.items()
                if not (k in (DIRECTIVE, RETAIN_KEYS) or k.startswith(SET_ELEMENT_ORDER + "/")
                        or k.startswith(DELETE_FROM_PRIMITIVE_LIST + "/"))}
    if isinstance(v, list):
        return [_strip_directives(x) for x in v]
    return v


# -- $setElementOrder -------------------------------------------------------------------------------

def _merge_ordered_lists(original: dict, patch: dict, schema: Schema | None) -> None:
    """Merge each list named by a `$setElementOrder/<list>` and put it in the order asked for."""
    for key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _bad_arg_type("[]interface {}", order)
        list_key = _extract_key(key, SET_ELEMENT_ORDER)
        found_original, found_patch = list_key in original, list_key in patch
        original_list, patch_list = original.get(list_key), patch.get(list_key)
        if found_original and not isinstance(original_list, list):
            raise _bad_arg_type("[]interface {}", original_list)
        if found_patch and not isinstance(patch_list, list):
            raise _bad_arg_type("[]interface {}", patch_list)
        original_list = original_list if found_original else []
        patch_list = patch_list if found_patch else []
        sub, strategy, merge_key = _lookup(schema, list_key)
        _validate_order(patch_list, order, merge_key)
        if found_original and not found_patch:
            merged = original_list
        elif found_patch and not found_original:
            merged = _remove_directives(patch_list)[0]
        elif found_original and found_patch:
            merged = (_merge_slice(original_list, patch_list, sub, merge_key, False, list_key)
                      if strategy == MERGE else patch_list)
        else:
            continue
        if merge_key:
            patch_items, server_only = _partition_maps(merged, order, merge_key)
        else:
            patch_items, server_only = _partition_primitives(merged, order)
        kind = _element_kind(original_list, patch_list)
        original[list_key] = _normalize_order(patch_items, server_only, order, original_list, merge_key, kind)
        patch.pop(list_key, None)


def _validate_order(patch_list: list, order: list, merge_key: str) -> None:
    if not order or not patch_list:
        return
    items = _without_deletions(patch_list) if merge_key else patch_list
    pi = oi = 0
    while pi < len(items) and oi < len(order):
        if isinstance(items[pi], dict) and DIRECTIVE in items[pi]:
            pi += 1
            continue
        if _merge_key_equal(items[pi], order[oi], merge_key):
            pi += 1
        oi += 1
    if pi < len(items) and oi >= len(order):
        raise PatchError(f"the order in patch list:\n{_go_fmt(patch_list)}\n doesn't match "
                         f"{SET_ELEMENT_ORDER} list:\n{_go_fmt(order)}")


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _go_eq(left, right)
    for side in (left, right):
        if not isinstance(side, dict):
            raise _bad_arg_type("map[string]interface {}", side)
        if merge_key not in side:
            raise _no_merge_key(side, merge_key)
    return _go_eq(left[merge_key], right[merge_key])


def _without_deletions(items: list) -> list:
    out = []
    for v in items:
        if not isinstance(v, dict):
            raise _bad_arg_type("map[string]interface {}", v)
        if v.get(DIRECTIVE) != DELETE:
            out.append(v)
    return out


def _partition_primitives(merged: list, order: list) -> tuple[list, list]:
    in_order = [x for x in merged if any(_go_eq(x, o) for o in order)]
    return in_order, [x for x in merged if not any(_go_eq(x, o) for o in order)]


def _partition_maps(merged: list, order: list, merge_key: str) -> tuple[list, list]:
    in_order, server_only = [], []
    for v in merged:
        if not isinstance(v, dict):
            raise _bad_arg_type("map[string]interface {}", v)
        if merge_key not in v:
            raise _no_merge_key(v, merge_key)
        found = _find(order, merge_key, v[merge_key]) >= 0
        (in_order if found else server_only).append(v)
    return in_order, server_only


def _element_kind(*lists: list) -> str:
    """The one JSON type of the lists' items (lists of lists and mixtures are errors)."""
    kind = ""
    for items in lists:
        for v in items:
            k = _go_type(v)
            if not kind:
                kind = k
                if isinstance(v, list):
                    raise PatchError(ERR_NO_LIST_OF_LISTS)
            elif k != kind:
                raise PatchError(f"list element types are not identical: {_go_fmt(list(lists))}")
    if not kind:
        raise PatchError("no elements in any of the given slices")
    return "map" if kind == "map[string]interface {}" else kind


def _index(items: list, item: Any, merge_key: str, kind: str) -> int:
    def val(x: Any) -> Any:
        return x.get(merge_key) if kind == "map" and isinstance(x, dict) else x

    target = val(item)
    for i, x in enumerate(items):
        if _go_eq(target, val(x)):
            return i
    return -1


def _sort_by(items: list, order: list, merge_key: str, kind: str) -> list:
    deletions: list = []
    if kind == "map":
        for v in list(items) + list(order):
            if not isinstance(v, dict):
                raise _bad_arg_type("map[string]interface {}", v)
            if merge_key not in v:
                raise _no_merge_key(v, merge_key)
        deletions = [v for v in items if v.get(DIRECTIVE) == DELETE]
        items = [v for v in items if v.get(DIRECTIVE) != DELETE]

    def position(v: Any) -> tuple[int, int]:
        i = _index(order, v, merge_key, kind)
        return (0, i) if i >= 0 else (1, 0)

    return sorted(items, key=position) + deletions


def _normalize_order(patch_items: list, server_only: list, patch_order: list, server_order: list,
                     merge_key: str, kind: str) -> list:
    """Patch items in patch order and live-only items in live order, interleaved by live order."""
    right = _sort_by(patch_items, patch_order, merge_key, kind)
    left = _sort_by(server_only, server_order, merge_key, kind)
    out: list = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index(server_order, left[i], merge_key, kind)
            ri = _index(server_order, right[j], merge_key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


# -- lists ------------------------------------------------------------------------------------------

def _merge_slice(original: list, patch: list, schema: Schema | None, merge_key: str, is_delete_list: bool,
                 name: str) -> list:
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    if kind != "map":
        if is_delete_list:
            return _delete_from_slice(original, patch)
        merged = _dedupe(original + patch)
    else:
        if not merge_key:
            raise PatchError(f"cannot merge lists without merge key for {name}")
        original, patch = _apply_list_directives(original, patch, merge_key)
        merged = _merge_items(original, patch, merge_key, schema)
    if merge_key:
        patch_items, server_only = _partition_maps(merged, patch, merge_key)
    else:
        patch_items, server_only = _partition_primitives(merged, patch)
    return _normalize_order(patch_items, server_only, patch, original, merge_key, kind)


def _dedupe(items: list) -> list:
    out: list = []
    for x in items:
        if not any(_go_eq(x, y) for y in out):
            out.append(x)
    return out


def _delete_from_slice(current: list, to_delete: list) -> list:
    """Remove values from a primitive list; the result comes back de-duplicated and sorted, as there."""
    cur = sorted(_dedupe(current), key=_go_fmt)
    dele = sorted(_dedupe(to_delete), key=_go_fmt)
    out, ci, di = [], 0, 0
    while ci < len(cur) and di < len(dele):
        a, b = _go_fmt(cur[ci]), _go_fmt(dele[di])
        if a == b:
            ci += 1
        elif a > b:
            di += 1
        else:
            out.append(cur[ci])
            ci += 1
    return out + cur[ci:]


def _apply_list_directives(original: list, patch: list, merge_key: str) -> tuple[list, list]:
    """Handle `$patch` items: delete matching items, or replace the whole list."""
    plain = []
    replace = False
    for v in patch:
        if DIRECTIVE not in v:
            plain.append(v)
            continue
        directive = v[DIRECTIVE]
        if directive == DELETE:
            if merge_key not in v:
                raise PatchError("delete patch type with no merge key defined")
            while (i := _find(original, merge_key, v[merge_key])) >= 0:
                original = original[:i] + original[i + 1:]
        elif directive == REPLACE:
            replace = True
        elif directive == MERGE:
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type: {_go_fmt(directive)} in map: {_go_fmt(v)}")
    if replace:
        return plain, []
    return original, plain


def _find(items: list, key: str, value: Any) -> int:
    for i, v in enumerate(items):
        if not isinstance(v, dict):
            raise PatchError(f"value for key {i} is not a map.")
        if key in v and _go_eq(v[key], value):
            return i
    return -1


def _merge_items(original: list, patch: list, merge_key: str, schema: Schema | None) -> list:
    original = list(original)
    for v in patch:
        if merge_key not in v:
            raise _no_merge_key(v, merge_key)
        i = _find(original, merge_key, v[merge_key])
        if i >= 0:
            original[i] = _merge_map(original[i], v, schema)
        else:
            _discard_nulls(v)
            original.append(v)
    return original


# -- entry point ------------------------------------------------------------------------------------

def _status_error(exc: PatchError) -> StatusError:
    message = str(exc)
    if message in _BAD_REQUEST:
        return new_bad_request(message)
    if message in _INVALID:
        return new_patch_rejected(exc)
    return StatusError(500, StatusReason.UNKNOWN, message)


def apply_strategic_merge_patch(obj: dict[str, Any], patch: Any, message_name: str) -> dict[str, Any]:
    """`patch` applied to a copy of `obj`, whose type is the schema message `message_name`."""
    if patch is None:
        return copy.deepcopy(obj)
    if not isinstance(patch, dict):
        got = "array" if isinstance(patch, list) else "string" if isinstance(patch, str) else \
            "bool" if isinstance(patch, bool) else "number"
        raise new_bad_request(f"json: cannot unmarshal {got} into Go value of type map[string]interface {{}}")
    original = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    try:
        result = _merge_map(original, copy.deepcopy(patch), _schema_of_type(message_name))
    except PatchError as exc:
        raise _status_error(exc) from exc
    except RecursionError as exc:
        raise new_bad_request("strategic merge patch is nested too deeply") from exc
    return _strip_directives(result)
