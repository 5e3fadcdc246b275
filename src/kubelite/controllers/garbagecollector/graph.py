"""The dependency graph: every object with owners or dependents, keyed by UID (Kubernetes'
`graph.go` and `graph_builder.go`).

Informer events update the graph synchronously (`on_add`, `on_update`, `on_delete`) and put
work on two queues through callbacks:

- attempt to delete: a dependent whose owner may be gone, an owner waiting for its dependents
  (foreground deletion), a "virtual" owner node (referenced but not observed yet) whose
  existence must be checked against the API server;
- attempt to orphan: an owner deleted with the `orphan` finalizer.

A node referenced as an owner before it is observed is virtual. The collector checks it with a
live read; if it does not exist, `virtual_delete` removes it like an observed deletion, and its
dependents are then collected.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Callable

log = logging.getLogger(__name__)

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


@dataclass(frozen=True)
class ObjectReference:
    """An object's coordinates: apiVersion, kind, name, uid, and namespace (empty: cluster-scoped)."""

    api_version: str
    kind: str
    name: str
    uid: str
    namespace: str = ""

    def __str__(self) -> str:
        return f"[{self.api_version}/{self.kind}, namespace: {self.namespace}, name: {self.name}, uid: {self.uid}]"

    @classmethod
    def from_owner_ref(cls, ref: dict, namespace: str) -> ObjectReference:
        return cls(ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", ""), ref.get("uid", ""),
                   namespace)

    def coordinates(self) -> ObjectReference:
        return replace(self, namespace="")

    def as_event_object(self) -> dict:
        ref = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name, "uid": self.uid}
        if self.namespace:
            ref["namespace"] = self.namespace
        return ref


def ref_matches(ref: dict, identity: ObjectReference) -> bool:
    """An ownerReference points at these coordinates (`ownerReferenceMatchesCoordinates`)."""
    return (ref.get("uid") == identity.uid and ref.get("name") == identity.name and ref.get("kind") == identity.kind
            and ref.get("apiVersion") == identity.api_version)


@dataclass(eq=False)
class Node:
    identity: ObjectReference
    owners: list[dict] = field(default_factory=list)
    dependents: set[Node] = field(default_factory=set)
    being_deleted: bool = False
    deleting_dependents: bool = False
    virtual: bool = False

    @property
    def uid(self) -> str:
        return self.identity.uid

    def __hash__(self) -> int:
        return id(self)

    def blocking_dependents(self) -> list[Node]:
        """Dependents whose reference to this node has blockOwnerDeletion: true."""
        out = []
        for dep in self.dependents:
            for ref in dep.owners:
                if ref.get("uid") == self.uid and ref.get("blockOwnerDeletion"):
                    out.append(dep)
                    break
        return out


class ReferenceCache:
    """A bounded LRU set of owners known to be absent."""

    def __init__(self, size: int = 500) -> None:
        self.size = size
        self._items: OrderedDict[ObjectReference, None] = OrderedDict()

    def add(self, ref: ObjectReference) -> None:
        self._items[ref] = None
        self._items.move_to_end(ref)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __contains__(self, ref: ObjectReference) -> bool:
        if ref in self._items:
            self._items.move_to_end(ref)
            return True
        return False


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _being_deleted(obj: dict) -> bool:
    return bool(_meta(obj).get("deletionTimestamp"))


def _has_finalizer(obj: dict, finalizer: str) -> bool:
    return finalizer in (_meta(obj).get("finalizers") or [])


def _deletion_starts_with(old: dict | None, new: dict, finalizer: str) -> bool:
    if not _being_deleted(new) or not _has_finalizer(new, finalizer):
        return False
    if old is None:
        return True
    return not _being_deleted(old) or not _has_finalizer(old, finalizer)


def references_diffs(old: list[dict], new: list[dict]) -> tuple[list[dict], list[dict], list[tuple[dict, dict]]]:
    old_by_uid = {r.get("uid"): r for r in old}
    added, changed = [], []
    seen = set()
    for r in new:
        uid = r.get("uid")
        if uid in old_by_uid:
            seen.add(uid)
            if old_by_uid[uid] != r:
                changed.append((old_by_uid[uid], r))
        else:
            added.append(r)
    removed = [r for uid, r in old_by_uid.items() if uid not in seen]
    return added, removed, changed


