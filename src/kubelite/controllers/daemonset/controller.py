"""`DaemonSetController`: one pod per eligible node, rolled out by revision.

A sync (`sync_daemonset(key)`):

1. find or create the ControllerRevision of the current template (its hash labels new pods);
2. manage: for every node, decide (`placement.node_should_run_daemon_pod`) whether a pod belongs
   there; create the missing ones (pinned to their node by `metadata.name` node affinity, the
   scheduler binds them), delete failed pods (with a per-node backoff), duplicates, and pods on
   nodes they no longer fit;
3. if the cache has caught up with this controller's own writes (expectations) and the strategy
   is RollingUpdate, take one rolling-update step (`update.rolling_update`); OnDelete replaces a
   pod only when someone deletes it;
4. prune old revisions beyond `revisionHistoryLimit`, then write the status through `/status`.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from datetime import datetime

from kubelite.client import split_meta_namespace_key
from kubelite.client.informers import NODE_NAME_INDEX, index_by_node_name, meta_namespace_key
from kubelite.controllers.base import Controller, ControllerContext
from kubelite.machinery.errors import StatusError, is_conflict, is_not_found, new_conflict

from ..util.expectations import UIDTrackingControllerExpectations
from ..util.history import REVISION_HASH_LABEL
from ..util.ownerrefs import get_controller_of, new_controller_ref, resolve_controller_ref
from ..util.pod_control import pod_from_template
from ..util.pods import is_pod_available, is_pod_ready, is_pod_terminal, is_terminating, phase
from ..util.ref_manager import ControllerRefManager, selector_of
from . import history, placement, update

log = logging.getLogger(__name__)

API_VERSION, KIND = "apps/v1", "DaemonSet"

# Event reasons.
SUCCESSFUL_CREATE = "SuccessfulCreate"
FAILED_CREATE = "FailedCreate"
SUCCESSFUL_DELETE = "SuccessfulDelete"
FAILED_DELETE = "FailedDelete"
FAILED_DAEMON_POD = "FailedDaemonPod"
SELECTING_ALL = "SelectingAll"

BURST_REPLICAS = 250
SLOW_START_INITIAL_BATCH = 1
FAILED_POD_BACKOFF_INITIAL = 1.0
FAILED_POD_BACKOFF_MAX = 900.0


class _Backoff:
    """Per-key exponential backoff on the controller's clock (client-go's flowcontrol.Backoff)."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial, self.maximum = initial, maximum
        self._entries: dict[str, tuple[float, float]] = {}

    def remaining(self, key: str, now: float) -> float:
        delay, at = self._entries.get(key, (0.0, 0.0))
        return max(0.0, at + delay - now) if delay else 0.0

    def next(self, key: str, now: float) -> None:
        delay, _ = self._entries.get(key, (0.0, 0.0))
        self._entries[key] = (min(delay * 2, self.maximum) if delay else self.initial, now)


def _creation_key(pod: dict) -> tuple[str, str]:
    md = pod.get("metadata") or {}
    return (md.get("creationTimestamp") or "", md.get("name") or "")


def _sorted_daemon_pods(pods: list[dict]) -> list[dict]:
    """Scheduled first, then oldest first."""
    return sorted(pods, key=lambda p: (not (p.get("spec") or {}).get("nodeName"), _creation_key(p)))


def calculate_status(ds: dict, nodes: list[dict], node_to_pods: dict[str, list[dict]], hash_: str,
                     now: datetime) -> dict:
    desired = current = ready = available = updated = misscheduled = 0
    generation = update.template_generation(ds)
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    for node in nodes:
        should_run, _ = placement.node_should_run_daemon_pod(node, ds)
        pods = node_to_pods.get(node["metadata"]["name"]) or []
        if not should_run:
            misscheduled += bool(pods)
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        pod = _sorted_daemon_pods(pods)[0]
        if is_pod_ready(pod):
            ready += 1
            available += is_pod_available(pod, min_ready, now)
        updated += update.is_pod_updated(pod, hash_, generation)
    return {"currentNumberScheduled": current, "numberMisscheduled": misscheduled,
            "desiredNumberScheduled": desired, "numberReady": ready, "updatedNumberScheduled": updated,
            "numberAvailable": available, "numberUnavailable": desired - available}


