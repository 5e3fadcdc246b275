"""Container logs on the node: where they are, rotation, and the lookup the streaming server uses.

Layout (Kubernetes'): `<log_dir>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log`, CRI
format, written by the runtime. Rotation (Kubernetes' `ContainerLogManager`): every 10 s, for
running containers whose log passed the size limit: drop leftovers, keep at most `max_files - 2`
rotated files, gzip all but the newest rotated file, rename the live file to
`<log>.<YYYYmmdd-HHMMSS>` and make the runtime reopen it.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from .kuberuntime import labels as lb
from .runtime import crilog
from .runtime.errors import RuntimeServiceError
from .runtime.interface import ContainerFilter, ContainerState, PodSandboxFilter, PodSandboxState, RuntimeService

log = logging.getLogger(__name__)

TERMINATION_LOG_LINES = 80
TERMINATION_LOG_BYTES = 2048


def pod_log_dir(root: Path, namespace: str, name: str, uid: str) -> Path:
    return Path(root) / f"{namespace}_{name}_{uid}"


def container_log_path(container: str, restart_count: int) -> str:
    """Relative to the pod's log directory (what `ContainerConfig.log_path` takes)."""
    return f"{container}/{restart_count}.log"


_LOG_NAME = re.compile(r"^(\d+)\.log")


def restart_count_from_log_dir(container_dir: Path) -> int:
    """One past the highest `<n>.log` (rotated ones included), 0 when there is none."""
    try:
        names = os.listdir(container_dir)
    except OSError:
        return 0
    counts = [int(m.group(1)) for n in names if (m := _LOG_NAME.match(n))]
    return max(counts) + 1 if counts else 0


def read_log_tail(path: str, lines: int = TERMINATION_LOG_LINES, max_bytes: int = TERMINATION_LOG_BYTES) -> str:
    """The last lines of a container's output (FallbackToLogsOnError), at most `max_bytes`."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            raw = f.read()
    except OSError:
        return ""
    parsed = []
    for line in raw.splitlines():
        try:
            parsed.append(crilog.parse_line(line))
        except ValueError:
            continue
    texts = crilog.reassemble(parsed)[-lines:]
    out = b"".join(t + b"\n" for t in texts)
    return out[-max_bytes:].decode(errors="replace")


def remove_container_logs(path: str) -> None:
    """The log file and its rotated siblings (blocking)."""
    if not path:
        return
    p = Path(path)
    try:
        for sibling in p.parent.glob(p.name + "*"):
            sibling.unlink(missing_ok=True)
        if p.parent.is_dir() and not any(p.parent.iterdir()):
            p.parent.rmdir()
    except OSError as e:
        log.warning("removing logs %s: %s", path, e)


def remove_pod_logs(root: Path, namespace: str, name: str, uid: str) -> None:
    shutil.rmtree(pod_log_dir(root, namespace, name, uid), ignore_errors=True)


# --- the streaming server's view ------------------------------------------------------------------


class ContainerLocation(NamedTuple):
    """Shaped like `kubelet.server.lookup.ContainerRef`."""

    container_id: str
    log_path: str
    previous_log_path: str  # "" when there is no previous instance
    running: bool


class PodLocation(NamedTuple):
    """Shaped like `kubelet.server.lookup.PodRef`."""

    uid: str
    sandbox_id: str


class PodLookup:
    """Finds a pod's containers for `kubectl logs/exec/attach/port-forward` (the kubelet server's
    `PodLookup` seam). `runtime` is the node's `RuntimeService` (exec, attach, port forwarding
    go through it). Unknown pods and containers give None."""

    def __init__(self, runtime: RuntimeService, get_pod: Callable[[str, str], dict | None]):
        self.runtime = runtime
        self._get_pod = get_pod

    def _container_name(self, pod: dict, container: str) -> str | None:
        spec = pod.get("spec") or {}
        names = [c.get("name") for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
                 + (spec.get("ephemeralContainers") or [])]
        if not container:
            default = ((pod.get("metadata") or {}).get("annotations") or {}).get(
                "kubectl.kubernetes.io/default-container")
            container = default or (spec.get("containers") or [{}])[0].get("name", "")
        return container if container in names else None

    async def find_pod(self, namespace: str, pod_name: str) -> PodLocation | None:
        pod = self._get_pod(namespace, pod_name)
        if pod is None:
            return None
        uid = (pod.get("metadata") or {}).get("uid", "")
        sandboxes = await self.runtime.list_pod_sandbox(PodSandboxFilter(label_selector={lb.POD_UID: uid}))
        ready = sorted((s for s in sandboxes if s.state == PodSandboxState.READY), key=lambda s: s.created_at,
                       reverse=True)
        return PodLocation(uid, ready[0].id if ready else "")

    async def find_container(self, namespace: str, pod_name: str, container: str = "") -> ContainerLocation | None:
        """The newest instance of a container, and the log `--previous` reads (the last terminated
        instance: the one before a running container, or a dead newest one itself, as Kubernetes
        picks `lastState.terminated`); None when the pod is not on this node, has no such
        container, or the container never started."""
        pod = self._get_pod(namespace, pod_name)
        if pod is None:
            return None
        name = self._container_name(pod, container)
        if name is None:
            return None
        uid = (pod.get("metadata") or {}).get("uid", "")
        found = await self.runtime.list_containers(ContainerFilter(label_selector={lb.POD_UID: uid,
                                                                                   lb.CONTAINER_NAME: name}))
        found.sort(key=lambda c: c.created_at, reverse=True)
        if not found:
            return None
        try:
            current = await self.runtime.container_status(found[0].id)
        except RuntimeServiceError:
            return None
        previous = ""
        if current.state == ContainerState.EXITED:
            previous = current.log_path  # a container in back-off: its last run is "previous" too
        elif len(found) > 1:
            try:
                previous = (await self.runtime.container_status(found[1].id)).log_path
            except RuntimeServiceError:
                previous = ""
        if not previous and current.log_path:
            restart = lb.annotated_info(current.annotations).restart_count
            candidate = Path(current.log_path).parent / f"{restart - 1}.log"
            if restart > 0 and await asyncio.to_thread(candidate.exists):
                previous = str(candidate)
        return ContainerLocation(current.id, current.log_path, previous, current.state == ContainerState.RUNNING)

    @staticmethod
    def waiting_message(pod: dict, container: str) -> str:
        """Kubernetes' wording for logs of a container that never started."""
        reason = "ContainerCreating"
        status = pod.get("status") or {}
        for s in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
            if s.get("name") == container:
                reason = ((s.get("state") or {}).get("waiting") or {}).get("reason") or reason
        name = (pod.get("metadata") or {}).get("name", "")
        return f'container "{container}" in pod "{name}" is waiting to start: {reason}'


