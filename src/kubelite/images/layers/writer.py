"""Write layer tars reproducibly and convert an overlayfs upper dir into a layer (§5.4).

`LayerWriter` streams tar (PAX) → sha256 (diff ID) → gzip (`mtime=0`) → sha256 (digest) → file
in one pass. `write_tree` adds a directory tree in sorted order; `write_upper` converts an
overlay upper dir: character devices 0/0 become `.wh.<name>` files, opaque directories get a
`.wh..wh..opq` entry first, and `trusted.overlay.*` xattrs are dropped. Entries of one
directory are written whiteouts first, then the rest in name order, parents before children;
hard links inside the tree become tar hard links. Blocking: call from a thread.
"""

from __future__ import annotations

import gzip
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .apply import OVERLAY_OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX, is_whiteout
from .tarstream import GZIP_LEVEL, HashingWriter

SKIP_XATTR_PREFIXES = ("trusted.overlay.", "system.nfs4_acl")


@dataclass
class LayerDigests:
    diff_id: str          # sha256 of the tar
    digest: str           # sha256 of the compressed blob (== diff_id when not compressed)
    size: int             # compressed size
    uncompressed_size: int
    entries: int


class LayerWriter:
    def __init__(self, out: BinaryIO, *, compress: bool = True, level: int = GZIP_LEVEL,
                 mtime: int | None = None) -> None:
        self._blob = HashingWriter(out)
        self._gz = gzip.GzipFile(filename="", fileobj=self._blob, mode="wb", compresslevel=level,  # type: ignore[arg-type]
                                 mtime=0) if compress else None
        self._tar_hash = HashingWriter(self._gz if self._gz is not None else self._blob)  # type: ignore[arg-type]
        self._tar = tarfile.open(fileobj=self._tar_hash, mode="w|", format=tarfile.PAX_FORMAT,  # type: ignore[call-overload]
                                 bufsize=1 << 16)
        self.mtime = mtime  # clamp every entry's mtime to this (reproducible builds)
        self.entries = 0
        self._inodes: dict[tuple[int, int], str] = {}

    def add(self, info: tarfile.TarInfo, fileobj: BinaryIO | None = None) -> None:
        if self.mtime is not None:
            info.mtime = self.mtime
        self._tar.addfile(info, fileobj)
        self.entries += 1

    def add_path(self, path: Path | str, name: str, *, whiteout_xattrs: bool = True) -> None:
        """One filesystem entry (not following symlinks) under tar name `name`."""
        p = str(path)
        st = os.lstat(p)
        info = tarinfo_from_stat(name, st)
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            first = self._inodes.get(key)
            if first is not None:
                info.type = tarfile.LNKTYPE
                info.linkname = first
                info.size = 0
            else:
                self._inodes[key] = name
        if stat.S_ISLNK(st.st_mode):
            info.linkname = os.readlink(p)
        _add_xattrs(info, p)
        if info.type == tarfile.REGTYPE:
            with open(p, "rb") as f:
                self.add(info, f)
        else:
            self.add(info)

    def close(self) -> LayerDigests:
        self._tar.close()
        if self._gz is not None:
            self._gz.close()
        self._blob.flush()
        return LayerDigests(self._tar_hash.digest, self._blob.digest, self._blob.count,
                            self._tar_hash.count, self.entries)


def tarinfo_from_stat(name: str, st: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime)
    m = st.st_mode
    if stat.S_ISREG(m):
        info.type, info.size = tarfile.REGTYPE, st.st_size
    elif stat.S_ISDIR(m):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(m):
        info.type = tarfile.SYMTYPE
    elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(m) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(m):
        info.type = tarfile.FIFOTYPE
    else:
        raise ValueError(f"cannot put {name!r} in a layer (socket?)")
    return info


def _add_xattrs(info: tarfile.TarInfo, p: str) -> None:
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError:
        return
    for n in sorted(names):
        if n.startswith(SKIP_XATTR_PREFIXES):
            continue
        try:
            v = os.getxattr(p, n, follow_symlinks=False)
        except OSError:
            continue
        info.pax_headers["SCHILY.xattr." + n] = v.decode("utf-8", "surrogateescape")


def new_entry(name: str, *, type: bytes = tarfile.REGTYPE, mode: int = 0o644, uid: int = 0, gid: int = 0,
              size: int = 0, linkname: str = "", mtime: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid = type, mode, uid, gid
    info.size, info.linkname, info.mtime = size, linkname, mtime
    info.uname = info.gname = ""
    return info


def _sorted_children(d: str) -> list[os.DirEntry[str]]:
    with os.scandir(d) as it:
        return sorted(it, key=lambda e: e.name)


def write_tree(w: LayerWriter, root: Path | str, *, prefix: str = "", include_root: bool = False) -> None:
    """Every entry under `root`, parents first, in name order (a plain tree, no overlay rules)."""
    root = str(root)
    if include_root:
        w.add_path(root, prefix or ".")

    def walk(d: str, rel: str) -> None:
        for e in _sorted_children(d):
            name = f"{rel}{e.name}"
            w.add_path(e.path, name)
            if e.is_dir(follow_symlinks=False):
                walk(e.path, name + "/")

    walk(root, prefix.rstrip("/") + "/" if prefix else "")


def write_upper(w: LayerWriter, upper: Path | str, *, skip: set[str] | None = None) -> int:
    """Convert an overlay upper dir into layer entries; returns how many entries were written.

    `skip` holds relative paths to leave out (mount points the runtime created).
    """
    skip = skip or set()
    count = 0

    def walk(d: str, rel: str) -> None:
        nonlocal count
        children = _sorted_children(d)
        whiteouts = []
        others = []
        for e in children:
            relname = f"{rel}{e.name}"
            if relname in skip:
                continue
            st = e.stat(follow_symlinks=False)
            (whiteouts if is_whiteout(st) else others).append((e, st, relname))
        for e, st, relname in whiteouts:
            parent = relname.rpartition("/")[0]
            name = f"{parent}/{WHITEOUT_PREFIX}{e.name}" if parent else f"{WHITEOUT_PREFIX}{e.name}"
            w.add(new_entry(name, mtime=int(st.st_mtime)))
            count += 1
        for e, st, relname in others:
            w.add_path(e.path, relname)
            count += 1
            if stat.S_ISDIR(st.st_mode):
                if _opaque(e.path):
                    w.add(new_entry(f"{relname}/{WHITEOUT_OPAQUE}", mtime=int(st.st_mtime)))
                    count += 1
                walk(e.path, relname + "/")

    walk(str(upper), "")
    return count


def _opaque(p: str) -> bool:
    try:
        return os.getxattr(p, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False
