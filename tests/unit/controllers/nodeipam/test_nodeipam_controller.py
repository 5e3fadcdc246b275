import asyncio

import pytest

from kubelite.controllers.nodeipam import NodeIPAMController
from kubelite.controllers.nodeipam.cidrset import CIDRRangeFull, CIDRSet, CIDRSetError


def node(name, cidrs=None):
    n = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {}}
    if cidrs:
        n["spec"] = {"podCIDR": cidrs[0], "podCIDRs": cidrs}
    return n


def cidr_of(h, name):
    return h.get("nodes", name)["spec"].get("podCIDRs")


def test_cidrset_allocates_round_robin_without_overlap():
    s = CIDRSet("10.0.0.0/22", 24)
    got = [s.allocate_next() for _ in range(4)]
    assert got == ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]
    with pytest.raises(CIDRRangeFull):
        s.allocate_next()
    s.release("10.0.1.0/24")
    assert s.allocate_next() == "10.0.1.0/24"
    with pytest.raises(CIDRSetError):
        s.occupy("10.1.0.0/24")
    v6 = CIDRSet("fd00::/48", 64)
    assert v6.allocate_next() == "fd00::/64" and v6.allocate_next() == "fd00:0:0:1::/64"


def test_nodes_get_distinct_cidrs_from_the_address_plan(harness):
    async def main():
        async with harness(NodeIPAMController) as h:
            for n in ("a", "b", "c"):
                await h.create("nodes", node(n))
                await h.sync(n)
            assert [cidr_of(h, n) for n in ("a", "b", "c")] == [["198.19.0.0/24"], ["198.19.1.0/24"],
                                                               ["198.19.2.0/24"]]
            assert h.get("nodes", "a")["spec"]["podCIDR"] == "198.19.0.0/24"
            await h.sync("a")                                   # idempotent
            assert cidr_of(h, "a") == ["198.19.0.0/24"]

            # A deleted node's CIDR goes back to the pool (handed out again after the others).
            await h.delete("nodes", "b")
            for n in ("d", "e"):
                await h.create("nodes", node(n))
                await h.sync(n)
            assert cidr_of(h, "d") == ["198.19.3.0/24"]
            assert cidr_of(h, "e") == ["198.19.4.0/24"]

    asyncio.run(main())


def test_restart_rebuilds_from_existing_nodes(harness):
    async def main():
        async with harness(NodeIPAMController) as h:
            await h.create("nodes", node("old1", ["198.19.0.0/24"]))
            await h.create("nodes", node("old2", ["198.19.2.0/24"]))
            await h.create("nodes", node("new"))
            await h.sync("new")
            assert cidr_of(h, "new") == ["198.19.1.0/24"]

    asyncio.run(main())


def test_full_range_is_reported(harness):
    async def main():
        async with harness(NodeIPAMController, options={"cluster_cidr": "10.9.0.0/23"}) as h:
            for n in ("a", "b", "c"):
                await h.create("nodes", node(n))
                await h.sync(n)
            assert cidr_of(h, "c") is None
            assert h.recorder.events == [("Normal", "CIDRNotAvailable", "Node c status is now: CIDRNotAvailable", "c")]

    asyncio.run(main())


def test_dual_stack(harness):
    async def main():
        async with harness(NodeIPAMController, options={"cluster_cidr": "198.19.0.0/16,fd00:10::/56"}) as h:
            await h.create("nodes", node("a"))
            await h.sync("a")
            assert cidr_of(h, "a") == ["198.19.0.0/24", "fd00:10::/64"]

    asyncio.run(main())
