import asyncio

import pytest

from kubelite.kubelet.runtime import testsuite

RUNC_SKIP = testsuite.runc_missing_reason()


def _fake(tmp_path):
    return testsuite.FakeHarness(tmp_path)


def _runc(tmp_path):
    return testsuite.RuncHarness(tmp_path)


FACTORIES = [
    pytest.param(_fake, id="fake"),
    pytest.param(_runc, id="runc", marks=[pytest.mark.root, pytest.mark.skipif(bool(RUNC_SKIP), reason=RUNC_SKIP)]),
]


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("check", testsuite.CHECKS, ids=[c.__name__ for c in testsuite.CHECKS])
def test_runtime_contract(factory, check, tmp_path):
    async def run():
        h = factory(tmp_path)
        try:
            await check(h)
        finally:
            await h.close()

    asyncio.run(run())
