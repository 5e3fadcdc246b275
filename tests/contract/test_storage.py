import asyncio

import pytest

from kubelite.storage import testsuite
from kubelite.storage.memory import MemoryBackend
from kubelite.storage.sqlite import SQLiteBackend


async def _memory(tmp_path):
    b = MemoryBackend()
    await b.start()
    return b


async def _sqlite(tmp_path):
    b = SQLiteBackend(str(tmp_path / "state.db"))
    await b.start()
    return b


@pytest.mark.parametrize("factory", [_memory, _sqlite], ids=["memory", "sqlite"])
@pytest.mark.parametrize("check", testsuite.CHECKS, ids=[c.__name__ for c in testsuite.CHECKS])
def test_backend_contract(factory, check, tmp_path):
    async def run():
        b = await factory(tmp_path)
        try:
            await check(b)
        finally:
            await b.close()

    asyncio.run(run())


def test_sqlite_reopen_keeps_data_and_revision(tmp_path):
    async def run():
        b = SQLiteBackend(str(tmp_path / "s.db"))
        await b.start()
        r = await b.create("/k", b"v")
        await b.close()
        b2 = SQLiteBackend(str(tmp_path / "s.db"))
        await b2.start()
        try:
            _, kv = await b2.get("/k")
            assert kv is not None and kv.value == b"v"
            r2 = await b2.create("/k2", b"v")
            assert r2 > r
        finally:
            await b2.close()

    asyncio.run(run())
