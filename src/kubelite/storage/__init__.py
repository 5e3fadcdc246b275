"""Revisioned key-value storage behind one narrow `Backend` interface (kine-shaped).

Keys are strings, values bytes, and every write gets the next integer revision. Implementations:
`memory` (tests), `sqlite` (the embedded default), `etcd` (several machines). All pass the one
contract suite in `testsuite`. Nothing above this package touches SQLite or etcd.

May import: `kubelite.machinery` only.
"""

from .errors import Compacted, KeyExists, StorageError
from .interface import Backend, Event, KeyValue

__all__ = ["Backend", "Event", "KeyValue", "StorageError", "KeyExists", "Compacted", "open_backend"]


def open_backend(url: str) -> Backend:
    """Pick a backend by URL scheme: `memory://`, `sqlite:///path/state.db`, `etcd://h1:2379,h2:2379`."""
    scheme, _, rest = url.partition("://")
    if scheme == "memory":
        from .memory import MemoryBackend

        return MemoryBackend()
    if scheme == "sqlite":
        from .sqlite import SQLiteBackend

        return SQLiteBackend(rest)
    if scheme in ("etcd", "etcds", "http", "https"):
        from .etcd import EtcdBackend  # type: ignore[import-not-found]

        return EtcdBackend(url)
    raise ValueError(f"unknown datastore URL scheme {scheme!r} (use memory://, sqlite:///path or etcd://host:port)")
