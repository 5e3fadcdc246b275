"""Apply a layer tar into its own directory, in overlayfs form, on top of lower layer dirs.

The result is an overlay `lowerdir`/upper-style tree: whiteouts (`.wh.<name>`) become character
devices 0/0, opaque markers (`.wh..wh..opq`) become `trusted.overlay.opaque=y` on the directory
(image-spec layer.md; dataplane §5.3/§5.4). The lower dirs are only read, to see the merged
view the layer applies to:

- parents are resolved in that merged view, following symlinks *inside* the root only (a layer
  that plants `a -> /etc` and then writes `a/passwd` writes `<root>/etc/passwd`, never the host);
  `..` cannot climb above the root; absolute names are taken relative to the root;
- a parent missing from this layer is created with the owner and mode it has below, so the
  merged directory keeps its attributes;
- whiteouts apply to lower layers only: entries this layer unpacked are never whited out, in
  whatever order the tar lists them;
- hard links to files of lower layers become copies (a link cannot cross layer dirs);
- `trusted.overlay.*` xattrs in the tar are dropped (a layer must not forge overlay metadata).

Runs as root (numeric owners, device nodes, trusted xattrs). Blocking: call from a thread.
"""

from __future__ import annotations

import errno
import gzip
import lzma
import os
import shutil
import stat
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import DigestMismatch, LayerError
from .tarstream import HashingReader, open_decompressed

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
MAX_SYMLINK_HOPS = 40

Parts = tuple[str, ...]


@dataclass
class ApplyResult:
    diff_id: str      # sha256 of the uncompressed tar
    size: int         # bytes of regular-file content written


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _lstat(p: str) -> os.stat_result | None:
    try:
        return os.lstat(p)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None