def partition_dependents(dependents: list[Node], owner: ObjectReference) -> tuple[list[Node], list[Node]]:
    """Dependents whose reference matches the owner's coordinates (and namespace), and the others."""
    matching, nonmatching = [], []
    for dep in dependents:
        found_match = found_mismatch = False
        if owner.namespace and owner.namespace != dep.identity.namespace:
            found_mismatch = True
        else:
            for ref in dep.owners:
                if ref.get("uid") != owner.uid:
                    continue
                if ref_matches(ref, owner):
                    found_match = True
                else:
                    found_mismatch = True
        if found_match:
            matching.append(dep)
        if found_mismatch:
            nonmatching.append(dep)
    return matching, nonmatching


class GraphBuilder:
    def __init__(self, *, attempt_to_delete: Callable[[Node], None],
                 attempt_to_orphan: Callable[[Node], None],
                 requeue_delete: Callable[[Node], None] | None = None,
                 report_invalid_namespace: Callable[[Node, ObjectReference], None] | None = None) -> None:
        self.uid_to_node: dict[str, Node] = {}
        self.absent_owner_cache = ReferenceCache()
        self._attempt_to_delete = attempt_to_delete
        self._attempt_to_orphan = attempt_to_orphan
        self._requeue_delete = requeue_delete or attempt_to_delete
        self._report_invalid_namespace = report_invalid_namespace or (lambda n, ref: None)

    def get(self, uid: str) -> Node | None:
        return self.uid_to_node.get(uid)

    # -- informer events ----------------------------------------------------------------------------
    def on_add(self, api_version: str, kind: str, obj: dict) -> None:
        self.process("add", api_version, kind, obj, None)

    def on_update(self, api_version: str, kind: str, old: dict, new: dict) -> None:
        self.process("update", api_version, kind, new, old)

    def on_delete(self, api_version: str, kind: str, obj: dict) -> None:
        self.process("delete", api_version, kind, obj, None)

    def virtual_delete(self, identity: ObjectReference) -> None:
        """The collector verified this object does not exist: treat it as deleted."""
        self._delete(identity, virtual=True)

    @staticmethod
    def identity_of(api_version: str, kind: str, obj: dict) -> ObjectReference:
        md = _meta(obj)
        return ObjectReference(api_version, kind, md.get("name", ""), md.get("uid", ""), md.get("namespace") or "")

    def process(self, event: str, api_version: str, kind: str, obj: dict, old: dict | None) -> None:
        identity = self.identity_of(api_version, kind, obj)
        if not identity.uid:
            return
        existing = self.uid_to_node.get(identity.uid)
        if existing is not None and existing.virtual:
            self._observe(existing, identity)
        if event == "delete":
            self._delete(identity, virtual=False)
            return
        owners = list(_meta(obj).get("ownerReferences") or [])
        if existing is None:
            node = Node(identity, owners=owners, being_deleted=_being_deleted(obj),
                        deleting_dependents=_being_deleted(obj) and _has_finalizer(obj, FOREGROUND))
            self.insert_node(node)
            self.process_transitions(old, obj, node)
            return
        added, removed, changed = references_diffs(existing.owners, owners)
        if added or removed or changed:
            self._add_unblocked_owners_to_delete_queue(removed, changed)
            existing.owners = owners
            self._add_dependent_to_owners(existing, added)
            self._remove_dependent_from_owners(existing, removed)
        if _being_deleted(obj):
            existing.being_deleted = True
        self.process_transitions(old, obj, existing)

    def _observe(self, node: Node, observed: ObjectReference) -> None:
        """A virtual node was seen by an informer: it is real now, with the observed identity."""
        if observed != node.identity:
            _, invalid = partition_dependents(list(node.dependents), observed)
            for dep in invalid:
                if observed.namespace and dep.identity.namespace != observed.namespace:
                    log.info("%s references an owner %s in another namespace", dep.identity, observed)
                    self._report_invalid_namespace(dep, observed)
                self._attempt_to_delete(dep)
            log.debug("replacing virtual item %s with observed item %s", node.identity, observed)
            node.identity = observed
        node.virtual = False

    def process_transitions(self, old: dict | None, new: dict, node: Node) -> None:
        if _deletion_starts_with(old, new, ORPHAN):
            self._attempt_to_orphan(node)
            return
        if _deletion_starts_with(old, new, FOREGROUND):
            node.deleting_dependents = True
            for dep in list(node.dependents):
                self._attempt_to_delete(dep)
            self._attempt_to_delete(node)

    # -- structure -----------------------------------------------------------------------------------
    def insert_node(self, node: Node) -> None:
        self.uid_to_node[node.uid] = node
        self._add_dependent_to_owners(node, node.owners)

    def _add_dependent_to_owners(self, node: Node, owners: list[dict]) -> None:
        potentially_invalid = False
        for ref in owners:
            uid = ref.get("uid", "")
            owner = self.uid_to_node.get(uid)
            if owner is None:
                owner = Node(ObjectReference.from_owner_ref(ref, node.identity.namespace), virtual=True)
                self.uid_to_node[uid] = owner
                owner.dependents.add(node)
                # The collector checks with the API server whether this owner exists.
                self._attempt_to_delete(owner)
                continue
            owner.dependents.add(node)
            if potentially_invalid:
                continue
            owner_namespaced = bool(owner.identity.namespace)
            if owner_namespaced and owner.identity.namespace != node.identity.namespace:
                if not owner.virtual:
                    log.info("%s references an owner %s in another namespace", node.identity, owner.identity)
                    self._report_invalid_namespace(node, owner.identity)
                potentially_invalid = True
            elif not ref_matches(ref, owner.identity):
                potentially_invalid = True
            elif not owner_namespaced and owner.identity.namespace != node.identity.namespace and owner.virtual:
                potentially_invalid = True
        if potentially_invalid:
            self._attempt_to_delete(node)

    def _remove_dependent_from_owners(self, node: Node, owners: list[dict]) -> None:
        for ref in owners:
            owner = self.uid_to_node.get(ref.get("uid", ""))
            if owner is not None:
                owner.dependents.discard(node)

    def remove_node(self, node: Node) -> None:
        self.uid_to_node.pop(node.uid, None)
        self._remove_dependent_from_owners(node, node.owners)

    def _add_unblocked_owners_to_delete_queue(self, removed: list[dict], changed: list[tuple[dict, dict]]) -> None:
        """An owner waiting for blocking dependents may be done when a blocking reference goes away."""
        for ref in removed:
            if ref.get("blockOwnerDeletion"):
                owner = self.uid_to_node.get(ref.get("uid", ""))
                if owner is not None:
                    self._attempt_to_delete(owner)
        for old, new in changed:
            if old.get("blockOwnerDeletion") and not new.get("blockOwnerDeletion"):
                owner = self.uid_to_node.get(new.get("uid", ""))
                if owner is not None:
                    self._attempt_to_delete(owner)

    def _delete(self, identity: ObjectReference, *, virtual: bool) -> None:
        node = self.uid_to_node.get(identity.uid)
        if node is None:
            return
        if virtual:
            if node.virtual:
                matching, nonmatching = partition_dependents(list(node.dependents), identity)
                if nonmatching:
                    # Some dependents know this owner by other coordinates: keep the node.
                    if matching:
                        self.absent_owner_cache.add(identity)
                        for dep in matching:
                            self._attempt_to_delete(dep)
                    if node.identity == identity:
                        alternate = self._alternate_identity(nonmatching, identity)
                        if alternate is not None:
                            node.identity = alternate
                            self._requeue_delete(node)
                    return
            elif node.identity != identity:
                matching, _ = partition_dependents(list(node.dependents), identity)
                if matching:
                    self.absent_owner_cache.add(identity)
                    for dep in matching:
                        self._attempt_to_delete(dep)
                return
        self.remove_node(node)
        if node.dependents:
            self.absent_owner_cache.add(node.identity)
        for dep in list(node.dependents):
            self._attempt_to_delete(dep)
        for ref in node.owners:
            owner = self.uid_to_node.get(ref.get("uid", ""))
            if owner is not None and owner.deleting_dependents:
                self._attempt_to_delete(owner)

    @staticmethod
    def _alternate_identity(deps: list[Node], absent: ObjectReference) -> ObjectReference | None:
        cluster_scoped = not absent.namespace
        seen = {absent}
        best: ObjectReference | None = None
        for dep in sorted(deps, key=lambda n: str(n.identity)):
            for ref in dep.owners:
                if ref.get("uid") != absent.uid:
                    continue
                cand = ObjectReference.from_owner_ref(ref, dep.identity.namespace)
                if cluster_scoped and cand.api_version == absent.api_version and cand.kind == absent.kind:
                    continue
                if cand in seen:
                    continue
                seen.add(cand)
                if best is None or str(cand) < str(best):
                    best = cand
        return best
