import asyncio

from kubelite.kubelet.network.fake import FakeNetworkPlugin
from kubelite.kubelet.network.interface import PodNetworkRequest


def test_fake_plugin_is_idempotent_and_allocates_from_cidr():
    async def run():
        net = FakeNetworkPlugin("198.19.9.0/24")
        a = await net.setup_pod(PodNetworkRequest("a", "p", "n", "u"))
        again = await net.setup_pod(PodNetworkRequest("a", "p", "n", "u"))
        b = await net.setup_pod(PodNetworkRequest("b", "q", "n", "v"))
        assert (a.ip, again.ip, b.ip) == ("198.19.9.2", "198.19.9.2", "198.19.9.3") and a.netns == ""
        await net.teardown_pod(PodNetworkRequest("a", "p", "n", "u"))
        await net.teardown_pod(PodNetworkRequest("a", "p", "n", "u"))
        assert list(net.pods) == ["b"] and (await net.status()).ready
        assert not (await FakeNetworkPlugin(ready=False).status()).ready

    asyncio.run(run())
