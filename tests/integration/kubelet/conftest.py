"""Fixtures for the real node agent tests (see `kubelite.agent.testing`)."""

from __future__ import annotations

import pytest

from kubelite.agent.testing import AgentHarness, NodeEnv, missing_reason

SKIP = missing_reason()


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("kubelet-images")


@pytest.fixture
def node_env(tmp_path, image_dir):
    if SKIP:
        pytest.skip(SKIP)
    env = NodeEnv(tmp_path, image_dir)
    env.create()
    try:
        yield env
    finally:
        env.destroy()


@pytest.fixture
def harness(node_env):
    def make(**overrides):
        return AgentHarness(node_env, **overrides)
    return make
