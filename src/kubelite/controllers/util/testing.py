"""Test tools for controllers (as `trio.testing`): a fake API server, a fake clock, real
informers, and an event recorder that keeps what it is told.

    async with ControllerHarness() as h:
        rsc = ReplicaSetController(h.ctx)
        await h.start()                      # informers synced
        await h.create("replicasets.apps", rs)
        await h.settle()                     # caches caught up with the server
        await rsc.sync_replica_set("default/web")
        assert h.recorder.events == ["Normal SuccessfulCreate Created pod: web-..."]
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from kubelite.client import FakeClock, InformerFactory, meta_namespace_key
from kubelite.client.testing import FakeAPIServer, wait_until

from ..base import ControllerContext


class FakeRecorder:
    """Keeps events as `"<type> <reason> <message>"` strings (client-go's `FakeRecorder`)."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.records: list[tuple[dict, str, str, str]] = []

    def event(self, obj: dict, type: str, reason: str, message: str, *, field_path: str = "") -> None:
        self.events.append(f"{type} {reason} {message}")
        self.records.append((obj, type, reason, message))

    def reasons(self) -> list[str]:
        return [r[2] for r in self.records]

    def clear(self) -> None:
        self.events.clear()
        self.records.clear()

    async def run(self) -> None:
        await asyncio.get_running_loop().create_future()


class ControllerHarness:
    def __init__(self, *, options: dict[str, Any] | None = None) -> None:
        self.clock = FakeClock()
        self.server = FakeAPIServer(clock=self.clock)
        self.client = self.server.client()
        self.informers = InformerFactory(self.client, clock=self.clock, detect_mutations=True)
        self.recorder = FakeRecorder()
        self.ctx = ControllerContext(self.client, self.informers, self.clock, lambda _name: self.recorder,
                                     dict(options or {}))
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> ControllerHarness:
        self._task = asyncio.create_task(self.informers.run(), name="harness-informers")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def start(self) -> None:
        """Wait until every informer created so far has filled its cache."""
        await asyncio.wait_for(self.informers.wait_for_cache_sync(), 5)

    def _caught_up(self) -> bool:
        for inf in self.informers.informers():
            want = {meta_namespace_key(o): o["metadata"]["resourceVersion"] for o in self.server.objects(inf.resource)}
            have = {k: (inf.indexer.get_by_key(k) or {}).get("metadata", {}).get("resourceVersion")
                    for k in inf.indexer.list_keys()}
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
