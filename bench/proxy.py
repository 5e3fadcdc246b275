"""Service proxy benchmark (needs root and nft): programming latency and data-plane overhead.

1. Programming latency at `--services` x `--endpoints` (default 1,000 x 10, NodePort Services):
   an in-process API server, a `Proxier` programming a throwaway network namespace. Latency is
   the proxier's own metric: from an EndpointSlice's `last-change-trigger-time` to the sync
   that applied it. Runs:
   - initial: proxier start (informer lists + first full sync) with everything already created;
   - incremental: sequential single-slice changes (each waits for the previous), then a burst
     of changes written at once;
   - full: the same sequential changes with every sync a full resync (`full_sync_period=0`).
   Baselines (same run, same netns): `nft -f` of the same full script into an empty table, and
   of one incremental transaction. Ratios are latency / raw nft time.
2. HTTP through a ClusterIP vs the pod IP directly, same run: a client pod opens a new
   connection per request (the NAT path: every connection is a new conntrack entry) against
   an asyncio HTTP server in another pod; and one bulk TCP stream. Ratio ClusterIP / direct.
   The two pods sit on different pod subnets of the node, so both paths are routed and differ
   only by the Service's NAT (pods on one bridge talk at L2, which would measure bridging
   against routing instead).

Targets (issue 6): programming p99 < 1 s; ClusterIP throughput >= 0.95 of direct.
Everything lives in namespaces named `kpb<random>-*`, deleted at the end; servers are killed
by PID. Addresses: 198.18.0.0/15 only.

Usage: /tmp/tv/bin/python bench/proxy.py [--services 1000] [--endpoints 10] [--changes 50] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import statistics
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone

from kubelite.machinery.timeutil import rfc3339_micro
from kubelite.proxy import NftablesApplier, NftCommand, Proxier
from kubelite.proxy.render import RenderOptions, render, render_full, render_incremental
from kubelite.testing.apiserver import InProcessAPIServer

PREFIX = "kpb" + secrets.token_hex(3)
NODE_IP = "198.18.0.11"
TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"


def sh(*args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(list(args), input=input, capture_output=True)
    if check and p.returncode:
        raise RuntimeError(f"{' '.join(args)}: {p.stderr.decode().strip()}")
    return p


def netns_add(name: str) -> str:
    sh("ip", "netns", "add", name)
    sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
    return name


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def summary(xs: list[float]) -> str:
    return (f"n={len(xs)} p50 {pct(xs, 0.5) * 1000:.0f} ms  p99 {pct(xs, 0.99) * 1000:.0f} ms  "
            f"max {max(xs) * 1000:.0f} ms")


# ---------------------------------------------------------------------------------------------
# 1. programming latency


def service_body(i: int) -> dict:
    return {"metadata": {"name": f"s{i}"}, "spec": {
        "type": "NodePort", "clusterIP": f"198.18.{128 + i // 250}.{i % 250 + 2}",
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30000 + i}]}}


def slice_body(i: int, n: int) -> dict:
    return {"metadata": {"name": f"s{i}-x", "labels": {"kubernetes.io/service-name": f"s{i}"}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [f"198.19.{i // 25}.{(i % 25) * 10 + j + 1}"], "conditions": {"ready": True},
                           "nodeName": "bench-node"} for j in range(n)]}


async def gather_limited(coros, limit: int = 32):
    sem = asyncio.Semaphore(limit)

    async def one(c):
        async with sem:
            return await c
    return await asyncio.gather(*(one(c) for c in coros))


async def change(api, slices: dict, i: int, n: int) -> None:
    """Toggle the last endpoint of slice i, stamping the trigger time as the controller would."""
    sl = slices[i]
    eps = sl["endpoints"]
    if len(eps) == n:
        sl["endpoints"] = eps[:-1]
    else:
        sl["endpoints"] = slice_body(i, n)["endpoints"]
    sl["metadata"].setdefault("annotations", {})[TRIGGER] = rfc3339_micro(datetime.now(timezone.utc))
    slices[i] = await api.client.update("endpointslices", sl, namespace="default")


async def wait_count(proxier: Proxier, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while proxier.stats.programming_latency.count < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {proxier.stats.programming_latency.count}/{count} changes programmed")
        await asyncio.sleep(0.005)


async def sequential(api, proxier: Proxier, slices: dict, k: int, n: int, offset: int) -> list[float]:
    start = proxier.stats.programming_latency.count
    for j in range(k):
        await change(api, slices, (offset + j * 37) % len(slices), n)
        await wait_count(proxier, start + j + 1)
    return list(proxier.stats.programming_latency.recent)[-k:]


async def programming(args) -> dict:
    node = netns_add(f"{PREFIX}-node")
    try:
        async with InProcessAPIServer() as api:
            t = time.perf_counter()
            await gather_limited(api.client.create("services", service_body(i), namespace="default")
                                 for i in range(args.services))
            created = await gather_limited(api.client.create("endpointslices", slice_body(i, args.endpoints),
                                                             namespace="default") for i in range(args.services))
            slices = {i: s for i, s in enumerate(created)}
            print(f"created {args.services} Services and EndpointSlices x {args.endpoints} endpoints "
                  f"in {time.perf_counter() - t:.1f} s")

            proxier = Proxier(api.client, "bench-node", netns=f"/run/netns/{node}", node_ips=[NODE_IP],
                              min_sync_period=args.min_sync_period, sync_period=60, full_sync_period=3600)
            t = time.perf_counter()
            task = asyncio.ensure_future(proxier.run())
            await asyncio.wait_for(proxier.wait_synced(), 120)
            initial = time.perf_counter() - t
            rs = proxier.ruleset
            print(f"ruleset: {rs.chain_count()} chains, {sum(len(e) for e in rs.elements.values())} map elements")
            out = {"initial": initial}
            try:
                out["incremental"] = await sequential(api, proxier, slices, args.changes, args.endpoints, 0)
                out["inc_sync"] = list(proxier.stats.sync_duration.recent)[-args.changes:]
                before = proxier.stats.programming_latency.count
                burst = min(50, args.services)
                await asyncio.gather(*(change(api, slices, (j * 11) % len(slices), args.endpoints)
                                       for j in range(burst)))
                await wait_count(proxier, before + burst)
                out["burst"] = list(proxier.stats.programming_latency.recent)[-burst:]
                proxier.full_sync_period = 0.0
                out["full"] = await sequential(api, proxier, slices, args.full_changes, args.endpoints, 5)
                out["full_sync"] = list(proxier.stats.sync_duration.recent)[-args.full_changes:]
            finally:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass

        # baselines: raw nft on the same rulesets
        opts = RenderOptions(table="kpb-raw")
        svcs = [dict(service_body(i), metadata={"namespace": "default", "name": f"s{i}"}) for i in range(args.services)]
        sls = [dict(slice_body(i, args.endpoints), metadata={"namespace": "default", "name": f"s{i}-x", "labels": {
            "kubernetes.io/service-name": f"s{i}"}}) for i in range(args.services)]
        a = render(svcs, sls, "bench-node", [NODE_IP], opts)
        sls[3] = dict(sls[3], endpoints=sls[3]["endpoints"][:-1])
        b = render(svcs, sls, "bench-node", [NODE_IP], opts)
        full_script, inc_script = render_full(a).script.encode(), render_incremental(a, b).script.encode()
        back_script = render_incremental(b, a).script.encode()
        t = time.perf_counter()
        sh("ip", "netns", "exec", node, "nft", "-f", "-", input=full_script)
        out["raw_full"] = time.perf_counter() - t
        raw_inc = []
        for _ in range(5):
            t = time.perf_counter()
            sh("ip", "netns", "exec", node, "nft", "-f", "-", input=inc_script)
            raw_inc.append(time.perf_counter() - t)
            sh("ip", "netns", "exec", node, "nft", "-f", "-", input=back_script)
        out["raw_inc"] = statistics.median(raw_inc)
        t = time.perf_counter()
        sh("ip", "netns", "exec", node, "nft", "-f", "-", input=full_script)
        out["raw_resync"] = time.perf_counter() - t
        return out
    finally:
        sh("ip", "netns", "del", node, check=False)


# ---------------------------------------------------------------------------------------------
# 2. throughput through a ClusterIP

SERVER = textwrap.dedent("""
    import asyncio, sys
    BODY = b"x" * 64
    RESP = b"HTTP/1.0 200 OK\\r\\nContent-Length: 64\\r\\n\\r\\n" + BODY
    class H(asyncio.Protocol):
        def connection_made(self, t):
            self.t = t
            self.buf = b""
        def data_received(self, d):
            self.buf += d
            if b"\\r\\n\\r\\n" in self.buf:
                self.t.write(RESP)
                self.t.close()
    class Sink(asyncio.Protocol):
        def data_received(self, d):
            pass
    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_server(H, "0.0.0.0", 8080, backlog=1024, reuse_address=True)
        await loop.create_server(Sink, "0.0.0.0", 8081, backlog=16, reuse_address=True)
        await asyncio.Event().wait()
    asyncio.run(main())
