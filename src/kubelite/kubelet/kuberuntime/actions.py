"""What `sync_pod` must do to bring a pod's containers in line with its spec: pure decisions
(Kubernetes' `computePodActions`, `computeInitContainerActions`, `ShouldContainerBeRestarted`).

Rules kept:
- A pod needs a new sandbox when it has none, or its newest is not ready; everything is then
  killed and started again, except for a `restartPolicy: Never` pod that already ran containers
  (it is left to finish as it is).
- Init containers run one at a time, in order; a failed one is retried per restart policy (with
  `Never` the pod fails). Sidecars (restartable init containers) start in order too, each after
  the previous one has started, and keep running beside the app containers.
- App containers start once the init containers are done; a dead one restarts per restart
  policy; a running one is killed (and restarted unless `Never`) when its spec changed or its
  liveness or startup probe failed.
- When nothing runs and nothing is left to start, the pod is done: its sandbox is stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..podutil import containers, init_containers, is_restartable_init, restart_policy
from ..runtime.interface import ContainerState
from . import labels as lb
from .types import ContainerInfo, RuntimePodStatus


@dataclass
class ProbeState:
    """What the probes say about running containers (by container ID)."""

    liveness_failed: set[str] = field(default_factory=set)
    startup_failed: set[str] = field(default_factory=set)
    started: set[str] = field(default_factory=set)  # startup probe passed, or there is none


@dataclass
class KillInfo:
    name: str
    message: str
    reason: str = ""  # "" | "liveness" | "startup" | "changed"


@dataclass
class PodActions:
    kill_pod: bool = False
    create_sandbox: bool = False
    sandbox_id: str = ""
    attempt: int = 0
    init_containers_to_start: list[str] = field(default_factory=list)
    containers_to_start: list[str] = field(default_factory=list)
    containers_to_kill: dict[str, KillInfo] = field(default_factory=dict)  # container ID -> why
    init_failed: bool = False  # an init container failed and restartPolicy is Never

    def nothing_to_do(self) -> bool:
        return not (self.kill_pod or self.create_sandbox or self.init_containers_to_start
                    or self.containers_to_start or self.containers_to_kill)


def should_container_be_restarted(container: dict, pod: dict, status: RuntimePodStatus) -> bool:
    """Whether a container that is not running should be (re)started."""
    latest = status.latest(container.get("name", ""))
    if latest is None:
        return True
    if latest.state == ContainerState.RUNNING:
        return False
    if latest.state in (ContainerState.UNKNOWN, ContainerState.CREATED):
        return True
    if is_restartable_init(container):
        return True
    policy = restart_policy(pod)
    if policy == "Never":
        return False
    if policy == "OnFailure" and latest.exit_code == 0:
        return False
    return True


def _sandbox_changed(pod: dict, status: RuntimePodStatus) -> tuple[bool, int, str]:
    """(changed, attempt for a new sandbox, ID of the current one)."""
    sb = status.sandbox
    if sb is None:
        return True, 0, ""
    if not status.sandbox_ready:
        return True, sb.attempt + 1, sb.id
    host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
    if not host_network and not sb.ip and sb.netns:
        return True, sb.attempt + 1, sb.id  # a pod network that lost its address
    return False, sb.attempt, sb.id


def _has_any_regular_container_run(pod: dict, status: RuntimePodStatus) -> bool:
    return any(status.latest(c.get("name", "")) is not None for c in containers(pod))


def _kill_reason(container: dict, c: ContainerInfo, probes: ProbeState) -> KillInfo | None:
    name = container.get("name", "")
    if c.info.hash and c.info.hash != lb.container_hash(container):
        return KillInfo(name, f"Container {name} definition changed, will be restarted", "changed")
    if c.id in probes.liveness_failed:
        return KillInfo(name, f"Container {name} failed liveness probe, will be restarted", "liveness")
    if c.id in probes.startup_failed:
        return KillInfo(name, f"Container {name} failed startup probe, will be restarted", "startup")
    return None


def compute_pod_actions(pod: dict, status: RuntimePodStatus, probes: ProbeState | None = None) -> PodActions:
    probes = probes or ProbeState()
    policy = restart_policy(pod)
    changed, attempt, sandbox_id = _sandbox_changed(pod, status)
    actions = PodActions(sandbox_id=sandbox_id, attempt=attempt)
    inits = init_containers(pod)
    regular = containers(pod)

    if changed:
        actions.kill_pod = True
        if policy == "Never" and status.sandbox is not None and any(
                status.latest(c.get("name", "")) is not None for c in inits + regular):
            return actions  # ran already: let it finish, do not run it again
        actions.create_sandbox = True
        if inits:
            actions.init_containers_to_start = [inits[0].get("name", "")]
            return actions
        for c in regular:
            latest = status.latest(c.get("name", ""))
            if policy == "OnFailure" and latest is not None and latest.exited and latest.exit_code == 0:
                continue
            actions.containers_to_start.append(c.get("name", ""))
        if not actions.containers_to_start:
            actions.create_sandbox = False  # nothing left to run
        return actions

    # --- init containers (regular ones in order; sidecars started in order and kept running) ---
    initialized = True
    regular_started = _has_any_regular_container_run(pod, status)
    for ic in inits:
        name = ic.get("name", "")
        latest = status.latest(name)
        if is_restartable_init(ic):
            if latest is None or not latest.running:
                actions.init_containers_to_start.append(name)
                if latest is not None and latest.state in (ContainerState.CREATED, ContainerState.UNKNOWN):
                    actions.containers_to_kill[latest.id] = KillInfo(name, "")
                if not regular_started:
                    initialized = False
                    break
                continue
            why = _kill_reason(ic, latest, probes)
            if why is not None:
                actions.containers_to_kill[latest.id] = why
                actions.init_containers_to_start.append(name)
                if not regular_started:
                    initialized = False
                    break
                continue
            if latest.id not in probes.started and not regular_started:
                initialized = False  # wait for the sidecar to start before the next one
                break
            continue
        if regular_started:
            continue  # ran before: never again
        if latest is None:
            actions.init_containers_to_start.append(name)
            initialized = False
            break
        if latest.running:
            initialized = False
            break
        if latest.state in (ContainerState.CREATED, ContainerState.UNKNOWN):
            actions.containers_to_kill[latest.id] = KillInfo(name, "")
            actions.init_containers_to_start.append(name)
            initialized = False
            break
        if latest.exit_code == 0:
            continue
        # failed
        initialized = False
        if policy == "Never":
            actions.init_failed = True
            actions.kill_pod = True
        else:
            actions.init_containers_to_start.append(name)
        break
    if not initialized:
        return actions

    # --- app containers ------------------------------------------------------------------------
    keep = 0
    for c in regular:
        name = c.get("name", "")
        latest = status.latest(name)
        if latest is None or not latest.running:
            if latest is not None and latest.state in (ContainerState.CREATED, ContainerState.UNKNOWN):
                actions.containers_to_kill[latest.id] = KillInfo(name, "")
            if should_container_be_restarted(c, pod, status):
                actions.containers_to_start.append(name)
            continue
        why = _kill_reason(c, latest, probes)
        if why is None:
            keep += 1
            continue
        actions.containers_to_kill[latest.id] = why
        if policy != "Never":
            actions.containers_to_start.append(name)
    if keep == 0 and not actions.containers_to_start:
        # every app container is done for good: stop the pod (sidecars included)
        actions.kill_pod = True
        actions.init_containers_to_start = []
    return actions
