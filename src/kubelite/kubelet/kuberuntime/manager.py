"""`RuntimeManager`: the kubelet's I/O with the container runtime (Kubernetes'
`kubeGenericRuntimeManager`): read a pod's state back, apply `compute_pod_actions`, start
containers (backoff, image, config, create, start, postStart), kill them (preStop, grace
period, stop signal then SIGKILL), and remove what a deleted pod left.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import events as ev
from ..env import EnvError, PodRuntimeInfo, make_environment
from ..images import ImageManager, ImagePullError
from ..lifecycle import HandlerRunner, HookError
from ..logs import read_log_tail, remove_container_logs, restart_count_from_log_dir
from ..objects import ObjectNotFound, ObjectSource
from ..podutil import (
    MINIMUM_GRACE_PERIOD,
    container_spec,
    format_pod,
    go_duration,
    init_containers,
    is_init_container,
    namespace,
    termination_grace_period,
    uid as pod_uid,
)
from ..runtime.errors import CommandFailed, InvalidArgument, NotFound, RuntimeServiceError
from ..runtime.interface import (
    ContainerFilter,
    ContainerReason,
    ContainerState,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxState,
    RuntimeService,
)
from . import labels as lb
from .actions import ProbeState, compute_pod_actions
from .backoff import Backoff
from .container_config import ConfigError, ConfigInputs, container_config
from .security import NonRootError, verify_run_as_non_root
from .types import ContainerInfo, RuntimePodStatus

log = logging.getLogger(__name__)

Recorder = Callable[[dict, "dict | None", str, str, str], None]  # pod, container, type, reason, message


@dataclass
class PodContext:
    """What the kubelet prepared for one sync of a pod."""

    sandbox_config: Callable[[int], PodSandboxConfig]  # attempt -> config
    volume_paths: dict[str, str]
    pull_secrets: list[dict]
    service_env: dict[str, str]
    host_ips: list[str]
    allocatable: dict[str, str]
    hosts_file: Callable[[list[str]], Awaitable[str]]  # pod IPs -> path of the managed /etc/hosts


@dataclass
class SyncResult:
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)  # container -> (reason, message)
    requeue_after: float | None = None  # earliest backoff expiry
    sandbox_error: str = ""
    changed: bool = False  # the runtime state changed (containers started or killed)


class StartError(Exception):
    def __init__(self, reason: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after


def _kind(pod: dict, name: str) -> str:
    return "init" if is_init_container(pod, name) else "container"


class RuntimeManager:
    def __init__(self, runtime: RuntimeService, images: ImageManager, objects: ObjectSource, record: Recorder, *,
                 hooks: HandlerRunner, crash_backoff: Backoff, config_inputs: Callable[[], ConfigInputs],
                 log_root: Path, max_dead_per_container: int = 1):
        self.runtime = runtime
        self.images = images
        self.objects = objects
        self.record = record
        self.hooks = hooks
        self.backoff = crash_backoff
        self.config_inputs = config_inputs
        self.log_root = log_root
        self.max_dead = max_dead_per_container
        self.reasons: dict[tuple[str, str], tuple[str, str]] = {}  # (pod uid, container) -> last start error

    # --- reading the runtime -------------------------------------------------------------------
    async def get_pod_status(self, uid: str) -> RuntimePodStatus:
        out = RuntimePodStatus(uid=uid)
        sandboxes = await self.runtime.list_pod_sandbox(PodSandboxFilter(label_selector={lb.POD_UID: uid}))
        sandboxes.sort(key=lambda s: s.created_at, reverse=True)
        for sb in sandboxes:
            try:
                out.sandboxes.append(await self.runtime.pod_sandbox_status(sb.id))
            except NotFound:
                continue
        if out.sandboxes:
            out.name, out.namespace = out.sandboxes[0].name, out.sandboxes[0].namespace
            newest = out.sandboxes[0]
            if newest.state == PodSandboxState.READY and newest.ip:
                out.ips = [newest.ip] + list(newest.additional_ips)
        infos: list[ContainerInfo] = []
        for sb in out.sandboxes:
            for c in await self.runtime.list_containers(ContainerFilter(pod_sandbox_id=sb.id)):
                try:
                    st = await self.runtime.container_status(c.id)
                except NotFound:
                    continue
                infos.append(ContainerInfo(st, lb.annotated_info(st.annotations)))
        infos.sort(key=lambda c: c.status.created_at, reverse=True)
        for ci in infos:
            await self._termination_message(ci)
        out.containers = infos
        return out

    async def _termination_message(self, ci: ContainerInfo) -> None:
        """FallbackToLogsOnError: a failed container without a message gets its last log lines."""
        st = ci.status
        if (st.state != ContainerState.EXITED or st.exit_code == 0 or st.message
                or ci.info.termination_message_policy != "FallbackToLogsOnError"
                or st.reason == ContainerReason.CONTAINER_CANNOT_RUN):
            return
        st.message = await asyncio.to_thread(read_log_tail, st.log_path)

    # --- sync ----------------------------------------------------------------------------------
    def reasons_for(self, uid: str) -> dict[str, tuple[str, str]]:
        return {name: r for (u, name), r in self.reasons.items() if u == uid}

    async def sync_pod(self, pod: dict, status: RuntimePodStatus, probes: ProbeState, ctx: PodContext) -> SyncResult:
        actions = compute_pod_actions(pod, status, probes)
        result = SyncResult()
        uid = pod_uid(pod)
        if actions.kill_pod:
            if status.sandbox is not None and actions.create_sandbox:
                self.record(pod, None, "Normal", ev.SANDBOX_CHANGED,
                            "Pod sandbox changed, it will be killed and re-created.")
            await self.kill_pod(pod, status)
            result.changed = True
        else:
            kills = []
            for cid, why in actions.containers_to_kill.items():
                spec = container_spec(pod, why.name)
                kills.append(self.kill_container(pod, spec, cid, why.name, why.message, reason=why.reason))
            if kills:
                await asyncio.gather(*kills, return_exceptions=True)
                result.changed = True
        if actions.init_failed:
            return result
        if actions.create_sandbox or actions.init_containers_to_start:
            await self._prune_init_containers(pod, status)
        sandbox_id = actions.sandbox_id
        sandbox_config = ctx.sandbox_config(actions.attempt)
        pod_ips = list(status.ips)
        if actions.create_sandbox:
            try:
                sandbox_id = await self.runtime.run_pod_sandbox(sandbox_config)
            except RuntimeServiceError as e:
                msg = f"Failed to create pod sandbox: {e.message}"
                self.record(pod, None, "Warning", ev.FAILED_CREATE_POD_SANDBOX, msg)
                result.sandbox_error = msg
                return result
            result.changed = True
            sb = await self.runtime.pod_sandbox_status(sandbox_id)
            pod_ips = [sb.ip] + list(sb.additional_ips) if sb.ip else []
        if not sandbox_id:
            return result
        hosts = await ctx.hosts_file(pod_ips)
        info = PodRuntimeInfo(pod_ips=pod_ips, host_ips=ctx.host_ips)

        async def start(name: str) -> bool:
            spec = container_spec(pod, name)
            if spec is None:
                return False
            try:
                await self.start_container(pod, spec, status, sandbox_id, sandbox_config, info, ctx, hosts)
            except StartError as e:
                self.reasons[(uid, name)] = (e.reason, e.message)
                result.errors[name] = (e.reason, e.message)
                if e.retry_after is not None:
                    result.requeue_after = min(result.requeue_after or e.retry_after, e.retry_after)
                return False
            self.reasons.pop((uid, name), None)
            result.changed = True
            return True

        for name in actions.init_containers_to_start:
            spec = container_spec(pod, name) or {}
            ok = await start(name)
            if not ok or spec.get("restartPolicy") != "Always":
                return result  # one regular init container at a time; sidecars in order
        if actions.containers_to_start:
            await asyncio.gather(*(start(n) for n in actions.containers_to_start))
        return result

    def _backoff_key(self, pod: dict, container: dict) -> str:
        return (f"{pod.get('metadata', {}).get('name')}_{namespace(pod)}_{pod_uid(pod)}_{container.get('name')}_"
                f"{lb.container_hash(container)}")

    async def start_container(self, pod: dict, container: dict, status: RuntimePodStatus, sandbox_id: str,
                              sandbox_config: PodSandboxConfig, info: PodRuntimeInfo, ctx: PodContext,
                              hosts_file: str) -> str:
        name = container.get("name", "")
        last_exit = status.latest_exited(name)
        if last_exit is not None:
            key = self._backoff_key(pod, container)
            finished = last_exit.status.finished_at / 1e9
            if self.backoff.in_backoff_since(key, finished):
                delay = self.backoff.get(key)
                self.record(pod, container, "Warning", ev.BACKOFF_START_CONTAINER,
                            f"Back-off restarting failed container {name} in pod {format_pod(pod)}")
                raise StartError(ev.CRASH_LOOP_BACK_OFF,
                                 f"back-off {go_duration(delay)} restarting failed container={name} "
                                 f"pod={format_pod(pod)}", retry_after=self.backoff.remaining(key, finished))
            self.backoff.next(key, finished)
        try:
            image = await self.images.ensure_image(pod, container, ctx.pull_secrets)
        except ImagePullError as e:
            self.record(pod, container, "Warning", ev.FAILED_TO_CREATE_CONTAINER, f"Error: {e.reason}")
            retry = None
            if e.reason in (ev.ERR_IMAGE_PULL, ev.IMAGE_PULL_BACK_OFF):
                retry = max(1.0, self.images.backoff.get(f"{pod_uid(pod)}_{container.get('image', '')}"))
            raise StartError(e.reason, e.message, retry) from None
        latest = status.latest(name)
        if latest is not None:
            restart_count = latest.restart_count + 1
        else:
            log_dir = Path(sandbox_config.log_directory) / name
            restart_count = await asyncio.to_thread(restart_count_from_log_dir, log_dir)
        inputs = self.config_inputs()
        inputs.volume_paths = ctx.volume_paths
        inputs.hosts_file = hosts_file
        try:
            env = await make_environment(
                pod, container, objects=self.objects, service_env=ctx.service_env, info=info,
                allocatable=ctx.allocatable,
                warn=lambda m: self.record(pod, None, "Warning", ev.INVALID_ENVIRONMENT_VARIABLE_NAMES, m))
            verify_run_as_non_root(pod, container, image.config)
            config = await asyncio.to_thread(
                container_config, pod, container, kind=_kind(pod, name), image=image, restart_count=restart_count,
                env=env, inputs=inputs)
        except (ObjectNotFound, EnvError, NonRootError, ConfigError, OSError) as e:
            self.record(pod, container, "Warning", ev.FAILED_TO_CREATE_CONTAINER, f"Error: {e}")
            raise StartError(ev.CREATE_CONTAINER_CONFIG_ERROR, str(e)) from None
        try:
            cid = await self.runtime.create_container(sandbox_id, config, sandbox_config)
        except RuntimeServiceError as e:
            self.record(pod, container, "Warning", ev.FAILED_TO_CREATE_CONTAINER, f"Error: {e.message}")
            reason = ev.RUN_CONTAINER_ERROR if isinstance(e, (CommandFailed, InvalidArgument)) \
                else ev.CREATE_CONTAINER_ERROR
            raise StartError(reason, e.message) from None
        self.record(pod, container, "Normal", ev.CREATED_CONTAINER, f"Created container: {name}")
        try:
            await self.runtime.start_container(cid)
        except RuntimeServiceError as e:
            self.record(pod, container, "Warning", ev.FAILED_TO_START_CONTAINER, f"Error: {e.message}")
            raise StartError(ev.RUN_CONTAINER_ERROR, e.message) from None
        self.record(pod, container, "Normal", ev.STARTED_CONTAINER, f"Started container {name}")
        post_start = (container.get("lifecycle") or {}).get("postStart")
        if post_start:
            try:
                await self.hooks.run(cid, pod, container, post_start, info.pod_ips[0] if info.pod_ips else "")
            except HookError as e:
                log.info("pod %s: postStart hook of %s failed: %s", format_pod(pod), name, e)
                self.record(pod, container, "Warning", ev.FAILED_POST_START_HOOK, "PostStartHook failed")
                await self.kill_container(pod, container, cid, name, "FailedPostStartHook")
                raise StartError(ev.POST_START_HOOK_ERROR, str(e)) from None
        return cid

    # --- killing -------------------------------------------------------------------------------
    async def kill_container(self, pod: dict | None, container: dict | None, container_id: str, name: str,
                             message: str = "", *, reason: str = "", grace_override: int | None = None) -> None:
        info: lb.AnnotatedInfo | None = None
        if pod is None or container is None:
            try:
                st = await self.runtime.container_status(container_id)
            except NotFound:
                return
            info = lb.annotated_info(st.annotations)
        if pod is not None:
            grace = termination_grace_period(pod)
        else:
            assert info is not None
            grace = info.deletion_grace_period if info.deletion_grace_period is not None else (
                info.termination_grace_period if info.termination_grace_period is not None else 30)
        if container is not None and reason in ("liveness", "startup"):
            probe = container.get("livenessProbe" if reason == "liveness" else "startupProbe") or {}
            if probe.get("terminationGracePeriodSeconds") is not None:
                grace = int(probe["terminationGracePeriodSeconds"])
        if grace_override is not None:
            grace = grace_override
        if pod is not None:
            self.record(pod, container, "Normal", ev.KILLING_CONTAINER, message or f"Stopping container {name}")
        pre_stop = (container or {}).get("lifecycle", {}).get("preStop") if container else (
            info.pre_stop if info else None)
        if pre_stop and grace > 0 and pod is not None:
            started = time.monotonic()
            try:
                async with asyncio.timeout(grace):
                    await self.hooks.run(container_id, pod, container or {"name": name}, pre_stop,
                                         ((pod.get("status") or {}).get("podIP") or ""))
            except TimeoutError:
                log.info("pod %s: preStop hook of %s did not finish in %ss", format_pod(pod), name, grace)
            except HookError as e:
                log.info("pod %s: preStop hook of %s failed: %s", format_pod(pod), name, e)
                self.record(pod, container, "Warning", ev.FAILED_PRE_STOP_HOOK, "PreStopHook failed")
            grace -= int(time.monotonic() - started)
        grace = max(grace, MINIMUM_GRACE_PERIOD)
        try:
            await self.runtime.stop_container(container_id, grace)
        except NotFound:
            pass

    async def kill_pod(self, pod: dict | None, status: RuntimePodStatus, grace_override: int | None = None) -> None:
        """Kill every running container (preStop hooks, grace), then stop every sandbox."""
        kills = []
        for c in status.running_containers():
            spec = container_spec(pod, c.name) if pod is not None else None
            kills.append(self.kill_container(pod, spec, c.id, c.name, grace_override=grace_override))
        results = await asyncio.gather(*kills, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for sb in status.sandboxes:
            await self.runtime.stop_pod_sandbox(sb.id)
        if errors:
            raise errors[0]

    # --- cleanup -------------------------------------------------------------------------------
    async def _prune_init_containers(self, pod: dict, status: RuntimePodStatus) -> None:
        """Keep only the newest exited instance of each init container."""
        for ic in init_containers(pod):
            dead = [c for c in status.instances(ic.get("name", "")) if c.exited or c.state == ContainerState.UNKNOWN]
            for c in dead[1:]:
                await self.remove_container(c)
                status.containers.remove(c)

    async def remove_container(self, c: ContainerInfo) -> None:
        await self.runtime.remove_container(c.id)
        await asyncio.to_thread(remove_container_logs, c.status.log_path)

    async def gc_pod(self, status: RuntimePodStatus) -> None:
        """Drop dead instances beyond `max_dead` per container name, and old stopped sandboxes."""
        by_name: dict[str, list[ContainerInfo]] = {}
        for c in status.containers:
            by_name.setdefault(c.name, []).append(c)
        for instances in by_name.values():
            dead = [c for c in instances if c.exited]  # newest first
            for c in dead[self.max_dead:]:
                await self.remove_container(c)
        used = {c.status.pod_sandbox_id for c in status.containers if c.status.pod_sandbox_id}
        for sb in status.sandboxes[1:]:
            if sb.state != PodSandboxState.READY and sb.id not in used:
                await self.runtime.remove_pod_sandbox(sb.id)

    async def remove_pod(self, status: RuntimePodStatus) -> None:
        """Everything the runtime holds for a pod: containers (and their logs), sandboxes."""
        for c in status.containers:
            await self.remove_container(c)
        for sb in status.sandboxes:
            await self.runtime.remove_pod_sandbox(sb.id)
