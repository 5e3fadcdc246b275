"""Scheduler throughput benchmark with hollow nodes against an in-process API server.

Each run starts a fresh in-process API server (memory storage), registers hollow nodes, starts
the scheduler, then creates pods from 16 concurrent creators while the scheduler runs (as
scheduler_perf's SchedulingBasic does). Printed per run:

- throughput: pods / (last pod bound - first create sent), pods/s;
- latency create -> bound (create request sent -> the API server accepted the pod's binding),
  p50 and p99; under saturation this is mostly queueing, so the 1,000-node run then creates
  pods one at a time at 100/s (CL2 style) and reports that latency too;
- where the time goes: the scheduler's decision per pod (filter/score, wall time, no I/O), the
  mean `pods/binding` round trip, the CPU time of the whole process per pod (API server, hollow
  nodes, informers and scheduler share one event loop and one core), and, at 100 nodes, the
  API server's own cost per pod (create + bind + event, measured alone on the same server):
  the ceiling no scheduler in this process can beat.

The baseline is the same workload at 100 nodes, measured in the same run; the headline is the
1,000-node run and its ratio to that baseline. Target: >= 300 pods/s at 1,000 nodes.

Hollow nodes register and renew their Leases (every 10 s) but, as in scheduler_perf, do not
mark pods Running unless `--run-pods` is given. The machine's load average is printed: other
processes on the 2 cores skew wall-clock figures; CPU per pod is the steadier one.

Usage: python bench/scheduler.py [--quick] [--pods N] [--nodes N] [--run-pods] [--profile FILE]
                                 [--gc-threshold N]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import logging
import os
import platform
import resource
import statistics
import sys
import time
from types import SimpleNamespace

from kubelite.client import Client
from kubelite.machinery.errors import StatusError, is_already_exists
from kubelite.scheduler import Scheduler
from kubelite.testing.apiserver import InProcessAPIServer
from kubelite.testing.hollow import HollowCluster

NAMESPACE = "bench"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model or platform.processor()}, kernel {platform.release()}, " \
           f"Python {platform.python_version()}"


def pod(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"pod-{i}", "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


async def ensure(client, resource: str, body: dict, namespace: str | None = None) -> None:
    try:
        await client.create(resource, body, namespace)
    except StatusError as e:
        if not is_already_exists(e):
            raise


def core_run(n_nodes: int, n_pods: int) -> float:
    """The scheduler's decisions alone (no API server, no I/O): pods/s of CPU time, placing each
    pod in the cache as the scheduler does after choosing its node."""
    from kubelite.scheduler.framework import PodInfo
    from kubelite.scheduler.testing import Harness, make_node

    h = Harness([make_node(f"n{i}", zone=f"zone-{i % 3}") for i in range(n_nodes)])
    pods = []
    for i in range(n_pods):
        body = pod(i)
        body["metadata"].update(namespace=NAMESPACE, uid=f"core-{i}")
        pods.append(PodInfo(body))
    t = time.process_time()
    for pi in pods:
        h.bind(pi)
    return n_pods / (time.process_time() - t)


async def api_floor(c, n: int = 300) -> dict:
    """Per-pod API work the scheduler cannot avoid, measured alone on the same server: create the
    pod, bind it, write its Scheduled event (pods for another scheduler, bound by hand)."""
    out = {}
    names = [f"floor-{i}" for i in range(n)]
    t = time.process_time()
    for name in names:
        body = pod(0)
        body["metadata"]["name"] = name
        body["spec"]["schedulerName"] = "nobody"
        await c.create("pods", body, NAMESPACE)
    out["create"] = (time.process_time() - t) * 1000 / n
    t = time.process_time()
    for name in names:
        await c.create_subresource("pods", name, "binding", {"apiVersion": "v1", "kind": "Binding",
                                   "metadata": {"name": name}, "target": {"kind": "Node", "name": "hollow-0"}},
                                   NAMESPACE)
    out["bind"] = (time.process_time() - t) * 1000 / n
    t = time.process_time()
    for name in names:
        await c.create("events", {"metadata": {"name": f"{name}.1"}, "involvedObject": {
            "kind": "Pod", "namespace": NAMESPACE, "name": name}, "reason": "Scheduled",
            "message": f"Successfully assigned {NAMESPACE}/{name} to hollow-0", "type": "Normal",
            "source": {"component": "default-scheduler"}}, NAMESPACE)
    out["event"] = (time.process_time() - t) * 1000 / n
    for name in names:
        await c.delete("pods", name, NAMESPACE, grace_period_seconds=0)
    return out


async def one_run(n_nodes: int, n_pods: int, *, run_pods: bool, profile: cProfile.Profile | None,
                  paced: int = 0, rate: float = 100.0, measure_floor: bool = False) -> dict:
    async with InProcessAPIServer() as api:
        c = api.client
        await ensure(c, "namespaces", {"metadata": {"name": NAMESPACE}})
        await ensure(c, "serviceaccounts", {"metadata": {"name": "default"}}, NAMESPACE)
        cluster = HollowCluster(c, n_nodes, zones=3, run_pods=run_pods, pods=max(110, n_pods // n_nodes + 10))
        created: dict[str, float] = {}
        bound: dict[str, float] = {}
        done = asyncio.Event()

        class BindTimingClient(Client):
            """The scheduler's client: notes when each binding is accepted (the pod is bound)."""

            async def create_subresource(self, resource, name, subresource, body, namespace=None):
                out = await super().create_subresource(resource, name, subresource, body, namespace)
                if subresource == "binding" and name not in bound:
                    bound[name] = time.perf_counter()
                    if len(bound) >= n_pods:
                        done.set()
                return out

        scheduler = Scheduler(BindTimingClient(c.transport))
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(cluster.run())]
            await cluster.wait_ready()
            tasks.append(tg.create_task(scheduler.run()))
            await scheduler.wait_ready()
            floor = {}
            if measure_floor:
                floor = await api_floor(c)
                while scheduler.cache.pod_count():
                    await asyncio.sleep(0.05)
            gc.collect()
            gc.freeze()
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            stats0 = dict(scheduler.stats.__dict__)
            sem = asyncio.Semaphore(16)

            async def create(i: int) -> None:
                async with sem:
                    created[f"pod-{i}"] = time.perf_counter()
                    await c.create("pods", pod(i), NAMESPACE)

            if profile is not None:
                profile.enable()
            t0 = time.perf_counter()
            await asyncio.gather(*(create(i) for i in range(n_pods)))
            t_created = time.perf_counter()
            await asyncio.wait_for(done.wait(), timeout=max(120.0, n_pods / 20))
            t1 = max(bound.values())
            if profile is not None:
                profile.disable()
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            stats1 = dict(scheduler.stats.__dict__)
            paced_lat: list[float] = []
            if paced:
                # Latency without a backlog: pods created one by one at a steady rate (CL2 style).
                done.clear()
                n_pods = n_pods + paced
                for i in range(n_pods - paced, n_pods):
                    created[f"pod-{i}"] = time.perf_counter()
                    await c.create("pods", pod(i), NAMESPACE)
                    await asyncio.sleep(1 / rate)
                await asyncio.wait_for(done.wait(), timeout=60)
                paced_lat = [(bound[f"pod-{i}"] - created[f"pod-{i}"]) * 1000 for i in range(n_pods - paced, n_pods)]
            gc.unfreeze()
            for t in tasks:
                t.cancel()
        st = SimpleNamespace(**stats1)
        lat = [(bound[k] - created[k]) * 1000 for k in created if k in bound][:len(created) - paced]
        attempts = st.attempts - stats0["attempts"]
        n_pods -= paced
        return {
            "floor": floor, "events_dropped": scheduler.recorder.dropped,
            "paced": paced, "rate": rate, "paced_p50": statistics.median(paced_lat) if paced_lat else 0.0,
            "paced_p99": pct(paced_lat, 0.99),
            "nodes": n_nodes, "pods": n_pods, "throughput": n_pods / (t1 - t0), "create_rate": n_pods / (t_created - t0),
            "p50": statistics.median(lat), "p99": pct(lat, 0.99), "wall": t1 - t0,
            "cycle_ms": (st.cycle_seconds - stats0["cycle_seconds"]) * 1000 / max(1, attempts),
            "bind_ms": (st.bind_seconds - stats0["bind_seconds"]) * 1000 / max(1, st.binds - stats0["binds"]),
            "bind_share": (st.bind_seconds - stats0["bind_seconds"]) / (t1 - t0),
            "cpu": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
            "attempts": attempts, "scheduled": st.scheduled - stats0["scheduled"],
        }


