"""The informer cache: a keyed store of objects with secondary indexes (client-go's `Indexer`).

Keys are `meta_namespace_key(obj)` (`kubelite.machinery.keys`): `"namespace/name"`, or
`"name"` for cluster-scoped objects. Index functions map an object to the index values it is filed under
(`index_by_namespace`, `index_by_node_name`, or any `Callable[[dict], list[str]]`).

Everything is synchronous and single-threaded (one event loop), so no locks. Objects handed
out are the cached ones: callers must deep-copy before changing them. With
`detect_mutations=True` (or `KUBELITE_CACHE_MUTATION_DETECTOR=true` in the environment, like
client-go's `KUBE_CACHE_MUTATION_DETECTOR`), the store keeps a serialized copy of every object
and raises `CacheMutationError` when a cached object has been changed in place: on every write
that replaces it, and on `check_mutations()`.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable

import orjson

from ...machinery.keys import meta_namespace_key

IndexFunc = Callable[[dict], list[str]]

NAMESPACE_INDEX = "namespace"
NODE_NAME_INDEX = "nodeName"


class CacheMutationError(RuntimeError):
    """A cached object was modified in place (deep-copy before mutating)."""


def index_by_namespace(obj: dict) -> list[str]:
    return [(obj.get("metadata") or {}).get("namespace", "")]


def index_by_node_name(obj: dict) -> list[str]:
    node = (obj.get("spec") or {}).get("nodeName")
    return [node] if node else []


def _detect_default() -> bool:
    return os.environ.get("KUBELITE_CACHE_MUTATION_DETECTOR", "").lower() in ("1", "true")


class Indexer:
    def __init__(self, indexers: dict[str, IndexFunc] | None = None, *,
                 detect_mutations: bool | None = None) -> None:
        self._items: dict[str, dict] = {}
        self._indexers: dict[str, IndexFunc] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}
        self._detect = _detect_default() if detect_mutations is None else detect_mutations
        self._copies: dict[str, bytes] = {}
        self.add_indexers(indexers or {})

    # ----- writes

    def add(self, obj: dict) -> None:
        self._put(meta_namespace_key(obj), obj)

    update = add

    def delete(self, obj: dict) -> None:
        self.delete_key(meta_namespace_key(obj))

    def delete_key(self, key: str) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._check(key, old)
            self._copies.pop(key, None)
            self._unindex(key, old)

    def replace(self, objs: Iterable[dict]) -> None:
        for key, old in self._items.items():
            self._check(key, old)
        self._items, self._copies = {}, {}
        self._indices = {name: {} for name in self._indexers}
        for obj in objs:
            self._put(meta_namespace_key(obj), obj)

    def add_indexers(self, indexers: dict[str, IndexFunc]) -> None:
        for name, fn in indexers.items():
            if name in self._indexers:
                if self._indexers[name] is fn:
                    continue
                raise ValueError(f"indexer conflict: {name}")
            self._indexers[name] = fn
            self._indices[name] = {}
            for key, obj in self._items.items():
                for v in fn(obj):
                    self._indices[name].setdefault(v, set()).add(key)

    def _put(self, key: str, obj: dict) -> None:
        old = self._items.get(key)
        if old is not None:
            self._check(key, old)
            self._unindex(key, old)
        self._items[key] = obj
        if self._detect:
            self._copies[key] = orjson.dumps(obj)
        for name, fn in self._indexers.items():
            for v in fn(obj):
                self._indices[name].setdefault(v, set()).add(key)

    def _unindex(self, key: str, obj: dict) -> None:
        for name, fn in self._indexers.items():
            index = self._indices[name]
            for v in fn(obj):
                keys = index.get(v)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[v]

    # ----- reads

    def get(self, obj: dict) -> dict | None:
        return self._items.get(meta_namespace_key(obj))

    def get_by_key(self, key: str) -> dict | None:
        return self._items.get(key)

    def list(self) -> list[dict]:
        return list(self._items.values())

    def list_keys(self) -> list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def index_keys(self, index_name: str, value: str) -> list[str]:
        if index_name not in self._indices:
            raise KeyError(f"Index with name {index_name} does not exist")
        return sorted(self._indices[index_name].get(value, ()))

    def by_index(self, index_name: str, value: str) -> list[dict]:
        return [self._items[k] for k in self.index_keys(index_name, value)]

    def list_index_values(self, index_name: str) -> list[str]:
        return sorted(self._indices.get(index_name, {}))

    def has_index(self, index_name: str) -> bool:
        return index_name in self._indexers

    # ----- debugging

    def check_mutations(self) -> None:
        for key, obj in self._items.items():
            self._check(key, obj)

    def _check(self, key: str, obj: dict) -> None:
        if self._detect and key in self._copies and orjson.dumps(obj) != self._copies[key]:
            raise CacheMutationError(f"cache {key} modified: an informer's object was changed in place")


Store = Indexer
