"""`InformerFactory`: one shared informer per resource and selection, for a whole process.

    factory = InformerFactory(client)
    pods = factory.informer_for("pods", indexers={NODE_NAME_INDEX: index_by_node_name})
    async with asyncio.TaskGroup() as tg:
        tg.create_task(factory.run())
        await factory.wait_for_cache_sync()
        ...

Asking twice for the same resource, namespace and selectors returns the same informer (extra
indexers are added to it). Informers asked for after `run()` started are started at once, in
the factory's own task group, so nothing outlives `run()`.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from ...api.scheme import Resource
from ...machinery.clock import REAL_CLOCK, Clock
from ..rest import Client, selector_string
from .lister import Lister
from .shared_informer import SharedInformer
from .store import IndexFunc


class InformerFactory:
    def __init__(self, client: Client, *, namespace: str | None = None, resync_period: float | None = None,
                 clock: Clock = REAL_CLOCK, rng: random.Random | None = None,
                 detect_mutations: bool | None = None) -> None:
        self.client = client
        self.namespace = namespace
        self.resync_period = resync_period
        self._clock = clock
        self._rng = rng or random.Random()
        self._detect = detect_mutations
        self._informers: dict[tuple, SharedInformer] = {}
        self._tg: asyncio.TaskGroup | None = None

    def informer_for(self, resource: Resource | str, *, namespace: str | None = None, label_selector: Any = None,
                     field_selector: Any = None, indexers: dict[str, IndexFunc] | None = None) -> SharedInformer:
        r = self.client.resource(resource)
        ns = (namespace or self.namespace) if r.namespaced else None
        key = (r.group, r.version, r.plural, ns, selector_string(label_selector), selector_string(field_selector))
        inf = self._informers.get(key)
        if inf is None:
            inf = SharedInformer(self.client, r, namespace=ns, label_selector=label_selector,
                                 field_selector=field_selector, resync_period=self.resync_period,
                                 indexers=indexers, clock=self._clock, rng=random.Random(self._rng.random()),
                                 detect_mutations=self._detect)
            self._informers[key] = inf
            if self._tg is not None:
                self._tg.create_task(inf.run())
        elif indexers:
            inf.add_indexers(indexers)
        return inf

    def lister_for(self, resource: Resource | str, **kwargs: Any) -> Lister:
        return self.informer_for(resource, **kwargs).lister()

    def informers(self) -> list[SharedInformer]:
        return list(self._informers.values())

    def has_synced(self) -> bool:
        return all(inf.has_synced() for inf in self._informers.values())

    async def wait_for_cache_sync(self) -> None:
        """Wait until every informer created so far has filled its cache."""
        for inf in list(self._informers.values()):
            await inf.wait_for_cache_sync()

    async def run(self) -> None:
        """Run every informer (and any created later) until cancelled."""
        if self._tg is not None:
            raise RuntimeError("the informer factory is already running")
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                for inf in self._informers.values():
                    tg.create_task(inf.run())
                await asyncio.get_running_loop().create_future()   # until cancelled
        finally:
            self._tg = None
