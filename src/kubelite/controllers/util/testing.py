"""Test tools for controllers (as `trio.testing`): a fake API server, a fake clock, real
informers, and an event recorder that keeps what it is told.

`ControllerHarness` is the world; the test makes its controllers and waits for the caches:

    async with ControllerHarness() as h:
        rsc = ReplicaSetController(h.ctx)
        await h.start()                      # informers synced
        await h.create("replicasets.apps", rs)
        await h.settle()                     # caches caught up with the server
        await rsc.sync_replica_set("default/web")
        assert h.recorder.events == ["Normal SuccessfulCreate Created pod: web-..."]

`SyncHarness` is the same world around one controller whose `sync(key)` the test calls as a
worker would; its writes wait for the caches, and its events name their object:

    async with SyncHarness(DaemonSetController) as h:
        await h.create("nodes", node("n1"))
        await h.sync("default/ds")
        assert h.reasons() == ["SuccessfulCreate"]
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubelite.client import FakeClock, InformerFactory, meta_namespace_key
from kubelite.client.testing import FakeAPIServer, wait_until

from ..base import ControllerContext


class FakeRecorder:
    """Keeps events as `"<type> <reason> <message>"` strings (client-go's `FakeRecorder`), and
    every call in `records`."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.records: list[tuple[dict, str, str, str]] = []

    def _entry(self, obj: dict, type: str, reason: str, message: str) -> Any:
        return f"{type} {reason} {message}"

    def event(self, obj: dict, type: str, reason: str, message: str, *, field_path: str = "") -> None:
        self.events.append(self._entry(obj, type, reason, message))
        self.records.append((obj, type, reason, message))

    def reasons(self) -> list[str]:
        return [r[2] for r in self.records]

    def clear(self) -> None:
        self.events.clear()
        self.records.clear()

    async def run(self) -> None:
        await asyncio.get_running_loop().create_future()


class NamedEventRecorder(FakeRecorder):
    """Keeps events as `(type, reason, message, object name)` tuples."""

    def _entry(self, obj: dict, type: str, reason: str, message: str) -> Any:
        name = (obj.get("metadata") or {}).get("name") or obj.get("name", "")
        return (type, reason, message, name)


class ControllerHarness:
    def __init__(self, *, options: dict[str, Any] | None = None, recorder: FakeRecorder | None = None) -> None:
        self.clock = FakeClock()
        self.server = FakeAPIServer(clock=self.clock)
        self.client = self.server.client()
        self.informers = InformerFactory(self.client, clock=self.clock, detect_mutations=True)
        self.recorder = recorder if recorder is not None else FakeRecorder()
        self.ctx = ControllerContext(self.client, self.informers, self.clock, lambda _name: self.recorder,
                                     dict(options or {}))
        self._tg: asyncio.TaskGroup | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> ControllerHarness:
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._task = self._tg.create_task(self.informers.run(), name="harness-informers")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._tg is not None:
            await self._tg.__aexit__(None, None, None)

    async def start(self) -> None:
        """Wait until every informer created so far has filled its cache."""
        await asyncio.wait_for(self.informers.wait_for_cache_sync(), 5)

    def _caught_up(self) -> bool:
        for inf in self.informers.informers():
            ns = inf.reflector.namespace
            want = {meta_namespace_key(o): o["metadata"]["resourceVersion"] for o in self.server.objects(inf.resource)
                    if not ns or o["metadata"].get("namespace") == ns}
            have = {meta_namespace_key(o): o["metadata"]["resourceVersion"] for o in inf.indexer.list()}
            if want != have:
                return False
        return True

    async def settle(self) -> None:
        """Wait until every informer's cache holds exactly what the server holds."""
        await wait_until(self._caught_up, 5, "informer caches did not catch up with the fake API server")

    async def create(self, resource: str, obj: dict, namespace: str | None = None) -> dict:
        return await self.client.create(resource, obj, namespace)

    def get(self, resource: str, name: str, namespace: str = "") -> dict | None:
        return self.server.get_object(resource, name, namespace)

    def objects(self, resource: str, namespace: str | None = None) -> list[dict]:
        return [o for o in self.server.objects(resource)
                if namespace is None or o["metadata"].get("namespace") == namespace]

    def names(self, resource: str, namespace: str | None = None) -> list[str]:
        return sorted(o["metadata"]["name"] for o in self.objects(resource, namespace))


class SyncHarness(ControllerHarness):
    """A `ControllerHarness` around one controller, made before the informers start."""

    def __init__(self, controller_cls: type, *, options: dict[str, Any] | None = None) -> None:
        super().__init__(options=options, recorder=NamedEventRecorder())
        self.api = self.server
        self.controller = controller_cls(self.ctx)

    async def __aenter__(self) -> SyncHarness:
        await super().__aenter__()
        await self.start()
        return self

    # ----- writes that wait for the caches

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

    # ----- the controller

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
        return self.recorder.reasons()

    def messages(self, reason: str | None = None) -> list[str]:
        return [r[3] for r in self.recorder.records if reason is None or r[2] == reason]
