"""`NamespacedResourcesDeleter`: what happens to a namespace with a deletionTimestamp (Kubernetes'
`namespaced_resources_deleter.go`).

1. Read it live; gone or not being deleted: done.
2. Make sure `status.phase` is Terminating.
3. If the `kubernetes` finalizer is already gone: done.
4. For every namespaced resource the server stores (from the scheme): delete the collection
   (or each item when collection delete is not served) with background propagation, then list
   what is left. Pods may take their grace period; objects with finalizers get 15 seconds; any
   other leftover is an error.
5. Record the deletion conditions (NamespaceDeletionDiscoveryFailure,
   NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure,
   NamespaceContentRemaining, NamespaceFinalizersRemaining).
6. Content left: `ResourcesRemainingError(estimate)` so the caller tries again later. Nothing
   left: `PUT namespaces/<name>/finalize` without the `kubernetes` finalizer; the API server
   removes the namespace once no finalizer remains.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Awaitable, Callable

from kubelite.api.scheme import Resource, Scheme
from kubelite.client import Client
from kubelite.machinery.clock import REAL_CLOCK, Clock
from kubelite.machinery.errors import StatusError, StatusReason, is_conflict, is_not_found
from kubelite.machinery.timeutil import rfc3339

log = logging.getLogger(__name__)

FINALIZER_KUBERNETES = "kubernetes"
TERMINATING = "Terminating"
# How long to wait when remaining content has finalizers (Kubernetes' finalizerEstimateSeconds).
FINALIZER_ESTIMATE_SECONDS = 15

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
GV_PARSING_FAILURE = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"
CONDITION_TYPES = (DISCOVERY_FAILURE, GV_PARSING_FAILURE, CONTENT_FAILURE, CONTENT_REMAINING, FINALIZERS_REMAINING)
OK_REASONS = {DISCOVERY_FAILURE: "ResourcesDiscovered", GV_PARSING_FAILURE: "ParsedGroupVersions",
              CONTENT_FAILURE: "ContentDeleted", CONTENT_REMAINING: "ContentRemoved",
              FINALIZERS_REMAINING: "ContentHasNoFinalizers"}
OK_MESSAGES = {DISCOVERY_FAILURE: "All resources successfully discovered",
               GV_PARSING_FAILURE: "All legacy kube types successfully parsed",
               CONTENT_FAILURE: "All content successfully deleted, may be waiting on finalization",
               CONTENT_REMAINING: "All content successfully removed",
               FINALIZERS_REMAINING: "All content-preserving finalizers finished"}


class ResourcesRemainingError(Exception):
    """Content is still being deleted; look again in about `estimate` seconds."""

    def __init__(self, estimate: int) -> None:
        super().__init__(f"some content remains in the namespace, estimate {estimate} seconds before it is removed")
        self.estimate = estimate


def deletable_namespaced_resources(scheme: Scheme) -> list[Resource]:
    """Stored namespaced resources that can be listed and deleted, one version per storage prefix."""
    out: list[Resource] = []
    seen: set[str] = set()
    for r in scheme.resources:
        if not r.stored or not r.namespaced or not {"list", "delete"} <= set(r.verbs) or r.key_prefix in seen:
            continue
        seen.add(r.key_prefix)
        out.append(r)
    return out


def _gvr(r: Resource) -> str:
    return f"{r.plural}.{r.group}"


class ConditionUpdater:
    """Collects what went wrong during one pass and turns it into namespace conditions."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.new: dict[str, dict] = {}
        self.delete_errors: list[str] = []

    def _set(self, ctype: str, reason: str, message: str) -> None:
        self.new[ctype] = {"type": ctype, "status": "True", "lastTransitionTime": rfc3339(self.now),
                           "reason": reason, "message": message}

    def process_delete_content_err(self, err: BaseException) -> None:
        self.delete_errors.append(str(err))
        msg = ", ".join(self.delete_errors) if len(self.delete_errors) == 1 else \
            "[" + ", ".join(self.delete_errors) + "]"
        self._set(CONTENT_FAILURE, "ContentDeletionFailed",
                  f"Failed to delete all resource types, {len(self.delete_errors)} remaining: {msg}")

    def process_content_totals(self, remaining: dict[str, int], finalizers: dict[str, int]) -> None:
        res = sorted(f"{gvr} has {n} resource instances" for gvr, n in remaining.items() if n)
        if res:
            self._set(CONTENT_REMAINING, "SomeResourcesRemain", f"Some resources are remaining: {', '.join(res)}")
        fins = sorted(f"{f} in {n} resource instances" for f, n in finalizers.items() if n)
        if fins:
            self._set(FINALIZERS_REMAINING, "SomeFinalizersRemain",
                      f"Some content in the namespace has finalizers remaining: {', '.join(fins)}")

    def update(self, ns: dict) -> bool:
        """Write the conditions into `ns`; True when anything changed."""
        st = ns.setdefault("status", {})
        old = {c.get("type"): c for c in st.get("conditions") or []}
        out: list[dict] = [c for c in st.get("conditions") or [] if c.get("type") not in CONDITION_TYPES]
        changed = False
        for ctype in CONDITION_TYPES:
            new = self.new.get(ctype) or {"type": ctype, "status": "False", "lastTransitionTime": rfc3339(self.now),
                                          "reason": OK_REASONS[ctype], "message": OK_MESSAGES[ctype]}
            cur = old.get(ctype)
            if cur is not None and (cur.get("status"), cur.get("reason"), cur.get("message")) == \
                    (new["status"], new["reason"], new["message"]):
                out.append(cur)
                continue
            if cur is not None and cur.get("status") == new["status"]:
                new = {**new, "lastTransitionTime": cur.get("lastTransitionTime")}
            out.append(new)
            changed = True
        if changed:
            st["conditions"] = out
        return changed