def _is_opaque(p: str) -> bool:
    try:
        return os.getxattr(p, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def split_name(name: str) -> Parts:
    """Tar member name → path components inside the root; rejects `..` escapes."""
    out: list[str] = []
    for c in name.split("/"):
        if c in ("", "."):
            continue
        if c == "..":
            if not out:
                raise LayerError(f"invalid layer entry {name!r}: path escapes the root")
            out.pop()
            continue
        out.append(c)
    return tuple(out)


class MergedView:
    """Lookups in the union of `top` (being written) over `lowers` (top first), as overlayfs sees it."""

    def __init__(self, top: Path, lowers_top_first: list[Path]) -> None:
        self.top = str(top)
        self.lowers = [str(p) for p in lowers_top_first]
        self._lower_cache: dict[tuple[int, Parts], os.stat_result | None] = {}
        self._opaque_cache: dict[tuple[int, Parts], bool] = {}

    def _stat(self, i: int, layer: str, parts: Parts) -> os.stat_result | None:
        p = os.path.join(layer, *parts) if parts else layer
        if i == 0:
            return _lstat(p)
        key = (i, parts)
        if key not in self._lower_cache:
            self._lower_cache[key] = _lstat(p)
        return self._lower_cache[key]

    def _opaque(self, i: int, layer: str, parts: Parts) -> bool:
        p = os.path.join(layer, *parts)
        if i == 0:
            return _is_opaque(p)
        key = (i, parts)
        if key not in self._opaque_cache:
            self._opaque_cache[key] = _is_opaque(p)
        return self._opaque_cache[key]

    def lookup(self, parts: Parts, *, lowers_only: bool = False) -> tuple[str, os.stat_result] | None:
        """The visible entry at `parts` (no symlinks followed): its layer dir and lstat."""
        layers = [self.top, *self.lowers]
        start = 1 if lowers_only else 0
        for i in range(start, len(layers)):
            layer = layers[i]
            hidden_below = False
            present = True
            for j in range(1, len(parts)):
                st = self._stat(i, layer, parts[:j])
                if st is None:
                    present = False
                    break
                if not stat.S_ISDIR(st.st_mode):
                    return None  # a file, link or whiteout hides everything under it
                if self._opaque(i, layer, parts[:j]):
                    hidden_below = True
            if present:
                st = self._stat(i, layer, parts)
                if st is not None:
                    return None if is_whiteout(st) else (layer, st)
            if hidden_below:
                return None
        return None

    def resolve(self, parts: Parts, *, follow_last: bool = False) -> Parts:
        """Resolve symlinks among `parts` inside the root (chroot semantics)."""
        resolved: list[str] = []
        todo = list(parts)
        hops = 0
        while todo:
            c = todo.pop(0)
            if c in ("", "."):
                continue
            if c == "..":
                if resolved:
                    resolved.pop()
                continue
            cand = (*resolved, c)
            if not todo and not follow_last:
                resolved.append(c)
                break
            hit = self.lookup(cand)
            if hit is not None and stat.S_ISLNK(hit[1].st_mode):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise LayerError(f"too many levels of symbolic links at /{'/'.join(cand)}")
                target = os.readlink(os.path.join(hit[0], *cand))
                if target.startswith("/"):
                    resolved = []
                todo = target.split("/") + todo
                continue
            resolved.append(c)
        return tuple(resolved)


class LayerApplier:
    """One layer into `dest` (a fresh directory) over `lowers` (lowest first)."""

    def __init__(self, dest: Path, lowers: list[Path]) -> None:
        self.dest = Path(dest)
        self.view = MergedView(self.dest, list(reversed(lowers)))
        self.has_lowers = bool(lowers)
        self.unpacked: set[Parts] = set()
        self.whiteouts: set[Parts] = set()
        self.dir_times: list[tuple[str, float]] = []
        self.size = 0

    def _path(self, parts: Parts) -> str:
        return os.path.join(str(self.dest), *parts) if parts else str(self.dest)

    # -- parents --

    def ensure_dir(self, parts: Parts) -> None:
        """Make every component of `parts` a real directory in dest (no symlinks)."""
        for i in range(1, len(parts) + 1):
            sub = parts[:i]
            p = self._path(sub)
            st = _lstat(p)
            if st is not None:
                if stat.S_ISDIR(st.st_mode):
                    continue
                if is_whiteout(st) and sub in self.whiteouts:
                    os.unlink(p)
                    self.whiteouts.discard(sub)
                    os.mkdir(p, 0o755)
                    os.setxattr(p, OVERLAY_OPAQUE_XATTR, b"y", follow_symlinks=False)
                    continue
                raise LayerError(f"cannot create /{'/'.join(sub)}: not a directory in the layer")
            below = self.view.lookup(sub, lowers_only=True)
            os.mkdir(p, 0o755)
            if below is not None and stat.S_ISDIR(below[1].st_mode):
                bst = below[1]
                os.lchown(p, bst.st_uid, bst.st_gid)
                os.chmod(p, stat.S_IMODE(bst.st_mode))
                os.utime(p, ns=(bst.st_atime_ns, bst.st_mtime_ns), follow_symlinks=False)

    def target(self, parts: Parts) -> Parts:
        parent = self.view.resolve(parts[:-1], follow_last=True) if len(parts) > 1 else ()
        self.ensure_dir(parent)
        return (*parent, parts[-1])

    # -- entries --

    def whiteout(self, parts: Parts) -> None:
        parent = self.view.resolve(parts[:-1], follow_last=True) if len(parts) > 1 else ()
        t = (*parent, parts[-1])
        if t in self.unpacked or self.view.lookup(t, lowers_only=True) is None:
            return  # whiteouts hide lower content only; nothing below to hide
        self.ensure_dir(parent)
        p = self._path(t)
        st = _lstat(p)
        if st is not None:
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(p)
            else:
                os.unlink(p)
        os.mknod(p, stat.S_IFCHR | 0o000, os.makedev(0, 0))
        self.whiteouts.add(t)

    def opaque(self, dir_parts: Parts) -> None:
        t = self.view.resolve(dir_parts, follow_last=True) if dir_parts else ()
        self.ensure_dir(t)
        if self.has_lowers:
            os.setxattr(self._path(t), OVERLAY_OPAQUE_XATTR, b"y", follow_symlinks=False)

    def entry(self, tf: tarfile.TarFile, m: tarfile.TarInfo, parts: Parts) -> None:
        if not parts:  # the root itself
            if m.isdir():
                self._metadata(str(self.dest), m)
                self.dir_times.append((str(self.dest), m.mtime))
            return
        t = self.target(parts)
        p = self._path(t)
        st = _lstat(p)
        replaced_whiteout = False
        if st is not None:
            if m.isdir() and stat.S_ISDIR(st.st_mode):
                self._metadata(p, m)
                self.dir_times.append((p, m.mtime))
                self.unpacked.add(t)
                return
            replaced_whiteout = is_whiteout(st) and t in self.whiteouts
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(p)
            else:
                os.unlink(p)
            self.whiteouts.discard(t)
        if m.isreg():
            src = tf.extractfile(m)
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as out:
                if src is not None:
                    shutil.copyfileobj(src, out, 1 << 20)
            self.size += m.size
        elif m.isdir():
            os.mkdir(p, 0o700)
            if replaced_whiteout:
                os.setxattr(p, OVERLAY_OPAQUE_XATTR, b"y", follow_symlinks=False)
            self.dir_times.append((p, m.mtime))
        elif m.issym():
            os.symlink(m.linkname, p)
        elif m.islnk():
            self._hardlink(m, p)
            self.unpacked.add(t)
            return
        elif m.ischr() or m.isblk():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            os.mknod(p, kind | 0o600, os.makedev(m.devmajor, m.devminor))
        elif m.isfifo():
            os.mkfifo(p, 0o600)
        else:
            raise LayerError(f"unsupported tar entry type {m.type!r} for {m.name!r}")
        self._metadata(p, m)
        self.unpacked.add(t)

    def _hardlink(self, m: tarfile.TarInfo, p: str) -> None:
        link = split_name(m.linkname)
        if not link:
            raise LayerError(f"invalid hard link {m.name!r} -> {m.linkname!r}")
        parent = self.view.resolve(link[:-1], follow_last=True)
        tparts = (*parent, link[-1])
        hit = self.view.lookup(tparts)
        if hit is None:
            raise LayerError(f"hard link {m.name!r} -> {m.linkname!r}: target not found")
        layer, st = hit
        if stat.S_ISDIR(st.st_mode):
            raise LayerError(f"hard link {m.name!r} -> {m.linkname!r}: target is a directory")
        src = os.path.join(layer, *tparts)
        if layer == str(self.dest):
            os.link(src, p, follow_symlinks=False)
            return
        # A file of a lower layer: copy it (content, owner, mode, times, xattrs).
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src), p)
        elif stat.S_ISREG(st.st_mode):
            shutil.copyfile(src, p, follow_symlinks=False)
            self.size += st.st_size
        else:
            os.mknod(p, st.st_mode, st.st_rdev)
        _copy_xattrs(src, p)
        os.lchown(p, st.st_uid, st.st_gid)
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(p, stat.S_IMODE(st.st_mode))
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)

    def _metadata(self, p: str, m: tarfile.TarInfo) -> None:
        os.lchown(p, m.uid, m.gid)
        for key, value in m.pax_headers.items():
            if not key.startswith("SCHILY.xattr."):
                continue
            name = key[len("SCHILY.xattr."):]
            if name.startswith("trusted.overlay."):
                continue
            raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
            try:
                os.setxattr(p, name, raw, follow_symlinks=False)
            except OSError as e:
                if e.errno not in (errno.ENOTSUP, errno.EPERM, errno.EINVAL):
                    raise
        if not m.issym():
            os.chmod(p, m.mode & 0o7777)
        mtime = float(m.mtime)
        os.utime(p, (mtime, mtime), follow_symlinks=False)

    def finish(self) -> None:
        for p, mtime in reversed(self.dir_times):
            os.utime(p, (float(mtime), float(mtime)), follow_symlinks=False)


