"""`PodSyncer`: what a pod worker does for one pod (Kubernetes' `SyncPod`, `SyncTerminatingPod`,
`SyncTerminatedPod` in `kubelet.go`): keep the status current, set volumes up, let the runtime
manager converge containers, kill them on termination, and clean everything up when the pod is
gone from the API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kubelite.machinery.errors import StatusError

from . import events as ev
from .config import KubeletConfig
from .dns import ResolvConf, pod_hostname, pod_hosts_file, pod_resolv_conf
from .env import PodRuntimeInfo
from .envvars import service_env_map
from .images import ImageManager
from .kuberuntime.manager import PodContext, RuntimeManager
from .kuberuntime.sandbox import sandbox_config
from .kuberuntime.types import RuntimePodStatus
from .logs import pod_log_dir
from .objects import ObjectNotFound, ObjectSource
from .podutil import namespace, uid as pod_uid
from .prober import ProbeManager
from .serviceaccount import with_service_account_volume
from .status.generate import StatusInputs, generate_pod_status
from .status.manager import StatusManager
from .volumes.manager import MountError, VolumeManager

log = logging.getLogger(__name__)

Recorder = Callable[[dict, "dict | None", str, str, str], None]


@dataclass
class SyncOutcome:
    terminal: bool = False
    requeue_after: float | None = None


class PodSyncer:
    def __init__(self, cfg: KubeletConfig, *, runtime_manager: RuntimeManager, status: StatusManager,
                 probes: ProbeManager, volumes: VolumeManager, images: ImageManager, objects: ObjectSource,
                 record: Recorder, services: Callable[[], list[dict]], host_resolv: ResolvConf,
                 allocatable: Callable[[], dict[str, str]], node_hosts: str = "", tokens=None):
        self.cfg = cfg
        self.rm = runtime_manager
        self.status = status
        self.probes = probes
        self.volumes = volumes
        self.images = images
        self.objects = objects
        self.record = record
        self.services = services
        self.host_resolv = host_resolv
        self.allocatable = allocatable
        self.node_hosts = node_hosts
        self.tokens = tokens

    # --- status --------------------------------------------------------------------------------
    async def _generate(self, pod: dict, rstatus: RuntimePodStatus, *, terminal: bool) -> dict:
        uid = pod_uid(pod)
        image_ids = {}
        for c in rstatus.containers:
            key = (c.status.image_id, c.status.image)
            if key not in image_ids:
                image_ids[key] = await self.images.image_id_for_status(c.status.image_id, c.status.image)
        inputs = StatusInputs(
            host_ips=list(self.cfg.node_ips),
            reasons=self.rm.reasons_for(uid),
            started=lambda name, cid, running: self.probes.started(uid, name, cid, running),
            ready=lambda name, cid, running: self.probes.ready(uid, name, cid, running),
            image_ids=image_ids,
            pod_is_terminal=terminal,
        )
        return generate_pod_status(pod, rstatus, self.status.status_of(uid), inputs)

    async def update_status(self, pod: dict, *, terminal: bool = False) -> dict:
        eff = with_service_account_volume(pod)
        rstatus = await self.rm.get_pod_status(pod_uid(pod))
        api = await self._generate(eff, rstatus, terminal=terminal)
        if self.status.set_pod_status(pod, api):
            self.probes.kick(pod_uid(pod))
        return api

    # --- sync ----------------------------------------------------------------------------------
    def _hostname(self, pod: dict) -> str:
        hostname, _ = pod_hostname(pod, "")
        return hostname

    def _resolv(self, pod: dict) -> ResolvConf | None:
        conf, warning = pod_resolv_conf(pod, self.cfg.cluster_dns, self.cfg.cluster_domain, self.host_resolv)
        if warning:
            self.record(pod, None, "Warning", ev.MISSING_CLUSTER_DNS, f'pod: "{pod["metadata"]["name"]}_'
                        f'{namespace(pod)}({pod_uid(pod)})". {warning}')
        return conf

    async def _pull_secrets(self, pod: dict) -> list[dict]:
        out = []
        for ref in (pod.get("spec") or {}).get("imagePullSecrets") or []:
            name = ref.get("name") if isinstance(ref, dict) else None
            if not name:
                continue
            try:
                out.append(await self.objects.secret(namespace(pod), name))
            except (ObjectNotFound, StatusError):
                log.info("pod %s: imagePullSecret %s not found", pod_uid(pod), name)
        return out

    def _context(self, pod: dict, volume_paths: dict[str, str], pull_secrets: list[dict]) -> PodContext:
        spec = pod.get("spec") or {}
        resolv = self._resolv(pod)
        hostname = self._hostname(pod)
        uid = pod_uid(pod)

        def make_sandbox_config(attempt: int):
            return sandbox_config(pod, attempt=attempt, hostname=hostname, resolv=resolv, log_root=self.cfg.log_dir,
                                  pids_limit=self.cfg.pod_pids_limit, cfs_quota=self.cfg.cpu_cfs_quota)

        async def hosts_file(pod_ips: list[str]) -> str:
            path = self.volumes.pod_dir(uid) / "etc-hosts"
            text = pod_hosts_file(pod, pod_ips, self.cfg.cluster_domain, node_hosts=self.node_hosts)
            await asyncio.to_thread(_write_if_changed, path, text)
            return str(path)

        links = spec.get("enableServiceLinks")
        return PodContext(
            sandbox_config=make_sandbox_config,
            volume_paths=volume_paths,
            pull_secrets=pull_secrets,
            service_env=service_env_map(self.services(), namespace(pod), links is None or bool(links)),
            host_ips=list(self.cfg.node_ips),
            allocatable=self.allocatable(),
            hosts_file=hosts_file,
        )

    async def sync_pod(self, pod: dict) -> SyncOutcome:
        uid = pod_uid(pod)
        eff = with_service_account_volume(pod)
        self.probes.add_pod(eff)
        rstatus = await self.rm.get_pod_status(uid)
        api = await self._generate(eff, rstatus, terminal=False)
        if self.status.set_pod_status(pod, api):
            self.probes.kick(uid)
        if api.get("phase") in ("Succeeded", "Failed"):
            return SyncOutcome(terminal=True)
        info = PodRuntimeInfo(pod_ips=list(rstatus.ips), host_ips=list(self.cfg.node_ips))
        try:
            paths = await self.volumes.mount(eff, info)
        except MountError as e:
            for f in e.failures:
                self.record(pod, None, "Warning", ev.FAILED_MOUNT_VOLUME, f.message)
            return SyncOutcome(requeue_after=self.cfg.error_backoff)
        ctx = self._context(eff, paths, await self._pull_secrets(pod))
        running = {c.name: c.id for c in rstatus.containers if c.running}
        result = await self.rm.sync_pod(eff, rstatus, self.probes.probe_state(uid, running), ctx)
        requeue = result.requeue_after
        if result.sandbox_error:
            requeue = self.cfg.error_backoff
        if result.changed or result.errors or result.sandbox_error:
            rstatus = await self.rm.get_pod_status(uid)
            api = await self._generate(eff, rstatus, terminal=False)
            if self.status.set_pod_status(pod, api):
                self.probes.kick(uid)
        if result.errors and requeue is None:
            requeue = self.cfg.error_backoff
        await self.rm.gc_pod(rstatus)
        return SyncOutcome(terminal=api.get("phase") in ("Succeeded", "Failed"), requeue_after=requeue)

    # --- termination ---------------------------------------------------------------------------
    async def sync_terminating_pod(self, pod: dict, grace: int | None) -> None:
        eff = with_service_account_volume(pod)
        uid = pod_uid(pod)
        rstatus = await self.rm.get_pod_status(uid)
        await self.rm.kill_pod(eff, rstatus, grace_override=grace)
        self.probes.remove_pod(uid)
        await self.update_status(pod, terminal=True)

    async def sync_terminated_pod(self, pod: dict) -> None:
        uid = pod_uid(pod)
        self.probes.remove_pod(uid)
        await self.update_status(pod, terminal=True)
        await self.volumes.unmount(uid)
        await self.status.flush(uid)
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            await self.status.delete_pod(pod)

    async def kill_orphan(self, uid: str) -> None:
        """A pod the runtime runs but the API no longer has (deleted while we were down)."""
        rstatus = await self.rm.get_pod_status(uid)
        await self.rm.kill_pod(None, rstatus, grace_override=None)

    async def cleanup_pod(self, uid: str, pod: dict | None) -> None:
        """Everything of a pod that left the API: containers, sandboxes, logs, volumes, dirs."""
        rstatus = await self.rm.get_pod_status(uid)
        name = (pod or {}).get("metadata", {}).get("name") or rstatus.name
        ns = (pod or {}).get("metadata", {}).get("namespace") or rstatus.namespace
        await self.rm.kill_pod(pod, rstatus, grace_override=0 if pod is None else None)
        await self.rm.remove_pod(rstatus)
        await self.volumes.unmount(uid)
        if name and ns:
            await asyncio.to_thread(_remove_tree, pod_log_dir(self.cfg.log_dir, ns, name, uid))
        else:
            await asyncio.to_thread(_remove_log_dirs_of, self.cfg.log_dir, uid)
        self.probes.remove_pod(uid)
        self.status.remove(uid)
        for key in [k for k in self.rm.reasons if k[0] == uid]:
            del self.rm.reasons[key]
        if self.tokens is not None:
            self.tokens.forget(uid)


def _write_if_changed(path: Path, text: str) -> None:
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)
    tmp.replace(path)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _remove_log_dirs_of(root: Path, uid: str) -> None:
    import shutil

    try:
        for d in Path(root).glob(f"*_{uid}"):
            shutil.rmtree(d, ignore_errors=True)
    except OSError:
        pass
