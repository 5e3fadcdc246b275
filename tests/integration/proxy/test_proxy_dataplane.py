"""The proxy against the real kernel: nftables inside a throwaway "node" network namespace with a
bridge, two pods running HTTP/UDP servers and an off-cluster client (see `proxylab`).

Each test runs an in-process API server and a `Proxier` whose `nft`/`conntrack` run inside the
node netns; the proxier deletes its table on stop and the lab deletes every namespace.
"""

import asyncio
import collections
import contextlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from kubelite.proxy import NftablesApplier, NftCommand, NftError, Proxier
from kubelite.proxy.render import RenderOptions, Ruleset, render, render_full, render_incremental
from kubelite.testing.apiserver import InProcessAPIServer
from kubelite.testing.wait import async_wait_until

from proxylab import Lab, sh

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not shutil.which("nft"), reason="needs nft (Debian package nftables)"),
]

GOLDEN = Path(__file__).parents[2] / "unit" / "proxy" / "golden"


@pytest.fixture(scope="module")
def lab():
    lab = Lab()
    try:
        lab.setup()
        lab.wait_servers()
        yield lab
    finally:
        lab.close()


@contextlib.asynccontextmanager
async def proxy(lab, **kw):
    async with InProcessAPIServer() as api:
        proxier = Proxier(api.client, "node-1", netns=lab.node_netns, node_ips=[lab.NODE_IP],
                          min_sync_period=0.05, sync_period=10, **kw)
        task = asyncio.ensure_future(proxier.run())
        try:
            await asyncio.wait_for(proxier.wait_synced(), 20)
            yield api, proxier
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert "kubelite-proxy" not in lab.nft_tables(), "the table must be deleted on stop"


async def make_service(api, name, *, ips=(), node_port=False, protocol="TCP", ready=True):
    spec = {"ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": protocol}]}
    if node_port:
        spec["type"] = "NodePort"
    svc = await api.client.create("services", {"metadata": {"name": name}, "spec": spec}, namespace="default")
    sl = await api.client.create("endpointslices", slice_body(name, ips, protocol, ready), namespace="default")
    return svc, sl


def slice_body(name, ips, protocol="TCP", ready=True):
    return {"metadata": {"name": f"{name}-1", "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": protocol}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}, "nodeName": "node-1"} for ip in ips]}


async def programmed(proxier, ip, port=80, proto="tcp"):
    await async_wait_until(lambda: proxier.ruleset is not None
                           and f"{ip} . {proto} . {port}" in proxier.ruleset.elements["service-ips"], timeout=10)


def test_clusterip_load_balances_and_masquerades_off_cluster_clients(lab):
    async def main():
        async with proxy(lab) as (api, proxier):
            svc, _ = await make_service(api, "web", ips=lab.POD_IPS)
            ip = svc["spec"]["clusterIP"]
            await programmed(proxier, ip)
            out = await lab.http(lab.client, ip, 80, 40)
            counts = collections.Counter(o.split()[0] for o in out)
            assert set(counts) == {"pod1", "pod2"}, out
            assert min(counts.values()) >= 5
            # off-cluster source: masqueraded to the node's bridge address
            assert {o.split()[1] for o in out} == {lab.GATEWAY}
            # in-cluster source (pod1 -> Service -> pod2): the source IP is kept
            out = await lab.http(lab.pods[0], ip, 80, 20)
            assert f"pod2 {lab.POD_IPS[0]}" in out
    asyncio.run(main())


def test_hairpin_to_itself_through_the_service(lab):
    async def main():
        async with proxy(lab) as (api, proxier):
            svc, _ = await make_service(api, "hairpin", ips=lab.POD_IPS[:1])
            await programmed(proxier, svc["spec"]["clusterIP"])
            out = await lab.http(lab.pods[0], svc["spec"]["clusterIP"], 80, 3)
            # pod1 reached itself; the reply came back because the source was masqueraded
            assert out == [f"pod1 {lab.GATEWAY}"] * 3
    asyncio.run(main())


def test_nodeport_through_the_node_ip(lab):
    async def main():
        async with proxy(lab) as (api, proxier):
            svc, _ = await make_service(api, "np", ips=lab.POD_IPS, node_port=True)
            node_port = svc["spec"]["ports"][0]["nodePort"]
            await async_wait_until(lambda: f"tcp . {node_port}" in proxier.ruleset.elements["service-nodeports"])
            out = await lab.http(lab.client, lab.NODE_IP, node_port, 20)
            assert {o.split()[0] for o in out} == {"pod1", "pod2"}, out
    asyncio.run(main())


