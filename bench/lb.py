"""Load balancer benchmark: the L7 data path against direct requests to one backend, same run.

Processes (all on loopback): a backend (a minimal uvloop HTTP/1.1 responder standing in for a
fast pod), the load balancer (`kubelite.lb.LoadBalancer` under uvloop, HTTP listener, one target
group), and the load generator (`wrk` when installed, else an aiohttp one in another process).

Figures, each with its ratio to the direct baseline:

1. Closed-loop throughput (wrk, keep-alive connections): req/s direct and through the LB, and
   the LB's req/s per core (requests / CPU seconds the LB process used).
2. Latency at half of the LB's measured capacity: p50/p99 direct and through the LB and the
   added p99 (wrk connections paced by a Lua `delay()`; without wrk, an open-loop Python
   generator counting from each request's scheduled send time).
3. HTTPS (TLS terminated at the LB, keep-alive) throughput.
4. Time from creating an Ingress (InProcessAPIServer + the Ingress controller on 127.0.0.1)
   to the load balancer answering 200 through it, and from `LoadBalancer.apply` to answering.

Targets (issue 11): >= 3,000 req/s per core through the L7 LB, added p99 < 5 ms at half load.

Usage: python bench/lb.py [--quick] [--duration SECONDS]      (wrk: Debian package `wrk`)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

BODY = b"hello from the backend\n"
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY


# ----- roles run in child processes ---------------------------------------------------------

class _Responder(asyncio.Protocol):
    """Answers every request head with RESPONSE (keep-alive, pipelining; no request bodies)."""

    def connection_made(self, transport):
        self.t = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        n = self.buf.count(b"\r\n\r\n")
        if n:
            self.buf = self.buf[self.buf.rfind(b"\r\n\r\n") + 4:]
            self.t.write(RESPONSE * n)


async def role_backend(host: str) -> None:
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(_Responder, host, 0, backlog=1024)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


async def role_lb(backend: str, tls_dir: str | None) -> None:
    from kubelite.lb import (Certificate, Forward, Listener, ListenerProtocol, LoadBalancer, LoadBalancerConfig,
                             Target, TargetGroup)
    host, _, port = backend.rpartition(":")
    listeners = [Listener(ListenerProtocol.HTTP, 0, Forward.to("tg"), name="http")]
    if tls_dir:
        cert = open(os.path.join(tls_dir, "tls.crt")).read()
        key = open(os.path.join(tls_dir, "tls.key")).read()
        listeners.append(Listener(ListenerProtocol.HTTPS, 0, Forward.to("tg"), name="https",
                                  certificates=(Certificate("bench", cert, key),)))
    lb = LoadBalancer(LoadBalancerConfig("bench", "127.0.0.1", tuple(listeners),
                                         (TargetGroup("tg", targets=(Target(host, int(port)),)),)))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(lb.run())
        await lb.wait_ready()
        print(lb.port("http"), lb.port("https") if tls_dir else 0, flush=True)
        await asyncio.Event().wait()


async def role_load(host: str, port: int, rate: float, duration: float, conns: int) -> None:
    """Open loop: `rate` requests/s spread over `conns` keep-alive connections; prints JSON."""
    loop = asyncio.get_running_loop()
    req = f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    lat: list[float] = []
    errors = 0
    interval = conns / rate
    t0 = loop.time() + 0.2

    async def conn(i: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        k = 0
        while True:
            at = t0 + i * (interval / conns) + k * interval
            if at > t0 + duration:
                break
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(req)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                m = re.search(rb"Content-Length: (\d+)", head, re.I)
                await reader.readexactly(int(m.group(1)) if m else 0)
                if not head.startswith(b"HTTP/1.1 200"):
                    errors += 1
            except Exception:  # noqa: BLE001
                errors += 1
                return
            lat.append(loop.time() - at)
            k += 1
        writer.close()

    await asyncio.gather(*(conn(i) for i in range(conns)))
    lat.sort()
    pick = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] * 1000 if lat else float("nan")  # noqa: E731
    print(json.dumps({"n": len(lat), "errors": errors, "p50": pick(0.5), "p99": pick(0.99), "max": pick(1.0),
                      "rate": len(lat) / duration, "conns": conns}))


async def role_aioload(url: str, duration: float, conns: int) -> None:
    """Closed loop without wrk: `conns` aiohttp workers; prints JSON."""
    import aiohttp
    lat: list[float] = []
    end = time.perf_counter() + duration
    sslctx = ssl.create_default_context()
    sslctx.check_hostname = False
    sslctx.verify_mode = ssl.CERT_NONE

    async def worker(s: aiohttp.ClientSession) -> None:
        while time.perf_counter() < end:
            t = time.perf_counter()
            async with s.get(url, ssl=sslctx) as r:
                await r.read()
            lat.append(time.perf_counter() - t)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conns)) as s:
        t = time.perf_counter()
        await asyncio.gather(*(worker(s) for _ in range(conns)))
        dt = time.perf_counter() - t
    lat.sort()
    print(json.dumps({"rps": len(lat) / dt, "p99": lat[int(len(lat) * 0.99)] * 1000}))


# ----- the driver ----------------------------------------------------------------------------

def spawn(*args: str) -> tuple[subprocess.Popen, list[str]]:
    p = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    if not line:
        p.kill()
        raise RuntimeError(f"child {args} did not start")
    return p, line


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def closed_loop(url: str, duration: float, conns: int) -> tuple[float, float]:
    """(req/s, p99 ms)"""
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{duration:g}s", "--latency", url],
                             capture_output=True, text=True, check=True).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
        p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if errs or "Socket errors" in out:
            print("   (wrk reported errors:", (errs.group(0) if errs else ""),
                  re.search(r"Socket errors.*", out).group(0) if "Socket errors" in out else "", ")")
        return rps, p99
    out = subprocess.run([sys.executable, __file__, "--role", "aioload", "--url", url, "--duration", str(duration),
                          "--conns", str(conns)], capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    return d["rps"], d["p99"]


PACING = "local d = tonumber(os.getenv('LB_BENCH_DELAY_MS'))\nfunction delay() return d end\n"


def paced(host: str, port: int, rate: float, duration: float) -> dict:
    """Latency at a fixed request rate: wrk with every connection pausing 10 ms between requests
    (a Lua `delay()`), as many connections as the rate needs; without wrk, the open-loop Python
    generator (whose own CPU use shows in the figures)."""
    if not shutil.which("wrk"):
        return open_loop(host, port, rate, duration, 20)
    delay_ms = 10
    conns = max(1, round(rate * delay_ms / 1000))
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(PACING)
        script.flush()
        out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{duration:g}s", "--latency", "-s", script.name,
                              f"http://{host}:{port}/"], capture_output=True, text=True, check=True,
                             env={**os.environ, "LB_BENCH_DELAY_MS": str(delay_ms)}).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def pct(p: str) -> float:
        m = re.search(rf"{p}%\s+([\d.]+)(us|ms|s)\b", out)
        return float(m.group(1)) * unit[m.group(2)]
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "conns": conns,
            "p50": pct("50"), "p99": pct("99"), "errors": int(errs.group(1)) if errs else 0}


def median_run(runs: list[dict]) -> dict:
    """The run with the median p99 (its other figures come with it)."""
    return sorted(runs, key=lambda r: r["p99"])[len(runs) // 2]


def open_loop(host: str, port: int, rate: float, duration: float, conns: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--role", "load", "--host", host, "--port", str(port),
                          "--rate", str(rate), "--duration", str(duration), "--conns", str(conns)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def make_cert(d: str) -> None:
    from kubelite.lb.tls import self_signed
    cert, key = self_signed("bench.local", hosts=("bench.local",))
    open(os.path.join(d, "tls.crt"), "w").write(cert)
    open(os.path.join(d, "tls.key"), "w").write(key)


async def time_to_answer() -> tuple[float, float]:
    """(seconds from Ingress creation to a 200 through the LB, seconds from apply to a 200)."""
    import aiohttp

    from kubelite.client import InformerFactory
    from kubelite.controllers.base import ControllerContext
    from kubelite.controllers.ingress import IngressController
    from kubelite.lb import Forward, Listener, ListenerProtocol, LoadBalancer, LoadBalancerConfig, Target, TargetGroup
    from kubelite.testing.apiserver import InProcessAPIServer

    loop = asyncio.get_running_loop()
    srv = await loop.create_server(_Responder, "127.0.0.2", 0)
    bport = srv.sockets[0].getsockname()[1]

    async def until_200(url: str, host: str = "") -> None:
        async with aiohttp.ClientSession() as s:
            while True:
                try:
                    async with s.get(url, headers={"Host": host} if host else {}) as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.005)

    # a bare LoadBalancer: apply -> answering
    lb = LoadBalancer(LoadBalancerConfig("t", listeners=(Listener(ListenerProtocol.HTTP, 0, name="http"),)))
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(lb.run())
        await lb.wait_ready()
        t = time.perf_counter()
        await lb.apply(LoadBalancerConfig("t", listeners=(Listener(ListenerProtocol.HTTP, 0, Forward.to("tg"),
                                                                   name="http"),),
                                          target_groups=(TargetGroup("tg", targets=(Target("127.0.0.2", bport),)),)))
        await until_200(f"http://127.0.0.1:{lb.port('http')}/")
        apply_s = time.perf_counter() - t
        task.cancel()

    async with InProcessAPIServer() as api:
        c = api.client
        factory = InformerFactory(c)
        async def connect(t: Target):  # the EndpointSlice names 198.19.0.2 (pod range); it is 127.0.0.2 here
            return await asyncio.open_connection("127.0.0.2", t.port)
        ctl = IngressController(ControllerContext(c, factory, options={
            "ingress_bind_address": "127.0.0.1", "ingress_http_port": 0, "ingress_https_port": 0,
            "ingress_publish_address": "127.0.0.1", "ingress_connect": connect}))
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(factory.run()), tg.create_task(ctl.run())]
            await ctl.lb.wait_ready()
            port = ctl.lb.port("http")
            t = time.perf_counter()
            await c.create("services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                        "spec": {"ports": [{"name": "http", "port": 80}]}}, namespace="default")
            await c.create("endpointslices", {
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4", "ports": [{"name": "http", "port": bport, "protocol": "TCP"}],
                "endpoints": [{"addresses": ["198.19.0.2"], "conditions": {"ready": True}}]}, namespace="default")
            await c.create("ingresses", {
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
                "spec": {"ingressClassName": "kubelite", "rules": [{"host": "bench.local", "http": {"paths": [
                    {"path": "/", "pathType": "Prefix",
                     "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}, namespace="default")
            await until_200(f"http://127.0.0.1:{port}/", "bench.local")
            ingress_s = time.perf_counter() - t
            for x in tasks:
                x.cancel()
    srv.close()
    return ingress_s, apply_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--role")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--backend")
    ap.add_argument("--tls-dir")
    ap.add_argument("--url")
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.role:
        try:
            import uvloop
            uvloop.install()
        except ImportError:
            pass
        coro = {"backend": lambda: role_backend(a.host), "lb": lambda: role_lb(a.backend, a.tls_dir),
                "load": lambda: role_load(a.host, a.port, a.rate, a.duration, a.conns),
                "aioload": lambda: role_aioload(a.url, a.duration, a.conns)}[a.role]()
        asyncio.run(coro)
        return
    duration = 3.0 if a.quick else a.duration
    procs: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory(prefix="kubelite-lb-bench-") as d:
            make_cert(d)
            be, (bport,) = spawn("--role", "backend", "--host", "127.0.0.2")
            procs.append(be)
            lbp, (lport, sport) = spawn("--role", "lb", "--backend", f"127.0.0.2:{bport}", "--tls-dir", d)
            procs.append(lbp)
            print(f"load generator: {'wrk' if shutil.which('wrk') else 'aiohttp'}; {os.cpu_count()} cores; "
                  f"duration {duration:g}s per run; load average before: {os.getloadavg()[0]:.2f} "
                  f"(other work on the machine shows in the latency tails)")
            direct_url, lb_url = f"http://127.0.0.2:{bport}/", f"http://127.0.0.1:{lport}/"
            closed_loop(lb_url, 1, 20)  # warm up
            d_rps, d_p99 = closed_loop(direct_url, duration, 50)
            c0 = cpu_seconds(lbp.pid)
            t0 = time.perf_counter()
            l_rps, l_p99 = closed_loop(lb_url, duration, 50)
            busy = (cpu_seconds(lbp.pid) - c0) / (time.perf_counter() - t0)
            per_core = l_rps / busy if busy else float("nan")
            print("1. closed loop, 50 keep-alive connections")
            print(f"   direct to backend : {d_rps:10.0f} req/s  p99 {d_p99:6.2f} ms")
            print(f"   through the LB    : {l_rps:10.0f} req/s  p99 {l_p99:6.2f} ms   ratio {l_rps / d_rps:.3f}")
            print(f"   LB CPU            : {busy:.2f} cores busy -> {per_core:.0f} req/s per core "
                  f"(target >= 3000: {'ok' if per_core >= 3000 else 'MISSED'})")
            rate = max(100.0, l_rps / 2)
            rounds = 1 if a.quick else 3
            runs_d, runs_l = [], []
            for _ in range(rounds):  # interleaved, so that a burst of other work on the machine hits both
                runs_d.append(paced("127.0.0.2", int(bport), rate, duration))
                runs_l.append(paced("127.0.0.1", int(lport), rate, duration))
            od, ol = median_run(runs_d), median_run(runs_l)
            added = ol["p99"] - od["p99"]
            print(f"2. at half load ({rate:.0f} req/s asked, {ol['conns']} paced connections, median of {rounds})")
            print(f"   direct            : {od['rate']:6.0f} req/s  p50 {od['p50']:6.2f} ms  p99 {od['p99']:6.2f} ms  "
                  f"errors {od['errors']}")
            print(f"   through the LB    : {ol['rate']:6.0f} req/s  p50 {ol['p50']:6.2f} ms  p99 {ol['p99']:6.2f} ms  "
                  f"errors {ol['errors']}   ratio p99 {ol['p99'] / od['p99'] if od['p99'] else float('nan'):.2f}")
            if od["p99"] > 5 or added < 0:
                verdict = f"inconclusive: the direct baseline's own p99 is {od['p99']:.1f} ms, the machine is busy"
            else:
                verdict = "ok" if added < 5 else "MISSED"
            print(f"   added p50 / p99   : {ol['p50'] - od['p50']:6.2f} / {added:6.2f} ms (target p99 < 5 ms: {verdict})")
            h_rps, h_p99 = closed_loop(f"https://127.0.0.1:{sport}/", duration, 50)
            print(f"3. HTTPS at the LB (keep-alive): {h_rps:.0f} req/s  p99 {h_p99:.2f} ms   "
                  f"ratio to direct HTTP {h_rps / d_rps:.3f}")
    finally:
        for p in procs:
            p.kill()
            p.wait()
    ing, app = asyncio.run(time_to_answer())
    print(f"4. time to answer: Ingress created -> 200 through the LB {ing * 1000:.0f} ms; "
          f"LoadBalancer.apply -> 200 {app * 1000:.1f} ms (ratio {ing / app:.0f}x)")


if __name__ == "__main__":
    main()
