"""The `harness` fixture: `kubelite.controllers.util.testing.SyncHarness`, a fake API server, real
informers, a fake clock and a recording event recorder around one controller whose `sync(key)`
the test calls directly.

    async def test_x(harness):
        async with harness(DaemonSetController) as h:
            await h.create("nodes", node("n1"))
            await h.sync("default/ds")
            assert h.reasons() == ["SuccessfulCreate"]
"""

from __future__ import annotations

import pytest

from kubelite.controllers.util.testing import SyncHarness


@pytest.fixture
def harness():
    return SyncHarness
