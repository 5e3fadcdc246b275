"""Content roles, keyed by digest (containerd's `content.Provider`, `Ingester`, `Manager`).

The builder, the registry client and the image store each depend only on the role they use:
reading (`Provider.reader`), writing (`Ingester.writer`, resumable by `ref`), or managing
(`Manager.info/walk/delete`). Writers verify size and digest at `commit`; nothing partial is
ever visible under a digest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Info:
    digest: str
    size: int
    created_at: float = 0.0


class ReaderAt(Protocol):
    size: int

    async def read_at(self, offset: int, n: int) -> bytes:
        """Up to `n` bytes from `offset` (fewer only at the end)."""

    async def close(self) -> None: ...


class Provider(Protocol):
    async def reader(self, digest: str) -> ReaderAt:
        """Raises `BlobNotFound`."""


class Writer(Protocol):
    ref: str
    offset: int  # bytes written so far (a resumed writer starts past what an earlier one wrote)

    async def write(self, data: bytes) -> None: ...

    async def commit(self, size: int = 0, expected: str = "") -> str:
        """Make the content visible under its digest; check `size` and `expected` when given.

        Raises `DigestMismatch` / `SizeMismatch` (and discards the data). Committing content
        that already exists succeeds.
        """

    async def close(self) -> None:
        """Release the writer without committing; the partial data stays for a resume."""


class Ingester(Protocol):
    async def writer(self, ref: str) -> Writer:
        """Open (or resume) the ingest named `ref`; one writer per ref at a time."""

    async def abort(self, ref: str) -> None:
        """Drop a partial ingest."""


class Manager(Protocol):
    async def info(self, digest: str) -> Info:
        """Raises `BlobNotFound`."""

    def walk(self) -> AsyncIterator[Info]: ...

    async def delete(self, digest: str) -> None:
        """Raises `BlobNotFound`."""


class ContentStore(Provider, Ingester, Manager, Protocol):
    pass
