"""The pod-template-hash: FNV-32a of the template, safe-encoded (Kubernetes' `ComputeHash`).

The bytes hashed are the template's canonical JSON (sorted keys, empty values dropped) rather
than Go's struct dump, so the values differ from Kubernetes' but are just as stable. With a
collision count the count's little-endian bytes are hashed too, as Kubernetes does, so a
colliding name can be escaped by bumping `status.collisionCount`.
"""

from __future__ import annotations

from typing import Any

import orjson

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193
# Kubernetes' `rand.SafeEncodeString` alphabet: no vowels, no 0/1/3 (no words, no look-alikes).
SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes, h: int = _FNV32_OFFSET) -> int:
    for b in data:
        h ^= b
        h = (h * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode_string(s: str) -> str:
    return "".join(SAFE_ALPHANUMS[ord(c) % len(SAFE_ALPHANUMS)] for c in s)


def canonical(obj: Any) -> Any:
    """Drop None and empty maps/lists, recursively (semantic equality treats them as absent)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = canonical(v)
            if v is None or v == {} or v == []:
                continue
            out[k] = v
        return out
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def compute_hash(template: dict, collision_count: int | None = None) -> str:
    h = fnv32a(orjson.dumps(canonical(template), option=orjson.OPT_SORT_KEYS))
    if collision_count is not None:
        h = fnv32a((int(collision_count) & 0xFFFFFFFF).to_bytes(4, "little") + b"\x00" * 4, h)
    return safe_encode_string(str(h))
