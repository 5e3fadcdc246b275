"""The service's durable state: tables of JSON documents in a `kubelite.storage` Backend
(SQLite in `<data-dir>/cloud.db`, memory in tests), mirrored in memory.

One process owns the state, so reads come from the mirror (plain dicts, no `await`: decision
code stays pure) and writes go through to the backend before they return (an acknowledged
write survives a crash). Keys are `/cloud/<table>/<key>`.

    state = State(open_backend("sqlite:///var/lib/kubelite/cloud/cloud.db"))
    await state.load()
    await state.put("eks-clusters", key, cluster)
    state.get("eks-clusters", key)
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any, Iterator

import orjson

from kubelite.storage import Backend, KeyExists

PREFIX = "/cloud/"


class State:
    def __init__(self, backend: Backend):
        self.backend = backend
        self._tables: dict[str, dict[str, dict]] = {}
        self._revisions: dict[tuple[str, str], int] = {}
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        await self.backend.start()
        _, kvs = await self.backend.list(PREFIX)
        for kv in kvs:
            table, _, key = kv.key[len(PREFIX):].partition("/")
            self._tables.setdefault(table, {})[key] = orjson.loads(kv.value)
            self._revisions[(table, key)] = kv.mod_revision

    async def close(self) -> None:
        await self.backend.close()

    # -- reads (from the mirror; callers get copies, so a caller's edits are never half-saved) -------
    def get(self, table: str, key: str) -> dict | None:
        obj = self._tables.get(table, {}).get(key)
        return copy.deepcopy(obj) if obj is not None else None

    def has(self, table: str, key: str) -> bool:
        return key in self._tables.get(table, {})

    def items(self, table: str, prefix: str = "") -> Iterator[tuple[str, dict]]:
        """`(key, document)` pairs in key order (documents are copies)."""
        t = self._tables.get(table, {})
        for k in sorted(t):
            if k.startswith(prefix):
                yield k, copy.deepcopy(t[k])

    def values(self, table: str, prefix: str = "") -> list[dict]:
        return [v for _, v in self.items(table, prefix)]

    def find(self, table: str, **match: Any) -> dict | None:
        for _, v in self.items(table):
            if all(v.get(k) == want for k, want in match.items()):
                return v
        return None

    # -- writes (through to the backend) ---------------------------------------------------------
    async def put(self, table: str, key: str, obj: dict) -> None:
        """Store `obj`. The mirror changes at once (so a read-modify-write with no `await` between
        the read and this call is atomic on the event loop); the backend write is ordered after
        every earlier one and done before this returns."""
        data = orjson.dumps(obj)
        self._tables.setdefault(table, {})[key] = orjson.loads(data)
        full = f"{PREFIX}{table}/{key}"
        async with self._lock:
            rev = self._revisions.get((table, key))
            if rev is None:
                try:
                    rev = await self.backend.create(full, data)
                except KeyExists:
                    _, kv = await self.backend.get(full)
                    rev, _, _ = await self.backend.update(full, data, expected_revision=kv.mod_revision if kv else 0)
            else:
                new_rev, kv, ok = await self.backend.update(full, data, expected_revision=rev)
                if not ok:
                    if kv is None:  # deleted under us
                        new_rev = await self.backend.create(full, data)
                    else:
                        new_rev, _, _ = await self.backend.update(full, data, expected_revision=kv.mod_revision)
                rev = new_rev
            self._revisions[(table, key)] = rev

    async def delete(self, table: str, key: str) -> bool:
        """Remove a document (from the mirror at once, from the backend before returning)."""
        if self._tables.get(table, {}).pop(key, None) is None:
            return False
        full = f"{PREFIX}{table}/{key}"
        async with self._lock:
            await self.backend.delete(full)
            self._revisions.pop((table, key), None)
        return True
