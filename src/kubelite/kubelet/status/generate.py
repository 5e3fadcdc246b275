"""Pure generation of a Pod's status from the runtime's view (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from kubelite.api.helpers import pod_qos_class

from .. import events as ev
from ..kuberuntime.actions import should_container_be_restarted
from ..kuberuntime.types import ContainerInfo, RuntimePodStatus
from ..podutil import containers, go_quote_list, init_containers, is_restartable_init, restart_policy
from ..runtime.interface import ContainerState, PodSandboxState

RUNTIME_PREFIX = "runc://"
KUBELET_CONDITIONS = (ev.POD_SCHEDULED, ev.POD_READY, ev.POD_INITIALIZED, ev.CONTAINERS_READY,
                      ev.POD_READY_TO_START_CONTAINERS)


def time_from_ns(ns: int) -> str | None:
    if not ns:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class StatusInputs:
    """What the kubelet knows beyond the pod and the runtime."""

    host_ips: list[str] = field(default_factory=list)
    reasons: dict[str, tuple[str, str]] = field(default_factory=dict)  # container name -> (reason, message)
    started: Callable[[str, str, bool], bool] = lambda name, cid, running: running  # no startup probes
    ready: Callable[[str, str, bool], bool] = lambda name, cid, running: running  # no readiness probes
    image_ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (image ID, image) -> status imageID
    pod_is_terminal: bool = False


# --- container statuses ----------------------------------------------------------------------------


def _convert(c: ContainerInfo, old: dict | None, inputs: StatusInputs) -> dict:
    cid = RUNTIME_PREFIX + c.id
    st = c.status
    out: dict = {"name": c.name, "restartCount": c.restart_count, "image": st.image,
                 "imageID": inputs.image_ids.get((st.image_id, st.image), st.image_id), "containerID": cid}
    if c.state == ContainerState.RUNNING:
        out["state"] = {"running": {"startedAt": time_from_ns(st.started_at)}}
    elif c.state == ContainerState.CREATED:
        out["state"] = {"waiting": {}}
    elif c.state == ContainerState.EXITED:
        term: dict = {"exitCode": st.exit_code, "reason": st.reason or None, "message": st.message or None,
                      "startedAt": time_from_ns(st.started_at), "finishedAt": time_from_ns(st.finished_at),
                      "containerID": cid}
        out["state"] = {"terminated": {k: v for k, v in term.items() if v is not None or k in ("startedAt",
                                                                                                 "finishedAt")}}
    elif old is not None and (old.get("state") or {}).get("running"):
        out["state"] = {"terminated": {"exitCode": 137, "reason": ev.CONTAINER_STATUS_UNKNOWN,
                                       "message": "The container could not be located when the pod was terminated",
                                       "startedAt": None, "finishedAt": None}}
        out["restartCount"] = int(old.get("restartCount") or 0) + 1
    else:
        out["state"] = {"waiting": {}}
    return out


def _volume_mounts(container: dict) -> list[dict]:
    out = []
    for m in container.get("volumeMounts") or []:
        vm: dict = {"name": m.get("name"), "mountPath": m.get("mountPath")}
        if m.get("readOnly"):
            vm["readOnly"] = True
            vm["recursiveReadOnly"] = "Disabled"
        out.append(vm)
    return out


def container_statuses(pod: dict, runtime: RuntimePodStatus, specs: list[dict], old_statuses: list[dict],
                       inputs: StatusInputs, *, is_init: bool) -> list[dict]:
    has_inits = bool(init_containers(pod))
    default_waiting = {"waiting": {"reason": ev.POD_INITIALIZING if has_inits else ev.CONTAINER_CREATING}}
    olds = {s.get("name"): s for s in old_statuses if isinstance(s, dict)}
    statuses: dict[str, dict] = {}
    for c in specs:
        name = c.get("name", "")
        status = {"name": name, "image": c.get("image", ""), "imageID": "", "state": dict(default_waiting),
                  "lastState": {}, "ready": False, "restartCount": 0}
        old = olds.get(name)
        if old is not None:
            if (old.get("state") or {}).get("terminated"):
                status = dict(old)
            else:
                status["restartCount"] = old.get("restartCount", 0)
                status["lastState"] = old.get("lastState") or {}
        statuses[name] = status

    # containers the runtime no longer has, but that were running: they terminated unseen
    for c in specs:
        name = c.get("name", "")
        if runtime.latest(name) is not None:
            continue
        old = olds.get(name)
        if old is None or (old.get("state") or {}).get("terminated") or not (old.get("state") or {}).get("running"):
            continue
        s = statuses[name]
        s["lastState"] = {"terminated": {"exitCode": 137, "reason": ev.CONTAINER_STATUS_UNKNOWN,
                                         "message": "The container could not be located when the pod was deleted.  "
                                                    "The container used to be Running",
                                         "startedAt": None, "finishedAt": None}}
        if not runtime.sandbox_ready:
            s["state"] = {"terminated": dict(s["lastState"]["terminated"])}
            s["lastState"] = {}
        else:
            s["restartCount"] = int(old.get("restartCount") or 0) + 1

    seen: dict[str, int] = {}
    for ci in runtime.containers:  # newest first
        name = ci.name
        if name not in statuses or seen.get(name, 0) >= 2:
            continue
        converted = _convert(ci, olds.get(name), inputs)
        if seen.get(name, 0) == 0:
            converted["lastState"] = {}
            converted["ready"] = False
            statuses[name] = converted
        else:
            statuses[name]["lastState"] = converted["state"]
        seen[name] = seen.get(name, 0) + 1

    # containers that will be (re)started by the next sync are Waiting, with the last error
    for c in specs:
        name = c.get("name", "")
        if is_init:
            latest = runtime.latest(name)
            if latest is not None and latest.exited and latest.exit_code == 0 and not is_restartable_init(c):
                continue
        if not should_container_be_restarted(c, pod, runtime):
            continue
        reason = inputs.reasons.get(name)
        if reason is None:
            continue
        s = statuses[name]
        if (s.get("state") or {}).get("terminated"):
            s["lastState"] = s["state"]
        s["state"] = {"waiting": {k: v for k, v in (("reason", reason[0]), ("message", reason[1])) if v}}

    by_spec = {c.get("name", ""): c for c in specs}
    out = []
    for name in ([c.get("name", "") for c in specs] if is_init else sorted(statuses)):
        s = statuses[name]
        spec = by_spec[name]
        running = bool((s.get("state") or {}).get("running"))
        cid = str(s.get("containerID") or "").removeprefix(RUNTIME_PREFIX)
        started = inputs.started(name, cid, running) if running else False
        s["started"] = started
        if is_init and not is_restartable_init(spec):
            term = (s.get("state") or {}).get("terminated")
            s["ready"] = bool(term and term.get("exitCode") == 0)
        else:
            s["ready"] = bool(started and inputs.ready(name, cid, running))
        mounts = _volume_mounts(spec)
        if mounts:
            s["volumeMounts"] = mounts
        s.setdefault("lastState", {})
        out.append(s)
    return out


# --- phase -----------------------------------------------------------------------------------------


def _state(s: dict | None) -> dict:
    return (s or {}).get("state") or {}


def get_phase(pod: dict, statuses: list[dict], pod_is_terminal: bool) -> str:
    by_name = {s.get("name"): s for s in statuses}
    policy = restart_policy(pod)
    pending_regular_init = pending_sidecar = failed_init = 0
    for c in init_containers(pod):
        if is_restartable_init(c):
            continue
        s = by_name.get(c.get("name"))
        st = _state(s)
        if s is None:
            pending_regular_init += 1
        elif st.get("running") is not None:
            pending_regular_init += 1
        elif st.get("terminated") is not None:
            if st["terminated"].get("exitCode", 0) != 0:
                failed_init += 1
        elif st.get("waiting") is not None:
            last = (s.get("lastState") or {}).get("terminated")
            if last is not None:
                if last.get("exitCode", 0) != 0:
                    failed_init += 1
            else:
                pending_regular_init += 1
        else:
            pending_regular_init += 1
    unknown = running = waiting = stopped = succeeded = 0
    for c in init_containers(pod):
        if not is_restartable_init(c):
            continue
        s = by_name.get(c.get("name"))
        st = _state(s)
        if s is None:
            unknown += 1
        elif st.get("running") is not None:
            if not s.get("started"):
                pending_sidecar += 1
            running += 1
        elif st.get("terminated") is not None:
            pass
        elif st.get("waiting") is not None:
            if (s.get("lastState") or {}).get("terminated") is None:
                pending_sidecar += 1
                waiting += 1
        else:
            pending_sidecar += 1
            unknown += 1
    for c in containers(pod):
        s = by_name.get(c.get("name"))
        st = _state(s)
        if s is None:
            unknown += 1
        elif st.get("running") is not None:
            running += 1
        elif st.get("terminated") is not None:
            stopped += 1
            if st["terminated"].get("exitCode", 0) == 0:
                succeeded += 1
        elif st.get("waiting") is not None:
            if (s.get("lastState") or {}).get("terminated") is not None:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    if failed_init > 0 and policy == "Never":
        return "Failed"
    regular_started = any(_state(by_name.get(c.get("name"))).get("running") is not None
                          or _state(by_name.get(c.get("name"))).get("terminated") is not None
                          for c in containers(pod))
    if pending_regular_init > 0 or (pending_sidecar > 0 and not regular_started):
        return "Pending"
    if running > 0 and unknown == 0:
        return "Running"
    if running == 0 and stopped > 0 and unknown == 0:
        if pod_is_terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


# --- conditions ------------------------------------------------------------------------------------


def _cond(type_: str, status: bool | str, reason: str = "", message: str = "") -> dict:
    s = status if isinstance(status, str) else ("True" if status else "False")
    c: dict = {"type": type_, "status": s}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def containers_ready_condition(pod: dict, statuses: list[dict], phase: str) -> dict:
    by_name = {s.get("name"): s for s in statuses}
    unknown: list[str] = []
    unready: list[str] = []
    for c in [c for c in init_containers(pod) if is_restartable_init(c)] + containers(pod):
        s = by_name.get(c.get("name"))
        if s is None:
            unknown.append(c.get("name", ""))
        elif not s.get("ready"):
            unready.append(c.get("name", ""))
    if phase == "Succeeded" and not unknown:
        return _cond(ev.CONTAINERS_READY, False, ev.POD_COMPLETED)
    if phase == "Failed":
        return _cond(ev.CONTAINERS_READY, False, ev.POD_FAILED)
    msgs = []
    if unknown:
        msgs.append(f"containers with unknown status: {go_quote_list(unknown)}")
    if unready:
        msgs.append(f"containers with unready status: {go_quote_list(unready)}")
    if msgs:
        return _cond(ev.CONTAINERS_READY, False, ev.CONTAINERS_NOT_READY, ", ".join(msgs))
    return _cond(ev.CONTAINERS_READY, True)


def ready_condition(pod: dict, conditions: list[dict], statuses: list[dict], phase: str) -> dict:
    cr = containers_ready_condition(pod, statuses, phase)
    if cr["status"] != "True":
        return {**cr, "type": ev.POD_READY}
    msgs = []
    for gate in (pod.get("spec") or {}).get("readinessGates") or []:
        t = gate.get("conditionType")
        c = next((c for c in conditions if c.get("type") == t), None)
        if c is None:
            msgs.append(f'corresponding condition of pod readiness gate "{t}" does not exist.')
        elif c.get("status") != "True":
            msgs.append(f'the status of pod readiness gate "{t}" is not "True", but {c.get("status")}')
    if msgs:
        return _cond(ev.POD_READY, False, ev.READINESS_GATES_NOT_READY, ", ".join(msgs))
    return _cond(ev.POD_READY, True)


def initialized_condition(pod: dict, statuses: list[dict], phase: str) -> dict:
    inits = init_containers(pod)
    if not inits:
        return _cond(ev.POD_INITIALIZED, True)
    by_name = {s.get("name"): s for s in statuses}
    unknown: list[str] = []
    incomplete: list[str] = []
    for c in inits:
        s = by_name.get(c.get("name"))
        if s is None:
            unknown.append(c.get("name", ""))
            continue
        done = bool(s.get("started")) if is_restartable_init(c) else bool(s.get("ready"))
        if not done:
            incomplete.append(c.get("name", ""))
    if phase == "Succeeded" and not unknown:
        return _cond(ev.POD_INITIALIZED, True, ev.POD_COMPLETED)
    regular = {c.get("name") for c in containers(pod)}
    if any(s.get("name") in regular and (_state(s).get("running") is not None or _state(s).get("terminated")
                                         is not None) for s in statuses):
        return _cond(ev.POD_INITIALIZED, True)
    msgs = []
    if unknown:
        msgs.append(f"containers with incomplete status: {go_quote_list(unknown)}")
    if incomplete:
        msgs.append(f"containers with incomplete status: {go_quote_list(incomplete)}")
    if msgs:
        return _cond(ev.POD_INITIALIZED, False, ev.CONTAINERS_NOT_INITIALIZED, ", ".join(msgs))
    return _cond(ev.POD_INITIALIZED, True)


def ready_to_start_condition(pod: dict, runtime: RuntimePodStatus) -> dict:
    sb = runtime.sandbox
    ok = sb is not None and sb.state == PodSandboxState.READY
    if ok and not (pod.get("spec") or {}).get("hostNetwork") and sb.netns and not sb.ip:
        ok = False
    return _cond(ev.POD_READY_TO_START_CONTAINERS, ok)


# --- the whole status ------------------------------------------------------------------------------


def generate_pod_status(pod: dict, runtime: RuntimePodStatus, old_status: dict, inputs: StatusInputs) -> dict:
    """The status the kubelet wants the pod to have now (times of conditions and startTime are
    the status manager's job)."""
    api_status = pod.get("status") or {}
    init_statuses = container_statuses(pod, runtime, init_containers(pod),
                                       old_status.get("initContainerStatuses") or [], inputs, is_init=True)
    statuses = container_statuses(pod, runtime, containers(pod), old_status.get("containerStatuses") or [],
                                  inputs, is_init=False)
    all_statuses = init_statuses + statuses
    phase = get_phase(pod, all_statuses, inputs.pod_is_terminal)
    if phase not in ("Succeeded", "Failed"):
        if old_status.get("phase") in ("Succeeded", "Failed"):
            phase = old_status["phase"]
        elif api_status.get("phase") in ("Succeeded", "Failed"):
            phase = api_status["phase"]
    out: dict = {"phase": phase}
    if phase == old_status.get("phase"):
        for k in ("reason", "message"):
            v = old_status.get(k) or api_status.get(k)
            if v:
                out[k] = v
    conditions = [c for c in api_status.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
    conditions.append(ready_to_start_condition(pod, runtime))
    conditions.append(initialized_condition(pod, all_statuses, phase))
    conditions.append(ready_condition(pod, conditions, all_statuses, phase))
    conditions.append(containers_ready_condition(pod, all_statuses, phase))
    conditions.append(_cond(ev.POD_SCHEDULED, True))
    out["conditions"] = conditions
    host_ips = list(inputs.host_ips)
    if host_ips:
        out["hostIP"] = host_ips[0]
        out["hostIPs"] = [{"ip": ip} for ip in host_ips]
    if (pod.get("spec") or {}).get("hostNetwork"):
        pod_ips = host_ips
    else:
        pod_ips = list(runtime.ips)
        if not pod_ips:
            pod_ips = [p.get("ip") for p in old_status.get("podIPs") or api_status.get("podIPs") or [] if p.get("ip")]
    if pod_ips:
        out["podIP"] = pod_ips[0]
        out["podIPs"] = [{"ip": ip} for ip in pod_ips]
    if old_status.get("startTime"):
        out["startTime"] = old_status["startTime"]
    out["qosClass"] = api_status.get("qosClass") or pod_qos_class(pod)
    if init_statuses:
        out["initContainerStatuses"] = init_statuses
    out["containerStatuses"] = statuses
    return out
