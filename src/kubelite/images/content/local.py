"""Blobs on disk: `<root>/blobs/<alg>/<hex>`, partial ingests in `<root>/ingest/<key>/`.

Commit is atomic: the data file is fsynced, renamed to its digest path and the directory fsynced,
so a crash leaves either the whole blob or nothing under a digest. An interrupted ingest can be
resumed by opening a writer with the same `ref` (the hash state is rebuilt from the partial data).
One writer per ref across processes (an `flock` on the ingest dir).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import BlobNotFound, DigestMismatch, SizeMismatch
from ..oci import new_hasher
from .interface import Info

_ALGS = ("sha256", "sha512")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a small file atomically: temp file in the same dir, fsync, rename, fsync dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _split(digest: str) -> tuple[str, str]:
    alg, sep, hexpart = digest.partition(":")
    if not sep or alg not in _ALGS or not hexpart or any(c not in "0123456789abcdef" for c in hexpart):
        raise BlobNotFound(digest)
    if (alg == "sha256" and len(hexpart) != 64) or (alg == "sha512" and len(hexpart) != 128):
        raise BlobNotFound(digest)
    return alg, hexpart


class _FileReader:
    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f = f
        self.size = size

    async def read_at(self, offset: int, n: int) -> bytes:
        return await asyncio.to_thread(os.pread, self._f.fileno(), n, offset)

    async def close(self) -> None:
        self._f.close()


class LocalWriter:
    """Appends to `<ingest>/data`; `commit` verifies and renames into the blob dir."""

    def __init__(self, store: LocalContentStore, ref: str, dir: Path, lock_fd: int, f: BinaryIO,
                 hasher: Any, offset: int) -> None:
        self._store = store
        self.ref = ref
        self._dir = dir
        self._lock_fd = lock_fd
        self._f = f
        self._hasher = hasher
        self.offset = offset
        self._closed = False

    async def write(self, data: bytes) -> None:
        if data:
            await asyncio.to_thread(self.write_nowait, data)

    def write_nowait(self, data: bytes) -> None:
        """Blocking write for callers already on a worker thread."""
        self._f.write(data)
        self._hasher.update(data)
        self.offset += len(data)

    async def commit(self, size: int = 0, expected: str = "") -> str:
        return await asyncio.to_thread(self.commit_nowait, size, expected)

    def commit_nowait(self, size: int = 0, expected: str = "") -> str:
        if expected and not expected.startswith("sha256:"):
            hasher = new_hasher(expected)
            self._f.flush()
            with open(self._dir / "data", "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    hasher.update(chunk)
        else:
            hasher = self._hasher
        actual = f"{hasher.name}:{hasher.hexdigest()}"
        if size and size != self.offset:
            self._discard()
            raise SizeMismatch(size, self.offset)
        if expected and expected != actual:
            self._discard()
            raise DigestMismatch(expected, actual)
        self._f.flush()
        os.fsync(self._f.fileno())
        self._store.adopt_nowait(self._dir / "data", actual)
        shutil.rmtree(self._dir, ignore_errors=True)
        return actual

    def _discard(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    async def close(self) -> None:
        self.close_nowait()

    def close_nowait(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._f.close()
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)


class LocalContentStore:
    """The real content store (also the blob dir of the image store's OCI layout)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.ingest = self.root / "ingest"

    def ensure_dirs(self) -> None:
        (self.blobs / "sha256").mkdir(parents=True, exist_ok=True)
        self.ingest.mkdir(parents=True, exist_ok=True)

    # -- paths (sync, for code that already runs on a worker thread) --

    def blob_path(self, digest: str) -> Path:
        alg, hexpart = _split(digest)
        return self.blobs / alg / hexpart

    def has(self, digest: str) -> bool:
        try:
            return self.blob_path(digest).is_file()
        except BlobNotFound:
            return False

    def open_blob(self, digest: str) -> BinaryIO:
        try:
            return open(self.blob_path(digest), "rb")
        except FileNotFoundError:
            raise BlobNotFound(digest) from None

    def read_nowait(self, digest: str) -> bytes:
        with self.open_blob(digest) as f:
            return f.read()

    def temp_path(self) -> Path:
        """A fresh file name on the same filesystem as the blobs (for `adopt_nowait`)."""
        self.ensure_dirs()
        return self.ingest / f"tmp-{uuid.uuid4().hex}"

    def adopt_nowait(self, path: Path, digest: str) -> None:
        """Move a finished, verified file into place under `digest` (it must be fsynced)."""
        dest = self.blob_path(digest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            path.unlink(missing_ok=True)
            return
        os.chmod(path, 0o644)
        os.replace(path, dest)
        fsync_dir(dest.parent)

    def write_nowait(self, data: bytes, expected: str = "") -> str:
        alg = expected.partition(":")[0] if expected else "sha256"
        actual = f"{alg}:" + hashlib.new(alg, data).hexdigest()
        if expected and expected != actual:
            raise DigestMismatch(expected, actual)
        if not self.has(actual):
            tmp = self.temp_path()
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self.adopt_nowait(tmp, actual)
        return actual

    # -- Provider --

    async def reader(self, digest: str) -> _FileReader:
        def op() -> _FileReader:
            f = self.open_blob(digest)
            return _FileReader(f, os.fstat(f.fileno()).st_size)

        return await asyncio.to_thread(op)

    # -- Ingester --

    def _ingest_dir(self, ref: str) -> Path:
        return self.ingest / hashlib.sha256(ref.encode()).hexdigest()[:32]

    async def writer(self, ref: str) -> LocalWriter:
        return await asyncio.to_thread(self.writer_nowait, ref)

    def writer_nowait(self, ref: str) -> LocalWriter:
        self.ensure_dirs()
        d = self._ingest_dir(ref)
        d.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            if not d.exists():  # aborted while we waited
                d.mkdir(parents=True, exist_ok=True)
            (d / "ref").write_text(ref)
            hasher = hashlib.sha256()
            data = d / "data"
            offset = 0
            if data.exists():
                with open(data, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        hasher.update(chunk)
                        offset += len(chunk)
            f = open(data, "ab")
            (d / "startedat").touch()
        except BaseException:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
            os.close(lock_fd)
            raise
        return LocalWriter(self, ref, d, lock_fd, f, hasher, offset)

    async def abort(self, ref: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self._ingest_dir(ref), True)

    def clean_ingest_nowait(self, older_than: float = 24 * 3600) -> int:
        """Remove stale partial ingests and temp files (GC)."""
        n = 0
        if not self.ingest.exists():
            return 0
        now = time.time()
        for p in self.ingest.iterdir():
            try:
                if now - p.stat().st_mtime > older_than:
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
                    n += 1
            except FileNotFoundError:
                pass
        return n

    # -- Manager --

    async def info(self, digest: str) -> Info:
        def op() -> Info:
            try:
                st = self.blob_path(digest).stat()
            except FileNotFoundError:
                raise BlobNotFound(digest) from None
            return Info(digest, st.st_size, st.st_mtime)

        return await asyncio.to_thread(op)

    def walk_nowait(self) -> list[Info]:
        out = []
        for alg in _ALGS:
            d = self.blobs / alg
            if not d.is_dir():
                continue
            for p in d.iterdir():
                if p.name.startswith("."):
                    continue
                try:
                    st = p.stat()
                except FileNotFoundError:
                    continue
                out.append(Info(f"{alg}:{p.name}", st.st_size, st.st_mtime))
        return out

    async def walk(self) -> AsyncIterator[Info]:
        for info in await asyncio.to_thread(self.walk_nowait):
            yield info

    async def delete(self, digest: str) -> None:
        await asyncio.to_thread(self.delete_nowait, digest)

    def delete_nowait(self, digest: str) -> None:
        try:
            self.blob_path(digest).unlink()
        except FileNotFoundError:
            raise BlobNotFound(digest) from None
