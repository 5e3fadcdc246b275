"""Kubernetes' AtomicWriter: a volume's files live in a timestamped directory that a `..data`
symlink points at; each top-level name is a symlink through `..data`. An update writes a new
directory and swaps the symlink with one rename, so readers see the old or the new set, never a
mix. Blocking: call through asyncio.to_thread.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

DATA = "..data"


@dataclass
class FileProjection:
    data: bytes
    mode: int = 0o644
    uid: int = -1
    gid: int = -1


def _valid(path: str) -> bool:
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and not parts[0].startswith("..")


def _current(target: Path) -> dict[str, FileProjection] | None:
    link = target / DATA
    if not link.is_symlink():
        return None
    out: dict[str, FileProjection] = {}
    base = target / os.readlink(link)
    for root, _, files in os.walk(base):
        for f in files:
            p = Path(root) / f
            st = p.stat()
            out[str(p.relative_to(base))] = FileProjection(p.read_bytes(), st.st_mode & 0o7777, st.st_uid, st.st_gid)
    return out


def _same(a: dict[str, FileProjection], b: dict[str, FileProjection]) -> bool:
    if a.keys() != b.keys():
        return False
    for k, pa in a.items():
        pb = b[k]
        if pa.data != pb.data or pa.mode != pb.mode:
            return False
        if (pb.uid != -1 and pa.uid != pb.uid) or (pb.gid != -1 and pa.gid != pb.gid):
            return False
    return True


def write(target: Path, payload: dict[str, FileProjection]) -> bool:
    """Make `target` hold exactly `payload`; returns True if anything changed."""
    for path in payload:
        if not _valid(path):
            raise ValueError(f"invalid path {path!r} in volume payload")
    target.mkdir(parents=True, exist_ok=True)
    old = _current(target)
    if old is not None and _same(old, payload):
        return False
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()) + f"{time.time_ns() % 10**9:09d}"
    new_dir = target / stamp
    new_dir.mkdir(mode=0o755)
    for path, proj in payload.items():
        dest = new_dir / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(proj.data)
        if proj.uid != -1 or proj.gid != -1:
            os.chown(dest, proj.uid, proj.gid)
        os.chmod(dest, proj.mode)
    old_dir = os.readlink(target / DATA) if (target / DATA).is_symlink() else None
    tmp = target / "..data_tmp"
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(stamp, tmp)
    os.rename(tmp, target / DATA)
    wanted = {p.split("/")[0] for p in payload}
    for name in wanted:
        link = target / name
        if not link.is_symlink():
            if link.exists():
                shutil.rmtree(link) if link.is_dir() else link.unlink()
            os.symlink(f"{DATA}/{name}", link)
    for entry in os.listdir(target):
        if entry.startswith(".."):
            continue
        if entry not in wanted and (target / entry).is_symlink():
            (target / entry).unlink()
    if old_dir and old_dir != stamp:
        shutil.rmtree(target / old_dir, ignore_errors=True)
    return True
