"""mount(2)/umount2(2) for the runtime's own mounts: container overlay rootfs and pod shm tmpfs.

Blocking syscalls (a few ms each): call through `asyncio.to_thread`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from pathlib import Path

from ..errors import InvalidArgument, RuntimeServiceError

MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MNT_DETACH = 0x2
_PAGE = 4096  # the kernel copies at most one page of mount options

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _mount(source: str, target: Path, fstype: str, flags: int, data: str) -> None:
    if _libc.mount(source.encode(), str(target).encode(), fstype.encode(), flags, data.encode()) != 0:
        e = ctypes.get_errno()
        raise RuntimeServiceError(f"mount {fstype} on {target}: {os.strerror(e)}")


def mount_overlay(lowerdirs: list[str], upper: Path, work: Path, target: Path) -> None:
    """`lowerdirs` lowest first (as `ImageStore.unpack` returns them); overlayfs wants the
    topmost first."""
    if not lowerdirs:
        raise InvalidArgument("image has no layers (no lowerdirs)")
    for d in (upper, work, target):
        d.mkdir(parents=True, exist_ok=True)
    data = f"lowerdir={':'.join(reversed([str(d) for d in lowerdirs]))},upperdir={upper},workdir={work}"
    if len(data) >= _PAGE:
        raise InvalidArgument(f"overlay options for {len(lowerdirs)} layers exceed {_PAGE} bytes")
    _mount("overlay", target, "overlay", 0, data)


def mount_tmpfs(target: Path, options: str, flags: int = MS_NOSUID | MS_NODEV | MS_NOEXEC) -> None:
    target.mkdir(parents=True, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", flags, options)


def is_mountpoint(path: Path) -> bool:
    return os.path.ismount(path)


def unmount(target: Path) -> None:
    """Lazy unmount every mount stacked on `target`; nothing mounted is fine."""
    for _ in range(8):
        if _libc.umount2(str(target).encode(), MNT_DETACH) != 0:
            e = ctypes.get_errno()
            if e in (errno.EINVAL, errno.ENOENT):
                return
            raise RuntimeServiceError(f"umount {target}: {os.strerror(e)}")
