"""End-to-end fixtures: one real `kubelite server` process per test session, driven by the real
kubectl and the official Python client. Each test works in its own namespace."""

import uuid

import pytest

from kubelite.testing import CONTROL_PLANE_ONLY, ServerProcess, wait_until


def wait_for_default_service_account(server, namespace):
    """As Kubernetes' e2e framework does: pods need the `default` ServiceAccount the controller makes."""
    wait_until(lambda: server.kubectl("get", "serviceaccount", "default", "-n", namespace,
                                      check=False).returncode == 0, timeout=30,
               message=f"default ServiceAccount in {namespace}")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("kubelite") / "data"
    s = ServerProcess(data, args=CONTROL_PLANE_ONLY)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def kubectl(server):
    return server.kubectl


@pytest.fixture
def ns(server):
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    server.kubectl("create", "namespace", name)
    wait_for_default_service_account(server, name)
    yield name
    server.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def api_client(server):
    from kubernetes import client, config

    c = config.new_client_from_config(config_file=str(server.kubeconfig))
    yield c
    c.close()
