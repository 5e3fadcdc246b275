"""`Kubelet`: the node agent's main loop, wiring its parts (Kubernetes' `kubelet.go`, the loop
only): a pod informer for `spec.nodeName=<node>` feeds the pod workers; PLEG events, probe
results and housekeeping wake them; the node registers itself, renews its lease and reports
its status; logs rotate. Everything runs in one TaskGroup under `run()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kubelite.client import Clock, EventRecorder, InformerFactory, RealClock
from kubelite.images.interface import ImageStore

from .config import KubeletConfig
from .dns import read_resolv_conf
from .images import DistributionPuller, ImageManager, Puller
from .kuberuntime.backoff import Backoff
from .kuberuntime.container_config import ConfigInputs
from .kuberuntime.manager import RuntimeManager
from .lease import NodeLease
from .lifecycle import HandlerRunner
from .logs import ContainerLogManager, PodLookup
from .node import Health, NodeStatusManager
from .objects import APIObjectSource, ObjectSource
from .pleg import PLEG
from .pod_workers import PodWorkers
from .podutil import host_network, is_init_container
from .prober import ProbeManager, ProbeResult
from .runtime.interface import RuntimeService
from .serviceaccount import APITokenSource
from .stats import StatsProvider
from .status.manager import StatusManager
from .sync import PodSyncer, SyncOutcome

log = logging.getLogger(__name__)


def runtime_version_string(name: str, version: str) -> str:
    """`runc://1.1.5` from the runc runtime's `<kubelite>+runc<version>`."""
    if "+runc" in version:
        return "runc://" + version.split("+runc", 1)[1]
    return f"{name}://{version}"


class NetworkGatedSyncer(PodSyncer):
    """A pod needing the pod network waits (with an event) until the network is ready."""

    network_error: str = ""
    recheck: Any = None  # async () -> None: refreshes network_error

    async def sync_pod(self, pod: dict) -> SyncOutcome:
        if self.network_error and not host_network(pod) and self.recheck is not None:
            await self.recheck()
        if self.network_error and not host_network(pod):
            self.record(pod, None, "Warning", "NetworkNotReady", f"network is not ready: {self.network_error}")
            await self.update_status(pod)
            return SyncOutcome(requeue_after=1.0)
        return await super().sync_pod(pod)


