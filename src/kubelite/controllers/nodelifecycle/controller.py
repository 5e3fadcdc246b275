"""`NodeLifecycleController`: notices nodes whose kubelet went silent, taints them, evicts pods.

Every `node_monitor_period` (5 s) the monitor computes each zone's disruption state and queues
every node. `sync_node(name)`:

1. updates the node's health record from its Ready heartbeat and its Lease; silent for longer
   than `node_monitor_grace_period` (40 s; `node_startup_grace_period`, 60 s, for a node that
   never reported) turns its conditions Unknown through `/status`;
2. on a Ready -> not Ready transition records `NodeNotReady` and marks the node's pods not ready;
3. brings the node's taints up to date: NoSchedule taints mirror the conditions, and the
   NoExecute taint is `not-ready` (Ready=False) or `unreachable` (Unknown), removed when the
   node is Ready again. New NoExecute taints are rate limited per zone (`node_eviction_rate`,
   0.1/s; `secondary_node_eviction_rate`, 0.01/s, in partially disrupted zones larger than
   `large_cluster_size_threshold`, else none). When every zone is fully disrupted the
   controller assumes its own connectivity is the problem: it adds no NoExecute taints and
   removes those it added.

The NoExecute taints evict pods through `eviction.NoExecuteTaintManager`.
"""

from __future__ import annotations

import asyncio
import logging

from kubelite.client.informers import NODE_NAME_INDEX, index_by_node_name
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.backoff import TokenBucket
from kubelite.machinery.errors import StatusError, is_not_found
from kubelite.machinery.timeutil import parse_time, rfc3339

from . import health, taints
from .eviction import NoExecuteTaintManager

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"