# --- rotation ------------------------------------------------------------------------------------


def _rotate_files(path: Path, max_files: int) -> str | None:
    """Steps 1-4 before the rename; returns the rotated name to rename to (blocking)."""
    d, base = path.parent, path.name
    for p in d.glob(base + ".*"):
        if p.name.endswith(".tmp"):
            p.unlink(missing_ok=True)
        elif not p.name.endswith(".gz") and (d / (p.name + ".gz")).exists():
            p.unlink(missing_ok=True)
    rotated = sorted(p for p in d.glob(base + ".*") if not p.name.endswith(".tmp"))
    keep = max(0, max_files - 2)
    while len(rotated) > keep:
        rotated.pop(0).unlink(missing_ok=True)
    for p in rotated[:-1]:
        if p.name.endswith(".gz"):
            continue
        tmp = p.with_name(p.name + ".gz.tmp")
        with open(p, "rb") as src, gzip.open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.rename(tmp, p.with_name(p.name + ".gz"))
        p.unlink()
    return str(path) + "." + time.strftime("%Y%m%d-%H%M%S", time.gmtime())


class ContainerLogManager:
    def __init__(self, runtime: RuntimeService, *, max_size: int, max_files: int, period: float = 10.0):
        self.runtime = runtime
        self.max_size = max_size
        self.max_files = max(2, max_files)
        self.period = period

    async def rotate_once(self) -> int:
        rotated = 0
        for c in await self.runtime.list_containers(ContainerFilter(state=ContainerState.RUNNING)):
            try:
                st = await self.runtime.container_status(c.id)
            except RuntimeServiceError:
                continue
            if not st.log_path:
                continue
            try:
                size = (await asyncio.to_thread(os.stat, st.log_path)).st_size
            except OSError:
                continue
            if size < self.max_size:
                continue
            if await self.rotate(c.id, Path(st.log_path)):
                rotated += 1
        return rotated

    async def rotate(self, container_id: str, path: Path) -> bool:
        target = await asyncio.to_thread(_rotate_files, path, self.max_files)
        if target is None:
            return False
        await asyncio.to_thread(os.rename, path, target)
        try:
            await self.runtime.reopen_container_log(container_id)
        except RuntimeServiceError as e:
            log.warning("container %s: reopening its log failed, rotation undone: %s", container_id, e)
            await asyncio.to_thread(os.rename, target, path)
            return False
        return True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                await self.rotate_once()
            except Exception:
                log.exception("log rotation failed")
