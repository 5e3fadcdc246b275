"""`render` and `render_full`: golden scripts for small cases, names, determinism (pure)."""

import os
import random
from pathlib import Path

import pytest

from kubelite.proxy.render import (KernelState, RenderOptions, SetSpec, hash_and_truncate, render, render_full)

from proxytest import endpoint_slice, ep, service

GOLDEN = Path(__file__).parent / "golden"


def web_slice(*eps, name=None):
    return endpoint_slice("web", list(eps), name=name)


CASES = {
    "clusterip": ([service("web")], [web_slice(ep("198.19.1.2"), ep("198.19.1.3", node="node-2"))]),
    "no-endpoints": ([service("web", ports=({"name": "http", "port": 80, "nodePort": 30080},), stype="NodePort")],
                     [web_slice(ep("198.19.1.2", ready=False))]),
    "nodeport-affinity": (
        [service("web", stype="NodePort", ports=({"name": "http", "port": 80, "nodePort": 30080},),
                 sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})],
        [web_slice(ep("198.19.1.2"), ep("198.19.1.3"))]),
    "loadbalancer-local": (
        [service("web", stype="LoadBalancer", ports=({"name": "http", "port": 80, "nodePort": 30080},),
                 externalTrafficPolicy="Local", externalIPs=["198.18.200.1"],
                 loadBalancerSourceRanges=["198.18.0.0/20", "192.0.2.0/24"],
                 status={"loadBalancer": {"ingress": [{"ip": "198.18.192.5"}]}})],
        [web_slice(ep("198.19.1.2"), ep("198.19.2.2", node="node-2"))]),
    "internal-local-none-here": (
        [service("web", internalTrafficPolicy="Local")], [web_slice(ep("198.19.2.2", node="node-2"))]),
    "terminating-fallback": (
        [service("web", ports=({"name": "dns", "port": 53, "protocol": "UDP"},))],
        [endpoint_slice("web", [ep("198.19.1.2", ready=False, serving=True, terminating=True),
                                ep("198.19.1.3", ready=False, serving=False, terminating=True)],
                        ports=({"name": "dns", "port": 5353, "protocol": "UDP"},))]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case):
    services, slices = CASES[case]
    script = render_full(render(services, slices, "node-1", ["198.18.0.11"])).script
    path = GOLDEN / f"{case}.nft"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(script)
    assert script == path.read_text()


def test_chain_names_hash_like_kube_proxy():
    # the examples in kube-proxy's nftables proxier
    assert hash_and_truncate("ns1/svc1/tcp/p80") == "ULMVA6XW-ns1/svc1/tcp/p80"
    assert hash_and_truncate("ns1/svc1/tcp/p80__10.180.0.1/80") == "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
    long = hash_and_truncate("n" * 63 + "/" + "s" * 63 + "/sctp/" + "p" * 63 + "__" + "ffff." * 8 + "/65535")
    assert len(long) == 240 and long.endswith("...")


def test_output_is_deterministic():
    services = [service(f"s{i}", ip=f"198.18.128.{i + 2}") for i in range(20)]
    slices = [endpoint_slice(f"s{i}", [ep(f"198.19.1.{j + 2}") for j in range(5)]) for i in range(20)]
    a = render_full(render(services, slices, "node-1")).script
    random.Random(1).shuffle(services)
    random.Random(2).shuffle(slices)
    for s in slices:
        random.Random(3).shuffle(s["endpoints"])
    assert render_full(render(services, slices, "node-1")).script == a


def test_numgen_spreads_over_every_ready_endpoint():
    rs = render([service("web")], [web_slice(*[ep(f"198.19.1.{i}") for i in range(2, 7)])], "node-1")
    (chain,) = [n for n in rs.chains if n.startswith("service-")]
    assert rs.chains[chain][-1].startswith("numgen random mod 5 vmap {")
    assert rs.chains[chain][-1].count("goto endpoint-") == 5


def test_options():
    opts = RenderOptions(table="kp-test", cluster_cidrs=(), service_cidrs=(), masquerade_all=True,
                         masquerade_bit=15, nodeport_addresses="all")
    rs = render([service("web")], [web_slice(ep("198.19.1.2"))], "node-1", ["198.18.0.11"], opts)
    script = render_full(rs).script
    assert "add table ip kp-test" in script and "0x00008000" in script
    assert "nodeport-ips" not in script and "fib daddr type local ip daddr != 127.0.0.0/8" in script
    assert "Drop traffic to unallocated" not in script
    (chain,) = [n for n in rs.chains if n.startswith("service-")]
    assert rs.chains[chain][0] == "ip daddr 198.18.128.20 tcp dport 80 jump mark-for-masquerade"


def test_full_resync_flushes_stale_chains_and_replaces_changed_affinity_sets():
    rs = render(*CASES["nodeport-affinity"], "node-1")
    affinity = sorted(n for n in rs.sets if n.startswith("affinity-"))
    existing = KernelState(True, frozenset({"service-OLD-default/gone/tcp/", "services"}),
                           {affinity[0]: SetSpec("ipv4_addr", flags=("dynamic", "timeout"), timeout=10800),
                            affinity[1]: SetSpec("ipv4_addr", flags=("dynamic", "timeout"), timeout=60),
                            "affinity-OLD-default/gone/tcp/__198.19.9.9/80": None, "cluster-ips": None})
    tx = render_full(rs, existing)
    assert tx.stale_chains == {"service-OLD-default/gone/tcp/"}
    assert "flush table ip kubelite-proxy\n" in tx.script and "OLD-default/gone/tcp/\n" not in tx.script
    assert f"delete set ip kubelite-proxy {affinity[0]}\n" in tx.script
    assert f"delete set ip kubelite-proxy {affinity[1]}\n" not in tx.script
    assert "delete set ip kubelite-proxy affinity-OLD-default/gone/tcp/__198.19.9.9/80\n" in tx.script
    assert f"flush set ip kubelite-proxy {affinity[1]}" not in tx.script     # dynamic sets keep their entries
