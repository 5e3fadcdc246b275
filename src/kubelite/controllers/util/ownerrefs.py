"""Owner references: the controller reference of an object, new ones, and Status causes.

A controller reference is the one `ownerReferences` entry with `controller: true`; Kubernetes
allows at most one per object.
"""

from __future__ import annotations

from kubelite.machinery.errors import StatusError

# The Status cause the API server attaches when a namespace is being deleted
# (`v1.NamespaceTerminatingCause`).
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


def get_controller_of(obj: dict) -> dict | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def new_controller_ref(owner: dict, api_version: str, kind: str) -> dict:
    """`metav1.NewControllerRef`: controller and blockOwnerDeletion both true."""
    md = owner["metadata"]
    return {"apiVersion": api_version, "kind": kind, "name": md["name"], "uid": md["uid"],
            "controller": True, "blockOwnerDeletion": True}


def has_status_cause(err: BaseException, cause_type: str) -> bool:
    """Whether a Status error carries a cause of this type (`apierrors.HasStatusCause`)."""
    if not isinstance(err, StatusError):
        return False
    return any(c.get("type") == cause_type for c in (err.details or {}).get("causes") or [])


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


def remove_owner_refs_patch(obj: dict, owner_uids: set[str] | list[str]) -> dict | None:
    """A JSON merge patch dropping references to these owners; None when there is none to drop."""
    md = obj["metadata"]
    refs = md.get("ownerReferences") or []
    keep = [r for r in refs if r.get("uid") not in owner_uids]
    if len(keep) == len(refs):
        return None
    return {"metadata": {"ownerReferences": keep or None, "uid": md["uid"],
                         "resourceVersion": md.get("resourceVersion")}}
