"""SQLite Backend: the embedded default (kine's one-MVCC-log idea, plus a current-state table).

- `log` holds every revision (`rev` is the revision; deletes are tombstone rows carrying the
  last value); `kv` holds the latest value of each live key for fast reads.
- One writer thread owns the write connection and commits queued writes in groups: one
  transaction and one fsync (WAL, `synchronous=FULL`) per group. A write's future resolves only
  after its group is durable, so every acknowledged write survives SIGKILL and power loss.
- Reads run on worker threads with their own connections, each in one read transaction so the
  revision returned matches the snapshot read.
- Watches are served in-process by a `WatchHub`: history from `log`, then live batches.
  (Several processes sharing one SQLite file is not supported: use etcd for that.)
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from .errors import Compacted, KeyExists, StorageError
from .interface import Event, KeyValue
from .watchhub import WatchHub

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS log (
        rev INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL,
        deleted INTEGER NOT NULL,
        create_rev INTEGER NOT NULL,
        prev_rev INTEGER NOT NULL,
        lease INTEGER NOT NULL DEFAULT 0,
        value BLOB NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS log_key_rev ON log(key, rev)",
    """CREATE TABLE IF NOT EXISTS kv (
        key TEXT PRIMARY KEY, value BLOB NOT NULL, create_rev INTEGER NOT NULL,
        mod_rev INTEGER NOT NULL, lease INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
]

_MAX_GROUP = 512


def _prefix_end(prefix: str) -> str:
    return prefix + "\U0010ffff"


@dataclass
class _Op:
    kind: str  # create | update | delete | compact
    key: str = ""
    value: bytes = b""
    expected: int = 0
    lease: int = 0
    future: asyncio.Future | None = None
    result: Any = None
    error: BaseException | None = None
    events: list[Event] = field(default_factory=list)


