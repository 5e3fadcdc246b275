"""`LoadBalancer`: one load balancer instance, configured as a whole and reconfigured live.

    lb = LoadBalancer(config)                  # a LoadBalancerConfig (see `model`)
    tg.create_task(lb.run())                   # binds the listeners, probes, drains; until cancelled
    await lb.wait_ready()
    await lb.apply(new_config)                 # listeners bound/closed, rules swapped, targets diffed
    lb.snapshot()                              # LoadBalancerState: listeners, target health, counters
    lb.describe_target_health("tg")            # DescribeTargetHealth rows

`apply` is all or nothing for what can fail (certificates, binding new ports): on an error the
previous configuration keeps running and the error is raised. Targets removed from a group
drain: no new requests, in-flight ones finish, the idle pooled connections to them are closed,
and whatever is left when the deregistration delay ends is cut.

The seams: `listen(address, port) -> socket` makes listening sockets (the cloud layer can make
them inside a network namespace), `connect(target)` opens target connections, `prober`
probes health.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Callable

from .health import ProbeResult
from .httpproxy import HTTPListener
from .metrics import ListenerStatus, LoadBalancerState, TargetGroupStatus
from .model import Listener, LoadBalancerConfig, Target, check
from .pool import READ_LIMIT, Connector, UpstreamPool, open_tcp
from .prober import NetworkProber, Prober
from .runtime import AccessLog, Runtime
from .targets import TargetEntry, TargetGroupState, TargetHealthDescription
from .tcpproxy import TCPListener
from .tls import SNIFront, TLSContexts, build_contexts

log = logging.getLogger(__name__)

ListenSocket = Callable[[str, int], socket.socket]


def listen_tcp(address: str, port: int) -> socket.socket:
    """A bound TCP socket (the server starts listening on it)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class _Bound:
    listener: Listener
    handler: HTTPListener | TCPListener
    server: asyncio.Server
    front: SNIFront | None


