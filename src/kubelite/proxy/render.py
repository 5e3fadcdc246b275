"""Services + EndpointSlices -> one nftables table, in kube-proxy's `nftables` layout (pure).

    ruleset = render(services, endpoint_slices, node_name, node_ips, RenderOptions())
    tx = render_full(ruleset, existing)          # a whole resync, as one `nft -f -` script
    tx = render_incremental(applied, ruleset)    # only what changed since `applied`

Layout (kube-proxy `pkg/proxy/nftables`, KEP-3866), all in one table of family `ip`:

- Base chains `<type>-<hook>` with numeric priorities (nft 1.0.6 rejects `dstnat` on the input,
  forward and output hooks): filter chains at -110 see pre-DNAT addresses and jump to
  `endpoints-check` (reject/drop Services without endpoints) and `firewall-check`
  (loadBalancerSourceRanges); `filter-output-post-dnat` (-90) and `filter-forward` jump to
  `cluster-ips-check` (reject unknown ports of ClusterIPs, drop unallocated ClusterIPs);
  `nat-prerouting`/`nat-output` (-100) jump to `services`; `nat-postrouting` (100) to
  `masquerading`.
- `services` dispatches through the verdict maps `service-ips` (ClusterIP, externalIPs,
  LoadBalancer ingress IPs) and `service-nodeports` (on `nodeport-ips`, the node's IPs, or on
  every local address).
- Per service port: `service-<hash>-ns/svc/proto/port` (Cluster policy) and `local-...` (Local
  policy) pick an endpoint with `numgen random mod N vmap`, after ClientIP-affinity checks;
  `external-...` handles NodePort/LoadBalancer/externalIP traffic; `firewall-...` drops sources
  outside loadBalancerSourceRanges; `endpoint-<hash>-ns/svc/proto/port__ip/port` marks hairpin
  traffic for masquerade, updates the affinity set and DNATs.

A `Ruleset` (module `ruleset`, re-exported here) is a value (chains, sets/maps, elements), so
two of them can be diffed:
`render_incremental` flushes and rewrites only the chains whose rules changed, adds and deletes
only the map elements that changed, and reports chains that are no longer used (flushed now, to
be deleted a second later: kernels before 6.2 notice late that a vmap no longer refers to them).
Output is deterministic: same inputs, same script.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from typing import Iterable, Mapping

from .ruleset import (  # noqa: F401  (re-exported: the values are part of this module's interface)
    BASE_CHAINS, CLUSTER_IPS, CLUSTER_IPS_CHECK, ENDPOINTS_CHECK, FIREWALL_CHECK, FIREWALL_IPS, MARK_MASQ,
    MASQUERADING, NO_ENDPOINT_NODEPORTS, NO_ENDPOINT_SERVICES, NODEPORT_IPS, NODEPORT_KEY, REJECT_CHAIN,
    SERVICE_IPS, SERVICE_KEY, SERVICE_NODEPORTS, SERVICES, BaseChain, Element, Fragment, KernelState,
    RenderOptions, Ruleset, ServiceState, SetSpec, Transaction, endpoint_chain_base, hash_and_truncate,
    is_affinity_set_name, is_service_chain_name, service_chain_base)
from .servicemap import (Endpoint, ServicePort, categorize_endpoints, endpoints_by_port, service_ports,
                         slice_service_name)

# ---------------------------------------------------------------------------------------------
# render


def render(services: Iterable[Mapping], endpoint_slices: Iterable[Mapping], node_name: str,
           node_ips: Iterable[str] = (), options: RenderOptions = RenderOptions()) -> Ruleset:
    """The whole table for this node."""
    by_service: dict[tuple[str, str], list[Mapping]] = defaultdict(list)
    for s in endpoint_slices:
        name = slice_service_name(s)
        if name:
            by_service[((s.get("metadata") or {}).get("namespace") or "default", name)].append(s)
    node_ips = tuple(node_ips)
    fragments: list[Fragment] = []
    for svc in services:
        meta = svc.get("metadata") or {}
        fragments += render_service(svc, by_service.get((meta.get("namespace") or "default", meta.get("name")), ()),
                                    node_name, node_ips, options)
    return assemble(fragments, node_ips, options)


def render_service(service: Mapping, slices: Iterable[Mapping], node_name: str, node_ips: Iterable[str] = (),
                   options: RenderOptions = RenderOptions()) -> list[Fragment]:
    """The fragments of one Service (one per service port); cacheable by the objects' versions."""
    ports = service_ports(service)
    if not ports:
        return []
    eps = endpoints_by_port(ports, list(slices), node_name)
    node_ips = tuple(ip for ip in node_ips if _is_v4(ip))
    return [_fragment(sp, eps.get(sp.key, ()), node_ips, options) for sp in ports]