class DaemonSetController(Controller):
    name = "daemonset-controller"

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        inf = ctx.informers
        self.daemonsets = inf.informer_for("daemonsets.apps")
        self.pods = inf.informer_for("pods", indexers={NODE_NAME_INDEX: index_by_node_name})
        self.nodes = inf.informer_for("nodes")
        self.revisions = inf.informer_for("controllerrevisions.apps")
        self.ds_lister = self.daemonsets.lister()
        self.pod_lister = self.pods.lister()
        self.node_lister = self.nodes.lister()
        self.revision_lister = self.revisions.lister()
        self.expectations = UIDTrackingControllerExpectations(self.clock)
        self.failed_pods_backoff = _Backoff(FAILED_POD_BACKOFF_INITIAL, FAILED_POD_BACKOFF_MAX)
        self.daemonsets.add_event_handler(self.enqueue_daemonset, lambda old, new: self.enqueue_daemonset(new),
                                          self.delete_daemonset)
        self.pods.add_event_handler(self.add_pod, self.update_pod, self.delete_pod)
        self.nodes.add_event_handler(self.add_node, self.update_node)
        self.revisions.add_event_handler(self.enqueue_owner, lambda old, new: self.enqueue_owner(new),
                                         self.enqueue_owner)

    # ----- handlers

    def enqueue_daemonset(self, ds: dict) -> None:
        self.enqueue(ds)

    def delete_daemonset(self, ds: dict) -> None:
        self.expectations.delete_expectations(meta_namespace_key(ds))
        self.enqueue(ds)

    def _owner_key(self, obj: dict) -> str | None:
        ref = get_controller_of(obj)
        ds = resolve_controller_ref(self.ds_lister, obj["metadata"].get("namespace", ""), ref, KIND) if ref else None
        return meta_namespace_key(ds) if ds is not None else None

    def enqueue_owner(self, obj: dict) -> None:
        if (key := self._owner_key(obj)) is not None:
            self.enqueue(key)

    def _enqueue_selecting(self, pod: dict) -> None:
        md = pod["metadata"]
        for ds in self.ds_lister.list(md.get("namespace")):
            if selector_of(ds).matches(md.get("labels")):
                self.enqueue(ds)

    def add_pod(self, pod: dict) -> None:
        if is_terminating(pod):
            self.delete_pod(pod)
            return
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self.enqueue(key)
        elif get_controller_of(pod) is None:
            self._enqueue_selecting(pod)

    def update_pod(self, old: dict, new: dict) -> None:
        if new["metadata"].get("resourceVersion") == old["metadata"].get("resourceVersion"):
            return
        if is_terminating(new) and not is_terminating(old):
            self.delete_pod(new)
            return
        old_key, new_key = self._owner_key(old), self._owner_key(new)
        if old_key is not None and old_key != new_key:
            self.enqueue(old_key)
        if new_key is not None:
            self.enqueue(new_key)
        elif get_controller_of(new) is None:
            self._enqueue_selecting(new)

    def delete_pod(self, pod: dict) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, meta_namespace_key(pod))
            self.enqueue(key)

    def _enqueue_all(self) -> None:
        for ds in self.ds_lister.list():
            self.enqueue(ds)

    def add_node(self, node: dict) -> None:
        self._enqueue_all()

    def update_node(self, old: dict, new: dict) -> None:
        om, nm = old.get("metadata") or {}, new.get("metadata") or {}
        if om.get("labels") != nm.get("labels") or old.get("spec") != new.get("spec"):
            self._enqueue_all()

    # ----- sync

    async def sync(self, key: str) -> None:
        await self.sync_daemonset(key)

    async def sync_daemonset(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        try:
            ds = self.ds_lister.get(name, ns)
        except StatusError as e:
            if not is_not_found(e):
                raise
            self.expectations.delete_expectations(key)
            return
        if selector_of(ds).empty():
            self.event(ds, "Warning", SELECTING_ALL,
                       "This daemon set is selecting all pods. A non-empty selector is required.")
            return
        if is_terminating(ds):
            return
        nodes = self.node_lister.list()
        uid = ds["metadata"]["uid"]
        owned = [r for r in self.revision_lister.list(ns) if (get_controller_of(r) or {}).get("uid") == uid]
        current, old = await history.construct_history(self.client, ds, owned)
        hash_ = ((current.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH_LABEL, "")
        node_to_pods = await self.get_node_to_daemon_pods(ds)
        if not self.expectations.satisfied_expectations(key):
            await self.update_daemonset_status(ds, nodes, node_to_pods, hash_, False)
            return
        await self.manage(ds, nodes, node_to_pods, hash_)
        if self.expectations.satisfied_expectations(key) and update.is_rolling_update(ds):
            desired = [n["metadata"]["name"] for n in nodes if placement.node_should_run_daemon_pod(n, ds)[0]]
            to_delete, to_create = update.rolling_update(ds, node_to_pods, desired, hash_, self.clock.now())
            await self.sync_nodes(ds, to_delete, to_create, hash_)
        live = {((p["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL))
                for pods in node_to_pods.values() for p in pods}
        limit = (ds.get("spec") or {}).get("revisionHistoryLimit")
        await history.prune(self.client, history.revisions_to_prune(old, live, 10 if limit is None else int(limit)))
        await self.update_daemonset_status(ds, nodes, node_to_pods, hash_, True)

    async def _can_adopt(self, ds: dict) -> None:
        fresh = await self.client.get("daemonsets.apps", ds["metadata"]["name"], ds["metadata"]["namespace"])
        if fresh["metadata"].get("uid") != ds["metadata"]["uid"]:
            raise new_conflict("apps", "daemonsets", ds["metadata"]["name"],
                               "original DaemonSet is gone: got uid "
                               f"{fresh['metadata'].get('uid')}, wanted {ds['metadata']['uid']}")
        if is_terminating(fresh):
            raise new_conflict("apps", "daemonsets", ds["metadata"]["name"],
                               "DaemonSet is being deleted and cannot adopt pods")

    async def get_node_to_daemon_pods(self, ds: dict) -> dict[str, list[dict]]:
        """The DaemonSet's pods (after adoption and release) by the node they are on or pinned to;
        pods already gone terminal and being deleted are left out. Computed once per sync: the
        steps after `manage` act only when expectations say the cache saw its writes."""
        pods = self.pod_lister.list(ds["metadata"]["namespace"])
        claimed = await ControllerRefManager(ds, selector_of(ds), API_VERSION, KIND, lambda: self._can_adopt(ds),
                                             self._patch_pod).claim(pods)
        out: dict[str, list[dict]] = {}
        for pod in claimed:
            if is_terminating(pod) and is_pod_terminal(pod):
                continue
            node = placement.target_node_name(pod)
            if node is not None:
                out.setdefault(node, []).append(pod)
        return out

    async def manage(self, ds: dict, nodes: list[dict], node_to_pods: dict[str, list[dict]], hash_: str) -> None:
        to_create: list[str] = []
        to_delete: list[str] = []
        for node in nodes:
            need, delete = self.pods_should_be_on_node(node, node_to_pods, ds, hash_)
            if need:
                to_create.append(node["metadata"]["name"])
            to_delete.extend(delete)
        names = {n["metadata"]["name"] for n in nodes}
        for node_name, pods in node_to_pods.items():
            if node_name not in names:
                to_delete.extend(p["metadata"]["name"] for p in pods
                                 if not (p.get("spec") or {}).get("nodeName") and not is_terminating(p))
        await self.sync_nodes(ds, to_delete, to_create, hash_)

    def pods_should_be_on_node(self, node: dict, node_to_pods: dict[str, list[dict]], ds: dict,
                               hash_: str) -> tuple[bool, list[str]]:
        """`(needs a pod, pods to delete)` for one node."""
        name = node["metadata"]["name"]
        should_run, should_continue = placement.node_should_run_daemon_pod(node, ds)
        pods = node_to_pods.get(name) or []
        if should_run and not pods:
            return True, []
        if not should_continue:
            return False, [p["metadata"]["name"] for p in pods if not is_terminating(p)]
        to_delete: list[str] = []
        running: list[dict] = []
        now = self.clock.monotonic()
        for pod in pods:
            if is_terminating(pod):
                continue
            if phase(pod) != "Failed":
                running.append(pod)
                continue
            backoff_key = f"{ds['metadata']['uid']}/{ds['metadata'].get('generation', 0)}/{name}"
            wait = self.failed_pods_backoff.remaining(backoff_key, now)
            if wait > 0:
                self.enqueue_after(ds, wait)
                continue
            self.failed_pods_backoff.next(backoff_key, now)
            pod_name = pod["metadata"]["name"]
            self.event(ds, "Warning", FAILED_DAEMON_POD,
                       f"Found failed daemon pod {pod['metadata']['namespace']}/{pod_name} on node {name}, "
                       "will try to kill it")
            to_delete.append(pod_name)
        running = _sorted_daemon_pods(running)
        surge, _ = update.surge_and_unavailable(ds, 1) if update.is_rolling_update(ds) else (0, 0)
        if surge == 0:
            to_delete.extend(p["metadata"]["name"] for p in running[1:])
        else:
            min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
            to_delete.extend(update.surge_pods_to_delete(running, hash_, update.template_generation(ds), min_ready,
                                                         self.clock.now()))
        return False, to_delete

    def new_pod_template(self, ds: dict, hash_: str) -> dict:
        template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
        tmeta = template.setdefault("metadata", {})
        lbls = dict(tmeta.get("labels") or {})
        generation = update.template_generation(ds)
        if generation is not None:
            lbls[update.TEMPLATE_GENERATION_LABEL] = generation
        if hash_:
            lbls[REVISION_HASH_LABEL] = hash_
        tmeta["labels"] = lbls
        spec = template.setdefault("spec", {})
        placement.add_default_tolerations(spec)
        return template

    async def sync_nodes(self, ds: dict, to_delete: list[str], to_create: list[str], hash_: str) -> None:
        """Create a pod on each node of `to_create` and delete the pods named in `to_delete`, with
        expectations set first and the creations in slow-start batches."""
        key = meta_namespace_key(ds)
        ns = ds["metadata"]["namespace"]
        to_create = to_create[:BURST_REPLICAS]
        to_delete = to_delete[:BURST_REPLICAS]
        self.expectations.expect(key, len(to_create), [f"{ns}/{n}" for n in to_delete])
        template = self.new_pod_template(ds, hash_)
        errors: list[BaseException] = []
        pending = list(to_create)
        batch = min(len(pending), SLOW_START_INITIAL_BATCH)
        while pending:
            chunk, pending = pending[:batch], pending[batch:]
            results = await asyncio.gather(*(self._create_pod(ds, template, node) for node in chunk),
                                           return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                errors.extend(failed)
                for _ in pending:
                    self.expectations.creation_observed(key)
                break
            batch = min(2 * batch, len(pending))
        results = await asyncio.gather(*(self._delete_pod(ds, name) for name in to_delete), return_exceptions=True)
        errors.extend(r for r in results if isinstance(r, BaseException))
        if errors:
            raise errors[0]

    async def _create_pod(self, ds: dict, template: dict, node_name: str) -> None:
        pod = pod_from_template(template, ds, new_controller_ref(ds, API_VERSION, KIND))
        placement.pin_to_node(pod["spec"], node_name)
        try:
            created = await self.client.create("pods", pod, ds["metadata"]["namespace"])
        except StatusError as e:
            self.expectations.creation_observed(meta_namespace_key(ds))
            if _namespace_terminating(e):
                return
            self.event(ds, "Warning", FAILED_CREATE, f"Error creating: {e}")
            raise
        self.event(ds, "Normal", SUCCESSFUL_CREATE, f"Created pod: {created['metadata']['name']}")

    async def _patch_pod(self, pod: dict, patch: dict) -> dict:
        md = pod["metadata"]
        return await self.client.patch("pods", md["name"], patch, md["namespace"])

    async def _delete_pod(self, ds: dict, name: str) -> None:
        ns = ds["metadata"]["namespace"]
        try:
            await self.client.delete("pods", name, ns)
        except StatusError as e:
            self.expectations.deletion_observed(meta_namespace_key(ds), f"{ns}/{name}")
            if is_not_found(e):
                return
            self.event(ds, "Warning", FAILED_DELETE, f"Error deleting: {e}")
            raise
        self.event(ds, "Normal", SUCCESSFUL_DELETE, f"Deleted pod: {name}")

    async def update_daemonset_status(self, ds: dict, nodes: list[dict], node_to_pods: dict[str, list[dict]],
                                      hash_: str, update_observed_generation: bool) -> None:
        counts = calculate_status(ds, nodes, node_to_pods, hash_, self.clock.now())
        status = {**(ds.get("status") or {}), **counts}
        if update_observed_generation:
            status["observedGeneration"] = ds["metadata"].get("generation", 0)
        if status != (ds.get("status") or {}):
            body = {**ds, "status": status}
            try:
                await self.client.update_status("daemonsets.apps", body)
            except StatusError as e:
                if not is_conflict(e):
                    raise
                fresh = await self.client.get("daemonsets.apps", ds["metadata"]["name"], ds["metadata"]["namespace"])
                await self.client.update_status("daemonsets.apps", {**fresh, "status": {**(fresh.get("status") or {}),
                                                                                        **counts}})
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and counts["numberReady"] != counts["numberAvailable"]:
            self.enqueue_after(ds, min_ready)


def _namespace_terminating(e: StatusError) -> bool:
    return any(c.get("reason") == "NamespaceTerminating" for c in (e.details or {}).get("causes") or [])
