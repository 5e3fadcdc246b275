"""Images made on this machine without a registry, reproducibly (same bytes → same digests).

- `docker.io/library/busybox:latest`: Debian's static `/usr/bin/busybox` as `/bin/busybox`, a
  symlink in `/bin` for every applet (the official image's layout), the usual top-level dirs and a
  minimal `/etc` (`passwd` and `group` with root and nobody). `Cmd ["sh"]`.
- `kubelite.local/pause:3.10`: `/pause` = Debian's static `/usr/bin/catatonit`, run as
  `/pause -P` (pause mode) by user 65535, like `registry.k8s.io/pause`.

Every tar entry has mtime 0 and owner 0:0, entries are sorted, gzip has mtime 0 and no name, and
config `created` is the epoch, so the digests depend only on the host binaries.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tarfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import oci
from .errors import ImageError, InvalidReference
from .layers import LayerWriter, new_entry
from .reference import parse_reference

if TYPE_CHECKING:
    from .store import LocalImageStore

BUSYBOX_IMAGE = "docker.io/library/busybox:latest"
PAUSE_IMAGE = "kubelite.local/pause:3.10"
BUSYBOX_BINARY = "/usr/bin/busybox"
CATATONIT_BINARY = "/usr/bin/catatonit"
EPOCH = "1970-01-01T00:00:00Z"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
GROUP = b"root:x:0:\nnobody:x:65534:\n"

# Entry = (name, type, mode, data-or-source-path-or-linkname)
Entry = tuple[str, bytes, int, Any]


def builtin_for(ref: str) -> Callable[[LocalImageStore], Awaitable[None]] | None:
    try:
        name = str(parse_reference(ref))
    except InvalidReference:
        return None
    if name == BUSYBOX_IMAGE:
        return make_busybox
    if name == PAUSE_IMAGE:
        return make_pause
    return None


async def _busybox_applets(binary: str) -> list[str]:
    proc = await asyncio.create_subprocess_exec(binary, "--list", stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise ImageError(f"{binary} --list failed with exit code {proc.returncode}")
    return sorted({a for a in out.decode().split() if a and "/" not in a and a != "busybox"})


def busybox_entries(applets: list[str], binary: str = BUSYBOX_BINARY) -> list[Entry]:
    d, f, s = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE
    entries: list[Entry] = [
        ("bin", d, 0o755, None), ("bin/busybox", f, 0o755, Path(binary)),
        ("dev", d, 0o755, None), ("etc", d, 0o755, None), ("etc/group", f, 0o644, GROUP),
        ("etc/passwd", f, 0o644, PASSWD), ("home", d, 0o755, None), ("proc", d, 0o555, None),
        ("root", d, 0o700, None), ("sys", d, 0o555, None), ("tmp", d, 0o1777, None),
        ("usr", d, 0o755, None), ("usr/sbin", d, 0o755, None), ("var", d, 0o755, None),
        ("var/spool", d, 0o755, None), ("var/spool/mail", d, 0o755, None), ("var/www", d, 0o755, None),
    ]
    entries += [(f"bin/{a}", s, 0o777, "busybox") for a in applets]
    return sorted(entries, key=lambda e: e[0].split("/"))


def pause_entries(binary: str = CATATONIT_BINARY) -> list[Entry]:
    return [("pause", tarfile.REGTYPE, 0o755, Path(binary))]


def write_entries(store: LocalImageStore, entries: list[Entry]) -> dict[str, Any]:
    """Write a reproducible gzip layer into the store; returns its descriptor plus `diff_id`."""
    tmp = store.content.temp_path()
    try:
        with open(tmp, "wb") as out:
            w = LayerWriter(out, mtime=0)
            for name, typ, mode, payload in entries:
                if typ == tarfile.REGTYPE:
                    if isinstance(payload, Path):
                        size = payload.stat().st_size
                        with open(payload, "rb") as src:
                            w.add(new_entry(name, mode=mode, size=size), src)
                    else:
                        import io

                        w.add(new_entry(name, mode=mode, size=len(payload)), io.BytesIO(payload))
                elif typ == tarfile.SYMTYPE:
                    w.add(new_entry(name, type=typ, mode=mode, linkname=payload))
                else:
                    w.add(new_entry(name, type=typ, mode=mode))
            digests = w.close()
            out.flush()
            os.fsync(out.fileno())
        store.content.adopt_nowait(tmp, digests.digest)
    finally:
        tmp.unlink(missing_ok=True)
    return {**oci.descriptor(oci.OCI_LAYER_GZIP, digests.digest, digests.size), "diff_id": digests.diff_id}


def _config(diff_id: str, created_by: str, container_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "created": EPOCH,
        "architecture": "amd64",
        "os": "linux",
        "config": container_config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": EPOCH, "created_by": created_by, "comment": "kubelite built-in image"}],
    }


async def _make(store: LocalImageStore, name: str, entries: list[Entry], created_by: str,
                container_config: dict[str, Any]) -> None:
    await store.start()
    layer = await asyncio.to_thread(write_entries, store, entries)
    diff_id = layer.pop("diff_id")
    await store.commit(_config(diff_id, created_by, container_config), [layer], [name])


async def make_busybox(store: LocalImageStore, binary: str = BUSYBOX_BINARY) -> None:
    if not shutil.which(binary):
        raise ImageError(f"cannot make {BUSYBOX_IMAGE}: {binary} not found (apt-get install busybox-static)")
    applets = await _busybox_applets(binary)
    await _make(store, BUSYBOX_IMAGE, busybox_entries(applets, binary),
                f"COPY {binary} /bin/busybox # kubelite built-in (busybox-static)",
                {"Env": [DEFAULT_PATH], "Cmd": ["sh"]})


async def make_pause(store: LocalImageStore, binary: str = CATATONIT_BINARY) -> None:
    if not os.path.exists(binary):
        raise ImageError(f"cannot make {PAUSE_IMAGE}: {binary} not found (apt-get install catatonit)")
    await _make(store, PAUSE_IMAGE, pause_entries(binary),
                f"COPY {binary} /pause # kubelite built-in (catatonit)",
                {"Env": [DEFAULT_PATH], "Entrypoint": ["/pause", "-P"], "User": "65535:65535"})