def report(r: dict, baseline: dict | None) -> None:
    ratio = f"   ratio to 100-node baseline {r['throughput'] / baseline['throughput']:.2f}" if baseline else ""
    print(f"{r['pods']:>6} pods on {r['nodes']:>5} nodes: {r['throughput']:7.1f} pods/s{ratio}")
    print(f"      create->bound p50 {r['p50']:8.1f} ms   p99 {r['p99']:8.1f} ms   (creates sent at {r['create_rate']:.0f}/s)")
    per_pod_cpu = r["cpu"] * 1000 / r["pods"]
    print(f"      per pod: decision {r['cycle_ms']:.3f} ms, binding round trip {r['bind_ms']:.2f} ms (mean), "
          f"process CPU {per_pod_cpu:.2f} ms ({r['cpu'] / r['wall'] * 100:.0f}% of one core over {r['wall']:.1f} s)")
    print(f"      scheduling attempts {r['attempts']}, bound by the scheduler {r['scheduled']}")
    if r["events_dropped"]:
        print(f"      events dropped by the recorder (queue full): {r['events_dropped']}")
    if r["floor"]:
        f = r["floor"]
        per_pod = f["create"] + f["bind"] + f["event"]
        print(f"      API server alone, CPU per pod: create {f['create']:.2f} ms + bind {f['bind']:.2f} ms + Scheduled "
              f"event {f['event']:.2f} ms = {per_pod:.2f} ms -> at most {1000 / per_pod:.0f} pods/s on one core "
              f"with no scheduling at all")
    if r["paced"]:
        print(f"      then {r['paced']} pods created at {r['rate']:.0f}/s: create->bound p50 {r['paced_p50']:.1f} ms, "
              f"p99 {r['paced_p99']:.1f} ms")


