"""The content-store contract, run against the local and the in-memory implementation."""

import asyncio

import pytest

from kubelite.images.content import testsuite
from kubelite.images.content.local import LocalContentStore
from kubelite.images.content.memory import MemoryContentStore


@pytest.mark.parametrize("factory", [lambda p: LocalContentStore(p), lambda p: MemoryContentStore()],
                         ids=["local", "memory"])
@pytest.mark.parametrize("check", testsuite.CHECKS, ids=[c.__name__ for c in testsuite.CHECKS])
def test_content_contract(factory, check, tmp_path):
    asyncio.run(check(factory(tmp_path)))


def test_local_commit_leaves_no_partial_files(tmp_path):
    async def run():
        s = LocalContentStore(tmp_path)
        w = await s.writer("x")
        await w.write(b"abc")
        await w.commit(3)
        await w.close()
        assert list((tmp_path / "ingest").iterdir()) == []
        assert len(list((tmp_path / "blobs" / "sha256").iterdir())) == 1

    asyncio.run(run())
