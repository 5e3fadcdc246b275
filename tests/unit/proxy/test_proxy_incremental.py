"""`render_incremental`: only what changed between two rulesets (pure)."""

from kubelite.proxy.render import render, render_full, render_incremental

from proxytest import endpoint_slice, ep, service


def world(n_eps=2, affinity=None, extra=False, ready=True):
    spec = {}
    if affinity:
        spec = {"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": affinity}}}
    services = [service("web", **spec), service("api", ip="198.18.128.30")]
    slices = [endpoint_slice("web", [ep(f"198.19.1.{i + 2}", ready=ready) for i in range(n_eps)]),
              endpoint_slice("api", [ep("198.19.1.9")])]
    if extra:
        services.append(service("new", ip="198.18.128.40"))
        slices.append(endpoint_slice("new", [ep("198.19.1.20")]))
    return render(services, slices, "node-1", ["198.18.0.11"])


def lines(tx):
    return tx.script.splitlines()


def test_no_change_is_an_empty_transaction():
    tx = render_incremental(world(), world())
    assert not tx and tx.script == "" and tx.commands == 0


def test_endpoint_added_touches_only_that_service():
    tx = render_incremental(world(2), world(3))
    out = lines(tx)
    assert not any("/api/" in line for line in out)
    assert "add chain ip kubelite-proxy endpoint-" in out[0] and "198.19.1.4/8080" in out[0]
    assert sum(1 for line in out if line.startswith("flush chain")) == 1          # the service chain
    assert any(line.startswith("add rule") and "numgen random mod 3" in line for line in out)
    assert not any("element" in line for line in out)        # the service-ips element did not change
    assert tx.stale_chains == set() and not tx.full


def test_endpoint_removed_flushes_its_chain_for_later_deletion():
    tx = render_incremental(world(3), world(2))
    assert len(tx.stale_chains) == 1 and "198.19.1.4/8080" in next(iter(tx.stale_chains))
    assert f"flush chain ip kubelite-proxy {next(iter(tx.stale_chains))}" in lines(tx)
    assert not any(line.startswith("delete chain") for line in lines(tx))


def test_last_endpoint_gone_moves_the_service_to_no_endpoints():
    tx = render_incremental(world(2), world(2, ready=False))
    out = lines(tx)
    assert "delete element ip kubelite-proxy service-ips { 198.18.128.20 . tcp . 80 : goto " \
           "service-SUSTUHLJ-default/web/tcp/http }" in out
    assert 'add element ip kubelite-proxy no-endpoint-services { 198.18.128.20 . tcp . 80 comment ' \
           '"default/web:http" : goto reject-chain }' in out
    assert len(tx.stale_chains) == 3     # service chain and both endpoint chains


def test_new_service_adds_chains_and_elements_after_declaring_them():
    tx = render_incremental(world(), world(extra=True))
    out = lines(tx)
    chain_adds = [i for i, line in enumerate(out) if line.startswith("add chain")]
    elem = next(i for i, line in enumerate(out) if "service-ips" in line)
    assert chain_adds and max(chain_adds) < elem
    assert "add element ip kubelite-proxy cluster-ips { 198.18.128.40 }" in out
    back = render_incremental(world(extra=True), world())
    assert "delete element ip kubelite-proxy cluster-ips { 198.18.128.40 }" in lines(back)
    assert len(back.stale_chains) == 2


def test_affinity_timeout_change_replaces_sets_and_rewrites_chains_using_them():
    tx = render_incremental(world(2, affinity=60), world(2, affinity=120))
    out = lines(tx)
    deletes = [i for i, line in enumerate(out) if line.startswith("delete set")]
    flushes = [i for i, line in enumerate(out) if line.startswith("flush chain")]
    assert len(deletes) == 2 and len(flushes) == 3 and max(flushes) < min(deletes)
    assert sum(1 for line in out if line.startswith("add set") and "timeout 120s" in line) == 2
    assert sum(1 for line in out if "@affinity-" in line and line.startswith("add rule")) == 4


def test_affinity_removed_deletes_sets_after_flushing():
    tx = render_incremental(world(2, affinity=60), world(2))
    out = lines(tx)
    assert sum(1 for line in out if line.startswith("delete set")) == 2
    assert max(i for i, line in enumerate(out) if line.startswith("flush chain")) < \
        min(i for i, line in enumerate(out) if line.startswith("delete set"))


def test_incremental_from_a_to_b_matches_full_b_in_content():
    a, b = world(3, affinity=60), world(2, affinity=120, extra=True)
    assert render_incremental(a, b).commands < render_full(b).commands
    assert render_incremental(b, b).commands == 0