class LoadBalancer:
    def __init__(self, config: LoadBalancerConfig, *, prober: Prober | None = None, connect: Connector = open_tcp,
                 listen: ListenSocket = listen_tcp, access_log: AccessLog | None = None,
                 shutdown_grace: float = 2.0) -> None:
        self.config = check(config)
        self.rt = Runtime(pool=UpstreamPool(connect=connect, max_idle_per_target=config.max_idle_per_target,
                                            idle_timeout=config.timeouts.pool_idle),
                          timeouts=config.timeouts, access_log=access_log)
        self.prober = prober or NetworkProber(connect)
        self.shutdown_grace = shutdown_grace
        self._listen = listen
        self._bound: dict[str, _Bound] = {}
        self._unbound: list[HTTPListener | TCPListener] = []  # removed listeners finishing requests
        self._tls_cache: dict[str, ssl.SSLContext] = {}
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tg: asyncio.TaskGroup | None = None
        self.rt.wake = self._wake.set
        self.state = "provisioning"
        self.reason = ""

    @property
    def name(self) -> str:
        return self.config.name

    # ----- life ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until cancelled; raises (as is, e.g. OSError) if the first configuration cannot
        be applied."""
        try:
            async with self._lock:
                await self._reconcile(self.config)
                self.state, self.reason = "active", ""
        except BaseException as e:
            self.state, self.reason = "failed", str(e) or type(e).__name__
            self._ready.set()
            raise
        self._ready.set()
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                await self._maintain()
        finally:
            self._tg = None
            await self._shutdown()

    async def wait_ready(self) -> None:
        await self._ready.wait()
        if self.state == "failed":
            raise RuntimeError(f"load balancer {self.name} failed: {self.reason}")

    async def apply(self, config: LoadBalancerConfig) -> None:
        check(config)
        async with self._lock:
            if self.state != "active":
                self.config = config  # applied when `run` starts
                return
            await self._reconcile(config)

    async def register_targets(self, target_group: str, targets: list[Target]) -> None:
        tg = self.config.target_group(target_group)
        if tg is None:
            raise KeyError(target_group)
        have = list(tg.targets)
        await self.apply(self.config.with_targets(target_group, tuple(have + [t for t in targets if t not in have])))

    async def deregister_targets(self, target_group: str, targets: list[Target]) -> None:
        tg = self.config.target_group(target_group)
        if tg is None:
            raise KeyError(target_group)
        gone = set(targets)
        await self.apply(self.config.with_targets(target_group, tuple(t for t in tg.targets if t not in gone)))

    # ----- reading -------------------------------------------------------------------------

    def port(self, listener_key: str) -> int:
        """The port a listener is bound to (the chosen one when it was configured as 0)."""
        return self._bound[listener_key].handler.bound_port

    def snapshot(self) -> LoadBalancerState:
        listeners = tuple(ListenerStatus(b.listener.key, b.listener.protocol.value, self.config.address,
                                         b.handler.bound_port, len(b.handler.connections))
                          for b in self._bound.values())
        groups = tuple(TargetGroupStatus(g.name, tuple(g.describe()), g.counts()) for g in self.rt.groups.values())
        return LoadBalancerState(self.name, self.state, self.reason, listeners, groups, self.rt.metrics.as_dict())

    def describe_target_health(self, target_group: str,
                               targets: list[Target] | None = None) -> list[TargetHealthDescription]:
        g = self.rt.groups.get(target_group)
        if g is None:
            raise KeyError(target_group)
        rows = g.describe()
        if targets is None:
            return rows
        by_target = {r.target: r for r in rows}
        return [by_target.get(t) or TargetHealthDescription(t, g.health_check_port(t), "unused", "Target.NotRegistered",
                                                            "Target is not registered to the target group", 0, 0)
                for t in targets]

    # ----- reconciling ---------------------------------------------------------------------

    async def _reconcile(self, cfg: LoadBalancerConfig) -> None:
        rt = self.rt
        # 1. what can fail, before anything changes: certificates, then new sockets
        tls: dict[str, TLSContexts] = {}
        for lst in cfg.listeners:
            if lst.protocol.terminates_tls:
                tls[lst.key] = await asyncio.to_thread(build_contexts, lst.certificates, dict(self._tls_cache))
        stale = [k for k, b in self._bound.items()
                 if not any(lst.key == k and lst.protocol is b.listener.protocol and lst.port == b.listener.port
                            for lst in cfg.listeners) or cfg.address != self.config.address]
        for key in stale:
            self._unbind(key)
        fresh: list[str] = []
        try:
            for lst in cfg.listeners:
                if lst.key not in self._bound:
                    await self._bind(cfg.address, lst, tls.get(lst.key))
                    fresh.append(lst.key)
        except BaseException:
            for key in fresh:
                self._unbind(key)
            raise
        # 2. commit
        self._tls_cache = {fp: ctx for t in tls.values() for fp, ctx in t.by_fingerprint.items()}
        now = rt.now()
        rt.timeouts = cfg.timeouts
        rt.pool.idle_timeout = cfg.timeouts.pool_idle
        rt.pool.max_idle = cfg.max_idle_per_target
        wanted = {tg.name for tg in cfg.target_groups}
        for tg in cfg.target_groups:
            state = rt.groups.get(tg.name)
            if state is None:
                rt.groups[tg.name] = TargetGroupState(tg, now)
                continue
            changes = state.update(tg, now)
            for t in changes.removed + changes.draining:
                rt.pool.close_idle(t)
        for name in [n for n in rt.groups if n not in wanted]:
            state = rt.groups.pop(name)
            changes = state.deregister_all(now)
            for t in changes.removed + changes.draining:
                rt.pool.close_idle(t)
            if state.entries:
                rt.retired.append(state)
        rt.reset_choosers()
        for lst in cfg.listeners:
            b = self._bound[lst.key]
            b.listener = lst
            b.handler.update(lst)
            if b.front is not None:
                b.front.update(tls[lst.key])
        self.config = cfg
        self._wake.set()

    async def _bind(self, address: str, lst: Listener, tls: TLSContexts | None) -> None:
        sock = self._listen(address, lst.port)
        try:
            handler: HTTPListener | TCPListener = HTTPListener(self.rt, lst) if lst.protocol.is_l7 \
                else TCPListener(self.rt, lst)
            front = await asyncio.to_thread(SNIFront, tls) if tls is not None else None
            server = await asyncio.start_server(handler.handle, sock=sock, limit=READ_LIMIT, backlog=1024,
                                                ssl=front.context if front else None,
                                                ssl_handshake_timeout=10.0 if front else None)
        except BaseException:
            sock.close()
            raise
        handler.bound_port = sock.getsockname()[1]
        self._bound[lst.key] = _Bound(lst, handler, server, front)
        log.info("load balancer %s: %s listener on %s:%d", self.name, lst.protocol.value, address, handler.bound_port)

    def _unbind(self, key: str) -> None:
        b = self._bound.pop(key)
        b.server.close()
        b.handler.close_idle()
        self._unbound = [h for h in self._unbound if h.connections]
        self._unbound.append(b.handler)

    # ----- background ----------------------------------------------------------------------

    async def _maintain(self) -> None:
        """Health probes, the end of deregistration delays and idle pooled connections."""
        rt = self.rt
        assert self._tg is not None
        while True:
            now = rt.now()
            nxt = now + 1.0
            for g in [*rt.groups.values(), *rt.retired]:
                for t in g.expire(now):
                    rt.pool.close_idle(t)
                    if rt.pool.abort_active(t):
                        log.info("load balancer %s: deregistration delay of %s over, connections cut", self.name,
                                 t.id)
                for e in g.due_probes(now):
                    self._tg.create_task(self._probe(g, e))
                d = g.next_deadline()
                if d is not None:
                    nxt = min(nxt, d)
            rt.retired = [g for g in rt.retired if g.entries]
            rt.pool.expire_idle(now)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, nxt - now)):
                    await self._wake.wait()

    async def _probe(self, g: TargetGroupState, e: TargetEntry) -> None:
        hc = g.config.health_check
        try:
            result = await self.prober.probe(e.target, g.health_check_port(e.target), hc)
        except Exception as ex:  # noqa: BLE001 - a broken probe is a failed check
            result = ProbeResult.failed(str(ex))
        if g.observe(e.target, result):
            log.info("load balancer %s: target %s in %s is %s %s", self.name, e.target.id, g.name,
                     e.health.state.value, e.health.reason)
        self._wake.set()

    async def _shutdown(self) -> None:
        async with self._lock:  # no reconcile half done; from now on `apply` only records
            self.state = "provisioning"
            self._ready.clear()
            handlers = [b.handler for b in self._bound.values()] + self._unbound
            for b in self._bound.values():
                b.server.close()
            self._bound.clear()
            self._unbound.clear()
        for h in handlers:
            h.close_idle()
        tasks = [t for h in handlers for t in h.connections]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.shutdown_grace)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        self.rt.pool.close_all()
