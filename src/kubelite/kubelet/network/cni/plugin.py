"""`CNINetworkPlugin`: pinned netns per pod, then loopback, then the node's network list.

Rules kept (CNI SPEC/CONVENTIONS): ADD runs the list in order, each plugin getting the previous
result; DEL runs in reverse with the final ADD result and always follows an ADD, even a failed
one; CHECK runs in order with the final result. Never two operations on one pod at once. The
config, args and result are cached on disk before and after ADD, so a restarted agent can DEL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..interface import NetworkError, NetworkStatus, PodNetworkRequest, PodNetworkStatus
from . import config as cni
from .cache import ResultCache
from .invoke import Invoker
from .netns import NetnsPins

log = logging.getLogger(__name__)


@dataclass
class CNIOptions:
    conflist: dict[str, Any]  # the node's network (see `config.node_conflist`)
    cache_dir: Path  # per node: result cache
    plugin_dirs: list[str] = field(default_factory=lambda: ["/usr/lib/cni", "/opt/cni/bin"])
    netns_dir: Path = Path("/var/run/netns")
    netns_prefix: str = "cni"
    node_netns: str = ""  # run plugins inside this netns ("" = the agent's own)
    ifname: str = "eth0"
    timeout: float = 30.0


class CNINetworkPlugin:
    def __init__(self, options: CNIOptions):
        errs = cni.validate_conflist(options.conflist)
        if errs:
            raise ValueError("invalid CNI conflist: " + "; ".join(errs))
        self.options = options
        self.conflist = options.conflist
        self.cache = ResultCache(options.cache_dir)
        self.netns = NetnsPins(options.netns_dir)
        self.invoke = Invoker(list(options.plugin_dirs), options.node_netns, options.timeout)
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def _lock(self, sandbox_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(sandbox_id, asyncio.Lock())
        async with lock:
            yield
        if not lock.locked() and self._locks.get(sandbox_id) is lock:
            del self._locks[sandbox_id]

    def netns_name(self, sandbox_id: str) -> str:
        return f"{self.options.netns_prefix}-{sandbox_id}"

    def _lists(self) -> list[tuple[dict[str, Any], str]]:
        """(conflist, ifname) in ADD order."""
        return [(cni.LOOPBACK_CONFLIST, "lo"), (self.conflist, self.options.ifname)]

    # --- ADD -------------------------------------------------------------------------------
    async def setup_pod(self, request: PodNetworkRequest) -> PodNetworkStatus:
        async with self._lock(request.sandbox_id):
            name = self.netns_name(request.sandbox_id)
            cached = await self.cache.load(self.conflist["name"], request.sandbox_id, self.options.ifname)
            if cached and cached.get("result") is not None and await self.netns.exists(name):
                return self._status(cached["result"], cached["netns"])
            try:
                netns = await self.netns.ensure(name)
                result: dict[str, Any] | None = None
                for conflist, ifname in self._lists():
                    result = await self._add_list(conflist, request, netns, ifname)
            except BaseException as e:
                try:
                    await asyncio.shield(self._teardown(request))
                except Exception as cleanup:
                    log.warning("pod %s: teardown after failed ADD: %s", request.sandbox_id, cleanup)
                if isinstance(e, NetworkError) or not isinstance(e, Exception):
                    raise
                raise NetworkError(f"setting up pod network failed: {e}") from e
            return self._status(result, netns)

    def _status(self, result: dict[str, Any] | None, netns: str) -> PodNetworkStatus:
        ips = cni.pod_ips(result, self.options.ifname)
        return PodNetworkStatus(ip=ips[0] if ips else "", ips=ips, netns=netns)

    async def _add_list(
        self, conflist: dict[str, Any], request: PodNetworkRequest, netns: str, ifname: str
    ) -> dict[str, Any] | None:
        args = cni.cni_args(request)
        caps = cni.capability_args(request)
        cache_key = dict(network=conflist["name"], container_id=request.sandbox_id, ifname=ifname)
        # Cached before ADD too, so that a crash in the middle still leaves enough for DEL.
        await self.cache.save(**cache_key, config=conflist, cni_args=args, capability_args=caps,
                              netns=netns, result=None)
        prev = None
        for plugin in conflist["plugins"]:
            req = cni.plugin_request(conflist, plugin, prev_result=prev, capabilities=caps)
            prev = await self.invoke("ADD", req, container_id=request.sandbox_id, netns=netns,
                                     ifname=ifname, args=cni.format_cni_args(args))
        await self.cache.save(**cache_key, config=conflist, cni_args=args, capability_args=caps,
                              netns=netns, result=prev)
        return prev

    # --- DEL -------------------------------------------------------------------------------
    async def teardown_pod(self, request: PodNetworkRequest) -> None:
        async with self._lock(request.sandbox_id):
            await self._teardown(request)

    async def _teardown(self, request: PodNetworkRequest) -> None:
        name = self.netns_name(request.sandbox_id)
        netns = str(self.netns.path(name)) if await self.netns.exists(name) else ""
        errors: list[Exception] = []
        for conflist, ifname in reversed(self._lists()):
            cached = await self.cache.load(conflist["name"], request.sandbox_id, ifname)
            conf = cached["config"] if cached else conflist
            args = [tuple(a) for a in cached["cniArgs"]] if cached else cni.cni_args(request)
            caps = cached["capabilityArgs"] if cached else cni.capability_args(request)
            result = cached.get("result") if cached else None
            failed = False
            for plugin in reversed(conf["plugins"]):
                if self.invoke.find(plugin["type"]) is None:
                    # nothing to undo by a plugin this node does not have
                    log.warning("pod %s: DEL skips missing CNI plugin %r", request.sandbox_id, plugin["type"])
                    continue
                req = cni.plugin_request(conf, plugin, prev_result=result, capabilities=caps)
                try:
                    await self.invoke("DEL", req, container_id=request.sandbox_id, netns=netns,
                                      ifname=ifname, args=cni.format_cni_args(args))
                except Exception as e:  # keep going: DEL is best effort, the caller retries
                    errors.append(e)
                    failed = True
            if not failed:
                await self.cache.delete(conf["name"], request.sandbox_id, ifname)
        if errors:
            raise errors[0] if isinstance(errors[0], NetworkError) else NetworkError(str(errors[0]))
        await self.netns.delete(name)

    # --- CHECK / status --------------------------------------------------------------------
    async def check_pod(self, request: PodNetworkRequest) -> None:
        """CHECK the main list against its cached result (portmap skipped); raises on failure."""
        async with self._lock(request.sandbox_id):
            ifname = self.options.ifname
            cached = await self.cache.load(self.conflist["name"], request.sandbox_id, ifname)
            if not cached or cached.get("result") is None:
                raise NetworkError(f"pod {request.sandbox_id} has no cached network result")
            conf = cached["config"]
            args = cni.format_cni_args([tuple(a) for a in cached["cniArgs"]])
            for plugin in conf["plugins"]:
                if cni.skip_check(conf, plugin):
                    continue
                req = cni.plugin_request(conf, plugin, prev_result=cached["result"],
                                         capabilities=cached["capabilityArgs"])
                await self.invoke("CHECK", req, container_id=request.sandbox_id, netns=cached["netns"],
                                  ifname=ifname, args=args)

    async def status(self) -> NetworkStatus:
        needed = ["loopback", *cni.plugin_types(self.conflist)]
        missing = [t for t in needed if self.invoke.find(t) is None]
        if missing:
            return NetworkStatus(False, "NetworkPluginNotReady",
                                 f"CNI plugins not found in {self.options.plugin_dirs}: {', '.join(missing)}")
        if self.options.node_netns and not await asyncio.to_thread(Path(self.options.node_netns).exists):
            return NetworkStatus(False, "NetworkPluginNotReady", f"node netns {self.options.node_netns} missing")
        return NetworkStatus(True)