def _copy_xattrs(src: str, dst: str) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        return
    for n in names:
        if n.startswith("trusted.overlay."):
            continue
        try:
            os.setxattr(dst, n, os.getxattr(src, n, follow_symlinks=False), follow_symlinks=False)
        except OSError:
            pass


def apply_layer(stream: BinaryIO, dest: Path, lowers: list[Path] | None = None, *,
                expected_diff_id: str = "") -> ApplyResult:
    """Extract a (gzip, zstd or plain) layer tar into `dest` over `lowers` (lowest first).

    Raises `LayerError` for unsafe or malformed content and `DigestMismatch` when the
    uncompressed tar does not hash to `expected_diff_id`; `dest` is then left for the caller
    to delete.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    raw, kind = open_decompressed(stream)
    hashing = HashingReader(raw)
    applier = LayerApplier(dest, list(lowers or []))
    try:
        with tarfile.open(fileobj=hashing, mode="r|", errorlevel=2) as tf:  # type: ignore[call-overload]
            for m in tf:
                parts = split_name(m.name)
                base = parts[-1] if parts else ""
                if base.startswith(WHITEOUT_PREFIX):
                    if base == WHITEOUT_OPAQUE:
                        applier.opaque(parts[:-1])
                    elif base.startswith(WHITEOUT_META_PREFIX):
                        continue  # reserved
                    elif base == WHITEOUT_PREFIX:
                        raise LayerError(f"invalid whiteout {m.name!r}")
                    else:
                        applier.whiteout((*parts[:-1], base[len(WHITEOUT_PREFIX):]))
                    continue
                applier.entry(tf, m, parts)
        hashing.drain()
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError) as e:
        raise LayerError(f"invalid layer tar: {e}") from e
    finally:
        if kind == "zstd":
            raw.close()  # stops the zstd process
    applier.finish()
    if expected_diff_id and hashing.digest != expected_diff_id:
        raise DigestMismatch(expected_diff_id, hashing.digest)
    return ApplyResult(hashing.digest, applier.size)
