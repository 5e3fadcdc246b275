"""The registry's storage on disk (its own root, not the image store's).

    <root>/blobs/<alg>/<hex>                                  content, shared by all repositories
    <root>/repositories/<name>/_layers/<alg>/<hex>            blob linked into a repository
    <root>/repositories/<name>/_manifests/revisions/<alg>/<hex>  manifest linked ({"mediaType"})
    <root>/repositories/<name>/_manifests/tags/<tag>          the digest a tag points to
    <root>/repositories/<name>/_referrers/<alg>-<hex>/<alg>-<hex>  referrer descriptors by subject
    <root>/uploads/<uuid>/{data,info.json}                    upload sessions

A blob appears under its digest only after the whole upload hashed to that digest (fsync +
rename), so an interrupted or wrong upload never leaves a corrupt blob. Repository names are the
distribution grammar, whose components never start with `_`, so `_layers` etc. cannot clash.
Blocking: the app calls these methods through `asyncio.to_thread`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..content.local import LocalContentStore, atomic_write, fsync_dir
from ..oci import new_hasher


@dataclass
class Upload:
    uuid: str
    name: str
    path: Path
    offset: int = 0
    hashers: dict[str, Any] = field(default_factory=dict)  # alg -> running hash of data[0:offset]


class RegistryStorage:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.content = LocalContentStore(self.root)
        self.repos = self.root / "repositories"
        self.uploads_dir = self.root / "uploads"
        self._uploads: dict[str, Upload] = {}
        for d in (self.root / "blobs" / "sha256", self.repos, self.uploads_dir):
            d.mkdir(parents=True, exist_ok=True)

    # -- paths --

    def _repo(self, name: str) -> Path:
        return self.repos / name

    @staticmethod
    def _split(digest: str) -> tuple[str, str]:
        alg, _, hexpart = digest.partition(":")
        return alg, hexpart

    def repo_exists(self, name: str) -> bool:
        r = self._repo(name)
        return (r / "_layers").is_dir() or (r / "_manifests").is_dir()

    # -- blobs --

    def blob_path(self, digest: str) -> Path:
        return self.content.blob_path(digest)

    def has_blob(self, digest: str) -> bool:
        return self.content.has(digest)

    def linked(self, name: str, digest: str) -> bool:
        alg, hexpart = self._split(digest)
        return (self._repo(name) / "_layers" / alg / hexpart).exists() and self.content.has(digest)

    def link(self, name: str, digest: str) -> None:
        alg, hexpart = self._split(digest)
        p = self._repo(name) / "_layers" / alg / hexpart
        p.parent.mkdir(parents=True, exist_ok=True)
        p.touch()

    def unlink_blob(self, name: str, digest: str) -> bool:
        alg, hexpart = self._split(digest)
        p = self._repo(name) / "_layers" / alg / hexpart
        try:
            p.unlink()
            return True
        except FileNotFoundError:
            return False

    def blob_repo_with(self, digest: str) -> str | None:
        """Some repository that has `digest` linked (for mounts without `from`)."""
        alg, hexpart = self._split(digest)
        for p in self.repos.rglob(f"_layers/{alg}/{hexpart}"):
            return str(p.parent.parent.parent.relative_to(self.repos))
        return None

    # -- uploads --

    def start_upload(self, name: str) -> Upload:
        u = uuidlib.uuid4().hex
        d = self.uploads_dir / u
        d.mkdir(parents=True)
        (d / "data").touch()
        atomic_write(d / "info.json", json.dumps({"name": name, "started": time.time()}).encode())
        up = Upload(u, name, d / "data", 0, {"sha256": hashlib.sha256()})
        self._uploads[u] = up
        return up

    def get_upload(self, name: str, u: str) -> Upload | None:
        up = self._uploads.get(u)
        if up is not None:
            return up if up.name == name else None
        d = self.uploads_dir / u
        if not u.isalnum() or not (d / "info.json").is_file():
            return None
        info = json.loads((d / "info.json").read_bytes())
        if info.get("name") != name:
            return None
        up = Upload(u, name, d / "data", (d / "data").stat().st_size, {})  # hashes rebuilt on demand
        self._uploads[u] = up
        return up

    def append(self, up: Upload, data: bytes) -> None:
        with open(up.path, "r+b") as f:
            f.seek(up.offset)
            f.write(data)
            f.truncate()
        for h in up.hashers.values():
            h.update(data)
        up.offset += len(data)

    def append_stream(self, up: Upload, f_in: BinaryIO) -> None:
        with open(up.path, "r+b") as f:
            f.seek(up.offset)
            for chunk in iter(lambda: f_in.read(1 << 20), b""):
                f.write(chunk)
                for h in up.hashers.values():
                    h.update(chunk)
                up.offset += len(chunk)
            f.truncate()

    def _hash(self, up: Upload, alg: str) -> str:
        h = up.hashers.get(alg)
        if h is None:
            h = new_hasher(alg)
            with open(up.path, "rb") as f:
                remaining = up.offset
                while remaining > 0:
                    chunk = f.read(min(1 << 20, remaining))
                    if not chunk:
                        break
                    h.update(chunk)
                    remaining -= len(chunk)
            up.hashers[alg] = h
        return f"{alg}:{h.hexdigest()}"

    def finish_upload(self, up: Upload, digest: str) -> str:
        """Verify the session's data against `digest`; move it into place and link it. Returns the
        actual digest (the caller compares); on mismatch nothing is stored and the session is gone."""
        alg = digest.partition(":")[0]
        actual = self._hash(up, alg)
        if actual == digest:
            with open(up.path, "rb+") as f:
                os.fsync(f.fileno())
            self.content.adopt_nowait(up.path, digest)
            self.link(up.name, digest)
        self.cancel_upload(up)
        return actual

    def cancel_upload(self, up: Upload) -> None:
        self._uploads.pop(up.uuid, None)
        shutil.rmtree(up.path.parent, ignore_errors=True)

    def put_blob(self, name: str, data: bytes, digest: str) -> str:
        alg = digest.partition(":")[0]
        actual = f"{alg}:" + hashlib.new(alg, data).hexdigest()
        if actual == digest:
            self.content.write_nowait(data, digest)
            self.link(name, digest)
        return actual

    def clean_uploads(self, older_than: float = 24 * 3600) -> None:
        now = time.time()
        for d in self.uploads_dir.iterdir():
            try:
                if now - d.stat().st_mtime > older_than:
                    self._uploads.pop(d.name, None)
                    shutil.rmtree(d, ignore_errors=True)
            except FileNotFoundError:
                pass

    # -- manifests and tags --

    def _rev(self, name: str, digest: str) -> Path:
        alg, hexpart = self._split(digest)
        return self._repo(name) / "_manifests" / "revisions" / alg / hexpart

    def _tag(self, name: str, tag: str) -> Path:
        return self._repo(name) / "_manifests" / "tags" / tag

    def resolve_tag(self, name: str, tag: str) -> str | None:
        try:
            return self._tag(name, tag).read_text().strip()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def get_manifest(self, name: str, digest: str) -> tuple[bytes, str] | None:
        try:
            meta = json.loads(self._rev(name, digest).read_bytes())
        except FileNotFoundError:
            return None
        try:
            return self.content.read_nowait(digest), meta.get("mediaType", "")
        except LookupError:
            return None

    def has_manifest(self, name: str, digest: str) -> bool:
        return self._rev(name, digest).is_file() and self.content.has(digest)

    def put_manifest(self, name: str, data: bytes, digest: str, media_type: str, tags: list[str],
                     subject: str = "", referrer: dict[str, Any] | None = None) -> None:
        self.content.write_nowait(data, digest)
        atomic_write(self._rev(name, digest), json.dumps({"mediaType": media_type}).encode())
        for t in tags:
            atomic_write(self._tag(name, t), digest.encode())
        if subject and referrer is not None:
            atomic_write(self._referrer(name, subject, digest), json.dumps(referrer).encode())

    def delete_tag(self, name: str, tag: str) -> bool:
        try:
            self._tag(name, tag).unlink()
            return True
        except FileNotFoundError:
            return False

    def delete_manifest(self, name: str, digest: str) -> bool:
        rev = self._rev(name, digest)
        if not rev.is_file():
            return False
        rev.unlink()
        for t in self.tags(name):
            if self.resolve_tag(name, t) == digest:
                self.delete_tag(name, t)
        base = self._repo(name) / "_referrers"
        if base.is_dir():
            for p in base.glob(f"*/{digest.replace(':', '-')}"):
                p.unlink(missing_ok=True)
        fsync_dir(rev.parent)
        return True

    def tags(self, name: str) -> list[str]:
        d = self._repo(name) / "_manifests" / "tags"
        if not d.is_dir():
            return []
        return sorted(p.name for p in d.iterdir() if not p.name.startswith("."))

    def catalog(self) -> list[str]:
        out = []
        for p in self.repos.rglob("_manifests"):
            out.append(str(p.parent.relative_to(self.repos)))
        for p in self.repos.rglob("_layers"):
            n = str(p.parent.relative_to(self.repos))
            if n not in out:
                out.append(n)
        return sorted(out)

    # -- referrers --

    def _referrer(self, name: str, subject: str, digest: str) -> Path:
        return self._repo(name) / "_referrers" / subject.replace(":", "-") / digest.replace(":", "-")

    def referrers(self, name: str, subject: str) -> list[dict[str, Any]]:
        d = self._repo(name) / "_referrers" / subject.replace(":", "-")
        if not d.is_dir():
            return []
        out = []
        for p in sorted(d.iterdir()):
            if p.name.startswith("."):
                continue
            try:
                out.append(json.loads(p.read_bytes()))
            except (OSError, ValueError):
                continue
        return out

    # -- garbage collection --

    def gc(self) -> int:
        """Delete blobs no repository links or uses as a manifest. Returns how many were deleted."""
        live: set[str] = set()
        for kind in ("_layers", "_manifests/revisions"):
            for p in self.repos.rglob(f"{kind}/*/*"):
                if p.is_file():
                    live.add(f"{p.parent.name}:{p.name}")
        n = 0
        for info in self.content.walk_nowait():
            if info.digest not in live:
                self.content.delete_nowait(info.digest)
                n += 1
        return n