def test_service_without_endpoints_is_rejected_fast(lab):
    async def main():
        async with proxy(lab) as (api, proxier):
            svc, _ = await make_service(api, "empty", ips=lab.POD_IPS, ready=False)
            ip = svc["spec"]["clusterIP"]
            await async_wait_until(lambda: f"{ip} . tcp . 80" in proxier.ruleset.elements["no-endpoint-services"])
            for netns in (lab.client, lab.pods[0]):
                (out,) = await lab.http(netns, ip, 80, 1)
                code, seconds = out.split(":")[1:]
                assert code == "ECONNREFUSED" and float(seconds) < 0.5, out
            # a port the Service does not have: rejected too (cluster-ips check)
            (out,) = await lab.http(lab.pods[0], ip, 81, 1)
            assert out.startswith("ERR:ECONNREFUSED"), out
    asyncio.run(main())


def test_endpoint_removal_takes_effect(lab):
    async def main():
        async with proxy(lab) as (api, proxier):
            svc, sl = await make_service(api, "shrink", ips=lab.POD_IPS)
            ip = svc["spec"]["clusterIP"]
            await programmed(proxier, ip)
            sl["endpoints"] = sl["endpoints"][:1]
            await api.client.update("endpointslices", sl, namespace="default")
            await async_wait_until(lambda: any("numgen random mod 1" in r for c, rules in proxier.ruleset.chains.items()
                                               if "/shrink/" in c for r in rules))
            out = await lab.http(lab.client, ip, 80, 20)
            assert {o.split()[0] for o in out} == {"pod1"}, out
            # the unused endpoint chain is deleted a second later
            await async_wait_until(lambda: proxier.applier.stats.deleted_chains >= 1, timeout=10)
            assert not any("198.19.1.3/8080" in c for c in lab.ns(lab.node, "nft", "list", "chains", "ip").split())
    asyncio.run(main())


@pytest.mark.skipif(not shutil.which("conntrack"), reason="needs conntrack (Debian package conntrack)")
def test_udp_flows_follow_the_endpoints(lab):
    async def main():
        async with proxy(lab) as (api, proxier):
            svc, sl = await make_service(api, "dns", ips=lab.POD_IPS[:1], protocol="UDP")
            ip = svc["spec"]["clusterIP"]
            await programmed(proxier, ip, proto="udp")
            assert await lab.udp(lab.client, ip, 80, 3, 40001) == ["pod1"] * 3
            sl["endpoints"][0]["addresses"] = [lab.POD_IPS[1]]
            await api.client.update("endpointslices", sl, namespace="default")
            await async_wait_until(lambda: proxier.ruleset.services["default/dns/udp/http"].endpoints
                                   == {lab.POD_IPS[1]})
            await async_wait_until(lambda: proxier.applier.stats.conntrack_deletes >= 1, timeout=10)
            # same source port: without the conntrack cleanup this would still reach pod1
            assert await lab.udp(lab.client, ip, 80, 3, 40001) == ["pod2"] * 3
    asyncio.run(main())


def test_failed_transaction_keeps_the_previous_rules(lab):
    async def main():
        applier = NftablesApplier(NftCommand(lab.node_netns), table="kp-fail")
        good = render([{"metadata": {"namespace": "default", "name": "web"},
                        "spec": {"clusterIP": "198.18.128.99", "ports": [{"name": "http", "port": 80}]}}],
                      [slice_body("web", lab.POD_IPS[:1]) | {"metadata": {
                          "namespace": "default", "name": "w", "labels": {"kubernetes.io/service-name": "web"}}}],
                      "node-1", [lab.NODE_IP], RenderOptions(table="kp-fail"))
        try:
            await applier.apply(good)
            assert await lab.http(lab.client, "198.18.128.99", 80, 2) == [f"pod1 {lab.GATEWAY}"] * 2
            before = lab.ns(lab.node, "nft", "list", "table", "ip", "kp-fail")
            chains = dict(good.chains)
            svc_chain = next(c for c in chains if c.startswith("service-"))
            chains[svc_chain] = chains[svc_chain] + ("this is not a rule",)
            bad = Ruleset(good.table, chains, good.sets, good.elements, good.services)
            with pytest.raises(NftError):
                await applier.apply(bad)
            assert lab.ns(lab.node, "nft", "list", "table", "ip", "kp-fail") == before
            assert await lab.http(lab.client, "198.18.128.99", 80, 2) == [f"pod1 {lab.GATEWAY}"] * 2
            tx = await applier.apply(good)
            assert tx.full            # after a failure the next sync is a full resync
        finally:
            await applier.cleanup()
        assert "kp-fail" not in lab.nft_tables()
    asyncio.run(main())


