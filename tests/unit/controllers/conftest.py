"""A harness for controller unit tests: a `FakeAPIServer`, real informers over it, a `FakeClock`
and a recording event recorder, around one controller whose `sync(key)` the test calls directly.

    async def test_x(harness):
        async with harness(DaemonSetController) as h:
            await h.create("nodes", node("n1"))
            await h.sync("default/ds")
            assert h.reasons() == ["SuccessfulCreate"]
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubelite.client.clock import FakeClock
from kubelite.client.informers import InformerFactory, meta_namespace_key
from kubelite.client.testing import FakeAPIServer, wait_until
from kubelite.controllers.base import ControllerContext


class FakeRecorder:
    """Records `(type, reason, message, object name)`; never blocks (client-go's FakeRecorder)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []

    def event(self, obj: dict, type_: str, reason: str, message: str, **_: Any) -> None:
        name = (obj.get("metadata") or {}).get("name") or obj.get("name", "")
        self.events.append((type_, reason, message, name))


class Harness:
    def __init__(self, controller_cls: type, *, options: dict | None = None) -> None:
        self.clock = FakeClock()
        self.api = FakeAPIServer(clock=self.clock)
        self.client = self.api.client()
        self.informers = InformerFactory(self.client, clock=self.clock, detect_mutations=True)
        self.recorder = FakeRecorder()
        self.ctx = ControllerContext(self.client, self.informers, self.clock, lambda _: self.recorder,
                                     options or {})
        self.controller = controller_cls(self.ctx)
        self._tg: asyncio.TaskGroup | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Harness:
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._task = self._tg.create_task(self.informers.run())
        await asyncio.wait_for(self.informers.wait_for_cache_sync(), 5)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._task is not None and self._tg is not None
        self._task.cancel()
        await self._tg.__aexit__(None, None, None)

    # ----- the world

    async def create(self, resource: str, obj: dict, namespace: str | None = None) -> dict:
        out = await self.client.create(resource, obj, namespace)
        await self.settle()
        return out

    async def update_status(self, resource: str, obj: dict) -> dict:
        out = await self.client.update_status(resource, obj)
        await self.settle()
        return out

    async def patch(self, resource: str, name: str, patch: dict, namespace: str | None = None, **kw: Any) -> dict:
        out = await self.client.patch(resource, name, patch, namespace, **kw)
        await self.settle()
        return out

    async def delete(self, resource: str, name: str, namespace: str | None = None) -> None:
        await self.client.delete(resource, name, namespace)
        await self.settle()

    def get(self, resource: str, name: str, namespace: str = "") -> dict | None:
        return self.api.get_object(resource, name, namespace)

    def objects(self, resource: str, namespace: str | None = None) -> list[dict]:
        return [o for o in self.api.objects(resource)
                if namespace is None or o["metadata"].get("namespace") == namespace]

    def names(self, resource: str, namespace: str | None = None) -> list[str]:
        return sorted(o["metadata"]["name"] for o in self.objects(resource, namespace))

    # ----- the controller

    async def settle(self) -> None:
        """Wait until every informer's cache holds exactly what the server holds."""
        def caught_up() -> bool:
            for inf in self.informers.informers():
                ns = inf.reflector.namespace
                want = {meta_namespace_key(o): o["metadata"]["resourceVersion"]
                        for o in self.api.objects(inf.resource)
                        if not ns or o["metadata"].get("namespace") == ns}
                have = {meta_namespace_key(o): o["metadata"]["resourceVersion"] for o in inf.indexer.list()}
                if want != have:
                    return False
            return True

        await wait_until(caught_up, timeout=5, message="informers did not catch up with the server")

    async def sync(self, key: str) -> None:
        """As a worker would: take `key` off the queue (pending or delayed), sync it, settle."""
        await self.settle()
        self.take(key)
        await self.controller.sync(key)
        await self.settle()

    def take(self, key: str, queue: Any = None) -> None:
        q = queue if queue is not None else self.controller.queue
        q._ready_at.pop(key, None)
        q._dirty.discard(key)
        if key in q._queue:
            q._queue.remove(key)

    def step(self, seconds: float) -> None:
        self.clock.step(seconds)

    def delay_of(self, key: str, queue: Any = None) -> float | None:
        """Seconds until `key` is due in the controller's queue, None when it is not waiting."""
        q = queue if queue is not None else self.controller.queue
        at = q._ready_at.get(key)
        return None if at is None else at - self.clock.monotonic()

    def queued(self, queue: Any = None) -> list[str]:
        q = queue if queue is not None else self.controller.queue
        q._promote()
        return list(q._queue)

    def reasons(self) -> list[str]:
        return [e[1] for e in self.recorder.events]

    def messages(self, reason: str | None = None) -> list[str]:
        return [e[2] for e in self.recorder.events if reason is None or e[1] == reason]


@pytest.fixture
def harness():
    return Harness
