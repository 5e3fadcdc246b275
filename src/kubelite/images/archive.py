"""`save` and `load`: images to and from OCI archives and docker-archives (tar files).

OCI archive (`--format oci`, what Docker ≥ 25 writes): `oci-layout`, `index.json` (each entry
annotated with the full name in `io.containerd.image.name` and the tag in
`org.opencontainers.image.ref.name`, so `skopeo copy oci-archive:f.tar:<tag>` works), the blobs
exactly as stored, and a Docker-compatible `manifest.json`. Loading it keeps every digest.

docker-archive (`--format docker`): `manifest.json` `[{Config, RepoTags, Layers}]`, the config
as `<hex>.json` and each layer uncompressed as `<diff-id hex>/layer.tar`. Loading it keeps the
config bytes (so the image ID) and recompresses layers reproducibly (gzip, mtime 0).

`load` detects the format (and gzip) by content. Blocking code runs on worker threads.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import oci
from .errors import ArchiveError, DigestMismatch
from .interface import Image
from .layers.tarstream import GZIP_LEVEL, HashingWriter, open_decompressed
from .reference import familiar, parse_reference
from .store import LocalImageStore, Resolved


@dataclass
class LoadResult:
    names: list[str] = field(default_factory=list)       # normalised names loaded
    image_ids: list[str] = field(default_factory=list)   # IDs of untagged images loaded


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tf.addfile(info, io.BytesIO(data))


def _add_file(tf: tarfile.TarFile, name: str, path: Path) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = path.stat().st_size, 0o644, 0
    with open(path, "rb") as f:
        tf.addfile(info, f)


def _add_dir(tf: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
    tf.addfile(info)


async def save(store: LocalImageStore, refs: list[str], out: str | os.PathLike[str], *, format: str = "oci") -> None:
    if format not in ("oci", "docker"):
        raise ArchiveError(f"unknown archive format {format!r} (use oci or docker)")
    items: list[tuple[list[str], Image, Resolved]] = []
    for ref in refs:
        image = await store.require(ref)
        resolved = await store.resolve(image)
        try:
            want = str(parse_reference(ref))
            names = [want] if want in image.repo_tags else []
        except ValueError:
            names = []
        if not names and not ref.removeprefix("sha256:").startswith(image.id.removeprefix("sha256:")[:6]):
            names = list(image.repo_tags)
        items.append((names, image, resolved))
    writer = _save_oci if format == "oci" else _save_docker
    await asyncio.to_thread(_atomic_tar, Path(out), lambda tf: writer(store, items, tf))


def _atomic_tar(out: Path, fill: Any) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            with tarfile.open(fileobj=f, mode="w|", format=tarfile.PAX_FORMAT) as tf:  # type: ignore[call-overload]
                fill(tf)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save_oci(store: LocalImageStore, items: list[tuple[list[str], Image, Resolved]], tf: tarfile.TarFile) -> None:
    index: list[dict[str, Any]] = []
    compat: list[dict[str, Any]] = []
    blobs: list[str] = []
    for names, image, r in items:
        top = {k: r.top[k] for k in ("mediaType", "digest", "size") if k in r.top}
        for d in [r.top["digest"], r.manifest_digest, r.config_digest] + [d["digest"] for d in r.layers]:
            if d not in blobs:
                blobs.append(d)
        for n in names or [""]:
            entry = dict(top)
            if n:
                ref = parse_reference(n)
                entry["annotations"] = {oci.ANNOTATION_IMAGE_NAME: n, oci.ANNOTATION_REF_NAME: ref.tag or ref.digest}
            index.append(entry)
        compat.append({"Config": _blob_name(r.config_digest), "RepoTags": [familiar(n) for n in names],
                       "Layers": [_blob_name(d["digest"]) for d in r.layers]})
    _add_bytes(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    _add_bytes(tf, "index.json", json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_INDEX,
                                             "manifests": index}).encode())
    _add_bytes(tf, "manifest.json", json.dumps(compat).encode())
    _add_dir(tf, "blobs")
    _add_dir(tf, "blobs/sha256")
    for d in blobs:
        if store.content.has(d):  # other platforms of an index may be absent
            _add_file(tf, _blob_name(d), store.content.blob_path(d))


def _blob_name(digest: str) -> str:
    alg, _, hexpart = digest.partition(":")
    return f"blobs/{alg}/{hexpart}"


def _save_docker(store: LocalImageStore, items: list[tuple[list[str], Image, Resolved]], tf: tarfile.TarFile) -> None:
    manifest: list[dict[str, Any]] = []
    written: set[str] = set()
    for names, image, r in items:
        cfg_name = r.config_digest.partition(":")[2] + ".json"
        if cfg_name not in written:
            _add_file(tf, cfg_name, store.content.blob_path(r.config_digest))
            written.add(cfg_name)
        layer_names = []
        for desc, diff_id in zip(r.layers, image.diff_ids):
            dirname = diff_id.partition(":")[2]
            name = f"{dirname}/layer.tar"
            layer_names.append(name)
            if name in written:
                continue
            written.add(name)
            with tempfile.TemporaryFile(dir=store.content.ingest) as spool:
                with store.content.open_blob(desc["digest"]) as blob:
                    raw, _ = open_decompressed(blob)
                    hw = HashingWriter(spool)  # type: ignore[arg-type]
                    shutil.copyfileobj(raw, hw, 1 << 20)
                if hw.digest != diff_id:
                    raise DigestMismatch(diff_id, hw.digest)
                _add_dir(tf, dirname)
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = hw.count, 0o644, 0
                spool.seek(0)
                tf.addfile(info, spool)
        manifest.append({"Config": cfg_name, "RepoTags": [familiar(n) for n in names], "Layers": layer_names})
    _add_bytes(tf, "manifest.json", json.dumps(manifest).encode())
    repos: dict[str, dict[str, str]] = {}
    for names, image, _ in items:
        for n in names:
            ref = parse_reference(n)
            if ref.tag:
                repos.setdefault(ref.familiar_name, {})[ref.tag] = image.id.partition(":")[2]
    _add_bytes(tf, "repositories", json.dumps(repos).encode())


async def load(store: LocalImageStore, path: str | os.PathLike[str]) -> LoadResult:
    await store.start()
    plans = await asyncio.to_thread(_load_blobs, store, Path(path))
    result = LoadResult()
    for kind, payload, names in plans:
        if kind == "record":
            image = await store.add_record(payload, names)
        else:
            config_bytes, layers = payload
            config = json.loads(config_bytes)
            image = await store.commit(config, layers, names)
        if names:
            result.names.extend(names)
        else:
            result.image_ids.append(image.id)
    return result


def _open_archive(path: Path) -> tuple[tarfile.TarFile, Any]:
    f = open(path, "rb")
    head = f.read(2)
    f.seek(0)
    if head == b"\x1f\x8b":  # compressed archive: spool it so members can be read at random
        spool = tempfile.TemporaryFile()
        with gzip.GzipFile(fileobj=f) as gz:
            shutil.copyfileobj(gz, spool, 1 << 20)
        f.close()
        spool.seek(0)
        f = spool
    try:
        return tarfile.open(fileobj=f, mode="r:"), f
    except tarfile.TarError as e:
        f.close()
        raise ArchiveError(f"not an image archive: {e}") from e


def _member(tf: tarfile.TarFile, name: str) -> IO[bytes] | None:
    for n in (name, "./" + name):
        try:
            m = tf.getmember(n)
        except KeyError:
            continue
        return tf.extractfile(m)
    return None


def _load_blobs(store: LocalImageStore, path: Path) -> list[tuple[str, Any, list[str]]]:
    tf, f = _open_archive(path)
    try:
        index = _member(tf, "index.json")
        if index is not None and _member(tf, "oci-layout") is not None:
            return _load_oci(store, tf, json.load(index))
        manifest = _member(tf, "manifest.json")
        if manifest is not None:
            return _load_docker(store, tf, json.load(manifest))
        raise ArchiveError(f"{path}: neither an OCI archive (index.json) nor a docker-archive (manifest.json)")
    finally:
        tf.close()
        f.close()


def _copy_blob(store: LocalImageStore, tf: tarfile.TarFile, digest: str, *, required: bool = True) -> bool:
    if store.content.has(digest):
        return True
    src = _member(tf, _blob_name(digest))
    if src is None:
        if required:
            raise ArchiveError(f"archive is missing blob {digest}")
        return False
    w = store.content.writer_nowait(f"load-{digest}")
    try:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            w.write_nowait(chunk)
        w.commit_nowait(0, digest)
    finally:
        w.close_nowait()
    return True


def _load_oci(store: LocalImageStore, tf: tarfile.TarFile, index: dict[str, Any]) -> list[tuple[str, Any, list[str]]]:
    plans: list[tuple[str, Any, list[str]]] = []
    by_digest: dict[str, list[str]] = {}
    tops: dict[str, dict[str, Any]] = {}
    for m in index.get("manifests") or []:
        ann = m.get("annotations") or {}
        name = ann.get(oci.ANNOTATION_IMAGE_NAME) or ""
        ref_name = ann.get(oci.ANNOTATION_REF_NAME) or ""
        if not name and ref_name and ("/" in ref_name or ":" in ref_name or "@" in ref_name):
            name = ref_name
        tops[m["digest"]] = {k: m[k] for k in ("mediaType", "digest", "size") if k in m}
        names = by_digest.setdefault(m["digest"], [])
        if name:
            names.append(str(parse_reference(name)))
    for digest, top in tops.items():
        _copy_blob(store, tf, digest)
        doc = json.loads(store.content.read_nowait(digest))
        mt = top.get("mediaType") or oci.media_type_of(doc)
        if oci.is_index(mt):
            chosen = oci.select_platform(doc)
            if chosen is None:
                raise ArchiveError(f"index {digest} has no linux/amd64 image")
            for child in doc.get("manifests") or []:
                _copy_blob(store, tf, child["digest"], required=child is chosen)
            doc = json.loads(store.content.read_nowait(chosen["digest"]))
        for desc in oci.manifest_blobs(doc):
            _copy_blob(store, tf, desc["digest"])
        plans.append(("record", top, by_digest[digest]))
    return plans


def _load_docker(store: LocalImageStore, tf: tarfile.TarFile, manifest: list[dict[str, Any]]) -> list[tuple[str, Any, list[str]]]:
    plans: list[tuple[str, Any, list[str]]] = []
    for entry in manifest:
        cfg = _member(tf, entry["Config"])
        if cfg is None:
            raise ArchiveError(f"archive is missing {entry['Config']}")
        config_bytes = cfg.read()
        config = json.loads(config_bytes)
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        if len(diff_ids) != len(entry.get("Layers") or []):
            raise ArchiveError("manifest.json layers do not match the config's diff_ids")
        layers = []
        for name, diff_id in zip(entry["Layers"], diff_ids):
            src = _member(tf, name)
            if src is None:
                raise ArchiveError(f"archive is missing {name}")
            layers.append(_compress_layer(store, src, diff_id))
        store.content.write_nowait(config_bytes)
        names = [str(parse_reference(t)) for t in entry.get("RepoTags") or []]
        plans.append(("commit", (config_bytes, layers), names))
    return plans


def _compress_layer(store: LocalImageStore, src: IO[bytes], diff_id: str) -> dict[str, Any]:
    """An uncompressed (or already compressed) layer from an archive → gzip blob in the store."""
    raw, kind = open_decompressed(src)  # type: ignore[arg-type]
    tmp = store.content.temp_path()
    try:
        with open(tmp, "wb") as out:
            blob = HashingWriter(out)
            with gzip.GzipFile(filename="", fileobj=blob, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:  # type: ignore[arg-type]
                tar = HashingWriter(gz)  # type: ignore[arg-type]
                shutil.copyfileobj(raw, tar, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        if tar.digest != diff_id:
            raise DigestMismatch(diff_id, tar.digest)
        store.content.adopt_nowait(tmp, blob.digest)
    finally:
        tmp.unlink(missing_ok=True)
    return oci.descriptor(oci.OCI_LAYER_GZIP, blob.digest, blob.count)
