"""Small pure helpers over Pod dicts that the kubelet's parts share."""

from __future__ import annotations

from typing import Any, Iterator

DEFAULT_GRACE_PERIOD = 30
MINIMUM_GRACE_PERIOD = 2  # kubelet's minimumGracePeriodInSeconds: never SIGKILL sooner


def meta(pod: dict) -> dict:
    return pod.get("metadata") or {}


def spec(pod: dict) -> dict:
    return pod.get("spec") or {}


def status(pod: dict) -> dict:
    return pod.get("status") or {}


def uid(pod: dict) -> str:
    return meta(pod).get("uid", "")


def name(pod: dict) -> str:
    return meta(pod).get("name", "")


def namespace(pod: dict) -> str:
    return meta(pod).get("namespace", "") or "default"


def format_pod(pod: dict) -> str:
    """Kubernetes' `format.Pod`: `name_namespace(uid)`."""
    return f"{name(pod)}_{namespace(pod)}({uid(pod)})"


def restart_policy(pod: dict) -> str:
    return spec(pod).get("restartPolicy") or "Always"


def containers(pod: dict) -> list[dict]:
    return [c for c in spec(pod).get("containers") or [] if isinstance(c, dict)]


def init_containers(pod: dict) -> list[dict]:
    return [c for c in spec(pod).get("initContainers") or [] if isinstance(c, dict)]


def is_restartable_init(container: dict) -> bool:
    """A sidecar: an init container with `restartPolicy: Always`."""
    return container.get("restartPolicy") == "Always"


def all_containers(pod: dict) -> Iterator[dict]:
    yield from init_containers(pod)
    yield from containers(pod)


def container_spec(pod: dict, container_name: str) -> dict | None:
    for c in all_containers(pod):
        if c.get("name") == container_name:
            return c
    return None


def is_init_container(pod: dict, container_name: str) -> bool:
    return any(c.get("name") == container_name for c in init_containers(pod))


def is_deleted(pod: dict) -> bool:
    return bool(meta(pod).get("deletionTimestamp"))


def is_terminal_phase(pod: dict) -> bool:
    return status(pod).get("phase") in ("Succeeded", "Failed")


def host_network(pod: dict) -> bool:
    return bool(spec(pod).get("hostNetwork"))


def termination_grace_period(pod: dict) -> int:
    """The grace period to stop the pod with: the deletion's, else the spec's, else 30 s."""
    md = meta(pod)
    if md.get("deletionGracePeriodSeconds") is not None:
        return max(0, int(md["deletionGracePeriodSeconds"]))
    g = spec(pod).get("terminationGracePeriodSeconds")
    return DEFAULT_GRACE_PERIOD if g is None else max(0, int(g))


def container_ports(container: dict) -> list[dict]:
    return [p for p in container.get("ports") or [] if isinstance(p, dict)]


def find_port(container: dict, port: Any) -> int | None:
    """A probe or hook port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        for p in container_ports(container):
            if p.get("name") == port:
                return int(p.get("containerPort") or 0) or None
    return None


def _trim(x: float, digits: int) -> str:
    return f"{x:.{digits}f}".rstrip("0").rstrip(".")


def go_duration(seconds: float) -> str:
    """Go's `time.Duration.String()`: `12.5ms`, `10s`, `1.5s`, `1m20s`, `5m0s`, `1h0m0s`."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_trim(ns / 1e3, 3)}\u00b5s"
    if ns < 1_000_000_000:
        return f"{sign}{_trim(ns / 1e6, 6)}ms"
    h, rem = divmod(ns, 3600 * 10**9)
    m, rem = divmod(rem, 60 * 10**9)
    sec = _trim(rem / 1e9, 9)
    if h:
        return f"{sign}{h}h{m}m{sec}s"
    if m:
        return f"{sign}{m}m{sec}s"
    return f"{sign}{sec}s"


def go_quote_list(items: list[str]) -> str:
    """Go's `%s` of a []string: `[a b c]`."""
    return "[" + " ".join(items) + "]"
