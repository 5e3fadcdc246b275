"""Filesystem work inside a container root: in-root path resolution, mkdir, COPY, ADD's tar unpack.

Every path is resolved inside `root` as if it were `/` (chroot semantics): symlinks are followed
component by component and an absolute or `..`-climbing target stays under `root`, so an image
with `/etc -> /host/etc` cannot make COPY write on the host. Blocking: call from a thread.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from dataclasses import dataclass
from typing import BinaryIO

from ..layers.tarstream import compression_of, open_decompressed
from .context import DockerIgnore, Source, iter_tree
from .errors import BuildError

MAX_HOPS = 40


def resolve(root: str, path: str, *, follow_last: bool = True) -> str:
    """Host path of `path` inside `root`, symlinks resolved in-root (missing parts kept as is)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while parts:
        c = parts.pop(0)
        if c == "..":
            if resolved:
                resolved.pop()
            continue
        cand = os.path.join(root, *resolved, c)
        if not parts and not follow_last:
            resolved.append(c)
            break
        try:
            st = os.lstat(cand)
        except (FileNotFoundError, NotADirectoryError):
            resolved.append(c)
            continue
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > MAX_HOPS:
                raise BuildError(f"too many levels of symbolic links resolving {path}")
            target = os.readlink(cand)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(c)
    return os.path.join(root, *resolved)


def mkdir_all(root: str, path: str, *, uid: int = 0, gid: int = 0, mode: int = 0o755, chown_new: bool = True) -> str:
    """Create `path` (and parents) inside `root`; returns the resolved host path."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    cur = "/"
    for c in parts:
        cur = cur.rstrip("/") + "/" + c
        host = resolve(root, cur)
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            os.mkdir(host, mode)
            os.chmod(host, mode)
            if chown_new:
                os.lchown(host, uid, gid)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise BuildError(f"cannot create directory {cur}: a file is in the way")
    return resolve(root, path)


@dataclass
class Chown:
    uid: int | None = None
    gid: int | None = None
    mode: int | None = None   # --chmod


def _apply_attrs(p: str, st: os.stat_result, opts: Chown, keep_owner: bool) -> None:
    uid = opts.uid if opts.uid is not None else (st.st_uid if keep_owner else 0)
    gid = opts.gid if opts.gid is not None else (st.st_gid if keep_owner else 0)
    os.lchown(p, uid, gid)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(p, opts.mode if opts.mode is not None else stat.S_IMODE(st.st_mode))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _remove(p: str) -> None:
    st = os.lstat(p)
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(p)
    else:
        os.unlink(p)


def _copy_entry(src: str, st: os.stat_result, dst: str, opts: Chown, keep_owner: bool) -> None:
    try:
        existing = os.lstat(dst)
    except FileNotFoundError:
        existing = None
    if stat.S_ISDIR(st.st_mode):
        if existing is not None and not stat.S_ISDIR(existing.st_mode):
            raise BuildError(f"cannot copy to non-directory: {dst}")
        if existing is None:
            os.mkdir(dst, 0o700)
        _apply_attrs(dst, st, opts, keep_owner)
        return
    if existing is not None:
        if stat.S_ISDIR(existing.st_mode) and not stat.S_ISDIR(st.st_mode):
            raise BuildError(f"cannot overwrite directory {dst} with a file")
        _remove(dst)
    if stat.S_ISREG(st.st_mode):
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
    elif stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISFIFO(st.st_mode):
        os.mkfifo(dst, 0o600)
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        os.mknod(dst, st.st_mode, st.st_rdev)
    else:
        return  # sockets are skipped
    _apply_attrs(dst, st, opts, keep_owner)


def copy_sources(root: str, sources: list[Source], dest: str, opts: Chown, *, ignore: DockerIgnore | None,
                 keep_owner: bool) -> None:
    """COPY semantics into the container root `root` (dest is absolute inside it).

    A directory source copies its contents; several sources or a trailing `/` make `dest` a
    directory; a single file to a `dest` that is not an existing directory is written as `dest`.
    """
    dest_is_dir = dest.endswith("/") or len(sources) > 1 or any(s.is_dir for s in sources)
    if not dest_is_dir:
        host = resolve(root, dest)
        if os.path.isdir(host):
            dest_is_dir = True
    if len(sources) > 1 and not dest.endswith("/"):
        raise BuildError("When using COPY with more than one source file, the destination must be a directory "
                         "and end with a /")
    uid = opts.uid if opts.uid is not None else 0
    gid = opts.gid if opts.gid is not None else 0
    if dest_is_dir:
        dest_host = mkdir_all(root, dest, uid=uid, gid=gid, chown_new=True)
    else:
        parent = os.path.dirname(dest.rstrip("/")) or "/"
        mkdir_all(root, parent, uid=uid, gid=gid)
        dest_host = os.path.join(resolve(root, parent), os.path.basename(dest.rstrip("/")))
    for src in sources:
        entries = iter_tree(src, ignore)
        if not src.is_dir:
            _, st = entries[0]
            target = os.path.join(dest_host, os.path.basename(src.rel) or "file") if dest_is_dir else dest_host
            _copy_entry(str(src.path), os.stat(src.path), target, opts, keep_owner)
            continue
        for rel, st in entries:
            _copy_entry(os.path.join(src.path, rel), st, os.path.join(dest_host, rel), opts, keep_owner)


def is_archive(path: str) -> bool:
    """ADD auto-extracts local tar archives (plain, gzip, bzip2, xz), detected by content."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except (IsADirectoryError, FileNotFoundError):
        return False
    kind = compression_of(head)
    if kind == "zstd":
        return False
    if kind:
        return True
    return len(head) == 512 and head[257:262] == b"ustar"


def extract_archive(root: str, archive: str, dest: str) -> None:
    """Unpack a tar into `dest` inside `root` (owners kept; nothing may land outside `root`)."""
    dest_host = mkdir_all(root, dest)
    with open(archive, "rb") as f:
        stream, _ = open_decompressed(f, allow=("gzip", "bzip2", "xz"))  # type: ignore[arg-type]
        _extract(stream, dest_host)


def _extract(stream: BinaryIO, dest_host: str) -> None:
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tf:  # type: ignore[call-overload]
            for m in tf:
                try:
                    tf.extract(m, dest_host, numeric_owner=True, filter="tar")
                except tarfile.FilterError as e:
                    raise BuildError(f"refusing to extract {m.name!r}: {e}") from e
    except tarfile.TarError as e:
        raise BuildError(f"invalid archive: {e}") from e