class NodeLifecycleController(Controller):
    name = "node-controller"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        inf = ctx.informers
        self.nodes = inf.informer_for("nodes")
        self.leases = inf.informer_for("leases.coordination.k8s.io", namespace=LEASE_NAMESPACE)
        self.pods = inf.informer_for("pods", indexers={NODE_NAME_INDEX: index_by_node_name})
        self.node_lister = self.nodes.lister()
        self.lease_lister = self.leases.lister()
        self.pod_lister = self.pods.lister()
        self.monitor_period = float(ctx.option("node_monitor_period", 5.0))
        self.grace_period = float(ctx.option("node_monitor_grace_period", 40.0))
        self.startup_grace_period = float(ctx.option("node_startup_grace_period", 60.0))
        self.eviction_rate = float(ctx.option("node_eviction_rate", 0.1))
        self.secondary_eviction_rate = float(ctx.option("secondary_node_eviction_rate", 0.01))
        self.unhealthy_zone_threshold = float(ctx.option("unhealthy_zone_threshold", 0.55))
        self.large_cluster_threshold = int(ctx.option("large_cluster_size_threshold", 50))
        self.health: dict[str, health.NodeHealth] = {}
        self.zone_states: dict[str, str] = {}
        self.zone_limiters: dict[str, TokenBucket | None] = {}
        self.all_disrupted = False
        self.known: set[str] = set()
        self.evictions = NoExecuteTaintManager(self)
        self.nodes.add_event_handler(self.add_node, self.update_node, self.delete_node)
        self.leases.add_event_handler(self.enqueue_lease, lambda old, new: self.enqueue_lease(new), None)
        self.pods.add_event_handler(self.evictions.enqueue_pod, lambda old, new: self.evictions.enqueue_pod(new),
                                    self.evictions.forget_pod)

    # ----- handlers

    def add_node(self, node: dict) -> None:
        name = node["metadata"]["name"]
        if name not in self.known:
            self.known.add(name)
            self.event(_node_ref(node), "Normal", "RegisteredNode",
                       f"Node {name} event: Registered Node {name} in Controller")
        self.enqueue(name)
        self.evictions.enqueue_node_pods(name)

    def update_node(self, old: dict, new: dict) -> None:
        self.enqueue(new["metadata"]["name"])
        if taints.taints_of(old) != taints.taints_of(new):
            self.evictions.enqueue_node_pods(new["metadata"]["name"])

    def delete_node(self, node: dict) -> None:
        name = node["metadata"]["name"]
        self.known.discard(name)
        self.health.pop(name, None)
        self.event(_node_ref(node), "Normal", "RemovingNode",
                   f"Node {name} event: Removing Node {name} from Controller")

    def enqueue_lease(self, lease: dict) -> None:
        self.enqueue(lease["metadata"]["name"])

    # ----- loops

    async def run(self) -> None:
        await self.informers.wait_for_cache_sync()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(super().run())
            tg.create_task(self.evictions.run())
            tg.create_task(self._monitor())

    async def _monitor(self) -> None:
        while True:
            self.monitor_node_health()
            await self.clock.sleep(self.monitor_period)

    def monitor_node_health(self) -> None:
        """Recompute zone states (and the disruption mode), then queue every node."""
        nodes = self.node_lister.list()
        by_zone: dict[str, list[str | None]] = {}
        for node in nodes:
            by_zone.setdefault(health.zone_of(node), []).append(health.ready_status(node))
        states = {zone: health.zone_state(ready, self.unhealthy_zone_threshold) for zone, ready in by_zone.items()}
        all_disrupted = bool(states) and all(s == health.FULL_DISRUPTION for s in states.values())
        if all_disrupted and not self.all_disrupted:
            log.warning("Controller detected that all Nodes are not-Ready. Entering master disruption mode.")
        elif self.all_disrupted and not all_disrupted:
            log.info("Controller detected that some Nodes are Ready. Exiting master disruption mode.")
            now = self.clock.monotonic()
            for h in self.health.values():        # give every node a fresh grace period
                h.probe_time = now
        self.all_disrupted = all_disrupted
        for zone, state in states.items():
            if self.zone_states.get(zone) != state or zone not in self.zone_limiters:
                self.zone_limiters[zone] = self._limiter(state, len(by_zone[zone]))
        self.zone_states = states
        for node in nodes:
            self.enqueue(node["metadata"]["name"])

    def _limiter(self, state: str, size: int) -> TokenBucket | None:
        rate = self.eviction_rate
        if state == health.PARTIAL_DISRUPTION:
            rate = self.secondary_eviction_rate if size > self.large_cluster_threshold else 0.0
        return TokenBucket(rate, 1, clock=self.clock) if rate > 0 else None

    # ----- sync

    async def sync(self, key: str) -> None:
        await self.sync_node(key)

    async def sync_node(self, name: str) -> None:
        try:
            node = self.node_lister.get(name)
        except StatusError as e:
            if not is_not_found(e):
                raise
            self.health.pop(name, None)
            return
        observed = health.ready_status(node)
        node = await self.update_node_health(node)
        current = health.ready_status(node)
        if observed == "True" and current != "True":
            self.event(_node_ref(node), "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
            await self.mark_pods_not_ready(name)
        await self.update_taints(node, current)

    async def update_node_health(self, node: dict) -> dict:
        """Refresh the health record; past the grace period, write Unknown conditions."""
        name = node["metadata"]["name"]
        now = self.clock.monotonic()
        ready = health.condition(node, "Ready")
        saved = self.health.get(name)
        if ready is None:
            grace = self.startup_grace_period
            if saved is None:
                created = parse_time(node["metadata"].get("creationTimestamp"))
                age = (self.clock.now() - created).total_seconds() if created is not None else 0.0
                saved = self.health[name] = health.NodeHealth(now - max(0.0, age), now - max(0.0, age))
        else:
            grace = self.grace_period
            beat = ready.get("lastHeartbeatTime")
            if saved is None:
                saved = self.health[name] = health.NodeHealth(now, now, beat, ready.get("status"))
            elif saved.heartbeat != beat:
                if saved.ready_status != ready.get("status"):
                    saved.ready_transition_time = now
                saved.probe_time, saved.heartbeat, saved.ready_status = now, beat, ready.get("status")
        try:
            lease = self.lease_lister.get(name, LEASE_NAMESPACE)
        except StatusError:
            lease = None
        observed_renew = health.lease_renew_time(lease)
        if health.renewed(saved.lease_renew, observed_renew):
            saved.lease_renew = observed_renew
            saved.probe_time = now
        if now <= saved.probe_time + grace:
            return node
        updated = health.mark_unknown(node, rfc3339(self.clock.now()))
        if updated == node:
            return node
        written = await self.client.update_status("nodes", updated)
        saved.ready_transition_time = now
        saved.ready_status = health.ready_status(written)
        return written

    async def mark_pods_not_ready(self, node_name: str) -> None:
        now = rfc3339(self.clock.now())
        for pod in self.pods.indexer.by_index(NODE_NAME_INDEX, node_name):
            conditions = (pod.get("status") or {}).get("conditions") or []
            if not any(c.get("type") == "Ready" and c.get("status") != "False" for c in conditions):
                continue
            new = [dict(c, status="False", lastTransitionTime=now) if c.get("type") == "Ready" else c
                   for c in conditions]
            md = pod["metadata"]
            try:
                await self.client.patch("pods", md["name"], {"metadata": {"resourceVersion": md["resourceVersion"]},
                                                            "status": {"conditions": new}},
                                        md["namespace"], subresource="status")
            except StatusError as e:
                if is_not_found(e):
                    continue
                raise
            self.event(pod, "Warning", "NodeNotReady", "Node is not ready")

    async def update_taints(self, node: dict, ready: str | None) -> None:
        current = taints.taints_of(node)
        want = taints.with_no_schedule_taints(node)
        key = None if self.all_disrupted else taints.no_execute_key_for(ready)
        needs_add = key is not None and not any(t.get("effect") == taints.NO_EXECUTE and t.get("key") in
                                                taints.NO_EXECUTE_KEYS for t in want)
        may_add = False
        if needs_add:
            zone = health.zone_of(node)
            if zone not in self.zone_limiters:
                self.zone_limiters[zone] = self._limiter(health.NORMAL, 1)
            limiter = self.zone_limiters[zone]
            if limiter is not None:
                may_add = limiter.try_accept()
                if not may_add:
                    self.enqueue_after(node["metadata"]["name"], 1.0 / limiter.qps)
        want = taints.with_no_execute_taint(want, key, rfc3339(self.clock.now()), may_add)
        if want == current:
            return
        md = node["metadata"]
        spec = node.get("spec")
        if spec is None:
            patch = [{"op": "add", "path": "/spec", "value": {"taints": want}}]
        elif "taints" in spec:
            patch = [{"op": "test", "path": "/spec/taints", "value": current},
                     {"op": "replace", "path": "/spec/taints", "value": want}]
        else:
            patch = [{"op": "add", "path": "/spec/taints", "value": want}]
        await self.client.patch("nodes", md["name"], patch, patch_type="json")


def _node_ref(node: dict) -> dict:
    md = node["metadata"]
    return {"kind": "Node", "apiVersion": "v1", "name": md["name"], "uid": md.get("uid", md["name"])}
