import shutil

import pytest

from streamlab import Cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if shutil.which("kubectl") is None:
        pytest.skip("needs kubectl")
    c = Cluster(tmp_path_factory.mktemp("streamlab")).start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def runc_cluster(tmp_path_factory):
    from kubelite.kubelet.runtime.testsuite import runc_missing_reason

    reason = runc_missing_reason()
    if reason or shutil.which("kubectl") is None:
        pytest.skip(reason or "needs kubectl")
    c = Cluster(tmp_path_factory.mktemp("streamlab-runc"), runtime="runc").start()
    yield c
    c.stop()
