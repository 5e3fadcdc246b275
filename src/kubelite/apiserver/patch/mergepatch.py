"""JSON merge patch (RFC 7386, `application/merge-patch+json`), as Kubernetes applies it.

Objects merge recursively; `null` deletes a member; anything else (arrays included) replaces.
Nulls inside a replacing value are pruned from its objects, also from objects nested in arrays,
as the library Kubernetes uses does. A patch that is not an object is 400 "Invalid JSON Patch".
This is the patch type for custom resources, which have no strategic merge metadata.
"""

from __future__ import annotations

import copy
from typing import Any

from kubelite.machinery.errors import new_bad_request

INVALID_PATCH_MESSAGE = "Invalid JSON Patch"


def _prune_nulls(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _prune_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_prune_nulls(x) for x in v]
    return v


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            target[k] = _merge(target[k], v)
        else:
            target[k] = _prune_nulls(v)
    return target


def apply_merge_patch(obj: dict[str, Any], patch: Any) -> dict[str, Any]:
    """`patch` merged into a copy of `obj`."""
    if not isinstance(patch, dict):
        raise new_bad_request(INVALID_PATCH_MESSAGE)
    return _merge(copy.deepcopy(obj), copy.deepcopy(patch))