async def main(args: argparse.Namespace) -> None:
    if args.gc_threshold < 0:
        gc.disable()
    elif args.gc_threshold:
        gc.set_threshold(args.gc_threshold, 50, 100)
    n_pods = args.pods or (2000 if args.quick else 10_000)
    print(f"machine: {machine()}; load average at start {os.getloadavg()[0]:.2f}")
    print(f"workload: {n_pods} pods (10m cpu, 16Mi each), hollow nodes 4 cpu / 8Gi in 3 zones, "
          f"run_pods={args.run_pods}, default profile, adaptive percentageOfNodesToScore")
    c100, c1000 = core_run(100, n_pods), core_run(args.nodes, n_pods)
    print(f"scheduler core alone (decisions on the cache, no API): {c100:.0f} pods/s at 100 nodes, "
          f"{c1000:.0f} pods/s at {args.nodes} nodes (ratio {c1000 / c100:.2f})")
    baseline = await one_run(100, n_pods, run_pods=args.run_pods, profile=None, measure_floor=True)
    report(baseline, None)
    prof = cProfile.Profile() if args.profile else None
    r = await one_run(args.nodes, n_pods, run_pods=args.run_pods, profile=prof,
                      paced=300 if args.quick else 1000, rate=100.0)
    report(r, baseline)
    target = "met" if r["throughput"] >= 300 else "NOT met"
    print(f"target >= 300 pods/s at {args.nodes} nodes: {target}")
    if prof is not None:
        prof.dump_stats(args.profile)
        print(f"profile written to {args.profile}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="2,000 pods instead of 10,000")
    ap.add_argument("--pods", type=int, default=0)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--run-pods", action="store_true", help="hollow nodes mark bound pods Running")
    ap.add_argument("--profile", default="", help="cProfile the 1,000-node run into this file")
    ap.add_argument("--gc-threshold", type=int, default=0, help="gc.set_threshold(N, 50, 100) (0: Python's default, -1: no cyclic GC)")
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)     # connections cut at shutdown
    asyncio.run(main(ap.parse_args()))
    sys.exit(0)