def _dump(lab, netns, table):
    doc = json.loads(lab.ns(netns, "nft", "-j", "list", "table", "ip", table))["nftables"][1:]
    out = set()
    for o in doc:
        for v in o.values():
            v.pop("handle", None)
        out.add(json.dumps(o, sort_keys=True))
    return out


def test_incremental_syncs_end_where_a_full_load_does(lab):
    """A chain of incremental transactions leaves the same table as loading the final ruleset
    from scratch (up to the chains waiting for deletion)."""
    import random

    rng = random.Random(7)
    opts = RenderOptions(table="kp-inc")

    def world():
        services, slices = [], []
        for i in range(8):
            if rng.random() < 0.3:
                continue
            spec = {"clusterIP": f"198.18.128.{50 + i}", "ports": [{"name": "p", "port": 80 + i % 2,
                                                                   "protocol": rng.choice(["TCP", "UDP"])}]}
            if rng.random() < 0.3:
                spec["sessionAffinity"] = "ClientIP"
                spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": rng.choice([60, 120])}}
            if rng.random() < 0.3:
                spec["type"] = "NodePort"
                spec["ports"][0]["nodePort"] = 30000 + i
            services.append({"metadata": {"namespace": "default", "name": f"s{i}"}, "spec": spec})
            eps = [{"addresses": [f"198.19.1.{j}"], "conditions": {"ready": rng.random() < 0.8}}
                   for j in range(2, 2 + rng.randrange(4))]
            slices.append({"metadata": {"namespace": "default", "name": f"s{i}-x",
                                        "labels": {"kubernetes.io/service-name": f"s{i}"}},
                           "addressType": "IPv4", "endpoints": eps,
                           "ports": [{"name": "p", "port": 8080, "protocol": spec["ports"][0]["protocol"]}]})
        return render(services, slices, "node-1", [lab.NODE_IP], opts)

    fresh = f"{lab.prefix}-fresh"
    sh("ip", "netns", "add", fresh)
    try:
        prev = world()
        subprocess.run(["ip", "netns", "exec", lab.node, "nft", "-f", "-"], input=render_full(prev).script.encode(),
                       check=True)
        stale: set[str] = set()
        for _ in range(12):
            cur = world()
            tx = render_incremental(prev, cur)
            subprocess.run(["ip", "netns", "exec", lab.node, "nft", "-f", "-"], input=tx.script.encode(), check=True)
            stale = (stale | tx.stale_chains) - set(cur.chains)
            prev = cur
        subprocess.run(["ip", "netns", "exec", fresh, "nft", "-f", "-"], input=render_full(prev).script.encode(),
                       check=True)
        got, want = _dump(lab, lab.node, "kp-inc"), _dump(lab, fresh, "kp-inc")
        extra = {json.loads(x)["chain"]["name"] for x in got - want if "chain" in json.loads(x)}
        assert want <= got and extra == stale
    finally:
        lab.ns(lab.node, "nft", "delete", "table", "ip", "kp-inc", check=False)
        sh("ip", "netns", "del", fresh, check=False)


def test_golden_rulesets_load_into_the_kernel(lab):
    for path in sorted(GOLDEN.glob("*.nft")):
        p = subprocess.run(["ip", "netns", "exec", lab.node, "nft", "-c", "-f", str(path)], capture_output=True,
                           text=True)
        assert p.returncode == 0, f"{path.name}: {p.stderr}"


def test_cleanup_on_stop_even_with_traffic(lab):
    async def main():
        async with proxy(lab) as (api, proxier):
            svc, _ = await make_service(api, "bye", ips=lab.POD_IPS)
            await programmed(proxier, svc["spec"]["clusterIP"])
            assert "kubelite-proxy" in lab.nft_tables()
        t = time.monotonic()
        assert "kubelite-proxy" not in lab.nft_tables() and time.monotonic() - t < 5
    asyncio.run(main())
