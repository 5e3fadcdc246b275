"""`VolumeManager`: sets a pod's volumes up before its containers start, keeps their contents
current on every sync, and removes them when the pod is gone."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from kubelite.machinery import quantity

from ..env import PodRuntimeInfo
from ..objects import ObjectNotFound, ObjectSource
from . import atomic_writer, hostpath, mount
from .payloads import (
    DEFAULT_MODE,
    Ownership,
    PayloadError,
    TokenSource,
    configmap_payload,
    downward_api_payload,
    projected_payload,
    secret_payload,
)

log = logging.getLogger(__name__)

PLUGIN_DIRS = {
    "emptyDir": "kubernetes.io~empty-dir",
    "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret",
    "downwardAPI": "kubernetes.io~downward-api",
    "projected": "kubernetes.io~projected",
}
SUPPORTED = set(PLUGIN_DIRS) | {"hostPath"}


@dataclass
class VolumeFailure:
    volume: str
    message: str


class MountError(Exception):
    def __init__(self, failures: list[VolumeFailure]):
        self.failures = failures
        names = ", ".join(f.volume for f in failures)
        super().__init__(f"unmounted volumes=[{names}]: " + "; ".join(f.message for f in failures))


def volume_kind(volume: dict) -> str:
    for k in volume:
        if k != "name":
            return k
    return ""


def ownership(pod: dict) -> Ownership:
    spec = pod.get("spec") or {}
    psc = spec.get("securityContext") or {}
    own = Ownership(fs_group=int(psc["fsGroup"]) if psc.get("fsGroup") is not None else None)
    users = set()
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        u = (c.get("securityContext") or {}).get("runAsUser", psc.get("runAsUser"))
        users.add(u)
    if len(users) == 1:
        (u,) = users
        if u is not None and int(u) != 0:
            own.fs_user = int(u)
    return own


class VolumeManager:
    def __init__(self, pods_dir: Path, objects: ObjectSource, tokens: TokenSource | None = None,
                 allocatable: dict[str, str] | None = None, *, tmpfs: bool = True):
        self.tmpfs = tmpfs  # False: memory-backed and secret volumes are plain directories (tests)
        self.pods_dir = Path(pods_dir)
        self.objects = objects
        self.tokens = tokens
        self.allocatable = allocatable or {}
        self._locks: dict[str, asyncio.Lock] = {}

    def pod_dir(self, uid: str) -> Path:
        return self.pods_dir / uid

    def volume_dir(self, uid: str, kind: str, name: str) -> Path:
        return self.pod_dir(uid) / "volumes" / PLUGIN_DIRS[kind] / name

    async def mount(self, pod: dict, info: PodRuntimeInfo) -> dict[str, str]:
        """Set every volume up; returns volume name -> host path. Raises `MountError` naming
        every volume that could not be set up (the others are set up anyway)."""
        uid = (pod.get("metadata") or {}).get("uid", "")
        lock = self._locks.setdefault(uid, asyncio.Lock())
        async with lock:
            paths: dict[str, str] = {}
            failures: list[VolumeFailure] = []
            own = ownership(pod)
            for volume in (pod.get("spec") or {}).get("volumes") or []:
                name = str(volume.get("name") or "")
                try:
                    paths[name] = await self._setup(pod, volume, info, own)
                except (ObjectNotFound, PayloadError, hostpath.HostPathError, OSError, ValueError) as e:
                    failures.append(VolumeFailure(name, f'MountVolume.SetUp failed for volume "{name}" : {e}'))
            if failures:
                raise MountError(failures)
            return paths

    async def _setup(self, pod: dict, volume: dict, info: PodRuntimeInfo, own: Ownership) -> str:
        kind = volume_kind(volume)
        uid = pod["metadata"]["uid"]
        ns = pod["metadata"].get("namespace") or "default"
        name = volume["name"]
        if kind == "hostPath":
            src = volume["hostPath"]
            await asyncio.to_thread(hostpath.check, str(src.get("path") or ""), str(src.get("type") or ""))
            return str(src.get("path"))
        if kind not in PLUGIN_DIRS:
            raise PayloadError(f"volume type {kind!r} is not supported by this node")
        target = self.volume_dir(uid, kind, name)
        src = volume[kind] or {}
        if kind == "emptyDir":
            await asyncio.to_thread(self._empty_dir, target, src, own, self.tmpfs)
            return str(target)
        if kind in ("secret", "projected") and self.tmpfs:
            await asyncio.to_thread(self._tmpfs, target)
        default_mode = int(src.get("defaultMode", DEFAULT_MODE))
        if kind == "configMap":
            payload = await configmap_payload(src, ns, self.objects, default_mode, own)
        elif kind == "secret":
            payload = await secret_payload(src, ns, self.objects, default_mode, own)
        elif kind == "downwardAPI":
            payload = downward_api_payload(list(src.get("items") or []), pod, info, self.allocatable, default_mode,
                                           own)
        else:
            payload = await projected_payload(src, pod, objects=self.objects, tokens=self.tokens, info=info,
                                              allocatable=self.allocatable, own=own)
        await asyncio.to_thread(atomic_writer.write, target, payload)
        return str(target)

    @staticmethod
    def _empty_dir(target: Path, src: dict, own: Ownership, tmpfs: bool) -> None:
        if target.is_dir():
            return
        target.mkdir(parents=True, exist_ok=True)
        if src.get("medium") == "Memory" and tmpfs:
            options = "mode=0777"
            if src.get("sizeLimit"):
                options += f",size={quantity.value(src['sizeLimit'])}"
            mount.mount_tmpfs(target, options)
        os.chmod(target, 0o777)
        if own.fs_group is not None:
            os.chown(target, -1, own.fs_group)
            os.chmod(target, 0o2777)

    @staticmethod
    def _tmpfs(target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        if not mount.is_mountpoint(target):
            mount.mount_tmpfs(target, "mode=0755")

    async def unmount(self, uid: str) -> None:
        """Unmount and remove every volume of the pod, then the pod directory. Never follows a
        directory that is still a mount point."""
        lock = self._locks.setdefault(uid, asyncio.Lock())
        async with lock:
            await asyncio.to_thread(self._remove_pod_dir, self.pod_dir(uid))
        self._locks.pop(uid, None)

    @staticmethod
    def _remove_pod_dir(pod_dir: Path) -> None:
        if not pod_dir.exists():
            return
        for point in mount.mount_points_under(pod_dir):
            mount.unmount(point)
        left = mount.mount_points_under(pod_dir)
        if left:
            raise OSError(f"still mounted under {pod_dir}: {', '.join(map(str, left))}")
        shutil.rmtree(pod_dir, ignore_errors=True)

    async def pod_dirs(self) -> list[str]:
        """UIDs that have a directory here (for cleaning up after pods gone while we were down)."""
        def listing() -> list[str]:
            try:
                return [p.name for p in self.pods_dir.iterdir() if p.is_dir()]
            except FileNotFoundError:
                return []
        return await asyncio.to_thread(listing)
