"""Owner references: the controller reference of an object, new ones, and Status causes.

A controller reference is the one `ownerReferences` entry with `controller: true`; Kubernetes
allows at most one per object.
"""

from __future__ import annotations

from typing import Protocol

from kubelite.machinery.errors import StatusError

# The Status cause the API server attaches when a namespace is being deleted
# (`v1.NamespaceTerminatingCause`).
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


def get_controller_of(obj: dict) -> dict | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


class Getter(Protocol):
    def get(self, name: str, namespace: str | None = None) -> dict: ...


def resolve_controller_ref(lister: Getter, namespace: str, ref: dict, kind: str, group: str | None = None
                           ) -> dict | None:
    """The controller `ref` points at, from `lister`, when its kind (and API group, if given)
    is ours and its uid is still the one referenced (Kubernetes' `resolveControllerRef`)."""
    if ref.get("kind") != kind:
        return None
    if group is not None and (ref.get("apiVersion") or "").split("/")[0] != group:
        return None
    try:
        owner = lister.get(ref.get("name", ""), namespace)
    except StatusError:
        return None
    return owner if owner["metadata"].get("uid") == ref.get("uid") else None


def new_controller_ref(owner: dict, api_version: str, kind: str) -> dict:
    """`metav1.NewControllerRef`: controller and blockOwnerDeletion both true."""
    md = owner["metadata"]
    return {"apiVersion": api_version, "kind": kind, "name": md["name"], "uid": md["uid"],
            "controller": True, "blockOwnerDeletion": True}


def has_status_cause(err: BaseException, cause_type: str) -> bool:
    """Whether a Status error carries a cause of this type (`apierrors.HasStatusCause`)."""
    if not isinstance(err, StatusError):
        return False
    # A StatusCause's type travels as `reason` in JSON; accept `type` from hand-built errors too.
    return any(cause_type in (c.get("reason"), c.get("type")) for c in (err.details or {}).get("causes") or [])


def is_namespace_terminating(err: BaseException) -> bool:
    return has_status_cause(err, NAMESPACE_TERMINATING_CAUSE)


def adopt_patch(obj: dict, controller_ref: dict) -> dict:
    """A JSON merge patch that makes `controller_ref` the object's controller.

    The whole `ownerReferences` list is sent, guarded by the object's `uid` and
    `resourceVersion`, so a concurrent change fails with a Conflict instead of being lost.
    """
    md = obj["metadata"]
    refs = [r for r in md.get("ownerReferences") or [] if r.get("uid") != controller_ref["uid"]]
    refs.append(controller_ref)
    return {"metadata": {"ownerReferences": refs, "uid": md["uid"],
                         "resourceVersion": md.get("resourceVersion")}}


def remove_owner_refs_patch(obj: dict, owner_uids: set[str] | list[str],
                            finalizers: tuple[str, ...] = ()) -> dict | None:
    """A JSON merge patch dropping references to these owners, and these finalizers where the
    object has them; None when there is no reference to drop."""
    md = obj["metadata"]
    refs = md.get("ownerReferences") or []
    keep = [r for r in refs if r.get("uid") not in owner_uids]
    if len(keep) == len(refs):
        return None
    patch: dict = {"metadata": {"ownerReferences": keep or None, "uid": md["uid"],
                                "resourceVersion": md.get("resourceVersion")}}
    have = md.get("finalizers") or []
    if any(f in have for f in finalizers):
        patch["metadata"]["finalizers"] = [f for f in have if f not in finalizers] or None
    return patch