class Kubelet:
    def __init__(self, cfg: KubeletConfig, client: Any, runtime: RuntimeService, image_store: ImageStore, *,
                 puller: Puller | None = None, clock: Clock | None = None, objects: ObjectSource | None = None,
                 tokens: Any = None, informers: InformerFactory | None = None):
        self.cfg = cfg
        self.client = client
        self.runtime = runtime
        self.image_store = image_store
        self.clock = clock or RealClock()
        wall = time.time
        self.informers = informers or InformerFactory(client)
        self.pod_informer = self.informers.informer_for("pods", field_selector=f"spec.nodeName={cfg.node_name}")
        self.service_informer = self.informers.informer_for("services")
        self.recorder = EventRecorder(client, "kubelet", host=cfg.node_name, clock=self.clock)
        self.objects = objects or APIObjectSource(client, clock=self.clock)
        self.tokens = tokens if tokens is not None else APITokenSource(client)
        self.status_manager = StatusManager(client, clock=self.clock)
        self.probes = ProbeManager(runtime, self.status_manager.get, self._record, self._on_probe_result,
                                   clock=self.clock, netns=cfg.node_netns)
        if puller is None and hasattr(image_store, "content"):
            puller = DistributionPuller(image_store, registries=getattr(cfg, "registries", None) or None)
        self.images = ImageManager(image_store, self._record, puller=puller,
                                   backoff=Backoff(cfg.image_backoff_initial, cfg.image_backoff_max, wall),
                                   allowed_registries=cfg.pull_registries, clock_now=wall)
        self.node_status = NodeStatusManager(client, cfg, runtime_version=self._runtime_version, health=self.health,
                                             images=self._node_images, record=self._record_node, clock=self.clock)
        from .volumes.manager import VolumeManager

        self.volumes = VolumeManager(cfg.pods_dir, self.objects, self.tokens, self.node_status.allocatable,
                                     tmpfs=cfg.memory_backed_volumes)
        self.hooks = HandlerRunner(runtime, netns=cfg.node_netns)
        self.runtime_manager = RuntimeManager(
            runtime, self.images, self.objects, self._record, hooks=self.hooks,
            crash_backoff=Backoff(cfg.crash_backoff_initial, cfg.crash_backoff_max, wall),
            config_inputs=lambda: ConfigInputs(volume_paths={}, hosts_file="",
                                               memory_capacity=self.node_status.machine.memory_bytes,
                                               seccomp_root=cfg.seccomp_root, cfs_quota=cfg.cpu_cfs_quota,
                                               cfs_period=cfg.cpu_cfs_quota_period_us),
            log_root=cfg.log_dir, max_dead_per_container=cfg.max_per_pod_container)
        node_hosts = ""
        try:
            with open("/etc/hosts") as f:
                node_hosts = f.read()
        except OSError:
            pass
        self.syncer = NetworkGatedSyncer(
            cfg, runtime_manager=self.runtime_manager, status=self.status_manager, probes=self.probes,
            volumes=self.volumes, images=self.images, objects=self.objects, record=self._record,
            services=lambda: self.service_informer.lister().list(), host_resolv=read_resolv_conf(cfg.resolv_conf),
            allocatable=lambda: self.node_status.allocatable, node_hosts=node_hosts, tokens=self.tokens)
        self.pod_workers = PodWorkers(self.syncer, clock=self.clock, sync_frequency=cfg.sync_frequency,
                                      error_backoff=cfg.error_backoff)
        self.pleg = PLEG(runtime, self._on_pleg_event, period=cfg.pleg_relist_period, clock=self.clock)
        self.lease = NodeLease(client, cfg.node_name, duration=cfg.node_lease_duration_seconds, clock=self.clock)
        self.log_manager = ContainerLogManager(runtime, max_size=cfg.container_log_max_size,
                                               max_files=cfg.container_log_max_files,
                                               period=cfg.container_log_monitor_period)
        self.stats = StatsProvider(runtime, cfg.node_name)
        self.lookup = PodLookup(runtime, self._get_pod)
        self.ready = asyncio.Event()
        self._health = Health(runtime="container runtime status check may not have completed yet")
        self.syncer.recheck = self.health

    # --- events --------------------------------------------------------------------------------
    def _record(self, pod: dict, container: dict | None, type_: str, reason: str, message: str) -> None:
        md = pod.get("metadata") or {}
        ref = {"kind": "Pod", "apiVersion": "v1", "metadata": md}
        fp = ""
        if container is not None:
            group = "initContainers" if is_init_container(pod, container.get("name", "")) else "containers"
            fp = f"spec.{group}{{{container.get('name', '')}}}"
        try:
            self.recorder.event(ref, type_, reason, message, field_path=fp)
        except ValueError:
            pass

    def _record_node(self, node: dict, type_: str, reason: str, message: str) -> None:
        md = dict(node.get("metadata") or {})
        md["uid"] = md.get("name")  # Kubernetes' node events reference the node by name as UID
        md.pop("namespace", None)
        self.recorder.event({"kind": "Node", "apiVersion": "v1", "metadata": md}, type_, reason, message)

    # --- inputs --------------------------------------------------------------------------------
    def _get_pod(self, namespace: str, name: str) -> dict | None:
        try:
            return self.pod_informer.lister().get(name, namespace)
        except Exception:
            return None

    def _pod_by_uid(self, uid: str) -> dict | None:
        w = self.pod_workers.work.get(uid)
        return w.pod if w is not None else None

    def _on_pod_add(self, pod: dict) -> None:
        self.status_manager.pod_updated(pod)
        self.pod_workers.update_pod(pod)

    def _on_pod_update(self, old: dict, new: dict) -> None:
        self.status_manager.pod_updated(new)
        if old.get("spec") != new.get("spec") or (old.get("metadata") or {}).get("deletionTimestamp") != \
                (new.get("metadata") or {}).get("deletionTimestamp") or \
                (old.get("metadata") or {}).get("resourceVersion") == (new.get("metadata") or {}).get(
                    "resourceVersion"):
            self.pod_workers.update_pod(new)
        else:
            w = self.pod_workers.work.get((new.get("metadata") or {}).get("uid", ""))
            if w is not None:
                w.pod = new  # a status write of ours: no need to sync again

    def _on_pod_delete(self, pod: dict) -> None:
        self.pod_workers.remove_pod(pod)

    def _on_pleg_event(self, uid: str) -> None:
        pod = self._pod_by_uid(uid)
        if pod is not None:
            self.pod_workers.update_pod(pod)

    def _on_probe_result(self, uid: str, container: str, kind: str, result: ProbeResult) -> None:
        pod = self._pod_by_uid(uid)
        if pod is not None:
            self.pod_workers.update_pod(pod)

    # --- node ----------------------------------------------------------------------------------
    async def _runtime_version(self) -> str:
        v = await self.runtime.version()
        return runtime_version_string(v.runtime_name, v.runtime_version)

    async def health(self) -> Health:
        h = Health()
        try:
            st = await self.runtime.status()
        except Exception as e:
            h.runtime = f"container runtime is down: {e}"
            self._health = h
            self.syncer.network_error = h.runtime
            return h
        rr = st.condition("RuntimeReady")
        if rr is None or not rr.status:
            h.runtime = "container runtime is down" + (f": {rr.message}" if rr and rr.message else "")
        nr = st.condition("NetworkReady")
        if nr is None or not nr.status:
            h.network = (f"container runtime network not ready: NetworkReady=false reason:{nr.reason if nr else ''} "
                         f"message:{nr.message if nr else ''}")
        ok, msg = self.pleg.healthy()
        if not ok:
            h.pleg = msg
        self._health = h
        self.syncer.network_error = h.network or h.runtime
        return h

    async def _node_images(self) -> list[dict]:
        images = await self.image_store.list()
        images.sort(key=lambda i: i.size, reverse=True)
        return [{"names": list(i.repo_digests) + list(i.repo_tags), "sizeBytes": i.size} for i in images[:50]
                if i.repo_digests or i.repo_tags]

    # --- housekeeping --------------------------------------------------------------------------
    async def housekeeping(self) -> None:
        """Pods the runtime (or the disk) holds that the API no longer has get killed and
        removed; backoff entries age out."""
        desired = {(p.get("metadata") or {}).get("uid") for p in self.pod_informer.lister().list()}
        held = self.pleg.pod_uids() | set(await self.volumes.pod_dirs())
        for uid in held - desired:
            if not self.pod_workers.is_known(uid):
                log.info("cleaning up pod %s, which is no longer bound to this node", uid)
                self.pod_workers.kill_orphan(uid)
        self.runtime_manager.backoff.gc()
        self.images.backoff.gc()

    async def _housekeeping_loop(self) -> None:
        while True:
            await self.clock.sleep(self.cfg.housekeeping_period)
            try:
                await self.housekeeping()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("housekeeping failed")

    # --- run -----------------------------------------------------------------------------------
    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.recorder.run(), name="events")
            await self.health()
            if self.cfg.register_node:
                node = await self.node_status.register()
                self.lease.node_uid = (node.get("metadata") or {}).get("uid", "")
                tg.create_task(self.lease.run(), name="node-lease")
                tg.create_task(self.node_status.run(), name="node-status")
            self.pod_informer.add_event_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)
            tg.create_task(self.informers.run(), name="informers")
            await self.informers.wait_for_cache_sync()
            tg.create_task(self.status_manager.run(), name="status-manager")
            tg.create_task(self.probes.run(), name="probes")
            tg.create_task(self.pod_workers.run(), name="pod-workers")
            await self.pleg.relist()
            await self.housekeeping()
            tg.create_task(self.pleg.run(), name="pleg")
            tg.create_task(self._housekeeping_loop(), name="housekeeping")
            tg.create_task(self.log_manager.run(), name="log-rotation")
            self.ready.set()
            log.info("kubelet for node %s is running", self.cfg.node_name)

    def pods(self) -> list[dict]:
        return self.pod_informer.lister().list()


    async def refresh_node_status(self) -> None:
        """Re-evaluate health and write the node status now (e.g. once the pod network is up)."""
        await self.health()
        if self.node_status.registered.is_set():
            await self.node_status.update_status(force=True)


__all__ = ["Kubelet", "runtime_version_string"]
