"""`Proxier`: informers in, nftables out (kube-proxy's nftables `Proxier` and its sync runner).

    proxier = Proxier(client, "node-1", netns="/run/netns/node-1")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(proxier.run())

- Watches Services and EndpointSlices (not headless, not for another proxy) and its own Node
  (for the node IPs NodePorts answer on).
- Every change marks the proxier dirty; syncs are rate limited like kube-proxy's
  `BoundedFrequencyRunner`: a burst of 2, then at most one per `min_sync_period`, and at least
  one per `sync_period` (a no-op when nothing changed). A full resync (rebuild everything) runs
  at start, every `full_sync_period`, and after a failed transaction; the rest are incremental.
- A sync renders the table purely (`render.render_service` fragments, cached per Service by the
  resourceVersions of the Service and its slices; in a worker thread, so that 1,000 Services do
  not stall the event loop), then hands it to the `Applier`. A failed
  transaction leaves the previous rules in place and is retried with exponential backoff.
- Programming latency: for every EndpointSlice change carrying
  `endpoints.kubernetes.io/last-change-trigger-time`, the time from that instant to the sync that
  applied it (kube-proxy's `network_programming_duration_seconds`).
- On stop, the table is deleted (unless `cleanup_on_stop=False`).
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import logging
import shutil
import time
from dataclasses import dataclass, field
from typing import Iterable

from ..client import Client, InformerFactory
from ..machinery.backoff import Backoff, TokenBucket
from ..machinery.clock import REAL_CLOCK, Clock
from ..machinery.timeutil import parse_time
from .conntrack import ConntrackCommand
from .nftables import Applier, NftablesApplier, NftCommand, netns_path
from .render import Fragment, RenderOptions, Ruleset, assemble, render_service
from .servicemap import PROXY_LABEL_SELECTOR, SERVICE_NAME_LABEL

log = logging.getLogger(__name__)

TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
SERVICE_INDEX = "service"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)


def index_by_service(slice_: dict) -> list[str]:
    meta = slice_.get("metadata") or {}
    name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{meta.get('namespace')}/{name}"] if name else []


def node_addresses(node: dict | None) -> list[str]:
    """The node's IPv4 addresses, InternalIP first (kube-proxy's primary node IP)."""
    if not node:
        return []
    addrs = (node.get("status") or {}).get("addresses") or []
    out = []
    for kind in ("InternalIP", "ExternalIP"):
        for a in addrs:
            ip = a.get("address") or ""
            if a.get("type") == kind and ip.count(".") == 3 and ip not in out:
                out.append(ip)
    return out


@dataclass
class Histogram:
    buckets: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    recent: collections.deque = field(default_factory=lambda: collections.deque(maxlen=10000))

    def observe(self, v: float) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.buckets) + 1)
        self.counts[bisect.bisect_left(self.buckets, v)] += 1
        self.total += v
        self.recent.append(v)

    @property
    def count(self) -> int:
        return sum(self.counts)

    def quantile(self, q: float) -> float | None:
        """The q-quantile of the recent observations (None when there are none)."""
        if not self.recent:
            return None
        xs = sorted(self.recent)
        return xs[min(len(xs) - 1, int(len(xs) * q))]

    def text(self, name: str) -> list[str]:
        out, cum = [], 0
        counts = self.counts or [0] * (len(self.buckets) + 1)
        for b, c in zip(self.buckets, counts):
            cum += c
            out.append(f'{name}_bucket{{le="{b}"}} {cum}')
        cum += counts[-1]
        out += [f'{name}_bucket{{le="+Inf"}} {cum}', f"{name}_sum {self.total:.6f}", f"{name}_count {cum}"]
        return out


@dataclass
class ProxierStatistics:
    syncs: int = 0
    full_syncs: int = 0
    failures: int = 0
    last_sync: float = 0.0               # monotonic time of the last successful sync
    sync_duration: Histogram = field(default_factory=Histogram)
    programming_latency: Histogram = field(default_factory=Histogram)


class Proxier:
    def __init__(self, client: Client, node_name: str, *, applier: Applier | None = None,
                 netns: str | None = None, options: RenderOptions = RenderOptions(),
                 node_ips: Iterable[str] | None = None, min_sync_period: float = 1.0, sync_period: float = 30.0,
                 full_sync_period: float = 3600.0, informers: InformerFactory | None = None,
                 clock: Clock = REAL_CLOCK, cleanup_on_stop: bool = True) -> None:
        self.client = client
        self.node_name = node_name
        self.options = options
        self.min_sync_period = min_sync_period
        self.sync_period = sync_period
        self.full_sync_period = full_sync_period
        self.cleanup_on_stop = cleanup_on_stop
        self.clock = clock
        if applier is None:
            conntrack = ConntrackCommand(netns_path(netns)) if shutil.which("conntrack") else None
            if conntrack is None:
                log.warning("conntrack is not installed: stale UDP flows will not be cleared")
            applier = NftablesApplier(NftCommand(netns), table=options.table, conntrack=conntrack, clock=clock)
        self.applier = applier
        self.stats = ProxierStatistics()
        self._fixed_node_ips = list(node_ips) if node_ips is not None else None
        self._node: dict | None = None
        self._factory = informers
        self._dirty = asyncio.Event()
        self._synced = asyncio.Event()
        self._cache: dict[str, tuple[tuple, list[Fragment]]] = {}
        self._pending_triggers: list[float] = []     # wall-clock trigger times not yet applied
        self._last_full: float | None = None
        self._backoff = Backoff(max(min_sync_period, 0.1), max(sync_period, 1.0), jitter=0.1, clock=clock)
        self._retry_at: float | None = None
        self.ruleset: Ruleset | None = None

    # -- informers --------------------------------------------------------------------------

    def _mark_dirty(self, *_: object) -> None:
        self._dirty.set()

    def _on_slice(self, old: dict | None, new: dict | None) -> None:
        if new is not None:
            t = ((new.get("metadata") or {}).get("annotations") or {}).get(TRIGGER_TIME_ANNOTATION)
            old_t = (((old or {}).get("metadata") or {}).get("annotations") or {}).get(TRIGGER_TIME_ANNOTATION)
            if t and t != old_t:
                ts = parse_time(t)
                if ts is not None:
                    self._pending_triggers.append(ts.timestamp())
        self._dirty.set()

    def _on_node(self, node: dict | None) -> None:
        self._node = node
        self._dirty.set()

    @property
    def node_ips(self) -> list[str]:
        return self._fixed_node_ips if self._fixed_node_ips is not None else node_addresses(self._node)

    async def wait_synced(self) -> None:
        """Wait until the first sync has been applied."""
        await self._synced.wait()

    # -- run ----------------------------------------------------------------------------------

    async def run(self) -> None:
        factory = self._factory or InformerFactory(self.client)
        services = factory.informer_for("services", label_selector=PROXY_LABEL_SELECTOR)
        slices = factory.informer_for("endpointslices", label_selector=PROXY_LABEL_SELECTOR,
                                      indexers={SERVICE_INDEX: index_by_service})
        nodes = factory.informer_for("nodes", field_selector=f"metadata.name={self.node_name}")
        regs = [
            (services, services.add_event_handler(self._mark_dirty, self._mark_dirty, self._mark_dirty)),
            (slices, slices.add_event_handler(lambda o: self._on_slice(None, o), self._on_slice,
                                              lambda o: self._on_slice(o, None))),
            (nodes, nodes.add_event_handler(self._on_node, lambda _, n: self._on_node(n),
                                            lambda _: self._on_node(None))),
        ]
        self._services, self._slices = services, slices
        try:
            async with asyncio.TaskGroup() as tg:
                if self._factory is None:
                    tg.create_task(factory.run())
                for inf in (services, slices, nodes):
                    await inf.wait_for_cache_sync()
                self._dirty.set()
                await self._loop()
        finally:
            for inf, reg in regs:
                inf.remove_event_handler(reg)
            if self.cleanup_on_stop:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.applier.cleanup())

    async def _loop(self) -> None:
        bucket = TokenBucket(1.0 / self.min_sync_period, 2, clock=self.clock) if self.min_sync_period > 0 else None
        while True:
            now = self.clock.monotonic()
            deadlines = [self.stats.last_sync + self.sync_period] if self.stats.syncs else []
            if self._retry_at is not None:
                deadlines.append(self._retry_at)
            stale = self.applier.stale_deadline()
            if stale is not None:
                deadlines.append(stale)
            if not self._dirty.is_set():
                timeout = max(0.0, min(deadlines) - now) if deadlines else None
                await self._wait_dirty(timeout)
            now = self.clock.monotonic()
            stale = self.applier.stale_deadline()
            if stale is not None and stale <= now:
                await self.applier.delete_stale_chains()
            due = self._dirty.is_set() or (self._retry_at is not None and self._retry_at <= now) or \
                (self.stats.syncs and now >= self.stats.last_sync + self.sync_period)
            if not due:
                continue
            if self._retry_at is not None and self._retry_at > now:
                await self._wait_dirty(self._retry_at - now, ignore_dirty=True)
            if bucket is not None:
                await bucket.wait()
            self._dirty.clear()
            await self.sync()

    async def _wait_dirty(self, timeout: float | None, ignore_dirty: bool = False) -> None:
        if timeout is None:
            await self._dirty.wait()
            return
        timer = self.clock.after(timeout)
        waiter = asyncio.ensure_future(self._dirty.wait()) if not ignore_dirty else None
        try:
            await asyncio.wait([f for f in (timer, waiter) if f is not None], return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if waiter is not None:
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter

    # -- sync ---------------------------------------------------------------------------------

    def _snapshot(self) -> list[tuple[str, dict, list[dict]]]:
        """Each Service with its slices, from the informer caches (cheap; on the event loop)."""
        out = []
        for svc in self._services.indexer.list():
            meta = svc.get("metadata") or {}
            key = f"{meta.get('namespace')}/{meta.get('name')}"
            out.append((key, svc, self._slices.indexer.by_index(SERVICE_INDEX, key)))
        return out

    def _render(self, snapshot: list[tuple[str, dict, list[dict]]], node_ips: tuple[str, ...]) -> Ruleset:
        """Render the table (pure; fragments cached per Service by resourceVersions). Runs in a
        worker thread: only syncs, which never overlap, touch the cache."""
        fragments: list[Fragment] = []
        seen = set()
        for key, svc, slices in snapshot:
            meta = svc.get("metadata") or {}
            seen.add(key)
            version = (meta.get("resourceVersion"), meta.get("uid"), node_ips,
                       tuple(sorted(((s["metadata"].get("name"), s["metadata"].get("resourceVersion"))
                                     for s in slices))))
            cached = self._cache.get(key)
            if cached is None or cached[0] != version:
                cached = (version, render_service(svc, slices, self.node_name, node_ips, self.options))
                self._cache[key] = cached
            fragments += cached[1]
        for key in [k for k in self._cache if k not in seen]:
            del self._cache[key]
        return assemble(fragments, node_ips, self.options)

    def build_ruleset(self) -> Ruleset:
        """Render the table from the informer caches, on the calling thread."""
        return self._render(self._snapshot(), tuple(self.node_ips))

    async def sync(self) -> bool:
        """Render and apply once; False (and a scheduled retry) if the transaction failed."""
        start = self.clock.monotonic()
        triggers, self._pending_triggers = self._pending_triggers, []
        ruleset = await asyncio.to_thread(self._render, self._snapshot(), tuple(self.node_ips))
        full = self._last_full is None or start - self._last_full >= self.full_sync_period
        try:
            tx = await self.applier.apply(ruleset, full=full)
        except Exception as e:
            self.stats.failures += 1
            self._pending_triggers = triggers + self._pending_triggers
            delay = self._backoff.next()
            self._retry_at = self.clock.monotonic() + delay
            log.error("nftables sync failed (retrying in %.1fs): %s", delay, e)
            return False
        end = self.clock.monotonic()
        self._backoff.reset()
        self._retry_at = None
        self.ruleset = ruleset
        self.stats.syncs += 1
        self.stats.last_sync = end
        if tx.full:
            self.stats.full_syncs += 1
            self._last_full = start
        self.stats.sync_duration.observe(end - start)
        wall = time.time() if self.clock is REAL_CLOCK else self.clock.now().timestamp()
        for t in triggers:
            self.stats.programming_latency.observe(max(0.0, wall - t))
        self._synced.set()
        log.debug("synced %s (%d commands, %d chains) in %.3fs", "fully" if tx.full else "incrementally",
                  tx.commands, ruleset.chain_count(), end - start)
        return True

    def metrics_text(self) -> str:
        """Prometheus text for the proxier's metrics (kube-proxy's names)."""
        out = ["# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram",
               *self.stats.sync_duration.text("kubeproxy_sync_proxy_rules_duration_seconds"),
               "# TYPE kubeproxy_network_programming_duration_seconds histogram",
               *self.stats.programming_latency.text("kubeproxy_network_programming_duration_seconds"),
               "# TYPE kubeproxy_sync_proxy_rules_iptables_restore_failures_total counter",
               f"kubeproxy_sync_proxy_rules_iptables_restore_failures_total {self.stats.failures}"]
        return "\n".join(out) + "\n"
