"""`NftablesApplier` over `FakeNft`: full vs incremental, failures, stale chains, conntrack."""

import asyncio

import pytest

from kubelite.client import FakeClock
from kubelite.proxy.conntrack import FakeConntrack, FlowFilter
from kubelite.proxy.nftables import FakeApplier, FakeNft, NftablesApplier, NftError
from kubelite.proxy.render import render

from proxytest import endpoint_slice, ep, service


def ruleset(*ips, protocol="TCP"):
    ports = ({"name": "http", "port": 80, "protocol": protocol},)
    return render([service("web", ports=ports)],
                  [endpoint_slice("web", [ep(ip) for ip in ips], ports=({"name": "http", "port": 8080,
                                                                          "protocol": protocol},))], "node-1")


def make(clock=None, conntrack=None):
    nft = FakeNft()
    return nft, NftablesApplier(nft, clock=clock or FakeClock(), conntrack=conntrack)


def test_first_sync_is_full_then_incremental():
    async def main():
        nft, ap = make()
        tx = await ap.apply(ruleset("198.19.1.2"))
        assert tx.full and nft.scripts[0].startswith("add table ip kubelite-proxy")
        tx = await ap.apply(ruleset("198.19.1.2", "198.19.1.3"))
        assert not tx.full and "add table" not in nft.scripts[1]
        tx = await ap.apply(ruleset("198.19.1.2", "198.19.1.3"))
        assert not tx and len(nft.scripts) == 2        # nothing to do, nothing run
        assert (await ap.apply(ruleset("198.19.1.2", "198.19.1.3"), full=True)).full
        assert ap.stats.full_syncs == 2 and ap.stats.incremental_syncs == 2
    asyncio.run(main())


def test_failed_transaction_raises_and_next_sync_is_full():
    async def main():
        nft, ap = make()
        await ap.apply(ruleset("198.19.1.2"))
        nft.fail_next()
        with pytest.raises(NftError):
            await ap.apply(ruleset("198.19.1.3"))
        assert ap.applied == ruleset("198.19.1.2")        # what the kernel still has
        assert ap.stats.failures == 1
        tx = await ap.apply(ruleset("198.19.1.3"))
        assert tx.full
        # the full resync saw the old endpoint chain in the "kernel" and flushed it as stale
        assert any("198.19.1.2/8080" in c for c in tx.stale_chains)
    asyncio.run(main())


def test_stale_chains_are_deleted_a_second_later():
    async def main():
        clock = FakeClock()
        nft, ap = make(clock)
        await ap.apply(ruleset("198.19.1.2", "198.19.1.3"))
        tx = await ap.apply(ruleset("198.19.1.2"))
        (stale,) = tx.stale_chains
        assert ap.stale_deadline() == 1.0
        assert await ap.delete_stale_chains() == 0
        clock.step(1.0)
        assert await ap.delete_stale_chains() == 1
        assert nft.scripts[-1] == f"delete chain ip kubelite-proxy {stale}\n"
        assert ap.stale_deadline() is None and stale not in nft.chains
    asyncio.run(main())


def test_chain_used_again_before_deletion_is_kept():
    async def main():
        clock = FakeClock()
        nft, ap = make(clock)
        await ap.apply(ruleset("198.19.1.2", "198.19.1.3"))
        await ap.apply(ruleset("198.19.1.2"))
        await ap.apply(ruleset("198.19.1.2", "198.19.1.3"))
        clock.step(2.0)
        assert ap.stale_deadline() is None and await ap.delete_stale_chains() == 0
    asyncio.run(main())


def test_udp_conntrack_cleanup_after_sync():
    async def main():
        ct = FakeConntrack()
        _, ap = make(conntrack=ct)
        await ap.apply(ruleset("198.19.1.2", "198.19.1.3", protocol="UDP"))
        await ap.apply(ruleset("198.19.1.3", protocol="UDP"))
        assert ct.deleted == [FlowFilter("udp", "198.18.128.20", 80, "198.19.1.2")]
    asyncio.run(main())


def test_cleanup_deletes_the_table():
    async def main():
        nft, ap = make()
        await ap.apply(ruleset("198.19.1.2"))
        await ap.cleanup()
        assert nft.scripts[-1] == "delete table ip kubelite-proxy\n" and not nft.table_exists
        assert (await ap.apply(ruleset("198.19.1.2"))).full
    asyncio.run(main())


def test_fake_applier_records():
    async def main():
        ap = FakeApplier()
        await ap.apply(ruleset("198.19.1.2"))
        ap.fail_next()
        with pytest.raises(NftError):
            await ap.apply(ruleset())
        await ap.apply(ruleset())
        assert len(ap.applied) == 2 and ap.full == [True, False]
    asyncio.run(main())


def test_periodic_full_resync_trusts_what_was_applied():
    async def main():
        nft, ap = make()
        await ap.apply(ruleset("198.19.1.2"))
        assert nft.listings == 1                       # the first sync asks the kernel
        tx = await ap.apply(ruleset("198.19.1.3"), full=True)
        assert tx.full and nft.listings == 1           # a periodic one does not
        assert any("198.19.1.2/8080" in c for c in tx.stale_chains)
        nft.fail_next()
        with pytest.raises(NftError):
            await ap.apply(ruleset("198.19.1.2"))
        await ap.apply(ruleset("198.19.1.2"))
        assert nft.listings == 2                       # after a failure it asks again
    asyncio.run(main())
