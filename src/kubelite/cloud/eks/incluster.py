"""Controllers the service runs against each managed cluster's API, as EKS runs the AWS Load
Balancer Controller and the Fargate scheduler for you: for every cluster that is `ACTIVE` (or
`UPDATING`) with its control plane running, one task with shared informers over the cluster's
admin client, an event recorder per controller, and the controllers made by `factories`. The
task stops when the cluster goes (`stop(key)` is the delete hook) and starts again if it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any, Callable

from kubelite.client import EventRecorder, InformerFactory
from kubelite.controllers.base import Controller, ControllerContext

from . import model
from .service import EKSEnv

log = logging.getLogger(__name__)

Factory = Callable[[str, dict, ControllerContext], Controller]


class InClusterControllers:
    def __init__(self, env: EKSEnv, control_planes: Any, factories: list[Factory], *, poll: float = 1.0):
        self.env = env
        self.control_planes = control_planes
        self.factories = factories
        self.poll = poll
        self.tasks: dict[str, tuple[str, asyncio.Task]] = {}   # cluster key -> (cluster id, task)
        self._tg: asyncio.TaskGroup | None = None

    def _wanted(self) -> dict[str, dict]:
        return {k: c for k, c in self.env.state.items("eks-clusters")
                if c["status"] in (model.ACTIVE, model.UPDATING) and self.control_planes.running(c["id"])}

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            try:
                while True:
                    wanted = self._wanted()
                    for key, (cid, task) in list(self.tasks.items()):
                        if key not in wanted or wanted[key]["id"] != cid or task.done():
                            await self.stop(key)
                    for key, c in wanted.items():
                        if key not in self.tasks:
                            self.tasks[key] = (c["id"], tg.create_task(self._cluster(key, c["id"]),
                                                                       name=f"in-cluster:{key}"))
                    await asyncio.sleep(self.poll)
            finally:
                self._tg = None

    async def stop(self, key: str, *_: Any) -> None:
        entry = self.tasks.pop(key, None)
        if entry is None:
            return
        entry[1].cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await entry[1]

    async def _cluster(self, key: str, cluster_id: str) -> None:
        delay = 1.0
        while True:
            try:
                await self._run_once(key, cluster_id)
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - e.g. the control plane restarted: start over
                log.info("in-cluster controllers of %s stopped (%s); restarting in %.0fs", key, e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _run_once(self, key: str, cluster_id: str) -> None:
        client = self.control_planes.client(cluster_id)
        factory = InformerFactory(client)
        recorders: list[EventRecorder] = []

        def recorder_for(component: str) -> EventRecorder:
            r = EventRecorder(client, component, socket.gethostname())
            recorders.append(r)
            return r

        ctx = ControllerContext(client, factory, recorder_for=recorder_for)
        c = self.env.state.get("eks-clusters", key) or {}
        controllers = [f(key, c, ctx) for f in self.factories]
        async with asyncio.TaskGroup() as tg:
            tg.create_task(factory.run(), name=f"informers:{key}")
            for r in recorders:
                tg.create_task(r.run(), name=f"events:{key}")
            for ctl in controllers:
                tg.create_task(ctl.run(), name=f"{ctl.name}:{key}")
