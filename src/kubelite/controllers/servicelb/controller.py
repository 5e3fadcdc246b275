"""Allocate and release LoadBalancer addresses (sync one Service key at a time)."""

from __future__ import annotations

import ipaddress
import logging

from kubelite.client import split_meta_namespace_key
from kubelite.machinery import errors
from kubelite.machinery.addressplan import DEFAULT

from ..base import Controller, ControllerContext

log = logging.getLogger(__name__)


def wants_address(svc: dict) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass") and \
        not svc["metadata"].get("deletionTimestamp")


def ingress_ips(svc: dict) -> list[str]:
    return [i["ip"] for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [] if "ip" in i]


class ServiceLBController(Controller):
    name = "service-lb-controller"
    workers = 1  # allocation is serialised: one worker, one view of the pool

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        self.pool = ipaddress.ip_network(ctx.option("load_balancer_cidr", DEFAULT.load_balancer_cidr))
        self.assigned: dict[str, str] = {}  # key -> address we gave it (the cache may lag behind)
        self.services = ctx.informers.informer_for("services")
        self.services.add_event_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)

    def _in_use(self, except_key: str) -> set[str]:
        used = {ip for k, ip in self.assigned.items() if k != except_key}
        for svc in self.services.lister().list():
            key = f"{svc['metadata'].get('namespace', '')}/{svc['metadata']['name']}"
            if key != except_key and key not in self.assigned:
                used.update(ingress_ips(svc))
        return used

    def allocate(self, svc: dict, key: str) -> str | None:
        used = self._in_use(key)
        wanted = (svc.get("spec") or {}).get("loadBalancerIP") or \
            (svc["metadata"].get("annotations") or {}).get("kubelite.io/load-balancer-ip")
        if wanted:
            try:
                ok = ipaddress.ip_address(wanted) in self.pool and wanted not in used
            except ValueError:
                ok = False
            return wanted if ok else None
        for ip in self.pool.hosts():
            s = str(ip)
            if s not in used:
                return s
        return None

    async def sync(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        try:
            svc = self.services.lister().get(name, namespace=ns)
        except errors.StatusError:
            svc = None
        if svc is None:
            if self.assigned.pop(key, None):  # deleted: its address is free again
                self._requeue_waiting()
            return
        have = ingress_ips(svc)
        if key in self.assigned and self.assigned[key] not in have and wants_address(svc):
            have = [self.assigned[key]]  # our own write is not in the cache yet
        if wants_address(svc):
            if have and all(ipaddress.ip_address(ip) in self.pool for ip in have) and \
                    not (set(have) & self._in_use(key)):
                self.assigned[key] = have[0]
                return
            ip = self.allocate(svc, key)
            if ip is None:
                self.event(svc, "Warning", "AllocationFailed",
                           f"Failed to allocate an IP for the load balancer from {self.pool}: no free address or "
                           f"the requested one is taken")
                return
            self.assigned[key] = ip
            await self._set_ingress(svc, [{"ip": ip, "ipMode": "VIP"}])
            self.event(svc, "Normal", "EnsuredLoadBalancer", "Ensured load balancer")
            log.info("assigned %s to LoadBalancer Service %s", ip, key)
        else:
            freed = self.assigned.pop(key, None)
            if have and not (svc.get("spec") or {}).get("loadBalancerClass"):
                await self._set_ingress(svc, [])
            if freed or have:
                self._requeue_waiting()

    def _requeue_waiting(self) -> None:
        """An address was freed: Services still waiting for one get another chance."""
        for svc in self.services.lister().list():
            if wants_address(svc) and not ingress_ips(svc):
                self.enqueue(svc)

    async def _set_ingress(self, svc: dict, ingress: list[dict]) -> None:
        md = svc["metadata"]
        patch = {"metadata": {"resourceVersion": md["resourceVersion"]},
                 "status": {"loadBalancer": {"ingress": ingress or None}}}
        try:
            await self.client.patch("services", md["name"], patch, namespace=md.get("namespace"),
                                    patch_type="merge", subresource="status")
        except errors.StatusError as e:
            if errors.is_not_found(e):
                return
            raise
