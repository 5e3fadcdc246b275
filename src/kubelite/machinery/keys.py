"""Object keys: `"namespace/name"` for namespaced objects, `"name"` for cluster-scoped ones
(client-go's `MetaNamespaceKeyFunc` and `SplitMetaNamespaceKey`), used by caches and work
queues."""

from __future__ import annotations


def meta_namespace_key(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace"), meta.get("name", "")
    return f"{ns}/{name}" if ns else name


def split_meta_namespace_key(key: str) -> tuple[str, str]:
    """`"ns/name"` -> `("ns", "name")`; `"name"` -> `("", "name")`."""
    parts = key.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise ValueError(f'unexpected key format: "{key}"')
