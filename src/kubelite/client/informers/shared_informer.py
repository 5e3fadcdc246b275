"""`SharedInformer`: one cache of one resource, fed by a `Reflector`, fanned out to handlers.

The contract is in the package docstring (`kubelite.client.informers`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any, Callable

from ...api.scheme import Resource
from ...machinery.clock import REAL_CLOCK, Clock
from ...machinery.keys import meta_namespace_key
from ..rest import Client
from .lister import Lister
from .reflector import Reflector
from .store import NAMESPACE_INDEX, Indexer, IndexFunc, index_by_namespace

log = logging.getLogger(__name__)

OnAdd = Callable[[dict], None]
OnUpdate = Callable[[dict, dict], None]
OnDelete = Callable[[dict], None]


@dataclass(eq=False)
class HandlerRegistration:
    """What `add_event_handler` returns: pass it to `remove_event_handler`."""

    on_add: OnAdd | None
    on_update: OnUpdate | None
    on_delete: OnDelete | None
    filter: Callable[[dict], bool] | None
    _synced: bool = False

    def has_synced(self) -> bool:
        """True once this handler has been told about every object of the initial list."""
        return self._synced

    def _call(self, fn: Callable[..., None] | None, *args: dict) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:
            log.exception("event handler %r failed", fn)

    def added(self, obj: dict) -> None:
        if self.filter is None or self.filter(obj):
            self._call(self.on_add, obj)

    def updated(self, old: dict, new: dict) -> None:
        if self.filter is None:
            self._call(self.on_update, old, new)
            return
        was, now = self.filter(old), self.filter(new)
        if was and now:
            self._call(self.on_update, old, new)
        elif now:
            self._call(self.on_add, new)
        elif was:
            self._call(self.on_delete, old)

    def deleted(self, obj: dict) -> None:
        if self.filter is None or self.filter(obj):
            self._call(self.on_delete, obj)


def _notify(handlers: list[HandlerRegistration], prev: dict | None, obj: dict) -> None:
    for h in list(handlers):
        if prev is None:
            h.added(obj)
        else:
            h.updated(prev, obj)


class _Processor:
    """The reflector's sink: update the cache first, then tell every handler."""

    def __init__(self, informer: SharedInformer) -> None:
        self._inf = informer

    def replace(self, objs: list[dict], resource_version: str) -> None:
        inf = self._inf
        old = {meta_namespace_key(o): o for o in inf.indexer.list()}
        inf.indexer.replace(objs)
        seen = set()
        for obj in objs:
            key = meta_namespace_key(obj)
            seen.add(key)
            prev = old.get(key)
            _notify(inf._handlers, prev, obj)
        for key, prev in old.items():
            if key not in seen:
                for h in list(inf._handlers):
                    h.deleted(prev)
        if not inf._synced.is_set():
            for h in inf._handlers:
                h._synced = True
            inf._synced.set()

    def add(self, obj: dict) -> None:
        prev = self._inf.indexer.get(obj)
        self._inf.indexer.add(obj)
        _notify(self._inf._handlers, prev, obj)

    update = add

    def delete(self, obj: dict) -> None:
        self._inf.indexer.delete(obj)
        for h in list(self._inf._handlers):
            h.deleted(obj)


class SharedInformer:
    def __init__(self, client: Client, resource: Resource | str, *, namespace: str | None = None,
                 label_selector: Any = None, field_selector: Any = None, resync_period: float | None = None,
                 indexers: dict[str, IndexFunc] | None = None, clock: Clock = REAL_CLOCK,
                 rng: random.Random | None = None, detect_mutations: bool | None = None) -> None:
        self.resource = client.resource(resource)
        self.indexer = Indexer({NAMESPACE_INDEX: index_by_namespace, **(indexers or {})},
                               detect_mutations=detect_mutations)
        self.resync_period = resync_period
        self.reflector = Reflector(client, self.resource, _Processor(self), namespace=namespace,
                                   label_selector=label_selector, field_selector=field_selector,
                                   clock=clock, rng=rng)
        self._clock = clock
        self._handlers: list[HandlerRegistration] = []
        self._synced = asyncio.Event()
        self._running = False

    def add_event_handler(self, on_add: OnAdd | None = None, on_update: OnUpdate | None = None,
                          on_delete: OnDelete | None = None, *,
                          filter: Callable[[dict], bool] | None = None) -> HandlerRegistration:
        """Register handlers; if the cache is already filled, `on_add` sees every object now."""
        reg = HandlerRegistration(on_add, on_update, on_delete, filter)
        self._handlers.append(reg)
        if self._synced.is_set():
            for obj in self.indexer.list():
                reg.added(obj)
            reg._synced = True
        return reg

    def remove_event_handler(self, registration: HandlerRegistration) -> None:
        if registration in self._handlers:
            self._handlers.remove(registration)

    def add_indexers(self, indexers: dict[str, IndexFunc]) -> None:
        self.indexer.add_indexers(indexers)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_cache_sync(self) -> None:
        await self._synced.wait()

    def last_sync_resource_version(self) -> str:
        return self.reflector.last_sync_resource_version

    def lister(self) -> Lister:
        return Lister(self.indexer, self.resource)

    async def run(self) -> None:
        """Fill the cache and keep it current until cancelled."""
        if self._running:
            raise RuntimeError(f"informer for {self.resource.group_resource} is already running")
        self._running = True
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.reflector.run())
                if self.resync_period:
                    tg.create_task(self._resync())
        finally:
            self._running = False

    async def _resync(self) -> None:
        period = self.resync_period or 0.0
        while True:
            await self._clock.sleep(period)
            if not self._synced.is_set():
                continue
            for obj in self.indexer.list():
                for h in list(self._handlers):
                    h.updated(obj, obj)
