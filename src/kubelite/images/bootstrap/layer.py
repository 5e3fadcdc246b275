"""A root filesystem tar (as mmdebstrap writes it) → a reproducible OCI layer, whole or as the
difference to a base layer. Blocking: call from a thread.

Entries are written in path order (parents first) as PAX with numeric owners only, every mtime
clamped to `SOURCE_DATE_EPOCH`, only `SCHILY.xattr.*` extended headers kept, the gzip stream with
mtime 0 and no name: the same packages give the same digest. Device nodes under `/dev` are left
out (the runtime mounts `/dev`), as are `/etc/resolv.conf` and `/etc/hostname`.

A diff layer holds every entry that is new or differs from the base (type, mode, owner, mtime,
size, link target, xattrs, content) and a whiteout (`.wh.<name>`) for the topmost of each removed
path. Hard links are rewritten so a link always follows the file it names inside the layer; a
link whose target is not in the layer becomes a copy.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from collections.abc import Callable
from typing import IO, Any

from .. import oci
from ..layers.apply import WHITEOUT_PREFIX
from ..layers.tarstream import open_decompressed
from ..layers.writer import LayerWriter, new_entry

SKIP = frozenset({"etc/resolv.conf", "etc/hostname"})

EntryKey = tuple[Any, ...]


def clean_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.strip("/") if name not in (".", "./") else ""


def keep(name: str) -> bool:
    return bool(name) and name not in SKIP and not name.startswith("dev/")


def sort_key(name: str) -> list[str]:
    return name.split("/")


def _xattrs(m: tarfile.TarInfo) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")))


def _hash_member(tf: tarfile.TarFile, m: tarfile.TarInfo) -> str:
    f = tf.extractfile(m)
    h = hashlib.sha256()
    if f is not None:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def entry_key(m: tarfile.TarInfo, content: str, sde: int) -> EntryKey:
    """What makes two entries the same (hard links compare as the file they name)."""
    typ = tarfile.REGTYPE if m.type in (tarfile.LNKTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE) else m.type
    return (typ, m.mode, m.uid, m.gid, min(int(m.mtime), sde), m.size if typ == tarfile.REGTYPE else 0,
            m.linkname if m.type == tarfile.SYMTYPE else "", m.devmajor, m.devminor, _xattrs(m), content)


def index_layer_blob(open_blob: Callable[[], IO[bytes]], sde: int) -> dict[str, EntryKey]:
    """The entries of a stored (compressed) layer, keyed by clean name."""
    out: dict[str, EntryKey] = {}
    contents: dict[str, str] = {}
    with open_blob() as blob:
        raw, _ = open_decompressed(blob)  # type: ignore[arg-type]
        with tarfile.open(fileobj=raw, mode="r|") as tf:  # type: ignore[call-overload]
            for m in tf:
                name = clean_name(m.name)
                if not name:
                    continue
                if m.isreg():
                    contents[name] = _hash_member(tf, m)
                    content = contents[name]
                elif m.islnk():
                    content = contents.get(clean_name(m.linkname), "")
                else:
                    content = ""
                out[name] = entry_key(m, content, sde)
    return out


def _normalized(m: tarfile.TarInfo, name: str, sde: int) -> tarfile.TarInfo:
    info = new_entry(name, type=m.type if m.type != tarfile.AREGTYPE else tarfile.REGTYPE, mode=m.mode,
                     uid=m.uid, gid=m.gid, size=m.size if m.isreg() else 0, mtime=min(int(m.mtime), sde),
                     linkname=m.linkname if m.issym() else "")
    info.devmajor, info.devminor = m.devmajor, m.devminor
    for k, v in _xattrs(m):
        info.pax_headers[k] = v
    return info


def write_rootfs_layer(tar_path: str | os.PathLike[str], out: IO[bytes], *, sde: int,
                       base: dict[str, EntryKey] | None = None) -> tuple[str, str, int, int, int]:
    """Write the layer for `tar_path` (a diff against `base` when given) to `out`, gzip-compressed.

    Returns (diff_id, digest, size, entries, whiteouts).
    """
    with tarfile.open(tar_path, mode="r:") as tf:
        members: dict[str, tarfile.TarInfo] = {}
        for m in tf.getmembers():
            name = clean_name(m.name)
            if keep(name):
                members[name] = m
        contents: dict[str, str] = {}

        def content_of(name: str) -> str:
            if name not in contents:
                m = members.get(name)
                contents[name] = _hash_member(tf, m) if m is not None and m.isreg() else ""
            return contents[name]

        selected: set[str] = set()
        for name, m in members.items():
            if base is None:
                selected.add(name)
                continue
            content = content_of(clean_name(m.linkname)) if m.islnk() else content_of(name) if m.isreg() else ""
            if base.get(name) != entry_key(m, content, sde):
                selected.add(name)
        whiteouts: list[str] = []
        if base is not None:
            removed = {n for n in base if keep(n) and n not in members}
            for n in sorted(removed, key=sort_key):
                parent = n.rpartition("/")[0]
                if any(p in removed for p in _ancestors(parent)):
                    continue
                whiteouts.append(f"{parent}/{WHITEOUT_PREFIX}{n.rpartition('/')[2]}" if parent
                                 else f"{WHITEOUT_PREFIX}{n}")

        # hard links: group each link with its target; the first in path order carries the data
        canonical: dict[str, str] = {}   # selected link or target -> the name that carries the data
        groups: dict[str, list[str]] = {}
        for name, m in members.items():
            if m.islnk():
                groups.setdefault(clean_name(m.linkname), []).append(name)
        for target, links in groups.items():
            chosen = sorted((n for n in [target, *links] if n in selected), key=sort_key)
            for n in chosen:
                canonical[n] = chosen[0]

        w = LayerWriter(out, mtime=None)
        names = sorted([*selected, *whiteouts], key=sort_key)
        wh = set(whiteouts)
        for name in names:
            if name in wh:
                w.add(new_entry(name, mtime=sde))
                continue
            m = members[name]
            first = canonical.get(name)
            if first is not None and first != name:
                info = _normalized(m, name, sde)
                info.type, info.linkname, info.size = tarfile.LNKTYPE, first, 0
                w.add(info)
                continue
            if m.islnk():  # the first of its group in this layer: carries the data
                src = members[clean_name(m.linkname)]
                info = _normalized(m, name, sde)
                info.type, info.size = tarfile.REGTYPE, src.size
                w.add(info, tf.extractfile(src))
                continue
            info = _normalized(m, name, sde)
            w.add(info, tf.extractfile(m) if m.isreg() else None)
        d = w.close()
    return d.diff_id, d.digest, d.size, d.entries, len(whiteouts)


def _ancestors(path: str) -> list[str]:
    out = []
    while path:
        out.append(path)
        path = path.rpartition("/")[0]
    return out


def dpkg_versions(tar_path: str | os.PathLike[str]) -> dict[str, str]:
    """Installed packages and versions from `var/lib/dpkg/status` in a rootfs tar."""
    with tarfile.open(tar_path, mode="r:") as tf:
        for m in tf.getmembers():
            if clean_name(m.name) == "var/lib/dpkg/status" and m.isreg():
                f = tf.extractfile(m)
                return parse_dpkg_status(f.read().decode(errors="replace")) if f else {}
    return {}


def parse_dpkg_status(text: str) -> dict[str, str]:
    out = {}
    for para in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in para.splitlines():
            if line and not line[0].isspace() and ":" in line:
                k, _, v = line.partition(":")
                fields[k] = v.strip()
        if fields.get("Package") and fields.get("Status", "").endswith(" installed"):
            out[fields["Package"]] = fields.get("Version", "")
    return dict(sorted(out.items()))


def extract_member(tar_path: str | os.PathLike[str], name: str, dest: str | os.PathLike[str]) -> bool:
    """Copy one regular file (by clean name) out of a tar; False when it is not there."""
    with tarfile.open(tar_path, mode="r:") as tf:
        for m in tf.getmembers():
            if clean_name(m.name) == name and m.isreg():
                f = tf.extractfile(m)
                if f is None:
                    return False
                with open(dest, "wb") as out:
                    while chunk := f.read(1 << 20):
                        out.write(chunk)
                os.chmod(dest, 0o755)
                return True
    return False


def layer_descriptor(digest: str, size: int) -> dict[str, Any]:
    return oci.descriptor(oci.OCI_LAYER_GZIP, digest, size)

