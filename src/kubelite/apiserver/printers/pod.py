"""The Pod printer: READY, the STATUS reason algorithm, RESTARTS with the last restart's age."""

from __future__ import annotations

from datetime import datetime

from .columns import AGE, NAME, Column, Printer, wide
from .format import NONE, created, human_duration, meta, parse_time

# Reasons and phases the STATUS column knows about.
SCHEDULING_GATED = "SchedulingGated"
POD_INITIALIZING = "PodInitializing"
NODE_LOST = "NodeLost"
TERMINAL_PHASES = ("Succeeded", "Failed")

COLUMNS = (
    NAME,
    Column("Ready", "string", "Ready containers out of all containers (sidecars included)."),
    Column("Status", "string", "A one-word summary of the pod's and its containers' state."),
    Column("Restarts", "string", "Container restarts, with the time since the last one."),
    AGE,
    wide("IP", "The pod's first IP address."),
    wide("Node", "The node the pod is bound to."),
    wide("Nominated Node", "The node the scheduler nominated while preempting for this pod."),
    wide("Readiness Gates", "Readiness gates whose condition is True, out of all gates."),
)

SUCCEEDED_CONDITIONS = [{"type": "Completed", "status": "True", "reason": "Succeeded",
                         "message": "The pod has completed successfully."}]
FAILED_CONDITIONS = [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]


def is_sidecar(container: dict | None) -> bool:
    """A restartable init container (`restartPolicy: Always`)."""
    return bool(container) and container.get("restartPolicy") == "Always"


def _has_condition(status: dict, type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in status.get("conditions") or [])


def _later(current: datetime | None, cs: dict) -> datetime | None:
    """The later of `current` and the container's last termination time."""
    finished = parse_time(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
    if finished is None:
        return current
    if current is None or current < finished:
        return finished
    return current


def _terminated_reason(term: dict, prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + term["reason"]
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def pod_cells(pod: dict, now: datetime) -> list:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == SCHEDULING_GATED:
            reason = SCHEDULING_GATED

    init_specs = spec.get("initContainers") or []
    init_by_name = {c.get("name"): c for c in init_specs}
    total = len(spec.get("containers") or []) + sum(1 for c in init_specs if is_sidecar(c))
    ready = 0
    restarts = sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += cs.get("restartCount") or 0
        last_restart = _later(last_restart, cs)
        sidecar = is_sidecar(init_by_name.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += cs.get("restartCount") or 0
            last_sidecar_restart = _later(last_sidecar_restart, cs)
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and (terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != POD_INITIALIZING:
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _has_condition(status, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount") or 0
            last_restart = _later(last_restart, cs)
            state = cs.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = _terminated_reason(terminated)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        # A finished container next to a running one: the pod is still running.
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(status, "Ready") else "NotReady"

    if meta(pod).get("deletionTimestamp"):
        if status.get("reason") == NODE_LOST:
            reason = "Unknown"
        elif phase not in TERMINAL_PHASES:
            reason = "Terminating"

    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({human_duration((now - last_restart).total_seconds())} ago)"

    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips else "") or NONE
    return [
        meta(pod).get("name", ""), f"{ready}/{total}", reason, restarts_cell, created(pod, now),
        ip, spec.get("nodeName") or NONE, status.get("nominatedNodeName") or NONE,
        _readiness_gates(spec, status),
    ]


def _readiness_gates(spec: dict, status: dict) -> str:
    gates = spec.get("readinessGates") or []
    if not gates:
        return NONE
    conditions = status.get("conditions") or []
    passed = 0
    for gate in gates:
        for cond in conditions:
            if cond.get("type") == gate.get("conditionType"):
                passed += cond.get("status") == "True"
                break
    return f"{passed}/{len(gates)}"


def pod_conditions(pod: dict) -> list[dict] | None:
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return [dict(c) for c in SUCCEEDED_CONDITIONS]
    if phase == "Failed":
        return [dict(c) for c in FAILED_CONDITIONS]
    return None


PRINTERS = {("", "Pod"): Printer(COLUMNS, pod_cells, pod_conditions)}
