"""The contract every Backend must pass. Run it with `run_suite(factory)` from any test.

`factory` is an async callable returning a started, empty backend; the suite closes it.
Each check is a plain async function so a failure names the broken rule.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from .errors import Compacted, KeyExists
from .interface import Backend

Factory = Callable[[], Awaitable[Backend]]


async def check_create_get(b: Backend) -> None:
    r1 = await b.create("/a/1", b"one")
    rev, kv = await b.get("/a/1")
    assert kv is not None and kv.value == b"one"
    assert kv.create_revision == kv.mod_revision == r1
    assert rev >= r1
    try:
        await b.create("/a/1", b"again")
    except KeyExists:
        pass
    else:
        raise AssertionError("create of an existing key must raise KeyExists")
    _, missing = await b.get("/a/none")
    assert missing is None


async def check_revisions_grow(b: Backend) -> None:
    revs = [await b.create(f"/r/{i}", b"x") for i in range(5)]
    assert revs == sorted(revs) and len(set(revs)) == 5
    assert await b.current_revision() == revs[-1]


async def check_update_cas(b: Backend) -> None:
    r1 = await b.create("/u/k", b"v1")
    rev, kv, ok = await b.update("/u/k", b"v2", expected_revision=r1)
    assert ok and kv is not None and kv.value == b"v2" and kv.mod_revision == rev and kv.create_revision == r1
    rev2, cur, ok = await b.update("/u/k", b"v3", expected_revision=r1)
    assert not ok and cur is not None and cur.value == b"v2"
    _, _, ok = await b.update("/u/missing", b"v", expected_revision=1)
    assert not ok


async def check_delete(b: Backend) -> None:
    r1 = await b.create("/d/k", b"v")
    _, cur, ok = await b.delete("/d/k", expected_revision=r1 + 100)
    assert not ok and cur is not None
    rev, old, ok = await b.delete("/d/k", expected_revision=r1)
    assert ok and old is not None and old.value == b"v"
    _, kv = await b.get("/d/k")
    assert kv is None
    _, _, ok = await b.delete("/d/k")
    assert not ok
    await b.create("/d/k", b"again")  # re-create after delete works


async def check_list_prefix_limit(b: Backend) -> None:
    for i in range(10):
        await b.create(f"/l/x/{i:02d}", str(i).encode())
    await b.create("/l/y/0", b"other")
    rev, items = await b.list("/l/x/")
    assert [kv.key for kv in items] == [f"/l/x/{i:02d}" for i in range(10)]
    _, page = await b.list("/l/x/", limit=3)
    assert [kv.key for kv in page] == ["/l/x/00", "/l/x/01", "/l/x/02"]
    _, page2 = await b.list("/l/x/", start_key="/l/x/03", limit=3)
    assert [kv.key for kv in page2] == ["/l/x/03", "/l/x/04", "/l/x/05"]
    _, n = await b.count("/l/x/")
    assert n == 10


async def check_read_at_revision(b: Backend) -> None:
    r1 = await b.create("/h/k", b"v1")
    r2, _, _ = await b.update("/h/k", b"v2", expected_revision=r1)
    await b.create("/h/j", b"j")
    _, kv = await b.get("/h/k", revision=r1)
    assert kv is not None and kv.value == b"v1"
    _, items = await b.list("/h/", revision=r1)
    assert [(kv.key, kv.value) for kv in items] == [("/h/k", b"v1")]
    _, items = await b.list("/h/", revision=r2)
    assert [(kv.key, kv.value) for kv in items] == [("/h/k", b"v2")]


async def _collect(b: Backend, prefix: str, start: int, n: int, timeout: float = 5.0):
    out = []

    async def run() -> None:
        async for batch in b.watch(prefix, start_revision=start):
            out.extend(batch)
            if len(out) >= n:
                return

    await asyncio.wait_for(run(), timeout)
    return out


async def check_watch_history_and_live(b: Backend) -> None:
    r1 = await b.create("/w/a", b"1")
    r2, _, _ = await b.update("/w/a", b"2", expected_revision=r1)
    await b.create("/other/x", b"no")
    task = asyncio.ensure_future(_collect(b, "/w/", r1, 4))
    await asyncio.sleep(0.05)
    r3 = await b.create("/w/b", b"b")
    await b.delete("/w/a")
    evs = await task
    assert [e.type for e in evs] == ["PUT", "PUT", "PUT", "DELETE"], evs
    assert [e.kv.key for e in evs] == ["/w/a", "/w/a", "/w/b", "/w/a"]
    assert evs[0].created and not evs[1].created and evs[2].created
    assert evs[1].prev_kv is not None and evs[1].prev_kv.value == b"1"
    assert evs[3].kv.value == b"2"  # a delete carries the last value
    assert [e.revision for e in evs] == sorted(e.revision for e in evs)
    assert evs[2].revision == r3 and evs[1].revision == r2


async def check_watch_from_now_only_new(b: Backend) -> None:
    await b.create("/n/old", b"o")
    start = await b.current_revision() + 1
    task = asyncio.ensure_future(_collect(b, "/n/", start, 1))
    await asyncio.sleep(0.05)
    await b.create("/n/new", b"n")
    evs = await task
    assert [e.kv.key for e in evs] == ["/n/new"]


async def check_compaction(b: Backend) -> None:
    r1 = await b.create("/c/k", b"1")
    r2, _, _ = await b.update("/c/k", b"2", expected_revision=r1)
    r3, _, _ = await b.update("/c/k", b"3", expected_revision=r2)
    await b.create("/c/gone", b"g")
    await b.delete("/c/gone")
    await b.compact(r2)
    try:
        async for _ in b.watch("/c/", start_revision=r1):
            break
    except Compacted:
        pass
    else:
        raise AssertionError("watch from a compacted revision must raise Compacted")
    _, kv = await b.get("/c/k", revision=r2)
    assert kv is not None and kv.value == b"2"
    _, kv = await b.get("/c/k")
    assert kv is not None and kv.value == b"3" and kv.mod_revision == r3
    evs = await _collect(b, "/c/", r3, 1)
    assert evs[0].revision == r3


async def check_concurrent_writes(b: Backend) -> None:
    revs = await asyncio.gather(*(b.create(f"/cc/{i}", b"x") for i in range(200)))
    assert len(set(revs)) == 200
    _, n = await b.count("/cc/")
    assert n == 200


CHECKS = [check_create_get, check_revisions_grow, check_update_cas, check_delete, check_list_prefix_limit,
          check_read_at_revision, check_watch_history_and_live, check_watch_from_now_only_new, check_compaction,
          check_concurrent_writes]
