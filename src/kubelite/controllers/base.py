"""The shared controller loop: a work queue of keys, N workers, sync one key at a time.

    class ReplicaSetController(Controller):
        name = "replicaset-controller"

        def __init__(self, ctx):
            super().__init__(ctx)
            self.rs = ctx.informers.informer_for("replicasets.apps")
            self.rs.add_event_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)

        async def sync(self, key):
            ...

A failing sync is logged and retried with per-key exponential backoff (5 ms to 1000 s) and a
global token bucket; an exception from one object never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from kubelite.client import Client, EventRecorder, InformerFactory, ShutDown, WorkQueue, meta_namespace_key
from kubelite.client.workqueue import default_controller_rate_limiter
from kubelite.machinery.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)


@dataclass
class ControllerContext:
    """What every controller gets: the API client, shared informers, a clock, events, options."""

    client: Client
    informers: InformerFactory
    clock: Clock = REAL_CLOCK
    recorder_for: Callable[[str], EventRecorder] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: Any) -> Any:
        return self.options.get(name, default)


class Controller:
    name = "controller"
    workers = 2

    def __init__(self, ctx: ControllerContext):
        self.ctx = ctx
        self.client = ctx.client
        self.informers = ctx.informers
        self.clock = ctx.clock
        self.queue: WorkQueue[str] = WorkQueue(self.name, rate_limiter=default_controller_rate_limiter(ctx.clock),
                                               clock=ctx.clock)
        self.recorder = ctx.recorder_for(self.name) if ctx.recorder_for else None

    # -- handlers ----------------------------------------------------------------------------
    def enqueue(self, obj: dict | str, *_: Any) -> None:
        self.queue.add(obj if isinstance(obj, str) else meta_namespace_key(obj))

    def enqueue_after(self, obj: dict | str, delay: float) -> None:
        self.queue.add_after(obj if isinstance(obj, str) else meta_namespace_key(obj), delay)

    def event(self, obj: dict, type_: str, reason: str, message: str) -> None:
        if self.recorder is not None:
            self.recorder.event(obj, type_, reason, message)

    # -- loop --------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        await self.informers.wait_for_cache_sync()
        try:
            async with asyncio.TaskGroup() as tg:
                for i in range(self.workers):
                    tg.create_task(self._worker(), name=f"{self.name}-worker-{i}")
        finally:
            self.queue.shut_down()

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.sync(key)
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - one bad object must not stop the loop
                n = self.queue.num_requeues(key)
                level = logging.INFO if n < 5 else logging.WARNING
                log.log(level, "%s: sync %s failed (retry %d): %s", self.name, key, n, e,
                        exc_info=not _is_api_error(e))
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)


class RetryLater(Exception):
    """An expected, passing condition (a cache behind the controller's own writes, say): the key is
    retried with backoff and the failure logged without a traceback."""


def _is_api_error(e: BaseException) -> bool:
    from kubelite.machinery.errors import StatusError

    return isinstance(e, (StatusError, RetryLater))
