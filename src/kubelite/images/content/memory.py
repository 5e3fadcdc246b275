"""In-memory content store for tests (same contract as `local`)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator

from ..errors import BlobNotFound, DigestMismatch, SizeMismatch
from ..oci import new_hasher
from .interface import Info


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self.size = len(data)

    async def read_at(self, offset: int, n: int) -> bytes:
        return self._data[offset:offset + n]

    async def close(self) -> None:
        pass


class _MemoryWriter:
    def __init__(self, store: MemoryContentStore, ref: str, lock: asyncio.Lock) -> None:
        self._store = store
        self.ref = ref
        self._lock = lock
        self._closed = False

    @property
    def offset(self) -> int:
        return len(self._store._ingests.get(self.ref, b""))

    async def write(self, data: bytes) -> None:
        self._store._ingests[self.ref] = self._store._ingests.get(self.ref, bytearray()) + data

    async def commit(self, size: int = 0, expected: str = "") -> str:
        data = bytes(self._store._ingests.pop(self.ref, b""))
        if size and size != len(data):
            raise SizeMismatch(size, len(data))
        h = new_hasher(expected or "sha256")
        h.update(data)
        actual = f"{h.name}:{h.hexdigest()}"
        if expected and expected != actual:
            raise DigestMismatch(expected, actual)
        self._store._blobs.setdefault(actual, (data, time.time()))
        return actual

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._lock.release()


class MemoryContentStore:
    def __init__(self) -> None:
        self._blobs: dict[str, tuple[bytes, float]] = {}
        self._ingests: dict[str, bytearray] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def put(self, data: bytes) -> str:
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        self._blobs.setdefault(d, (data, time.time()))
        return d

    async def reader(self, digest: str) -> _BytesReader:
        if digest not in self._blobs:
            raise BlobNotFound(digest)
        return _BytesReader(self._blobs[digest][0])

    async def writer(self, ref: str) -> _MemoryWriter:
        lock = self._locks.setdefault(ref, asyncio.Lock())
        await lock.acquire()
        return _MemoryWriter(self, ref, lock)

    async def abort(self, ref: str) -> None:
        self._ingests.pop(ref, None)

    async def info(self, digest: str) -> Info:
        if digest not in self._blobs:
            raise BlobNotFound(digest)
        data, created = self._blobs[digest]
        return Info(digest, len(data), created)

    async def walk(self) -> AsyncIterator[Info]:
        for d, (data, created) in list(self._blobs.items()):
            yield Info(d, len(data), created)

    async def delete(self, digest: str) -> None:
        if self._blobs.pop(digest, None) is None:
            raise BlobNotFound(digest)
