"""The `Backend` protocol: keys, bytes and integer revisions only.

Semantics every implementation honours (checked by `testsuite`):

- Every successful write (create, update, delete) gets the next revision; revisions only grow.
- `update` and `delete` are compare-and-swap on the key's current `mod_revision`
  (`expected_revision=0` on delete means unconditional) and return `ok=False` with the current
  value instead of raising when the comparison fails.
- `get`/`list` at `revision=0` read the latest state; at `revision=N` they read the state as of N
  (raising `Compacted` if N is older than the compacted revision).
- `watch(prefix, start_revision=N)` yields batches of events with revision >= N, in revision
  order, first the history then live changes, until the caller stops iterating. A start revision
  at or below the compacted revision raises `Compacted`.
- An acknowledged write is durable (for persistent backends) before the call returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Protocol


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    lease: int = 0


@dataclass(frozen=True, slots=True)
class Event:
    """One change. For a delete, `kv` holds the last value and `mod_revision` = the delete's revision."""

    type: str  # "PUT" or "DELETE"
    kv: KeyValue
    prev_kv: KeyValue | None = None

    @property
    def created(self) -> bool:
        return self.type == "PUT" and self.kv.create_revision == self.kv.mod_revision

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


class Backend(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def create(self, key: str, value: bytes, *, lease: int = 0) -> int:
        """Create `key`; return the new revision. Raises `KeyExists`."""

    async def get(self, key: str, *, revision: int = 0) -> tuple[int, KeyValue | None]: ...

    async def list(self, prefix: str, *, start_key: str = "", limit: int = 0,
                   revision: int = 0) -> tuple[int, list[KeyValue]]:
        """Keys under `prefix` from `start_key` (inclusive), sorted, at most `limit` (0 = all)."""

    async def count(self, prefix: str) -> tuple[int, int]: ...

    async def update(self, key: str, value: bytes, *, expected_revision: int,
                     lease: int = 0) -> tuple[int, KeyValue | None, bool]: ...

    async def delete(self, key: str, *, expected_revision: int = 0) -> tuple[int, KeyValue | None, bool]: ...

    def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[list[Event]]: ...

    async def current_revision(self) -> int: ...

    async def compact(self, revision: int) -> None: ...