class SQLiteBackend:
    def __init__(self, path: str) -> None:
        self.path = path
        self._hub = WatchHub()
        self._q: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._local = threading.local()
        self._rev = 0
        self._compacted = 0
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()

    # -- connections -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        c = getattr(self._local, "conn", None)
        if c is None:
            c = self._connect()
            self._local.conn = c
        return c

    async def start(self) -> None:
        d = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(d, exist_ok=True)
        self._loop = asyncio.get_running_loop()

        def init() -> None:
            conn = self._connect()
            for stmt in _SCHEMA:
                conn.execute(stmt)
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='log'").fetchone()
            self._rev = row[0] if row else 0
            row = conn.execute("SELECT value FROM meta WHERE name='compacted'").fetchone()
            self._compacted = row[0] if row else 0
            self._wconn = conn

        await asyncio.to_thread(init)
        self._hub.revision = self._rev
        self._writer = threading.Thread(target=self._write_loop, name="sqlite-writer", daemon=True)
        self._writer.start()

    async def close(self) -> None:
        if self._writer:
            self._q.put(None)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        self._hub.close()
        with self._conns_lock:
            for c in self._conns:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._conns.clear()

    # -- writes ------------------------------------------------------------------------------
    async def _submit(self, op: _Op) -> Any:
        if self._writer is None:
            raise StorageError("backend is not started")
        loop = asyncio.get_running_loop()
        op.future = loop.create_future()
        self._q.put(op)
        return await op.future

    def _write_loop(self) -> None:
        conn = self._wconn
        while True:
            first = self._q.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < _MAX_GROUP:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            start_rev = self._rev
            try:
                conn.execute("BEGIN IMMEDIATE")
                for op in batch:
                    try:
                        self._apply(conn, op)
                    except KeyExists as e:
                        op.error = e
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                self._rev = start_rev
                for op in batch:
                    op.error = StorageError(f"sqlite: {e}")
                    op.events = []
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._deliver, batch)
            if stop:
                return

    def _deliver(self, batch: list[_Op]) -> None:
        events = [ev for op in batch for ev in op.events]
        self._hub.publish(events)
        for op in batch:
            fut = op.future
            if fut is None or fut.done():
                continue
            if op.error is not None:
                fut.set_exception(op.error)
            else:
                fut.set_result(op.result)

    def _apply(self, conn: sqlite3.Connection, op: _Op) -> None:
        if op.kind == "compact":
            self._apply_compact(conn, op.expected)
            op.result = None
            return
        row = conn.execute("SELECT value, create_rev, mod_rev, lease FROM kv WHERE key=?", (op.key,)).fetchone()
        cur = KeyValue(op.key, row[0], row[1], row[2], row[3]) if row else None
        if op.kind == "create":
            if cur is not None:
                raise KeyExists(op.key)
            rev = self._rev + 1
            conn.execute("INSERT INTO log(rev,key,deleted,create_rev,prev_rev,lease,value) VALUES (?,?,0,?,0,?,?)",
                         (rev, op.key, rev, op.lease, op.value))
            conn.execute("INSERT INTO kv(key,value,create_rev,mod_rev,lease) VALUES (?,?,?,?,?)",
                         (op.key, op.value, rev, rev, op.lease))
            self._rev = rev
            op.events = [Event("PUT", KeyValue(op.key, op.value, rev, rev, op.lease), None)]
            op.result = rev
        elif op.kind == "update":
            if cur is None or cur.mod_revision != op.expected:
                op.result = (self._rev, cur, False)
                return
            rev = self._rev + 1
            conn.execute("INSERT INTO log(rev,key,deleted,create_rev,prev_rev,lease,value) VALUES (?,?,0,?,?,?,?)",
                         (rev, op.key, cur.create_revision, cur.mod_revision, op.lease, op.value))
            conn.execute("UPDATE kv SET value=?, mod_rev=?, lease=? WHERE key=?", (op.value, rev, op.lease, op.key))
            self._rev = rev
            kv = KeyValue(op.key, op.value, cur.create_revision, rev, op.lease)
            op.events = [Event("PUT", kv, cur)]
            op.result = (rev, kv, True)
        elif op.kind == "delete":
            if cur is None or (op.expected and cur.mod_revision != op.expected):
                op.result = (self._rev, cur, False)
                return
            rev = self._rev + 1
            conn.execute("INSERT INTO log(rev,key,deleted,create_rev,prev_rev,lease,value) VALUES (?,?,1,?,?,?,?)",
                         (rev, op.key, cur.create_revision, cur.mod_revision, cur.lease, cur.value))
            conn.execute("DELETE FROM kv WHERE key=?", (op.key,))
            self._rev = rev
            op.events = [Event("DELETE", KeyValue(op.key, cur.value, cur.create_revision, rev, cur.lease), cur)]
            op.result = (rev, cur, True)
        else:  # pragma: no cover - programming error
            raise StorageError(f"unknown op {op.kind}")

    def _apply_compact(self, conn: sqlite3.Connection, revision: int) -> None:
        revision = min(revision, self._rev)
        if revision <= self._compacted:
            return
        conn.execute(
            """DELETE FROM log WHERE rev <= :r AND (deleted = 1 OR EXISTS (
                   SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= :r))""",
            {"r": revision})
        conn.execute("INSERT INTO meta(name,value) VALUES('compacted',?) "
                     "ON CONFLICT(name) DO UPDATE SET value=excluded.value", (revision,))
        self._compacted = revision

    async def create(self, key: str, value: bytes, *, lease: int = 0) -> int:
        return await self._submit(_Op("create", key, bytes(value), 0, lease))

    async def update(self, key: str, value: bytes, *, expected_revision: int,
                     lease: int = 0) -> tuple[int, KeyValue | None, bool]:
        return await self._submit(_Op("update", key, bytes(value), expected_revision, lease))

    async def delete(self, key: str, *, expected_revision: int = 0) -> tuple[int, KeyValue | None, bool]:
        return await self._submit(_Op("delete", key, b"", expected_revision))

    async def compact(self, revision: int) -> None:
        await self._submit(_Op("compact", expected=revision))

    # -- reads -------------------------------------------------------------------------------
    def _read(self, fn):
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='log'").fetchone()
            rev = row[0] if row else 0
            return rev, fn(conn, rev)
        finally:
            conn.execute("COMMIT")

    def _check(self, revision: int, current: int) -> None:
        if revision and revision < self._compacted:
            raise Compacted(revision, self._compacted)

    async def get(self, key: str, *, revision: int = 0) -> tuple[int, KeyValue | None]:
        def fn(conn: sqlite3.Connection, cur_rev: int) -> KeyValue | None:
            if not revision or revision >= cur_rev:
                row = conn.execute("SELECT value, create_rev, mod_rev, lease FROM kv WHERE key=?", (key,)).fetchone()
                return KeyValue(key, row[0], row[1], row[2], row[3]) if row else None
            self._check(revision, cur_rev)
            row = conn.execute("SELECT rev, deleted, create_rev, lease, value FROM log WHERE key=? AND rev<=? "
                               "ORDER BY rev DESC LIMIT 1", (key, revision)).fetchone()
            if row is None or row[1]:
                return None
            return KeyValue(key, row[4], row[2], row[0], row[3])

        return await asyncio.to_thread(self._read, fn)

    async def list(self, prefix: str, *, start_key: str = "", limit: int = 0,
                   revision: int = 0) -> tuple[int, list[KeyValue]]:
        start = max(prefix, start_key)
        end = _prefix_end(prefix)
        lim = limit if limit > 0 else -1

        def fn(conn: sqlite3.Connection, cur_rev: int) -> list[KeyValue]:
            if not revision or revision >= cur_rev:
                rows = conn.execute("SELECT key, value, create_rev, mod_rev, lease FROM kv WHERE key>=? AND key<? "
                                    "ORDER BY key LIMIT ?", (start, end, lim)).fetchall()
                return [KeyValue(r[0], r[1], r[2], r[3], r[4]) for r in rows]
            self._check(revision, cur_rev)
            rows = conn.execute(
                """SELECT l.key, l.value, l.create_rev, l.rev, l.lease, l.deleted FROM log l
                   JOIN (SELECT key, MAX(rev) AS m FROM log WHERE key>=? AND key<? AND rev<=? GROUP BY key) x
                     ON l.rev = x.m
                   ORDER BY l.key""", (start, end, revision)).fetchall()
            out = [KeyValue(r[0], r[1], r[2], r[3], r[4]) for r in rows if not r[5]]
            return out[:limit] if limit > 0 else out

        return await asyncio.to_thread(self._read, fn)

    async def count(self, prefix: str) -> tuple[int, int]:
        def fn(conn: sqlite3.Connection, cur_rev: int) -> int:
            return conn.execute("SELECT COUNT(*) FROM kv WHERE key>=? AND key<?",
                                (prefix, _prefix_end(prefix))).fetchone()[0]

        return await asyncio.to_thread(self._read, fn)

    async def current_revision(self) -> int:
        return max(self._rev, self._hub.revision)

    async def _history(self, prefix: str, start: int, upto: int) -> list[Event]:
        def fn() -> list[Event]:
            conn = self._reader()
            rows = conn.execute(
                """SELECT l.rev, l.key, l.deleted, l.create_rev, l.prev_rev, l.lease, l.value, p.value, p.lease
                   FROM log l LEFT JOIN log p ON p.rev = l.prev_rev
                   WHERE l.rev>=? AND l.rev<=? AND l.key>=? AND l.key<? ORDER BY l.rev""",
                (start, upto, prefix, _prefix_end(prefix))).fetchall()
            out: list[Event] = []
            for rev, key, deleted, crev, prev_rev, lease, value, pvalue, plase in rows:
                prev = KeyValue(key, pvalue, crev, prev_rev, plase or 0) if pvalue is not None else None
                out.append(Event("DELETE" if deleted else "PUT", KeyValue(key, value, crev, rev, lease), prev))
            return out

        return await asyncio.to_thread(fn)

    async def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[list[Event]]:
        if start_revision and start_revision <= self._compacted:
            raise Compacted(start_revision, self._compacted)
        async for batch in self._hub.watch(prefix, max(start_revision, 1), self._history):
            yield batch
