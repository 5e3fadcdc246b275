"""In-memory Backend for unit tests: the same semantics as SQLite, nothing persisted."""

from __future__ import annotations

import bisect
from typing import AsyncIterator

from .errors import Compacted, KeyExists
from .interface import Event, KeyValue
from .watchhub import WatchHub


class MemoryBackend:
    def __init__(self) -> None:
        self._data: dict[str, KeyValue] = {}
        self._keys: list[str] = []
        self._log: list[Event] = []   # every event, oldest first
        self._rev = 0
        self._compacted = 0
        self._base: dict[str, KeyValue] = {}  # state as of the compacted revision
        self._hub = WatchHub()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._hub.close()

    def _commit(self, ev: Event) -> None:
        self._log.append(ev)
        self._hub.publish([ev])

    async def create(self, key: str, value: bytes, *, lease: int = 0) -> int:
        if key in self._data:
            raise KeyExists(key)
        self._rev += 1
        kv = KeyValue(key, bytes(value), self._rev, self._rev, lease)
        self._data[key] = kv
        bisect.insort(self._keys, key)
        self._commit(Event("PUT", kv, None))
        return self._rev

    def _check_rev(self, revision: int) -> None:
        if revision and revision < self._compacted:
            raise Compacted(revision, self._compacted)

    def _state_at(self, revision: int) -> dict[str, KeyValue]:
        state: dict[str, KeyValue] = dict(self._base)
        for ev in self._log:
            if ev.revision > revision:
                break
            if ev.type == "PUT":
                state[ev.kv.key] = ev.kv
            else:
                state.pop(ev.kv.key, None)
        return state

    async def get(self, key: str, *, revision: int = 0) -> tuple[int, KeyValue | None]:
        if revision and revision < self._rev:
            self._check_rev(revision)
            return self._rev, self._state_at(revision).get(key)
        return self._rev, self._data.get(key)

    async def list(self, prefix: str, *, start_key: str = "", limit: int = 0,
                   revision: int = 0) -> tuple[int, list[KeyValue]]:
        start = max(prefix, start_key)
        if revision and revision < self._rev:
            self._check_rev(revision)
            state = self._state_at(revision)
            keys = sorted(k for k in state if k.startswith(prefix) and k >= start)
            out = [state[k] for k in keys]
        else:
            i = bisect.bisect_left(self._keys, start)
            out = []
            while i < len(self._keys) and self._keys[i].startswith(prefix):
                out.append(self._data[self._keys[i]])
                i += 1
                if limit and len(out) >= limit:
                    break
        if limit:
            out = out[:limit]
        return self._rev, out

    async def count(self, prefix: str) -> tuple[int, int]:
        return self._rev, sum(1 for k in self._keys if k.startswith(prefix))

    async def update(self, key: str, value: bytes, *, expected_revision: int,
                     lease: int = 0) -> tuple[int, KeyValue | None, bool]:
        cur = self._data.get(key)
        if cur is None or cur.mod_revision != expected_revision:
            return self._rev, cur, False
        self._rev += 1
        kv = KeyValue(key, bytes(value), cur.create_revision, self._rev, lease)
        self._data[key] = kv
        self._commit(Event("PUT", kv, cur))
        return self._rev, kv, True

    async def delete(self, key: str, *, expected_revision: int = 0) -> tuple[int, KeyValue | None, bool]:
        cur = self._data.get(key)
        if cur is None:
            return self._rev, None, False
        if expected_revision and cur.mod_revision != expected_revision:
            return self._rev, cur, False
        self._rev += 1
        del self._data[key]
        self._keys.pop(bisect.bisect_left(self._keys, key))
        tomb = KeyValue(key, cur.value, cur.create_revision, self._rev, cur.lease)
        self._commit(Event("DELETE", tomb, cur))
        return self._rev, cur, True

    async def _history(self, prefix: str, start: int, upto: int) -> list[Event]:
        i = bisect.bisect_left([e.revision for e in self._log], start)
        return [e for e in self._log[i:] if e.revision <= upto and e.kv.key.startswith(prefix)]

    async def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[list[Event]]:
        if start_revision and start_revision <= self._compacted:
            raise Compacted(start_revision, self._compacted)
        async for batch in self._hub.watch(prefix, max(start_revision, 1), self._history):
            yield batch

    async def current_revision(self) -> int:
        return self._rev

    async def compact(self, revision: int) -> None:
        revision = min(revision, self._rev)
        if revision <= self._compacted:
            return
        self._base = self._state_at(revision)
        self._compacted = revision
        self._log = [e for e in self._log if e.revision > revision]