def assemble(fragments: Iterable[Fragment], node_ips: Iterable[str] = (),
             options: RenderOptions = RenderOptions()) -> Ruleset:
    chains, sets, elements = _base(node_ips, options)
    services: dict[str, ServiceState] = {}
    svc_chains: dict[str, tuple[str, ...]] = {}
    for f in sorted(fragments, key=lambda f: f.key):
        for name, rules in f.chains:
            svc_chains[name] = rules
        for name, spec in f.sets:
            sets[name] = spec
        for m, e in f.elements:
            elements[m][e.key] = e
        services[f.key] = f.state
        elements[CLUSTER_IPS].setdefault(f.state.ips[0], Element(f.state.ips[0]))
    for name in sorted(svc_chains):
        chains[name] = svc_chains[name]
    ordered = {m: dict(sorted(elements[m].items(), key=lambda kv: _element_sort_key(kv[0]))) for m in sorted(elements)}
    return Ruleset(options.table, chains, dict(sorted(sets.items())), ordered, services)


@functools.lru_cache(maxsize=1 << 16)
def _element_sort_key(key: str) -> tuple:
    out = []
    for part in key.split(" . "):
        try:
            out.append((0, int(ipaddress.IPv4Address(part)), ""))
        except ValueError:
            out.append((1, int(part), "") if part.isdigit() else (2, 0, part))
    return tuple(out)


def _base(node_ips: Iterable[str], opts: RenderOptions) -> tuple[dict, dict, dict]:
    mark = opts.masquerade_mark
    nodeport_ips = sorted({ip for ip in node_ips if _is_v4(ip) and not ipaddress.IPv4Address(ip).is_loopback},
                          key=ipaddress.IPv4Address)
    use_nodeport_set = opts.nodeport_addresses != "all" and bool(nodeport_ips)
    if use_nodeport_set:
        nodeport_match = f"ip daddr @{NODEPORT_IPS}"
    else:
        nodeport_match = "fib daddr type local ip daddr != 127.0.0.0/8"
    cluster_ips_check = [f"ip daddr @{CLUSTER_IPS} reject comment \"Reject traffic to invalid ports of ClusterIPs\""]
    if opts.service_cidrs:
        cluster_ips_check.append(f"ip daddr {_set_literal(opts.service_cidrs)} drop "
                                 f"comment \"Drop traffic to unallocated ClusterIPs\"")
    chains: dict[str, tuple[str, ...]] = {
        "filter-prerouting": (f"ct state new jump {FIREWALL_CHECK}",),
        "filter-input": (f"ct state new jump {ENDPOINTS_CHECK}",),
        "filter-forward": (f"ct state new jump {ENDPOINTS_CHECK}", f"ct state new jump {CLUSTER_IPS_CHECK}"),
        "filter-output": (f"ct state new jump {ENDPOINTS_CHECK}", f"ct state new jump {FIREWALL_CHECK}"),
        "filter-output-post-dnat": (f"ct state new jump {CLUSTER_IPS_CHECK}",),
        "nat-prerouting": (f"jump {SERVICES}",),
        "nat-output": (f"jump {SERVICES}",),
        "nat-postrouting": (f"jump {MASQUERADING}",),
        CLUSTER_IPS_CHECK: tuple(cluster_ips_check),
        ENDPOINTS_CHECK: (
            f"ip daddr . meta l4proto . th dport vmap @{NO_ENDPOINT_SERVICES}",
            f"{nodeport_match} meta l4proto . th dport vmap @{NO_ENDPOINT_NODEPORTS}"),
        FIREWALL_CHECK: (f"ip daddr . meta l4proto . th dport vmap @{FIREWALL_IPS}",),
        MARK_MASQ: (f"mark set mark or {mark}",),
        MASQUERADING: (f"mark and {mark} == 0 return", f"mark set mark xor {mark}", "masquerade fully-random"),
        REJECT_CHAIN: ("reject",),
        SERVICES: (
            f"ip daddr . meta l4proto . th dport vmap @{SERVICE_IPS}",
            f"{nodeport_match} meta l4proto . th dport vmap @{SERVICE_NODEPORTS}"),
    }
    sets: dict[str, SetSpec] = {
        CLUSTER_IPS: SetSpec("ipv4_addr", comment="Active ClusterIPs"),
        FIREWALL_IPS: SetSpec(f"{SERVICE_KEY} : verdict", map=True,
                              comment="destinations that are subject to LoadBalancerSourceRanges"),
        NO_ENDPOINT_NODEPORTS: SetSpec(f"{NODEPORT_KEY} : verdict", map=True,
                                       comment="vmap to drop or reject packets to service nodeports with no endpoints"),
        NO_ENDPOINT_SERVICES: SetSpec(f"{SERVICE_KEY} : verdict", map=True,
                                      comment="vmap to drop or reject packets to services with no endpoints"),
        SERVICE_IPS: SetSpec(f"{SERVICE_KEY} : verdict", map=True,
                             comment="ClusterIP, ExternalIP and LoadBalancer IP traffic"),
        SERVICE_NODEPORTS: SetSpec(f"{NODEPORT_KEY} : verdict", map=True, comment="NodePort traffic"),
    }
    elements: dict[str, dict[str, Element]] = defaultdict(dict)
    for name in sets:
        elements[name] = {}
    if use_nodeport_set:
        sets[NODEPORT_IPS] = SetSpec("ipv4_addr", comment="IPs that accept NodePort traffic")
        elements[NODEPORT_IPS] = {ip: Element(ip) for ip in nodeport_ips}
    return chains, sets, elements


