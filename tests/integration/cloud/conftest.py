"""A `CloudService` in a background thread with fake control planes and instances (the seams),
driven by boto3 and the real AWS CLI. One service per module; tests use their own names."""

import uuid

import pytest

from kubelite.cloud.provisioner.fake import FakeControlPlanes, FakeInstances
from kubelite.cloud.testing import CloudThread, aws_env

pytest.importorskip("boto3")


@pytest.fixture(scope="module")
def fakes():
    cps = FakeControlPlanes()
    return cps, FakeInstances(cps)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, fakes):
    cps, instances = fakes
    c = CloudThread(tmp_path_factory.mktemp("cloud") / "data", control_planes=cps, instances=instances, resync=1.0)
    c.start()
    yield c
    c.stop()


@pytest.fixture
def eks(cloud):
    return cloud.client("eks")


@pytest.fixture
def name():
    return f"c{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cli(cloud, tmp_path):
    return aws_env(tmp_path / "home", cloud.endpoint)


FAST = {"Delay": 0.1, "MaxAttempts": 100}
