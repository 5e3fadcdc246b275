"""The contract every content store passes (containerd's `ContentSuite`, in miniature).

Each check is `async def check(store)`, given a fresh, empty store.
"""

from __future__ import annotations

import hashlib

from ..errors import BlobNotFound, DigestMismatch, SizeMismatch
from . import ContentStore, read_blob, write_blob


def _d(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def check_write_read(store: ContentStore) -> None:
    data = b"hello content" * 1000
    d = await write_blob(store, data, _d(data))
    assert d == _d(data)
    assert await read_blob(store, d) == data
    info = await store.info(d)
    assert info.digest == d and info.size == len(data)
    r = await store.reader(d)
    try:
        assert r.size == len(data)
        assert await r.read_at(5, 8) == data[5:13]
        assert await r.read_at(len(data) - 2, 100) == data[-2:]
    finally:
        await r.close()


async def check_missing(store: ContentStore) -> None:
    missing = _d(b"nope")
    for op in (store.info, store.reader, store.delete):
        try:
            await op(missing)
        except BlobNotFound:
            pass
        else:
            raise AssertionError(f"{op.__name__} of a missing blob did not raise BlobNotFound")


async def check_digest_mismatch_stores_nothing(store: ContentStore) -> None:
    w = await store.writer("bad")
    try:
        await w.write(b"actual bytes")
        try:
            await w.commit(0, _d(b"other bytes"))
        except DigestMismatch:
            pass
        else:
            raise AssertionError("commit with a wrong digest succeeded")
    finally:
        await w.close()
    assert [i async for i in store.walk()] == []


async def check_size_mismatch(store: ContentStore) -> None:
    w = await store.writer("size")
    try:
        await w.write(b"12345")
        try:
            await w.commit(6, "")
        except SizeMismatch:
            pass
        else:
            raise AssertionError("commit with a wrong size succeeded")
    finally:
        await w.close()
    assert [i async for i in store.walk()] == []


async def check_resume(store: ContentStore) -> None:
    data = b"a" * 5000 + b"b" * 5000
    w = await store.writer("resumable")
    await w.write(data[:5000])
    await w.close()
    w = await store.writer("resumable")
    try:
        assert w.offset == 5000
        await w.write(data[5000:])
        d = await w.commit(len(data), _d(data))
    finally:
        await w.close()
    assert await read_blob(store, d) == data


async def check_abort(store: ContentStore) -> None:
    w = await store.writer("gone")
    await w.write(b"partial")
    await w.close()
    await store.abort("gone")
    w = await store.writer("gone")
    try:
        assert w.offset == 0
    finally:
        await w.close()


async def check_walk_delete_idempotent_commit(store: ContentStore) -> None:
    a = await write_blob(store, b"a")
    b = await write_blob(store, b"b")
    assert await write_blob(store, b"a") == a
    assert sorted(i.digest for i in [x async for x in store.walk()]) == sorted([a, b])
    await store.delete(a)
    assert [i.digest async for i in store.walk()] == [b]


CHECKS = [check_write_read, check_missing, check_digest_mismatch_stores_nothing, check_size_mismatch,
          check_resume, check_abort, check_walk_delete_idempotent_commit]