def _is_v4(s: str) -> bool:
    try:
        ipaddress.IPv4Address(s)
        return True
    except ValueError:
        return False


def _set_literal(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _fragment(sp: ServicePort, endpoints: tuple[Endpoint, ...], node_ips: tuple[str, ...],
              opts: RenderOptions) -> Fragment:
    cat = categorize_endpoints(sp, endpoints)
    proto = sp.protocol
    base = service_chain_base(sp)
    cluster_chain, local_chain = "service-" + base, "local-" + base
    external_chain, fw_chain = "external-" + base, "firewall-" + base
    chains: dict[str, list[str]] = {}
    sets: list[tuple[str, SetSpec]] = []
    elements: list[tuple[str, Element]] = []
    names = {e.address: endpoint_chain_base(sp, e) for e in cat.all_reachable}

    uses_cluster_chain = bool(cat.cluster) and sp.uses_cluster_endpoints
    uses_local_chain = bool(cat.local) and sp.uses_local_endpoints
    internal_chain = local_chain if sp.internal_policy_local else cluster_chain
    has_internal = cat.has_any and (not sp.internal_policy_local or bool(cat.local))
    external_policy_chain = local_chain if sp.external_policy_local else cluster_chain
    has_external = cat.has_any and (not sp.external_policy_local or bool(cat.local))
    uses_external_chain = cat.has_any and sp.externally_accessible
    if not cat.has_any:
        internal_verdict = external_verdict = f"goto {REJECT_CHAIN}"
    else:
        internal_verdict, external_verdict = "drop", "drop"

    # dispatch: ClusterIP, externalIPs, LoadBalancer ingress, NodePort
    key = f"{sp.cluster_ip} . {proto} . {sp.port}"
    if has_internal:
        elements.append((SERVICE_IPS, Element(key, f"goto {internal_chain}")))
    else:
        elements.append((NO_ENDPOINT_SERVICES, Element(key, internal_verdict, sp.display)))
    for ip in sp.external_ips:
        k = f"{ip} . {proto} . {sp.port}"
        if cat.has_any:
            elements.append((SERVICE_IPS, Element(k, f"goto {external_chain}")))
        if not has_external:
            elements.append((NO_ENDPOINT_SERVICES, Element(k, external_verdict, sp.display)))
    uses_fw = bool(sp.load_balancer_ips and sp.load_balancer_source_ranges)
    if uses_fw:
        sources = list(sp.load_balancer_source_ranges)
        # a VIP configured on the node loops back with the VIP as source: let the node in
        if node_ips and any(ipaddress.IPv4Address(node_ips[0]) in ipaddress.IPv4Network(r) for r in sources):
            sources += sp.load_balancer_ips
        chains[fw_chain] = [f"ip saddr != {{ {', '.join(sources)} }} drop"]
    for ip in sp.load_balancer_ips:
        k = f"{ip} . {proto} . {sp.port}"
        if cat.has_any:
            elements.append((SERVICE_IPS, Element(k, f"goto {external_chain}")))
        if uses_fw:
            elements.append((FIREWALL_IPS, Element(k, f"goto {fw_chain}", sp.display)))
        if not has_external:
            elements.append((NO_ENDPOINT_SERVICES, Element(k, external_verdict, sp.display)))
    if sp.node_port:
        k = f"{proto} . {sp.node_port}"
        if cat.has_any:
            elements.append((SERVICE_NODEPORTS, Element(k, f"goto {external_chain}")))
        if not has_external:
            elements.append((NO_ENDPOINT_NODEPORTS, Element(k, external_verdict, sp.display)))

    # internal traffic: masquerade what comes from off the cluster
    if has_internal:
        match = f"ip daddr {sp.cluster_ip} {proto} dport {sp.port}"
        if opts.masquerade_all:
            chains.setdefault(internal_chain, []).append(f"{match} jump {MARK_MASQ}")
        elif opts.cluster_cidrs:
            chains.setdefault(internal_chain, []).append(
                f"{match} ip saddr != {_set_literal(opts.cluster_cidrs)} jump {MARK_MASQ}")

    # external traffic
    if uses_external_chain:
        ext = chains.setdefault(external_chain, [])
        if not sp.external_policy_local:
            ext.append(f"jump {MARK_MASQ}")
        else:
            if opts.cluster_cidrs:
                ext.append(f"ip saddr {_set_literal(opts.cluster_cidrs)} goto {cluster_chain} "
                           f"comment \"short-circuit pod traffic\"")
            ext.append(f"fib saddr type local jump {MARK_MASQ} comment \"masquerade local traffic\"")
            ext.append(f"fib saddr type local goto {cluster_chain} comment \"short-circuit local traffic\"")
        if has_external:
            ext.append(f"goto {external_policy_chain}")

    if sp.affinity_timeout:
        for e in cat.all_reachable:
            sets.append(("affinity-" + names[e.address],
                         SetSpec("ipv4_addr", flags=("dynamic", "timeout"), timeout=sp.affinity_timeout)))
    if uses_cluster_chain:
        chains.setdefault(cluster_chain, []).extend(_dispatch_rules(sp, cat.cluster, names))
    if uses_local_chain:
        chains.setdefault(local_chain, []).extend(_dispatch_rules(sp, cat.local, names))
    for e in cat.all_reachable:
        rules = [f"ip saddr {e.ip} jump {MARK_MASQ}"]
        if sp.affinity_timeout:
            rules.append(f"update @affinity-{names[e.address]} {{ ip saddr }}")
        rules.append(f"meta l4proto {proto} dnat to {e.ip}:{e.port}")
        chains["endpoint-" + names[e.address]] = rules

    ips = (sp.cluster_ip, *sp.external_ips, *sp.load_balancer_ips)
    state = ServiceState(proto, ips, sp.port, sp.node_port,
                         frozenset(e.ip for e in cat.all_reachable if e.serving))
    return Fragment(sp.key, tuple((n, tuple(r)) for n, r in chains.items()), tuple(sets), tuple(elements), state)


def _dispatch_rules(sp: ServicePort, endpoints: tuple[Endpoint, ...], names: Mapping[str, str]) -> list[str]:
    rules = []
    if sp.affinity_timeout:
        for e in endpoints:
            base = names[e.address]
            rules.append(f"ip saddr @affinity-{base} goto endpoint-{base}")
    vmap = ", ".join(f"{i} : goto endpoint-{names[e.address]}" for i, e in enumerate(endpoints))
    rules.append(f"numgen random mod {len(endpoints)} vmap {{ {vmap} }}")
    return rules


# ---------------------------------------------------------------------------------------------
# transactions


class _Script:
    def __init__(self, table: str) -> None:
        self.table = table
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)

    def chain(self, verb: str, name: str, spec: str = "") -> None:
        self.lines.append(f"{verb} chain ip {self.table} {name}{spec}")

    def rule(self, chain: str, rule: str) -> None:
        self.lines.append(f"add rule ip {self.table} {chain} {rule}")

    def elements(self, verb: str, set_name: str, elements: Iterable[Element], batch: int = 500) -> None:
        items = [e.text() for e in elements]
        for i in range(0, len(items), batch):
            self.lines.append(f"{verb} element ip {self.table} {set_name} {{ {', '.join(items[i:i + batch])} }}")

    def text(self) -> str:
        return "\n".join(self.lines) + ("\n" if self.lines else "")


