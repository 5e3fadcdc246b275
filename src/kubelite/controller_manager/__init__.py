"""The controller manager: which controllers run, with shared informers, events and (optionally)
leader election so that only one of several API servers' managers acts at a time.

`CONTROLLERS` maps a controller's name to the module and class implementing it; the modules are
imported when the manager starts, so a controller is one line here plus its own package.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import socket
import uuid
from typing import Any

from kubelite.client import Client, EventRecorder, InformerFactory, LeaderElector
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

# name -> "module:Class" under kubelite.controllers
CONTROLLERS: dict[str, str] = {
    "namespace": "namespace:NamespaceController",
    "serviceaccount": "serviceaccount:ServiceAccountController",
    "root-ca-cert-publisher": "serviceaccount:RootCACertPublisher",
    "garbagecollector": "garbagecollector:GarbageCollector",
    "replicaset": "replicaset:ReplicaSetController",
    "deployment": "deployment:DeploymentController",
    "daemonset": "daemonset:DaemonSetController",
    "statefulset": "statefulset:StatefulSetController",
    "job": "job:JobController",
    "cronjob": "cronjob:CronJobController",
    "endpoint": "endpoint:EndpointsController",
    "endpointslice": "endpointslice:EndpointSliceController",
    "nodelifecycle": "nodelifecycle:NodeLifecycleController",
    "nodeipam": "nodeipam:NodeIPAMController",
    "disruption": "disruption:DisruptionController",
    "resourcequota": "resourcequota:ResourceQuotaController",
    "podgc": "podgc:PodGCController",
    "ttl-after-finished": "ttlafterfinished:TTLAfterFinishedController",
    "clusterrole-aggregation": "clusterroleaggregation:ClusterRoleAggregationController",
    "servicelb": "servicelb:ServiceLBController",
    "ingress": "ingress:IngressController",
    "csrapproving": "certificates:CSRApprovingController",
    "csrsigning": "certificates:CSRSigningController",
    "bootstrapsigner": "certificates:BootstrapSignerController",
    "tokencleaner": "certificates:TokenCleaner",
}


def load(name: str) -> type[Controller] | None:
    """The controller class, or None (logged) when it is missing or fails to import."""
    mod_name, _, cls_name = CONTROLLERS[name].partition(":")
    try:
        mod = importlib.import_module(f"kubelite.controllers.{mod_name}")
        return getattr(mod, cls_name)
    except ModuleNotFoundError as e:
        if e.name == f"kubelite.controllers.{mod_name}":
            return None
        log.exception("controller %s failed to import", name)
    except Exception:  # noqa: BLE001 - one broken controller must not stop the others
        log.exception("controller %s failed to load", name)
    return None


class ControllerManager:
    def __init__(self, client: Client, *, controllers: list[str] | None = None, leader_elect: bool = False,
                 identity: str | None = None, clock: Clock = REAL_CLOCK, options: dict[str, Any] | None = None,
                 host: str | None = None):
        self.client = client
        self.names = controllers or list(CONTROLLERS)
        self.leader_elect = leader_elect
        self.identity = identity or f"{socket.gethostname()}_{uuid.uuid4()}"
        self.clock = clock
        self.options = options or {}
        self.host = host or socket.gethostname()
        self.running: dict[str, Controller] = {}

    async def run(self) -> None:
        if not self.leader_elect:
            await self._run_controllers()
            return
        elector = LeaderElector(self.client, name="kube-controller-manager", namespace="kube-system",
                                identity=self.identity, clock=self.clock)
        while True:
            try:
                async with elector.leading():
                    log.info("controller manager %s became the leader", self.identity)
                    await self._run_controllers()
            except Exception as e:  # noqa: BLE001 - lost the lease: stop acting, try again
                log.warning("controller manager %s lost leadership: %s", self.identity, e)
                await self.clock.sleep(1)

    async def _run_controllers(self) -> None:
        factory = InformerFactory(self.client, clock=self.clock)
        recorders: list[EventRecorder] = []

        def recorder_for(component: str) -> EventRecorder:
            r = EventRecorder(self.client, component, self.host)
            recorders.append(r)
            return r

        ctx = ControllerContext(self.client, factory, self.clock, recorder_for, self.options)
        controllers: list[Controller] = []
        for name in self.names:
            cls = load(name)
            if cls is None:
                log.debug("controller %s is not available", name)
                continue
            controllers.append(cls(ctx))
            self.running[name] = controllers[-1]
        async with asyncio.TaskGroup() as tg:
            tg.create_task(factory.run(), name="informers")
            for r in recorders:
                tg.create_task(r.run(), name=f"events-{r.component}" if hasattr(r, "component") else "events")
            for c in controllers:
                tg.create_task(self._supervise(c), name=c.name)

    async def _supervise(self, c: Controller) -> None:
        """Run a controller; if it dies, log it and start it again after a pause."""
        delay = 1.0
        while True:
            try:
                await c.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("controller %s crashed; restarting in %.0fs", c.name, delay)
                await self.clock.sleep(delay)
                delay = min(delay * 2, 60.0)
