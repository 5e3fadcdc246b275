"""The local image store: an OCI image layout on disk plus unpacked layer snapshots.

    <root>/oci-layout, index.json      records: manifest descriptors with ref names (layout.py)
    <root>/blobs/sha256/<hex>          manifests, indexes, configs, layers (content/local.py)
    <root>/ingest/                     partial writes (resumable pulls)
    <root>/snapshots/<chain-id hex>/   layers unpacked in overlay form (snapshots.py)
    <root>/refs/<owner>/<key>.json     extra GC roots (the build cache keeps its layers here)

`LocalImageStore` implements `interface.ImageStore` and the Docker-like verbs the CLI needs
(tag, rmi, inspect, history, prune). The built-in `busybox` and `pause` images are made on first
`get` (builtin.py). Removal asks an injected `in_use(image_id)` callback first and refuses an image
a container uses, with Docker's wording.
"""

from __future__ import annotations

import asyncio
import inspect as _inspect
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import oci
from .content.local import LocalContentStore, atomic_write
from .errors import ImageError, ImageInUse, InvalidReference, LayerError
from .interface import Image, ImageNotFound
from .layout import Layout, Record, ref_name
from .reference import is_image_id, looks_like_id_prefix, parse_reference
from .snapshots import Snapshotter, check_layers

log = logging.getLogger(__name__)

DEFAULT_ROOT = "/var/lib/kubelite/images"
InUse = Callable[[str], "str | None | Awaitable[str | None]"]


@dataclass
class Resolved:
    """A record followed down to one platform image."""

    top: Record                      # the index.json descriptor
    manifest_digest: str             # the platform manifest
    manifest: dict[str, Any]
    config_digest: str
    config: dict[str, Any]
    names: list[str] = field(default_factory=list)

    @property
    def layers(self) -> list[dict[str, Any]]:
        return [d for d in self.manifest.get("layers") or [] if isinstance(d, dict)]


@dataclass
class RemoveReport:
    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


@dataclass
class GCReport:
    blobs_deleted: int = 0
    bytes_freed: int = 0
    snapshots_deleted: int = 0
    images_deleted: list[str] = field(default_factory=list)


