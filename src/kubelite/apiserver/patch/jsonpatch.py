"""JSON patch (RFC 6902, `application/json-patch+json`), with Kubernetes' error replies.

Operations: add, remove, replace, move, copy, test; `-` appends to an array; `~1` and `~0`
unescape to `/` and `~`. Like the library Kubernetes uses, `add` and `replace` without a value
write null, negative array indices count from the end, and `test` of a missing member against
null passes.

Errors, as the real server answers them:

- a body that is not a list of objects: 400 BadRequest with the decoder's message;
- more than 10000 operations: 413 RequestEntityTooLarge;
- any operation that does not apply (a failed `test`, a missing path, an unknown op): 422
  Invalid with the generic message "the server rejected our request due to an error in our
  request" and empty details (the precise reason is chained as the exception's cause).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kubelite.machinery.errors import (StatusError, StatusReason, invalid, new_bad_request, new_invalid,
                                       new_request_entity_too_large)

from .typed import equal

MAX_OPERATIONS = 10000
REJECTED_MESSAGE = "the server rejected our request due to an error in our request"


class PatchFailed(ValueError):
    """An operation that does not apply; the message is the library's wording."""


def new_patch_rejected(reason: Exception | None = None) -> StatusError:
    """422 Invalid as Kubernetes reports a JSON patch that does not apply."""
    e = StatusError(422, StatusReason.INVALID, REJECTED_MESSAGE, {})
    e.__cause__ = reason
    return e


def _go_type(v: Any) -> str:
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    return "number"


def decode_patch(ops: Any) -> list[dict[str, Any]]:
    """Check the body's shape: a list of objects (400 BadRequest otherwise)."""
    if not isinstance(ops, list):
        got = "null" if ops is None else _go_type(ops)
        raise new_bad_request(f"json: cannot unmarshal {got} into Go value of type jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            raise new_bad_request(f"json: cannot unmarshal {_go_type(op)} into Go value of type jsonpatch.Operation")
    if len(ops) > MAX_OPERATIONS:
        raise new_request_entity_too_large(
            f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {len(ops)}")
    return ops


def _split(pointer: Any) -> list[str]:
    if not isinstance(pointer, str):
        raise PatchFailed("operation missing path field")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchFailed(f"Invalid JSON Pointer: {pointer}")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _index(token: str, length: int, for_add: bool) -> int:
    if token == "-" and for_add:
        return length
    try:
        i = int(token)
    except ValueError:
        raise PatchFailed(f"Unable to access invalid index: {token}: invalid index referenced") from None
    limit = length if for_add else length - 1
    if i < 0:
        if i < -length:
            raise PatchFailed(f"Unable to access invalid index: {i}: invalid index referenced")
        i += length
    if i > limit:
        raise PatchFailed(f"Unable to access invalid index: {i}: invalid index referenced")
    return i


def _parent(doc: Any, parts: list[str], op: str, pointer: str) -> Any:
    node = doc
    for token in parts[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            try:
                node = node[_index(token, len(node), False)]
            except PatchFailed:
                raise PatchFailed(f'{op} operation does not apply: doc is missing path: "{pointer}": missing value') \
                    from None
        else:
            raise PatchFailed(f'{op} operation does not apply: doc is missing path: "{pointer}": missing value')
    if not isinstance(node, (dict, list)):
        raise PatchFailed(f'{op} operation does not apply: doc is missing path: "{pointer}": missing value')
    return node


def _get(doc: Any, pointer: str, op: str) -> Any:
    parts = _split(pointer)
    if not parts:
        return doc
    parent = _parent(doc, parts, op, pointer)
    token = parts[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchFailed(f"{op} operation does not apply: doc is missing from path: {pointer}: missing value")
        return parent[token]
    return parent[_index(token, len(parent), False)]


def _add(doc: Any, pointer: Any, value: Any) -> Any:
    parts = _split(pointer)
    if not parts:
        return value
    parent = _parent(doc, parts, "add", pointer)
    token = parts[-1]
    if isinstance(parent, dict):
        parent[token] = value
    else:
        parent.insert(_index(token, len(parent), True), value)
    return doc


def _remove(doc: Any, pointer: Any) -> tuple[Any, Any]:
    parts = _split(pointer)
    if not parts:
        raise PatchFailed("remove operation does not apply: cannot remove the whole document")
    parent = _parent(doc, parts, "remove", pointer)
    token = parts[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchFailed(f"Unable to remove nonexistent key: {token}: missing value")
        return doc, parent.pop(token)
    return doc, parent.pop(_index(token, len(parent), False))


def _replace(doc: Any, pointer: Any, value: Any) -> Any:
    parts = _split(pointer)
    if not parts:
        return value
    parent = _parent(doc, parts, "replace", pointer)
    token = parts[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchFailed(f"replace operation does not apply: doc is missing key: {pointer}: missing value")
        parent[token] = value
    else:
        parent[_index(token, len(parent), False)] = value
    return doc


def _test(doc: Any, pointer: Any, value: Any) -> None:
    parts = _split(pointer)
    if parts:
        parent = _parent(doc, parts, "test", pointer)
        token = parts[-1]
        if isinstance(parent, dict):
            actual = parent.get(token)
        else:
            actual = parent[_index(token, len(parent), False)]
    else:
        actual = doc
    if actual is None and value is None:
        return
    if actual is None or value is None or not equal(actual, value):
        raise PatchFailed(f"testing value {pointer} failed: test failed")


def _apply_op(doc: Any, op: dict[str, Any]) -> Any:
    kind = op.get("op")
    if not isinstance(kind, str):
        kind = "unknown"
    path = op.get("path")
    if kind in ("add", "remove", "replace", "move", "copy", "test") and not isinstance(path, str):
        raise PatchFailed("operation missing path field")
    if kind == "add":
        return _add(doc, path, copy.deepcopy(op.get("value")))
    if kind == "remove":
        return _remove(doc, path)[0]
    if kind == "replace":
        return _replace(doc, path, copy.deepcopy(op.get("value")))
    if kind == "move":
        source = op.get("from")
        if not isinstance(source, str):
            raise PatchFailed("move operation missing from field")
        _get(doc, source, "move")
        doc, moved = _remove(doc, source)
        return _add(doc, path, moved)
    if kind == "copy":
        source = op.get("from")
        if not isinstance(source, str):
            raise PatchFailed("copy operation missing from field")
        return _add(doc, path, copy.deepcopy(_get(doc, source, "copy")))
    if kind == "test":
        _test(doc, path, op.get("value"))
        return doc
    raise PatchFailed(f"Unexpected kind: {kind}")


def apply_json_patch(obj: dict[str, Any], ops: Any) -> dict[str, Any]:
    """Apply the operations in order to a copy of `obj`; the result must still be an object."""
    decode_patch(ops)
    doc: Any = copy.deepcopy(obj)
    try:
        for op in ops:
            doc = _apply_op(doc, op)
    except PatchFailed as exc:
        raise new_patch_rejected(exc) from exc
    if not isinstance(doc, dict):
        detail = f"json: cannot unmarshal {_go_type(doc)} into Go value of type map[string]interface {{}}"
        raise new_invalid("", "", "", [invalid("patch", json.dumps(doc, separators=(",", ":")), detail)])
    return doc
