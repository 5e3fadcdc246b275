"""Pinned network namespaces: a file in a directory with the namespace bind-mounted on it
(`/var/run/netns/<name>`, which `ip netns exec` also understands), made with
`unshare --net=<file>`."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import errno
import os
from pathlib import Path

from ..interface import NetworkError

_MNT_DETACH = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _umount(path: Path) -> None:
    if _libc.umount2(str(path).encode(), _MNT_DETACH) != 0:
        e = ctypes.get_errno()
        if e not in (errno.EINVAL, errno.ENOENT):
            raise NetworkError(f"umount {path}: {os.strerror(e)}")


class NetnsPins:
    def __init__(self, directory: Path):
        self.dir = Path(directory)

    def path(self, name: str) -> Path:
        return self.dir / name

    async def ensure(self, name: str) -> str:
        """The pinned netns `name`, created if missing."""
        path = self.path(name)
        if await asyncio.to_thread(os.path.ismount, path):
            return str(path)

        def touch() -> None:
            self.dir.mkdir(parents=True, exist_ok=True)
            path.touch(exist_ok=True)

        await asyncio.to_thread(touch)
        proc = await asyncio.create_subprocess_exec(
            "unshare", f"--net={path}", "true",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(10):
                _, err = await proc.communicate()
        except BaseException:
            if proc.returncode is None:
                proc.kill()  # our own child, by PID
                await asyncio.shield(proc.wait())
            raise
        if proc.returncode != 0:
            await asyncio.to_thread(self._remove, path)
            raise NetworkError(f"cannot pin network namespace {path}: {err.decode(errors='replace').strip()}")
        return str(path)

    @staticmethod
    def _remove(path: Path) -> None:
        _umount(path)
        try:
            path.unlink()
        except FileNotFoundError:
            pass

    async def delete(self, name: str) -> None:
        """Unpin and remove; a missing one is fine. The namespace dies with its last user."""
        await asyncio.to_thread(self._remove, self.path(name))

    async def exists(self, name: str) -> bool:
        return await asyncio.to_thread(os.path.ismount, self.path(name))