class LocalImageStore:
    def __init__(self, root: str | os.PathLike[str] = DEFAULT_ROOT, *, in_use: InUse | None = None,
                 builtins: bool = True) -> None:
        self.root = Path(root)
        self.content = LocalContentStore(self.root)
        self.layout = Layout(self.root)
        self.snapshots = Snapshotter(self.root / "snapshots")
        self._in_use = in_use
        self._builtins = builtins
        self._docs: dict[str, Any] = {}
        self._builtin_lock = asyncio.Lock()
        self._ready = False

    # -- setup --

    def _ensure(self) -> None:
        if not self._ready:
            self.layout.ensure_nowait()
            self.content.ensure_dirs()
            self.snapshots.root.mkdir(parents=True, exist_ok=True)
            self._ready = True

    async def start(self) -> None:
        await asyncio.to_thread(self._ensure)

    # -- documents --

    def read_json_nowait(self, digest: str) -> Any:
        doc = self._docs.get(digest)
        if doc is None:
            doc = json.loads(self.content.read_nowait(digest))
            if len(self._docs) > 4096:
                self._docs.clear()
            self._docs[digest] = doc
        return doc

    def resolve_record_nowait(self, rec: Record) -> Resolved:
        digest = rec["digest"]
        doc = self.read_json_nowait(digest)
        mt = rec.get("mediaType") or oci.media_type_of(doc)
        if oci.is_index(mt):
            chosen = oci.select_platform(doc)
            if chosen is None:
                raise ImageError(f"image index {digest} has no linux/amd64 manifest")
            digest = chosen["digest"]
            doc = self.read_json_nowait(digest)
        cfg_digest = doc["config"]["digest"]
        return Resolved(rec, digest, doc, cfg_digest, self.read_json_nowait(cfg_digest))

    def _resolved_all_nowait(self) -> list[Resolved]:
        self._ensure()
        out = []
        for rec in self.layout.read_nowait():
            try:
                out.append(self.resolve_record_nowait(rec))
            except (ImageError, KeyError, ValueError, LookupError) as e:
                log.warning("skipping unreadable image record %s: %s", rec.get("digest"), e)
        return out

    def _image_of(self, group: list[Resolved]) -> Image:
        first = group[0]
        tags, digests = [], []
        for r in group:
            name = ref_name(r.top)
            if not name:
                continue
            try:
                ref = parse_reference(name, default_tag=False)
            except InvalidReference:
                continue
            if ref.tag and str(ref) not in tags:
                tags.append(str(ref))
            rd = f"{ref.name}@{r.top['digest']}"
            if rd not in digests:
                digests.append(rd)
        diff_ids = list((first.config.get("rootfs") or {}).get("diff_ids") or [])
        size = sum(int(d.get("size") or 0) for d in first.layers)
        return Image(id=first.config_digest, digest=first.top["digest"], repo_tags=tags, repo_digests=digests,
                     config=first.config, diff_ids=diff_ids, size=size)

    def _find_nowait(self, ref: str) -> list[Resolved]:
        """Resolved records of the image `ref` names (all records of that image ID)."""
        everything = self._resolved_all_nowait()
        by_id: dict[str, list[Resolved]] = {}
        for r in everything:
            by_id.setdefault(r.config_digest, []).append(r)
        hexpart = ref.removeprefix("sha256:")
        if is_image_id(ref):
            return by_id.get("sha256:" + hexpart, [])
        try:
            parsed = parse_reference(ref)
        except InvalidReference:
            parsed = None
        if parsed is not None:
            want = str(parsed)
            for r in everything:
                if ref_name(r.top) == want:
                    return by_id[r.config_digest]
            if parsed.digest:
                for r in everything:
                    if parsed.digest in (r.top["digest"], r.manifest_digest):
                        name = ref_name(r.top)
                        if name and parse_reference(name, default_tag=False).name == parsed.name:
                            return by_id[r.config_digest]
        if looks_like_id_prefix(ref):
            hits = [k for k in by_id if k.removeprefix("sha256:").startswith(hexpart)]
            if len(hits) == 1:
                return by_id[hits[0]]
        if parsed is None:
            raise InvalidReference(f"invalid reference format: {ref!r}")
        return []

    # -- ImageStore --

    async def get(self, ref: str) -> Image | None:
        group = await asyncio.to_thread(self._find_nowait, ref)
        if not group and self._builtins:
            from .builtin import builtin_for

            make = builtin_for(ref)
            if make is not None:
                async with self._builtin_lock:
                    group = await asyncio.to_thread(self._find_nowait, ref)
                    if not group:
                        await make(self)
                        group = await asyncio.to_thread(self._find_nowait, ref)
        return self._image_of(group) if group else None

    async def require(self, ref: str) -> Image:
        image = await self.get(ref)
        if image is None:
            raise ImageNotFound(f"No such image: {ref}")
        return image

    async def list(self) -> list[Image]:
        everything = await asyncio.to_thread(self._resolved_all_nowait)
        by_id: dict[str, list[Resolved]] = {}
        for r in everything:
            by_id.setdefault(r.config_digest, []).append(r)
        return [self._image_of(g) for g in by_id.values()]

    async def resolve(self, image: Image) -> Resolved:
        def op() -> Resolved:
            for r in self._resolved_all_nowait():
                if r.config_digest == image.id and r.top["digest"] == image.digest:
                    return r
            for r in self._resolved_all_nowait():
                if r.config_digest == image.id:
                    return r
            raise ImageNotFound(f"No such image: {image.id}")

        return await asyncio.to_thread(op)

    async def unpack(self, image: Image) -> list[Path]:
        resolved = await self.resolve(image)
        layers = resolved.layers
        check_layers(len(layers), image.diff_ids)
        for d in layers:
            mt = d.get("mediaType", "")
            if mt and mt not in oci.GZIP_LAYER_TYPES | oci.PLAIN_LAYER_TYPES | oci.ZSTD_LAYER_TYPES:
                raise LayerError(f"unsupported layer media type {mt}")
        await asyncio.to_thread(self._ensure)
        return await self.snapshots.prepare(image.diff_ids, lambda i: self.content.open_blob(layers[i]["digest"]))

    # -- records --

    async def add_record(self, descriptor: dict[str, Any], names: list[str]) -> Image:
        """Point each name (normalised ref) at `descriptor` (moving it off any other image)."""
        names = [str(parse_reference(n)) for n in names]
        desc = {k: descriptor[k] for k in ("mediaType", "digest", "size") if k in descriptor}

        def update(records: list[Record]) -> list[Record]:
            out = [r for r in records if ref_name(r) not in names]
            if not names:
                if not any(r["digest"] == desc["digest"] for r in out):
                    out.append(dict(desc))
                return out
            out = [r for r in out if ref_name(r) or r["digest"] != desc["digest"]]
            for n in names:
                out.append({**desc, "annotations": {oci.ANNOTATION_REF_NAME: n}})
            return out

        def op() -> None:
            self._ensure()
            self.resolve_record_nowait(desc)  # fail before recording something unreadable
            self.layout.update_nowait(update)

        await asyncio.to_thread(op)
        if names:
            return await self.require(names[0])
        return await self._image_by_digest(desc["digest"])

    async def _image_by_digest(self, digest: str) -> Image:
        for img in await self.list():
            if img.digest == digest:
                return img
        raise ImageNotFound(f"No such image: {digest}")

    async def commit(self, config: dict[str, Any], layers: list[dict[str, Any]], names: list[str], *,
                     annotations: dict[str, str] | None = None, docker_media_types: bool = False) -> Image:
        """Store a config and a manifest for already-stored layer blobs; record `names`."""
        cfg_bytes = oci.canonical_json(config)
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": oci.DOCKER_MANIFEST if docker_media_types else oci.OCI_MANIFEST,
            "config": oci.descriptor(oci.DOCKER_CONFIG if docker_media_types else oci.OCI_CONFIG, cfg_bytes),
            "layers": layers,
        }
        if annotations:
            manifest["annotations"] = annotations
        man_bytes = json.dumps(manifest, indent=2).encode()

        def op() -> None:
            self._ensure()
            for d in layers:
                if not self.content.has(d["digest"]):
                    raise ImageError(f"layer blob {d['digest']} is not in the store")
            self.content.write_nowait(cfg_bytes)
            self.content.write_nowait(man_bytes)

        await asyncio.to_thread(op)
        return await self.add_record(oci.descriptor(manifest["mediaType"], man_bytes), names)

    async def tag(self, source: str, target: str) -> Image:
        group = await asyncio.to_thread(self._find_nowait, source)
        if not group:
            image = await self.get(source)  # built-ins
            if image is None:
                raise ImageNotFound(f"No such image: {source}")
            group = await asyncio.to_thread(self._find_nowait, source)
        ref = parse_reference(target)
        if ref.digest:
            raise InvalidReference("refusing to create a tag with a digest reference")
        return await self.add_record(group[0].top, [str(ref)])

    async def _check_in_use(self, image_id: str) -> str | None:
        if self._in_use is None:
            return None
        r = self._in_use(image_id)
        if _inspect.isawaitable(r):
            r = await r
        return r or None

    async def remove(self, ref: str, *, force: bool = False) -> RemoveReport:
        """`docker rmi`: untag a name, or delete the image when its last name goes (or by ID)."""
        group = await asyncio.to_thread(self._find_nowait, ref)
        if not group:
            raise ImageNotFound(f"No such image: {ref}")
        image_id = group[0].config_digest
        names = [ref_name(r.top) for r in group if ref_name(r.top)]
        by_id = is_image_id(ref) or (looks_like_id_prefix(ref) and not any(
            ref_name(r.top) == _try_normalize(ref) for r in group))
        report = RemoveReport()
        if by_id:
            repos = {parse_reference(n, default_tag=False).name for n in names}
            if len(repos) > 1 and not force:
                raise ImageError(f"conflict: unable to delete {image_id.removeprefix('sha256:')[:12]} (must be "
                                 f"forced) - image is referenced in multiple repositories")
            drop = names
        else:
            drop = [_try_normalize(ref)]
            if drop[0] not in names:  # name@digest: untag that repo's names for this image
                p = parse_reference(ref, default_tag=False)
                drop = [n for n in names if parse_reference(n, default_tag=False).name == p.name]
        remaining = [n for n in names if n not in drop]
        user = None if remaining else await self._check_in_use(image_id)
        if user and not force:
            raise ImageInUse(ref, image_id, user)
        delete_image = not remaining and not user

        def update(records: list[Record]) -> list[Record]:
            out = []
            for r in records:
                if ref_name(r) in drop:
                    continue
                if delete_image and _record_image_id(self, r) == image_id:
                    continue
                out.append(r)
            if not remaining and not delete_image:  # in use: keep as an untagged image
                if not any(_record_image_id(self, r) == image_id for r in out):
                    top = group[0].top
                    out.append({k: top[k] for k in ("mediaType", "digest", "size") if k in top})
            return out

        await asyncio.to_thread(self.layout.update_nowait, update)
        report.untagged.extend(drop)
        if delete_image:
            report.deleted.append(image_id)
            await self.gc(grace=None, only=group)
        return report

    # -- inspection --

    async def inspect(self, ref: str) -> dict[str, Any]:
        from .inspect import inspect_image

        image = await self.require(ref)
        resolved = await self.resolve(image)
        return inspect_image(image, resolved.manifest, [str(self.snapshots.path(c)) for c in
                                                         oci.chain_ids(image.diff_ids)])

    async def history(self, ref: str) -> list[dict[str, Any]]:
        from .inspect import image_history

        image = await self.require(ref)
        resolved = await self.resolve(image)
        return image_history(image, resolved.layers)

    # -- extra GC roots (build cache) --

    def set_refs_nowait(self, owner: str, key: str, digests: list[str]) -> None:
        atomic_write(self.root / "refs" / owner / f"{key}.json", json.dumps(sorted(set(digests))).encode())

    def drop_refs_nowait(self, owner: str, key: str | None = None) -> None:
        d = self.root / "refs" / owner
        if key is not None:
            (d / f"{key}.json").unlink(missing_ok=True)
        elif d.is_dir():
            for p in d.iterdir():
                p.unlink(missing_ok=True)

    def _ref_roots_nowait(self) -> set[str]:
        out: set[str] = set()
        base = self.root / "refs"
        if not base.is_dir():
            return out
        for p in base.glob("*/*.json"):
            try:
                out.update(json.loads(p.read_bytes()))
            except (OSError, ValueError):
                continue
        return out

    # -- garbage collection --

    def _mark_nowait(self) -> tuple[set[str], set[str]]:
        """Blobs and snapshot chain IDs reachable from the records and the refs."""
        blobs: set[str] = set(self._ref_roots_nowait())
        chains: set[str] = set()
        stack = [r["digest"] for r in self.layout.read_nowait()]
        while stack:
            d = stack.pop()
            if d in blobs:
                continue
            blobs.add(d)
            if not self.content.has(d):
                continue
            try:
                doc = self.read_json_nowait(d)
            except (ValueError, OSError):
                continue
            if not isinstance(doc, dict):
                continue
            for m in doc.get("manifests") or []:
                stack.append(m["digest"])
            for desc in oci.manifest_blobs(doc):
                blobs.add(desc["digest"])
                if desc is doc.get("config"):
                    try:
                        cfg = self.read_json_nowait(desc["digest"])
                        chains.update(oci.chain_ids(list((cfg.get("rootfs") or {}).get("diff_ids") or [])))
                    except (ValueError, OSError, LookupError):
                        pass
        return blobs, chains

    async def gc(self, *, grace: float | None = 600.0, only: list[Resolved] | None = None) -> GCReport:
        """Delete unreferenced blobs (older than `grace` s, so concurrent pulls survive) and snapshots.

        With `only`, consider just the blobs and snapshots of those (removed) records.
        """
        def op() -> GCReport:
            self._ensure()
            report = GCReport()
            live_blobs, live_chains = self._mark_nowait()
            if only is not None:
                candidates = set()
                chains_c: set[str] = set()
                for r in only:
                    candidates.update({r.top["digest"], r.manifest_digest, r.config_digest})
                    candidates.update(d["digest"] for d in r.layers)
                    chains_c.update(oci.chain_ids(list((r.config.get("rootfs") or {}).get("diff_ids") or [])))
                infos = [i for i in self.content.walk_nowait() if i.digest in candidates]
                chains = [c for c in chains_c if self.snapshots.exists(c)]
            else:
                infos = self.content.walk_nowait()
                chains = self.snapshots.list_nowait()
                self.content.clean_ingest_nowait()
                self.snapshots.clean_temp_nowait()
            now = time.time()
            for info in infos:
                if info.digest in live_blobs:
                    continue
                if grace is not None and now - info.created_at < grace:
                    continue
                try:
                    self.content.delete_nowait(info.digest)
                except LookupError:
                    continue
                self._docs.pop(info.digest, None)
                report.blobs_deleted += 1
                report.bytes_freed += info.size
            for c in chains:
                if c not in live_chains:
                    self.snapshots.remove_nowait(c)
                    report.snapshots_deleted += 1
            return report

        return await asyncio.to_thread(op)

    async def prune(self, *, all: bool = False, grace: float | None = 600.0) -> GCReport:
        """`docker image prune [-a]`: drop dangling (or all unused) images, then collect garbage."""
        images = await self.list()
        deleted: list[str] = []
        for image in images:
            if image.repo_tags and not all:
                continue
            if await self._check_in_use(image.id):
                continue
            await self._drop_image(image.id)
            deleted.append(image.id)
        report = await self.gc(grace=grace)
        report.images_deleted = deleted
        return report

    async def _drop_image(self, image_id: str) -> None:
        def update(records: list[Record]) -> list[Record]:
            return [r for r in records if _record_image_id(self, r) != image_id]

        await asyncio.to_thread(self.layout.update_nowait, update)


def _try_normalize(ref: str) -> str:
    try:
        return str(parse_reference(ref))
    except InvalidReference:
        return ref


def _record_image_id(store: LocalImageStore, rec: Record) -> str:
    try:
        return store.resolve_record_nowait(rec).config_digest
    except (ImageError, KeyError, ValueError, LookupError):
        return ""

