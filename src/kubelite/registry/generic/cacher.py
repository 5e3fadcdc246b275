"""The watch cache: one per resource, fed by a storage watch, serving watches and `resourceVersion=0` lists.

It lists the resource's key prefix once, then follows the storage watch, keeping the current
objects and a window of recent events. Watchers get, in order: either synthetic ADDED events for
the current state (no resourceVersion) or the events after the resourceVersion they ask for
(410 Expired if it is older than the window), then live events. Selector transitions follow
Kubernetes: an object that stops matching is sent as DELETED, one that starts matching as ADDED.

Cached objects are shared between watchers and must never be mutated.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson

from kubelite.machinery.errors import StatusError, new_resource_expired
from kubelite.storage import Backend, Compacted, Event, KeyValue

log = logging.getLogger(__name__)

Predicate = Callable[[dict], bool]


@dataclass(slots=True)
class WatchEvent:
    type: str                 # ADDED, MODIFIED, DELETED
    obj: dict
    prev: dict | None
    rv: int
    at: float
    _json: dict = field(default_factory=dict)

    def object_for(self, which: str) -> dict:
        if which == "new" or self.prev is None:
            return self.obj
        # An object leaving the selection is sent as DELETED: its old state at the event's revision.
        o = dict(self.prev)
        o["metadata"] = dict(o.get("metadata") or {}, resourceVersion=str(self.rv))
        return o

    def encoded(self, type_: str, which: str) -> bytes:
        """`{"type":..,"object":..}` plus a newline, serialized once per (type, object) pair."""
        k = type_ + which
        b = self._json.get(k)
        if b is None:
            b = orjson.dumps({"type": type_, "object": self.object_for(which)}) + b"\n"
            self._json[k] = b
        return b


class Watcher:
    """One client watch. Events are queued; a slow client that falls far behind is closed."""

    MAX_BACKLOG = 100_000

    def __init__(self, cacher: "Cacher", pred: Predicate, start_rv: int):
        self.cacher = cacher
        self.pred = pred
        self.start_rv = start_rv
        self.queue: asyncio.Queue[tuple[str, WatchEvent, str] | None] = asyncio.Queue()
        self.closed = False

    def offer(self, ev: WatchEvent) -> None:
        if self.closed or ev.rv <= self.start_rv:
            return
        item = self._convert(ev)
        if item is None:
            return
        if self.queue.qsize() > self.MAX_BACKLOG:
            self.close()
            return
        self.queue.put_nowait(item)

    def _convert(self, ev: WatchEvent) -> tuple[str, WatchEvent, str] | None:
        cur = self.pred(ev.obj)
        if ev.type == "ADDED":
            return ("ADDED", ev, "new") if cur else None
        if ev.type == "DELETED":
            return ("DELETED", ev, "new") if cur else None
        old = self.pred(ev.prev) if ev.prev is not None else False
        if cur and old:
            return ("MODIFIED", ev, "new")
        if cur:
            return ("ADDED", ev, "new")
        if old:
            return ("DELETED", ev, "prev_at_new_rv")
        return None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)
            self.cacher._watchers.discard(self)

    async def next(self) -> tuple[str, WatchEvent, str] | None:
        return await self.queue.get()


class Cacher:
    def __init__(self, backend: Backend, prefix: str, decode: Callable[[KeyValue], dict],
                 history_seconds: float = 300.0, max_history: int = 200_000):
        self.backend = backend
        self.prefix = prefix
        self.decode = decode
        self.history_seconds = history_seconds
        self.max_history = max_history
        self.objects: dict[str, dict] = {}
        self.history: collections.deque[WatchEvent] = collections.deque()
        self.rv = 0                 # highest revision applied
        self.oldest_rv = 0          # watches from an RV below this get 410
        self._watchers: set[Watcher] = set()
        self._ready = asyncio.Event()
        self._changed = asyncio.Condition()

    # -- running ---------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            try:
                rev, kvs = await self.backend.list(self.prefix)
            except Exception:  # storage unavailable: retry
                log.exception("watch cache list of %s failed", self.prefix)
                await asyncio.sleep(1)
                continue
            self.objects = {kv.key: self.decode(kv) for kv in kvs}
            self.history.clear()
            self.rv = rev
            self.oldest_rv = rev
            for w in list(self._watchers):  # they may have missed events: make them re-watch
                w.close()
            self._ready.set()
            try:
                async for batch in self.backend.watch(self.prefix, start_revision=rev + 1):
                    self._apply(batch)
                    async with self._changed:
                        self._changed.notify_all()
            except Compacted:
                log.info("watch cache of %s fell behind compaction; relisting", self.prefix)
                continue
            except asyncio.CancelledError:
                for w in list(self._watchers):
                    w.close()
                raise

    async def wait_ready(self) -> None:
        await self._ready.wait()

    def _apply(self, batch: list[Event]) -> None:
        now = time.monotonic()
        for ev in batch:
            key = ev.kv.key
            prev = self.objects.get(key)
            obj = self.decode(ev.kv)
            if ev.type == "DELETE":
                self.objects.pop(key, None)
                typ = "DELETED"
                if prev is None:
                    prev = obj
            else:
                self.objects[key] = obj
                typ = "ADDED" if prev is None else "MODIFIED"
            we = WatchEvent(typ, obj, prev, ev.revision, now)
            self.history.append(we)
            self.rv = ev.revision
            for w in list(self._watchers):
                w.offer(we)
        self._trim(now)

    def _trim(self, now: float) -> None:
        h = self.history
        while h and (len(h) > self.max_history or now - h[0].at > self.history_seconds):
            ev = h.popleft()
            self.oldest_rv = ev.rv

    # -- reads -----------------------------------------------------------------------------
    async def wait_fresh(self, rv: int, timeout: float = 3.0) -> bool:
        if self.rv >= rv:
            return True
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    await self._changed.wait_for(lambda: self.rv >= rv)
            return True
        except TimeoutError:
            return False

    def list(self, key_prefix: str, pred: Predicate) -> tuple[int, list[dict]]:
        items = [o for k, o in self.objects.items() if k.startswith(key_prefix) and pred(o)]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"].get("name", "")))
        return self.rv, items

    def get(self, key: str) -> dict | None:
        return self.objects.get(key)

    def watch(self, rv: int, key_prefix: str, pred: Predicate) -> tuple[Watcher, list[tuple[str, WatchEvent, str]]]:
        """Register a watcher; return it with the initial events it must send first.

        `pred` must include the namespace check; `key_prefix` only narrows the initial scan.
        """
        if rv and rv < self.oldest_rv:
            raise new_resource_expired(f"too old resource version: {rv} ({self.oldest_rv})")
        initial: list[tuple[str, WatchEvent, str]] = []
        if not rv:
            start = self.rv
            for k, o in sorted(self.objects.items()):
                if k.startswith(key_prefix) and pred(o):
                    initial.append(("ADDED", WatchEvent("ADDED", o, None, start, 0.0), "new"))
        else:
            start = rv
        w = Watcher(self, pred, start)
        if rv:
            for ev in self.history:
                if ev.rv > rv:
                    item = w._convert(ev)
                    if item is not None:
                        initial.append(item)
            w.start_rv = max(rv, self.rv)
        self._watchers.add(w)
        return w, initial

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)


def status_event(err: StatusError) -> bytes:
    return orjson.dumps({"type": "ERROR", "object": err.status()}) + b"\n"


def any_pred(_: Any) -> bool:
    return True
