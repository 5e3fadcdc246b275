"""`Lister`: read-only queries over an informer's cache (client-go's generated listers, generic).

`get` raises the same `StatusError` NotFound a server would (client-go names the resource by its
singular form here: `pod "x" not found`). Returned objects are the cached ones: do not mutate.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...api.scheme import Resource
from ...machinery import labels
from ...machinery.errors import new_not_found
from .store import NAMESPACE_INDEX, Indexer


def _label_selector(selector: Any) -> labels.Selector | None:
    if selector is None or selector == "":
        return None
    if isinstance(selector, labels.Selector):
        return selector
    if isinstance(selector, Mapping):
        return labels.parse(",".join(f"{k}={v}" for k, v in selector.items()))
    return labels.parse(str(selector))


class Lister:
    def __init__(self, indexer: Indexer, resource: Resource) -> None:
        self.indexer = indexer
        self.resource = resource

    def list(self, namespace: str | None = None, selector: Any = None) -> list[dict]:
        """Cached objects, in one namespace (or all), matching a label selector."""
        if namespace and self.resource.namespaced:
            if self.indexer.has_index(NAMESPACE_INDEX):
                objs = self.indexer.by_index(NAMESPACE_INDEX, namespace)
            else:
                objs = [o for o in self.indexer.list() if (o.get("metadata") or {}).get("namespace") == namespace]
        else:
            objs = self.indexer.list()
        sel = _label_selector(selector)
        if sel is None or sel.empty():
            return objs
        return [o for o in objs if sel.matches((o.get("metadata") or {}).get("labels"))]

    def get(self, name: str, namespace: str | None = None) -> dict:
        obj = self.find(name, namespace)
        if obj is None:
            raise new_not_found(self.resource.group, self.resource.singular or self.resource.plural, name)
        return obj

    def find(self, name: str, namespace: str | None = None) -> dict | None:
        """`get`, with None for an object the cache does not hold."""
        key = f"{namespace}/{name}" if self.resource.namespaced and namespace else name
        return self.indexer.get_by_key(key)
