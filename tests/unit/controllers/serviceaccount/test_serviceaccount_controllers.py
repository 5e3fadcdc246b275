import asyncio

from kubelite.controllers.serviceaccount import (
    DESCRIPTION,
    DESCRIPTION_ANNOTATION,
    RootCACertPublisher,
    ServiceAccountController,
)
from kubelite.controllers.util.testing import ControllerHarness

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_default_service_account_is_created_and_recreated():
    async def main():
        async with ControllerHarness() as h:
            sac = ServiceAccountController(h.ctx)
            await h.start()
            await h.create("namespaces", {"metadata": {"name": "team"}, "status": {"phase": "Active"}})
            await h.create("namespaces", {"metadata": {"name": "going", "deletionTimestamp": "2025-01-01T00:00:00Z"},
                                          "status": {"phase": "Terminating"}})
            await h.settle()
            assert sorted(_drain(sac)) == ["going", "team"]
            await sac.sync_namespace("team")
            await sac.sync_namespace("going")
            await sac.sync_namespace("missing")
            assert [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in h.objects("serviceaccounts")] == \
                [("team", "default")]
            await h.settle()
            await sac.sync_namespace("team")       # exists: nothing to do
            assert len(h.objects("serviceaccounts")) == 1
            await h.client.delete("serviceaccounts", "default", "team")
            await h.settle()
            assert _drain(sac) == ["team"]
            await sac.sync_namespace("team")
            assert len(h.objects("serviceaccounts")) == 1
    run(main())


def _drain(ctrl):
    out = []
    while len(ctrl.queue):
        k = ctrl.queue.get_nowait()
        ctrl.queue.done(k)
        out.append(k)
    return out


def test_root_ca_configmap_is_published_and_repaired():
    async def main():
        async with ControllerHarness(options={"root_ca_pem": PEM}) as h:
            pub = RootCACertPublisher(h.ctx)
            await h.start()
            await h.create("namespaces", {"metadata": {"name": "team"}})
            await h.settle()
            await pub.sync_namespace("team")
            cm = h.get("configmaps", "kube-root-ca.crt", "team")
            assert cm["data"] == {"ca.crt": PEM}
            assert cm["metadata"]["annotations"] == {DESCRIPTION_ANNOTATION: DESCRIPTION}
            await h.settle()
            cm["data"] = {"ca.crt": "tampered"}
            await h.client.update("configmaps", cm)
            await h.settle()
            assert "team" in _drain(pub)
            await pub.sync_namespace("team")
            assert h.get("configmaps", "kube-root-ca.crt", "team")["data"] == {"ca.crt": PEM}
            await h.client.delete("configmaps", "kube-root-ca.crt", "team")
            await h.settle()
            assert "team" in _drain(pub)
            await pub.sync_namespace("team")
            assert h.get("configmaps", "kube-root-ca.crt", "team") is not None
    run(main())


def test_publisher_without_a_ca_does_nothing():
    async def main():
        async with ControllerHarness() as h:
            pub = RootCACertPublisher(h.ctx)
            await h.start()
            await h.create("namespaces", {"metadata": {"name": "team"}})
            await h.settle()
            await pub.sync_namespace("team")
            assert h.objects("configmaps") == []
    run(main())