def _base_spec(bc: BaseChain) -> str:
    return f" {{ type {bc.type} hook {bc.hook} priority {bc.priority} ; }}"


def _set_kind(spec: SetSpec) -> str:
    return "map" if spec.map else "set"


def render_full(new: Ruleset, existing: KernelState = KernelState()) -> Transaction:
    """A full resync: flush every rule of the table, delete unused or changed affinity sets,
    declare every set, map and chain again with its rules (one `table { ... }` block, which nft
    parses markedly faster than one `add rule` command per rule), refill the managed maps.
    Affinity sets keep their entries; unused per-service chains are left empty, to be deleted
    later."""
    s = _Script(new.table)
    s.add(f"add table ip {new.table} {{ comment \"rules for kubelite-proxy\" ; }}")
    s.add(f"flush table ip {new.table}")
    stale = frozenset(c for c in existing.chains if is_service_chain_name(c) and c not in new.chains)
    for name, spec in existing.sets.items():
        want = new.sets.get(name)
        if (want is None and is_affinity_set_name(name)) or (want is not None and spec is not None and spec != want
                                                            and want.dynamic):
            s.add(f"delete {_set_kind(spec or want or SetSpec(''))} ip {new.table} {name}")
    base = {bc.name: bc for bc in new.base_chains}
    s.add(f"table ip {new.table} {{")
    for name, spec in new.sets.items():
        s.add(f"\t{_set_kind(spec)} {name} {spec.declaration()}")
    for name, rules in new.chains.items():
        bc = base.get(name)
        head = f"type {bc.type} hook {bc.hook} priority {bc.priority} ; " if bc else ""
        s.add(f"\tchain {name} {{ {head}" + "".join(f"{r} ; " for r in rules) + "}")
    s.add("}")
    for name, spec in new.sets.items():
        if not spec.dynamic:
            s.add(f"flush {_set_kind(spec)} ip {new.table} {name}")
    for name, elems in new.elements.items():
        if elems:
            s.elements("add", name, elems.values())
    commands = 2 + len(s.lines) + sum(len(r) for r in new.chains.values())
    return Transaction(s.text(), True, commands, stale, len(new.chains))


