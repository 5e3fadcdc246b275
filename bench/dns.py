"""Cluster DNS benchmark: queries/s and latency percentiles over UDP on 127.0.0.1.

The server (`kubelite.dns.DNSServer`, 1,000 ClusterIP Services and 100 headless Services with
10 endpoints each in its records) runs in this process; the load generator runs in a child
process (its own core), keeping `--concurrency` queries outstanding for `--seconds`, with a
mix of names: Service A records, headless A records, SRV, NXDOMAIN.

Baseline, measured in the same run with the same load generator: a UDP responder on the same
event loop that answers every packet with a prebuilt reply (no parsing, no lookup). The ratio
DNS/baseline is the price of parsing, resolving and packing in Python.

Target (issue 6): p99 < 10 ms.

Usage: /tmp/tv/bin/python bench/dns.py [--seconds 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import textwrap

from dnslib import DNSRecord

from kubelite.dns import ClusterRecords, DNSServer
from kubelite.dns.server import free_udp_tcp_port

LOADGEN = textwrap.dedent("""
    import asyncio, json, random, sys, time
    from dnslib import DNSRecord
    port, seconds, concurrency, names = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
    packets = []
    for i, (n, t) in enumerate(names):
        q = DNSRecord.question(n, t)
        packets.append(q.pack())
    async def main():
        loop = asyncio.get_running_loop()
        lat, done = [], 0
        class P(asyncio.DatagramProtocol):
            def __init__(self):
                self.waiting = {}
            def datagram_received(self, data, addr):
                f = self.waiting.pop(data[:2], None)
                if f and not f.done():
                    f.set_result(None)
        t, proto = await loop.create_datagram_endpoint(P, remote_addr=("127.0.0.1", port))
        end = time.monotonic() + seconds
        rng = random.Random(1)
        async def worker(k):
            nonlocal done
            qid = 0
            while time.monotonic() < end:
                pkt = bytearray(rng.choice(packets))
                qid = (qid + 1) % 2000
                key = (k * 2000 + qid).to_bytes(2, "big")
                pkt[:2] = key
                f = loop.create_future()
                proto.waiting[key] = f
                s = time.perf_counter()
                t.sendto(bytes(pkt))
                try:
                    await asyncio.wait_for(f, 2)
                except asyncio.TimeoutError:
                    proto.waiting.pop(key, None)
                    continue
                lat.append(time.perf_counter() - s)
                done += 1
        start = time.monotonic()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        el = time.monotonic() - start
        lat.sort()
        pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] * 1000 if lat else float("nan")
        print(json.dumps({"qps": done / el, "p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0), "n": done}))
    asyncio.run(main())
""")


def build_records() -> tuple[ClusterRecords, list[tuple[str, str]]]:
    r = ClusterRecords()
    names = []
    for i in range(1000):
        ns = f"ns{i % 20}"
        r.set_service({"metadata": {"namespace": ns, "name": f"svc{i}"},
                       "spec": {"clusterIP": f"198.18.{128 + i // 250}.{i % 250 + 2}",
                                "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})
        names.append((f"svc{i}.{ns}.svc.cluster.local", "A"))
        if i % 10 == 0:
            names.append((f"_http._tcp.svc{i}.{ns}.svc.cluster.local", "SRV"))
            names.append((f"missing{i}.{ns}.svc.cluster.local", "A"))
    for i in range(100):
        r.set_service({"metadata": {"namespace": "db", "name": f"hl{i}"}, "spec": {"clusterIP": "None", "ports": []}})
        r.set_slice({"metadata": {"namespace": "db", "name": f"hl{i}-x",
                                  "labels": {"kubernetes.io/service-name": f"hl{i}"}},
                     "addressType": "IPv4", "ports": [],
                     "endpoints": [{"addresses": [f"198.19.{i}.{j + 2}"], "conditions": {"ready": True}}
                                   for j in range(10)]})
        names.append((f"hl{i}.db.svc.cluster.local", "A"))
    return r, names


async def run_loadgen(port: int, seconds: float, concurrency: int, names) -> dict:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", LOADGEN, str(port), str(seconds),
                                                str(concurrency), json.dumps(names), stdout=subprocess.PIPE)
    out, _ = await proc.communicate()
    return json.loads(out)


class Echo(asyncio.DatagramProtocol):
    def __init__(self, reply: bytes) -> None:
        self.reply = reply

    def connection_made(self, t) -> None:
        self.t = t

    def datagram_received(self, data, addr) -> None:
        self.t.sendto(data[:2] + self.reply[2:], addr)


async def main(seconds: float) -> int:
    records, names = build_records()
    loop = asyncio.get_running_loop()
    reply = DNSRecord.question(names[0][0]).reply().pack()
    port = free_udp_tcp_port()
    echo, _ = await loop.create_datagram_endpoint(lambda: Echo(reply), local_addr=("127.0.0.1", port))
    base = {c: await run_loadgen(port, seconds, c, names) for c in (1, 16)}
    echo.close()

    server = DNSServer(address="127.0.0.1", port=0, upstreams=[], records=records)
    verdicts = []
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(server.run())
        await server.wait_ready()
        print(f"cluster DNS, {len(records.services)} Services, {len(names)} distinct names, {seconds:.0f} s per run")
        for c in (1, 16):
            r = await run_loadgen(server.port, seconds, c, names)
            b = base[c]
            print(f"  concurrency {c:2d}: {r['qps']:8.0f} q/s  p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms  "
                  f"max {r['max']:.1f} ms   | baseline echo {b['qps']:8.0f} q/s p99 {b['p99']:.2f} ms  "
                  f"-> ratio {r['qps'] / b['qps']:.2f}")
            verdicts.append((c, r["p99"] < 10))
        print("  target p99 < 10 ms: " + ", ".join(f"concurrency {c}: {'met' if v else 'NOT met'}" for c, v in verdicts)
              + f"   (server: {server.stats})")
        task.cancel()
    return 0 if verdicts[0][1] else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    sys.exit(asyncio.run(main(1.0 if a.quick else a.seconds)))