""")

LOADGEN = textwrap.dedent("""
    import asyncio, json, socket, sys, time
    mode, ip, seconds, conc, src = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    async def http():
        done = errs = 0
        end = time.monotonic() + seconds
        async def worker():
            nonlocal done, errs
            while time.monotonic() < end:
                try:
                    r, w = await asyncio.open_connection(ip, 80 if ip.startswith("198.18.") else 8080,
                                                         local_addr=(src, 0))
                    w.write(b"GET / HTTP/1.0\\r\\n\\r\\n")
                    await r.read()
                    w.close()
                    done += 1
                except OSError:
                    errs += 1
        t = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(conc)))
        return {"rate": done / (time.monotonic() - t), "errors": errs}
    def bulk():
        s = socket.create_connection((ip, 81 if ip.startswith("198.18.") else 8081), source_address=(src, 0))
        chunk = b"\\0" * 262144
        sent, t = 0, time.monotonic()
        while time.monotonic() - t < seconds:
            s.sendall(chunk)
            sent += len(chunk)
        s.close()
        return {"rate": sent / (time.monotonic() - t) / 1e6, "errors": 0}
    print(json.dumps(asyncio.run(http()) if mode == "http" else bulk()))
""")


async def throughput(args) -> dict:
    node, client, server = f"{PREFIX}-tnode", f"{PREFIX}-tcli", f"{PREFIX}-tsrv"
    proc = None
    created = []
    try:
        for n in (node, client, server):
            created.append(netns_add(n))
        ex = lambda ns, *a: sh("ip", "netns", "exec", ns, *a)   # noqa: E731
        ex(node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # client and server on two pod subnets, so that both paths are routed by the node and
        # differ only by the Service NAT (as between pods of different nodes)
        for i, (pod, subnet) in enumerate(((client, "198.19.2"), (server, "198.19.1"))):
            ex(node, "ip", "link", "add", f"cni{i}", "type", "bridge")
            ex(node, "ip", "addr", "add", f"{subnet}.1/24", "dev", f"cni{i}")
            ex(node, "ip", "link", "set", f"cni{i}", "up")
            ex(node, "ip", "link", "add", f"veth{i}", "type", "veth", "peer", "name", "p0")
            ex(node, "ip", "link", "set", "p0", "netns", pod)
            ex(node, "ip", "link", "set", f"veth{i}", "master", f"cni{i}")
            ex(node, "ip", "link", "set", f"veth{i}", "up")
            ex(pod, "ip", "link", "set", "p0", "name", "eth0")
            ex(pod, "ip", "addr", "add", f"{subnet}.2/24", "dev", "eth0")
            ex(pod, "ip", "link", "set", "eth0", "up")
            ex(pod, "ip", "route", "add", "default", "via", f"{subnet}.1")
        # each path gets its own client address: tens of thousands of short connections leave
        # TIME_WAIT entries, and after DNAT both paths would share the server-side tuples
        ex(client, "ip", "addr", "add", "198.19.2.3/24", "dev", "eth0")
        ex(client, "sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000")
        proc = subprocess.Popen(["ip", "netns", "exec", server, sys.executable, "-c", SERVER],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        applier = NftablesApplier(NftCommand(f"/run/netns/{node}"), table="kpb-proxy")
        svc = {"metadata": {"namespace": "default", "name": "web"}, "spec": {
            "clusterIP": "198.18.128.50", "ports": [{"name": "http", "port": 80}, {"name": "bulk", "port": 81}]}}
        sl = {"metadata": {"namespace": "default", "name": "web-x", "labels": {"kubernetes.io/service-name": "web"}},
              "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                                               {"name": "bulk", "port": 8081, "protocol": "TCP"}],
              "endpoints": [{"addresses": ["198.19.1.2"], "conditions": {"ready": True}}]}
        await applier.apply(render([svc], [sl], "bench-node", [NODE_IP], RenderOptions(table="kpb-proxy")))
        for _ in range(100):
            if sh("ip", "netns", "exec", client, sys.executable, "-c", LOADGEN, "http", "198.19.1.2", "0.05", "1",
                  "198.19.2.2", check=False).returncode == 0:
                break
            time.sleep(0.05)

        async def run(mode: str, ip: str) -> float:
            src = "198.19.2.3" if ip.startswith("198.18.") else "198.19.2.2"
            p = await asyncio.create_subprocess_exec("ip", "netns", "exec", client, sys.executable, "-c", LOADGEN,
                                                     mode, ip, str(args.seconds), str(args.concurrency), src,
                                                     stdout=subprocess.PIPE)
            out, _ = await p.communicate()
            r = json.loads(out)
            if r["errors"]:
                print(f"  ({r['errors']} errors in {mode} to {ip})")
            return r["rate"]

        # paired rounds, alternating which goes first; the ratio is the median of the per-round
        # ratios, which cancels most of the noise from other load on the machine
        results: dict[str, list[float]] = {k: [] for k in ("http-direct", "http-svc", "bulk-direct", "bulk-svc")}
        ratios: dict[str, list[float]] = {"http": [], "bulk": []}
        for r in range(args.rounds):
            for mode in ("http", "bulk"):
                order = [("direct", "198.19.1.2"), ("svc", "198.18.128.50")]
                got = {}
                for kind, ip in (order if r % 2 == 0 else order[::-1]):
                    got[kind] = await run(mode, ip)
                    results[f"{mode}-{kind}"].append(got[kind])
                ratios[mode].append(got["svc"] / got["direct"])
        await applier.cleanup()
        out = {k: statistics.median(v) for k, v in results.items()}
        out.update({f"{m}-ratio": statistics.median(v) for m, v in ratios.items()})
        return out
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for n in created:
            sh("ip", "netns", "del", n, check=False)


async def main(args) -> int:
    ok = True
    if args.only != "throughput":
        ok = await report_programming(args)
    if args.only == "programming":
        return 0 if ok else 1
    return await report_throughput(args, ok)


async def report_programming(args) -> bool:
    p = await programming(args)
    print(f"\nprogramming latency, {args.services} Services x {args.endpoints} endpoints "
          f"(min sync period {args.min_sync_period} s)")
    print(f"  initial (start -> first full sync applied): {p['initial']:.2f} s   "
          f"| baseline raw nft load {p['raw_full']:.2f} s -> ratio {p['initial'] / p['raw_full']:.2f}")
    print(f"  incremental, sequential: {summary(p['incremental'])}   | baseline raw nft incremental "
          f"{p['raw_inc'] * 1000:.0f} ms -> p99 ratio {pct(p['incremental'], 0.99) / p['raw_inc']:.1f}")
    print(f"    of which the sync itself (render + nft): {summary(p['inc_sync'])}")
    print(f"  incremental, burst:      {summary(p['burst'])}")
    print(f"  full resync every sync:  {summary(p['full'])}   | baseline raw nft full resync "
          f"{p['raw_resync']:.2f} s -> p99 ratio {pct(p['full'], 0.99) / p['raw_resync']:.2f}")
    print(f"    of which the sync itself:                {summary(p['full_sync'])}")
    inc_ok = pct(p["incremental"] + p["burst"], 0.99) < 1.0
    full_ok = pct(p["full"], 0.99) < 1.0
    print(f"  target p99 < 1 s: incremental {'met' if inc_ok else 'NOT met'}, full {'met' if full_ok else 'NOT met'}")
    return inc_ok


async def report_throughput(args, ok: bool) -> int:
    t = await throughput(args)
    http_ratio, bulk_ratio = t["http-ratio"], t["bulk-ratio"]
    print(f"\nthroughput, client pod -> server pod (medians of {args.rounds} paired rounds of {args.seconds:.0f} s; "
          f"load average {os.getloadavg()[0]:.1f})")
    print(f"  HTTP, new connection per request: ClusterIP {t['http-svc']:.0f} req/s vs pod IP "
          f"{t['http-direct']:.0f} req/s -> ratio {http_ratio:.3f}")
    print(f"  bulk TCP stream:                  ClusterIP {t['bulk-svc']:.0f} MB/s vs pod IP "
          f"{t['bulk-direct']:.0f} MB/s -> ratio {bulk_ratio:.3f}")
    tp_ok = http_ratio >= 0.95 and bulk_ratio >= 0.95
    print(f"  target ratio >= 0.95: {'met' if tp_ok else 'NOT met'}")
    left = [n for n in sh("ip", "netns", "list").stdout.decode().split() if n.startswith(PREFIX)]
    if left:
        print(f"LEFT BEHIND: {left}")
        ok = False
    return 0 if ok and tp_ok else 1


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("bench/proxy.py needs root (network namespaces and nft)")
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)   # watch streams cut at shutdown
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--endpoints", type=int, default=10)
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--full-changes", type=int, default=8)
    ap.add_argument("--min-sync-period", type=float, default=0.1)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--only", choices=("programming", "throughput"))
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.services, a.changes, a.full_changes, a.seconds, a.rounds = 100, 10, 3, 1.0, 2
    sys.exit(asyncio.run(main(a)))
