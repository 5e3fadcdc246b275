"""Informers: local, watch-fed caches of API objects, shared by every controller in a process.

Pieces: `Reflector` (list then watch, into a sink), `Indexer` (the keyed cache with indexes),
`SharedInformer` (reflector + cache + handlers), `InformerFactory` (one informer per resource
and selection), `Lister` (reads from a cache).

The contract a handler and a controller can rely on, and what they cannot:

- **Eventually consistent.** When the connection to the API server works, the cache catches up
  with the server; it can lag behind it, and it can skip states. Two quick updates may arrive as
  one; an object created and deleted while the watch was down may never be seen at all. Decide
  from the latest state, never from the sequence of notifications (level-triggered).
- **In order per object.** Notifications about one object arrive in the order its changes
  happened on the server. There is no order across objects.
- **The cache is written first.** When a handler runs, the cache already holds the new state.
- **Relists.** After a relist, an object that is gone is reported to `on_delete` with the last
  state the cache held (there are no tombstone wrappers); an object still there is reported to
  `on_update(old, new)`, even when nothing changed. With a resync period, every cached object is
  re-reported as `on_update(obj, obj)` that often.
- **Handlers must be fast.** They are plain functions run inline on the event loop, one after
  the other, in the informer's task: they must not block and cannot await. The normal handler
  computes a key and adds it to a `WorkQueue`. An exception in a handler is logged and dropped.
- **Objects are shared and read-only.** Handlers and listers get the cached dicts themselves.
  Deep-copy before changing anything; tests turn on the mutation detector to catch offenders.
- **Synced.** `has_synced()` is true once the first complete list is in the cache and has been
  delivered to the handlers. Controllers start their workers after `wait_for_cache_sync()`. A
  handler added later first receives `on_add` for every cached object.

May import: `kubelite.machinery`, `kubelite.api`, `kubelite.client`.
"""

from ...machinery.keys import meta_namespace_key, split_meta_namespace_key
from .factory import InformerFactory
from .lister import Lister
from .reflector import Reflector
from .shared_informer import HandlerRegistration, SharedInformer
from .store import (
    NAMESPACE_INDEX,
    NODE_NAME_INDEX,
    CacheMutationError,
    Indexer,
    Store,
    index_by_namespace,
    index_by_node_name,
)

__all__ = [
    "CacheMutationError", "HandlerRegistration", "Indexer", "InformerFactory", "Lister", "NAMESPACE_INDEX",
    "NODE_NAME_INDEX", "Reflector", "SharedInformer", "Store", "index_by_namespace", "index_by_node_name",
    "meta_namespace_key", "split_meta_namespace_key",
]
