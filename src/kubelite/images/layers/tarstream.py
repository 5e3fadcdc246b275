"""Streams around layer tars: compression by content, hashing readers and writers.

A layer's diff ID is the sha256 of its uncompressed tar; its blob digest the sha256 of the
compressed bytes. Gzip output is reproducible (`mtime=0`, no file name) so the same files give
the same digests on every machine.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
from typing import Any, BinaryIO

from ..errors import LayerError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
GZIP_LEVEL = 6  # Go's and Python's default, as Docker and containerd use


def compression_of(head: bytes) -> str:
    """`gzip`, `zstd`, `bzip2`, `xz` or `""` (plain), from the first bytes."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    return ""


def open_decompressed(f: BinaryIO, *, allow: tuple[str, ...] = ("gzip", "zstd")) -> tuple[BinaryIO, str]:
    """Wrap `f` in the decompressor its magic bytes call for; layers allow gzip, zstd and plain tar.

    zstd goes through the `zstd` program (`layers.zstd`); close the returned stream when done.
    """
    buf = f if isinstance(f, io.BufferedReader) else io.BufferedReader(f, 1 << 20)  # type: ignore[arg-type]
    kind = compression_of(buf.peek(6)[:6])
    if kind and kind not in allow:
        raise LayerError(f"unsupported layer compression: {kind}")
    if kind == "gzip":
        return gzip.GzipFile(fileobj=buf, mode="rb"), kind  # type: ignore[return-value]
    if kind == "zstd":
        from .zstd import ZstdReader

        return io.BufferedReader(ZstdReader(buf), 1 << 20), kind  # type: ignore[return-value]
    if kind == "bzip2":
        return bz2.BZ2File(buf), kind  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(buf), kind  # type: ignore[return-value]
    return buf, kind  # type: ignore[return-value]


class HashingReader(io.RawIOBase):
    """Counts and hashes everything read through it."""

    def __init__(self, f: BinaryIO, algorithm: str = "sha256") -> None:
        self._f = f
        self.hasher = hashlib.new(algorithm)
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        b = self._f.read(n)
        if b:
            self.hasher.update(b)
            self.count += len(b)
        return b

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.read(1 << 20):
            pass

    @property
    def digest(self) -> str:
        return f"{self.hasher.name}:{self.hasher.hexdigest()}"


class HashingWriter(io.RawIOBase):
    """Counts and hashes everything written through it to `f`."""

    def __init__(self, f: BinaryIO | None) -> None:
        self._f = f
        self.hasher = hashlib.sha256()
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        mv = memoryview(b)
        self.hasher.update(mv)
        self.count += mv.nbytes
        if self._f is not None:
            self._f.write(mv)
        return mv.nbytes

    def flush(self) -> None:
        if self._f is not None:
            self._f.flush()

    @property
    def digest(self) -> str:
        return "sha256:" + self.hasher.hexdigest()