class NamespacedResourcesDeleter:
    def __init__(self, client: Client, resources: list[Resource], *, clock: Clock = REAL_CLOCK,
                 finalizer_token: str = FINALIZER_KUBERNETES) -> None:
        self.client = client
        self.resources = resources
        self.clock = clock
        self.finalizer_token = finalizer_token
        self._collection_unsupported: set[tuple[str, str]] = set()

    async def delete(self, name: str) -> None:
        """Carry the namespace's deletion one step further (raises ResourcesRemainingError)."""
        try:
            ns = await self.client.get("namespaces", name)
        except StatusError as e:
            if is_not_found(e):
                return
            raise
        if not ns["metadata"].get("deletionTimestamp"):
            return
        ns = await self.retry_on_conflict(ns, self.update_namespace_status)
        if not ns["metadata"].get("deletionTimestamp"):
            return
        if self.finalized(ns):
            return
        estimate = await self.delete_all_content(ns)
        if estimate > 0:
            raise ResourcesRemainingError(estimate)
        await self.retry_on_conflict(ns, self.finalize_namespace)

    def finalized(self, ns: dict) -> bool:
        return self.finalizer_token not in ((ns.get("spec") or {}).get("finalizers") or [])

    async def retry_on_conflict(self, ns: dict, fn: Callable[[dict], Awaitable[dict]]) -> dict:
        latest = ns
        while True:
            try:
                return await fn(latest)
            except StatusError as e:
                if not is_conflict(e):
                    raise
            prev = latest
            latest = await self.client.get("namespaces", prev["metadata"]["name"])
            if latest["metadata"].get("uid") != prev["metadata"].get("uid"):
                raise StatusError(409, StatusReason.CONFLICT, "namespace uid has changed across retries")

    async def update_namespace_status(self, ns: dict) -> dict:
        if not ns["metadata"].get("deletionTimestamp") or (ns.get("status") or {}).get("phase") == TERMINATING:
            return ns
        new = {**ns, "status": {**(ns.get("status") or {}), "phase": TERMINATING}}
        return await self.client.update_status("namespaces", new)

    async def finalize_namespace(self, ns: dict) -> dict:
        spec = dict(ns.get("spec") or {})
        spec["finalizers"] = sorted({f for f in spec.get("finalizers") or [] if f != self.finalizer_token})
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": ns["metadata"], "spec": spec}
        try:
            return await self.client.update_subresource("namespaces", ns["metadata"]["name"], "finalize", body)
        except StatusError as e:
            if is_not_found(e):
                return ns
            raise

    async def delete_all_content(self, ns: dict) -> int:
        """Delete everything in the namespace; return seconds to wait for what is still going."""
        name = ns["metadata"]["name"]
        updater = ConditionUpdater(self.clock.now())
        estimate = 0
        errors: list[BaseException] = []
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        for r in self.resources:
            try:
                est, n, fins = await self.delete_all_content_for(r, name)
            except StatusError as e:
                errors.append(e)
                updater.process_delete_content_err(e)
                continue
            estimate = max(estimate, est)
            if n:
                remaining[_gvr(r)] = n
                for f, c in fins.items():
                    finalizers[f] = finalizers.get(f, 0) + c
        updater.process_content_totals(remaining, finalizers)
        if updater.update(ns):
            try:
                ns.update(await self.client.update_status("namespaces", ns))
            except StatusError as e:
                log.info("couldn't update status conditions for namespace %s: %s", name, e)
        if errors:
            raise errors[0]
        log.debug("namespace %s: content deleted, estimate %d", name, estimate)
        return estimate

    async def delete_all_content_for(self, r: Resource, namespace: str) -> tuple[int, int, dict[str, int]]:
        """(estimate, items remaining, remaining items per finalizer) for one resource."""
        estimate = await self.estimate_graceful_termination(r, namespace)
        if not await self.delete_collection(r, namespace):
            await self.delete_each_item(r, namespace)
        items, _ = await self.client.list_all(r, namespace)
        if not items:
            return 0, 0, {}
        fins: dict[str, int] = {}
        for it in items:
            for f in it["metadata"].get("finalizers") or []:
                fins[f] = fins.get(f, 0) + 1
        if estimate == 0:
            if not fins:
                raise StatusError(500, StatusReason.INTERNAL_ERROR,
                                  f"unexpected items still remain in namespace: {namespace} for gvr: "
                                  f"{{{r.group} {r.version} {r.plural}}}")
            estimate = FINALIZER_ESTIMATE_SECONDS
        return estimate, len(items), fins

    async def estimate_graceful_termination(self, r: Resource, namespace: str) -> int:
        if r.group or r.plural != "pods":
            return 0
        estimate = 0
        items, _ = await self.client.list_all(r, namespace)
        for pod in items:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
            if grace is not None and int(grace) > estimate:
                estimate = int(grace)
        return estimate

    async def delete_collection(self, r: Resource, namespace: str) -> bool:
        """False when the server does not serve collection deletes for this resource."""
        key = (r.group, r.plural)
        if key in self._collection_unsupported or "deletecollection" not in r.verbs:
            return False
        try:
            await self.client.delete_collection(r, namespace, propagation_policy="Background")
        except StatusError as e:
            if e.code in (404, 405):
                self._collection_unsupported.add(key)
                return False
            raise
        return True

    async def delete_each_item(self, r: Resource, namespace: str) -> None:
        items, _ = await self.client.list_all(r, namespace)
        for it in items:
            try:
                await self.client.delete(r, it["metadata"]["name"], namespace, propagation_policy="Background")
            except StatusError as e:
                if not is_not_found(e):
                    raise