def render_incremental(prev: Ruleset, new: Ruleset) -> Transaction:
    """The minimal transaction taking the table from `prev` (what is applied) to `new`."""
    s = _Script(new.table)
    base = {bc.name: bc for bc in new.base_chains}
    changed_sets = {n for n, spec in new.sets.items() if n in prev.sets and prev.sets[n] != spec}
    removed_sets = [n for n in prev.sets if n not in new.sets]
    added = [n for n in new.chains if n not in prev.chains]
    # chains that refer to a set being replaced are rewritten too
    rewritten = [n for n, rules in new.chains.items() if n in prev.chains and
                 (prev.chains[n] is not rules and prev.chains[n] != rules
                  or changed_sets and any(_refers(r, changed_sets) for r in rules))]
    stale = [n for n in prev.chains if n not in new.chains]

    for n, spec in new.sets.items():
        if n not in prev.sets:
            s.add(f"add {_set_kind(spec)} ip {new.table} {n} {spec.declaration()}")
    for n in added:
        s.chain("add", n, _base_spec(base[n]) if n in base else "")
    for n in rewritten:
        s.chain("flush", n)
    for n in stale:
        s.chain("flush", n)
    for m, old in prev.elements.items():
        cur = new.elements.get(m, {})
        gone = [e for k, e in old.items() if (c := cur.get(k)) is not e and c != e]
        if gone and m in new.sets and not new.sets[m].dynamic:
            s.elements("delete", m, gone)
    for n in sorted(changed_sets):
        spec = new.sets[n]
        s.add(f"delete {_set_kind(prev.sets[n])} ip {new.table} {n}")
        s.add(f"add {_set_kind(spec)} ip {new.table} {n} {spec.declaration()}")
    for n in removed_sets:
        s.add(f"delete {_set_kind(prev.sets[n])} ip {new.table} {n}")
    for n in added + rewritten:
        for r in new.chains[n]:
            s.rule(n, r)
    for m, cur in new.elements.items():
        old = prev.elements.get(m, {}) if m not in changed_sets else {}
        fresh = [e for k, e in cur.items() if (o := old.get(k)) is not e and o != e]
        if fresh:
            s.elements("add", m, fresh)
    stale_service = frozenset(n for n in stale if is_service_chain_name(n))
    return Transaction(s.text(), False, len(s.lines), stale_service, len(added) + len(rewritten))


def _refers(rule: str, sets: set[str]) -> bool:
    return bool(sets) and any(f"@{n} " in rule or rule.endswith(f"@{n}") for n in sets)


def render_delete_chains(table: str, chains: Iterable[str]) -> Transaction:
    s = _Script(table)
    for c in sorted(chains):
        s.chain("delete", c)
    return Transaction(s.text(), False, len(s.lines))


def render_delete_table(table: str) -> str:
    return f"delete table ip {table}\n"
