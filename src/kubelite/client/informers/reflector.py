"""`Reflector`: keeps a sink in step with the server by list-then-watch (client-go's reflector).

The loop, in `run()`:

1. List (pages of 500; `resourceVersion=0` the first time, then the last synced RV; if the
   server says that RV is gone, list again at the latest) and hand every item to
   `sink.replace(items, rv)`.
2. Watch from the list's RV with `allowWatchBookmarks=true` and a random `timeoutSeconds` in
   300-600, passing ADDED/MODIFIED/DELETED to `sink.add/update/delete`. Every event, bookmarks
   included, advances `last_sync_resource_version`. When the server ends the stream, watch
   again from there (no relist).
3. On `410 Expired/Gone`, a decode or stream error, an unexpected watch error, or a watch that
   ended in under a second without events: back off (0.8 s doubling to 30 s, jitter 1.0, reset
   after 2 minutes) and relist. Refused connections and 429s back off and re-watch instead.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, Protocol

from ...api.scheme import Resource
from ...machinery.backoff import Backoff
from ...machinery.clock import REAL_CLOCK, Clock
from ...machinery.errors import StatusError, StatusReason, is_gone
from ..rest import Client
from ..transport import ConnectError, TransportError
from .store import CacheMutationError

log = logging.getLogger(__name__)

MIN_WATCH_TIMEOUT = 300


class ReflectorSink(Protocol):
    def replace(self, objs: list[dict], resource_version: str) -> None: ...

    def add(self, obj: dict) -> None: ...

    def update(self, obj: dict) -> None: ...

    def delete(self, obj: dict) -> None: ...


class _Relist(Exception):
    pass


class Reflector:
    def __init__(self, client: Client, resource: Resource | str, sink: ReflectorSink, *,
                 namespace: str | None = None, label_selector: Any = None, field_selector: Any = None,
                 page_size: int = 500, clock: Clock = REAL_CLOCK, rng: random.Random | None = None) -> None:
        self.client = client
        self.resource = client.resource(resource)
        self.sink = sink
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.page_size = page_size
        self.last_sync_resource_version = ""
        self._rv_unavailable = False
        self._clock = clock
        self._rng = rng or random.Random()
        self._backoff = Backoff(0.8, 30.0, factor=2.0, jitter=1.0, reset_after=120.0, clock=clock, rng=self._rng)
        self.name = f"{self.resource.group_resource}" + (f" in {namespace}" if namespace else "")

    async def run(self) -> None:
        """List and watch until cancelled."""
        while True:
            try:
                await self.list_and_watch()
            except (CacheMutationError, asyncio.CancelledError):
                raise
            except _Relist as exc:
                log.info("%s: relisting: %s", self.name, exc)
            except (StatusError, TransportError) as exc:
                log.warning("%s: list and watch failed: %s", self.name, exc)
            except Exception:
                log.exception("%s: list and watch failed", self.name)
            await self._clock.sleep(self._backoff.next())

    async def list_and_watch(self) -> None:
        await self._list()
        while True:
            await self._watch_once()

    async def _list(self) -> None:
        rv = self._relist_resource_version()
        c = self.client
        try:
            items, list_rv = await c.list_all(self.resource, self.namespace, label_selector=self.label_selector,
                                              field_selector=self.field_selector, resource_version=rv,
                                              page_size=self.page_size)
        except StatusError as e:
            if not (is_gone(e) and rv):
                raise
            # The RV we asked for is too old for the server: list at the most recent one.
            self._rv_unavailable = True
            items, list_rv = await c.list_all(self.resource, self.namespace, label_selector=self.label_selector,
                                              field_selector=self.field_selector, resource_version="",
                                              page_size=self.page_size)
        self._rv_unavailable = False
        self.sink.replace(items, list_rv)
        self.last_sync_resource_version = list_rv

    def _relist_resource_version(self) -> str:
        if self._rv_unavailable:
            return ""
        return self.last_sync_resource_version or "0"

    async def _watch_once(self) -> None:
        timeout = int(MIN_WATCH_TIMEOUT * (self._rng.random() + 1.0))
        start = self._clock.monotonic()
        count = 0
        try:
            async with self.client.watch(self.resource, self.namespace, label_selector=self.label_selector,
                                         field_selector=self.field_selector,
                                         resource_version=self.last_sync_resource_version,
                                         timeout_seconds=timeout, allow_watch_bookmarks=True) as w:
                async for etype, obj in w:
                    count += 1
                    self._handle(etype, obj)
        except StatusError as e:
            if is_gone(e):
                log.info("%s: watch closed with: %s", self.name, e)
                raise _Relist(str(e)) from e
            if e.reason == StatusReason.TOO_MANY_REQUESTS:
                await self._clock.sleep(self._backoff.next())
                return
            raise
        except ConnectError as e:
            log.info("%s: watch could not connect: %s", self.name, e)
            await self._clock.sleep(self._backoff.next())
            return
        if count == 0 and self._clock.monotonic() - start < 1.0:
            raise _Relist("very short watch: the watch ended in under a second with no events")

    def _handle(self, etype: str, obj: dict) -> None:
        if etype == "ADDED":
            self.sink.add(obj)
        elif etype == "MODIFIED":
            self.sink.update(obj)
        elif etype == "DELETED":
            self.sink.delete(obj)
        elif etype != "BOOKMARK":
            log.warning("%s: unknown watch event type %r", self.name, etype)
            return
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv:
            self.last_sync_resource_version = rv
