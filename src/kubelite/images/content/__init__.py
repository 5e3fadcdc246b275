"""Content-addressed blob storage with containerd's roles (`Provider`, `Ingester`, `Manager`).

- `interface`: the role Protocols and `Info`.
- `local`: blobs under `<root>/blobs/<alg>/<hex>` (an OCI image layout's blob dir), partial
  ingests under `<root>/ingest/`, atomic commit (fsync + rename + fsync dir).
- `memory`: the in-memory implementation for tests.
- `testsuite`: the contract every implementation passes.

May import: `kubelite.images.errors`, `kubelite.images.oci`.
"""

from __future__ import annotations

from .interface import ContentStore, Info, Ingester, Manager, Provider, ReaderAt, Writer

__all__ = ["ContentStore", "Info", "Ingester", "Manager", "Provider", "ReaderAt", "Writer",
           "read_blob", "write_blob"]

CHUNK = 1 << 20


async def read_blob(provider: Provider, digest: str) -> bytes:
    r = await provider.reader(digest)
    try:
        parts = []
        off = 0
        while off < r.size:
            b = await r.read_at(off, min(CHUNK * 8, r.size - off))
            if not b:
                break
            parts.append(b)
            off += len(b)
        return b"".join(parts)
    finally:
        await r.close()


async def write_blob(ingester: Ingester, data: bytes, expected: str = "") -> str:
    """Write `data` in one go under a fresh ingest ref; returns its digest."""
    import uuid

    w = await ingester.writer(f"write-{uuid.uuid4().hex}")
    try:
        await w.write(data)
        return await w.commit(len(data), expected)
    except BaseException:
        await ingester.abort(w.ref)
        raise
    finally:
        await w.close()
