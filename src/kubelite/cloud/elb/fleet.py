"""The load balancers that run: one `kubelite.lb.LoadBalancer` per ELB, in the service's process,
each on an address of its own, with its DNS name in the hosts file and its ELBv2 record in the
state (table `elb-load-balancers`, key `<account>/<region>/<name>`).

- an `internal` load balancer takes an address of its cluster's first subnet, held by the host
  on the VPC's bridge (reachable from the VPC's nodes and pods, and from the host);
- an `internet-facing` one takes an address of the service's public pool (`CloudConfig.lb_pool`,
  inside the address plan's load-balancer range), held on `lo`.

`ensure(desired)` starts or reconfigures one (its address and name stay for its whole life, also
across restarts of the service); `remove(key)` stops it and gives everything back. `close()`
stops them all but keeps their records, so a restarted service brings them back as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
from datetime import datetime, timezone
from typing import Any, Callable

from kubelite.lb import LoadBalancer, TargetHealthDescription

from ..hosts import Hosts
from ..provisioner.vpcnet import HostNetworks
from ..state import State
from .model import Desired

log = logging.getLogger(__name__)

TABLE = "elb-load-balancers"


class Running:
    def __init__(self, lb: LoadBalancer, task: asyncio.Task, desired: Desired):
        self.lb = lb
        self.task = task
        self.desired = desired


class Fleet:
    def __init__(self, state: State, network: Any, host_network: HostNetworks, hosts: Hosts, *, public_pool: str,
                 make_lb: Callable[..., LoadBalancer] = LoadBalancer):
        self.state = state
        self.network = network
        self.host_network = host_network
        self.hosts = hosts
        self.public_pool = ipaddress.ip_network(public_pool)
        self.make_lb = make_lb
        self.running: dict[str, Running] = {}
        self._tg: asyncio.TaskGroup | None = None
        self._ready = asyncio.Event()
        self._locks: dict[str, asyncio.Lock] = {}

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                self._ready.set()
                await asyncio.Event().wait()
        finally:
            self._tg = None

    # -- lookups -----------------------------------------------------------------------------------
    def records(self, account: str = "", region: str = "") -> list[dict]:
        prefix = f"{account}/{region}/" if account else ""
        return self.state.values(TABLE, prefix)

    def of_cluster(self, cluster_key: str) -> dict[str, dict]:
        return {k: r for k, r in self.state.items(TABLE) if r["internal"]["clusterKey"] == cluster_key}

    def target_health(self, key: str, tg_lb_name: str) -> list[tuple[tuple[str, int], TargetHealthDescription]]:
        r = self.running.get(key)
        if r is None:
            return []
        view = r.desired.target_group(tg_lb_name)
        try:
            rows = r.lb.describe_target_health(tg_lb_name)
        except KeyError:
            return []
        out = []
        for row in rows:
            ident = (view.target_ids.get(row.target) if view else None) or (row.target.ip, row.target.port)
            out.append((ident, row))
        return out

    # -- addresses ---------------------------------------------------------------------------------
    async def _public_address(self) -> str:
        taken = {r["internal"]["address"] for r in self.records()} | await self.host_network.public_addresses_in_use()
        for ip in list(self.public_pool.hosts())[1:]:
            if str(ip) not in taken:
                return str(ip)
        raise RuntimeError(f"the public load-balancer pool {self.public_pool} is exhausted")

    async def _address(self, desired: Desired, c: dict) -> tuple[str, str, str]:
        """(address, subnet id or "", VPC CIDR or "")"""
        internal = c["internal"]
        if desired.scheme == "internal":
            subnet = c["resourcesVpcConfig"]["subnetIds"][0]
            ip = await self.network.allocate_address(internal["account"], internal["region"], subnet)
            return ip, subnet, internal.get("vpcCidr", "")
        return await self._public_address(), "", ""

    async def _hold(self, rec: dict) -> None:
        i = rec["internal"]
        if i.get("vpcCidr"):
            await self.host_network.attach(i["vpcCidr"], i["address"])
        else:
            await self.host_network.add_public(i["address"])
        await self.hosts.set(rec["loadBalancer"]["DNSName"], i["address"])

    async def _let_go(self, rec: dict, *, release: bool) -> None:
        i = rec["internal"]
        await self.hosts.set(rec["loadBalancer"]["DNSName"], None)
        if i.get("vpcCidr"):
            await self.host_network.detach(i["vpcCidr"], i["address"])
            if release:
                await self.network.release_address(i["account"], i["region"], i["subnet"], i["address"])
        else:
            await self.host_network.remove_public(i["address"])

    # -- life --------------------------------------------------------------------------------------
    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def ensure(self, cluster_key: str, c: dict, desired: Desired) -> dict:
        """Start or reconfigure the load balancer `desired` describes; its record."""
        await self._ready.wait()
        internal = c["internal"]
        account, region = internal["account"], internal["region"]
        key = f"{account}/{region}/{desired.name}"
        async with self._lock(key):
            rec = self.state.get(TABLE, key)
            if rec is not None and rec["internal"]["owner"] != desired.owner:
                raise ValueError(f"a load balancer named {desired.name} already belongs to "
                                 f"{rec['internal']['owner']}")
            if rec is not None and rec["loadBalancer"]["Scheme"] != desired.scheme:
                await self._remove(key, rec)  # the scheme changes the address: a new load balancer
                rec = None
            if rec is None:
                address, subnet, vpc_cidr = await self._address(desired, c)
                created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
                rec = {"internal": {"clusterKey": cluster_key, "owner": desired.owner, "address": address,
                                    "subnet": subnet, "vpcCidr": vpc_cidr, "account": account, "region": region,
                                    "created": created}}
            i = rec["internal"]
            zones = self._zones(c)
            rec.update(desired.records(account=account, region=region, vpc_id=c["resourcesVpcConfig"]["vpcId"],
                                       zones=zones, address=i["address"], created=i["created"]))
            i["objects"] = desired.objects
            i["tags"] = desired.tags
            await self.state.put(TABLE, key, rec)
            await self._hold(rec)
            config = dataclasses.replace(desired.config, address=i["address"])
            run = self.running.get(key)
            if run is None or run.task.done():
                lb = self.make_lb(config)
                assert self._tg is not None
                task = self._tg.create_task(self._serve(key, lb), name=f"lb:{desired.name}")
                self.running[key] = Running(lb, task, desired)
                await lb.wait_ready()
                log.info("load balancer %s (%s, %s) on %s: %s", desired.name, desired.kind, desired.scheme,
                         i["address"], rec["loadBalancer"]["DNSName"])
            else:
                run.desired = desired
                await run.lb.apply(config)
            return rec

    async def _serve(self, key: str, lb: LoadBalancer) -> None:
        try:
            await lb.run()
        except Exception as e:  # noqa: BLE001 - one load balancer failing must not stop the others
            log.warning("load balancer %s stopped: %s", key, e)

    async def _stop(self, key: str) -> None:
        run = self.running.pop(key, None)
        if run is not None:
            run.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run.task

    async def remove(self, key: str) -> None:
        async with self._lock(key):
            rec = self.state.get(TABLE, key)
            if rec is not None:
                await self._remove(key, rec)
            else:
                await self._stop(key)

    async def _remove(self, key: str, rec: dict) -> None:
        await self._stop(key)
        await self._let_go(rec, release=True)
        await self.state.delete(TABLE, key)
        log.info("load balancer %s deleted", rec["loadBalancer"]["LoadBalancerName"])

    async def remove_cluster(self, cluster_key: str) -> None:
        for key in list(self.of_cluster(cluster_key)):
            await self.remove(key)

    async def close(self) -> None:
        """Stop every load balancer; keep the records (and subnet addresses) for a restart."""
        for key in list(self.running):
            await self._stop(key)
        for rec in self.records():
            with contextlib.suppress(Exception):
                await self._let_go(rec, release=False)

    def _zones(self, c: dict) -> list[tuple[str, str]]:
        internal = c["internal"]
        out = []
        for sid in c["resourcesVpcConfig"]["subnetIds"]:
            s = self.network.subnet(internal["account"], internal["region"], sid)
            if s is not None:
                out.append((s["availabilityZone"], sid))
        return out
