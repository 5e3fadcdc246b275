"""ControllerRevisions: the snapshots of a pod template that DaemonSets and StatefulSets roll
between (Kubernetes' `controller/history`).

A revision is named `<owner>-<hash>` (the owner's name cut to 223 characters), labelled with the
owner's template labels plus `controller-revision-hash`, and holds as `data` the patch that
restores the template (`{"spec": {"template": {..., "$patch": "replace"}}}`). The hash is FNV-32a
of the canonical JSON (sorted keys) followed, when it is not zero, by the collision count as 4
little-endian bytes, printed in Kubernetes' safe alphabet (`hashing.safe_encode_string`). What is
hashed is the caller's choice: the DaemonSet hashes its template, the StatefulSet the revision's
data; the values must not change, or every pod would look out of date.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from kubelite.client import Client
from kubelite.machinery.errors import StatusError, is_not_found

from .hashing import fnv32a, safe_encode_string

REVISION_HASH_LABEL = "controller-revision-hash"
_MAX_PREFIX = 223


def canonical_json(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def hash_revision(obj: Any, collision_count: int | None) -> str:
    raw = canonical_json(obj)
    if collision_count:
        raw += int(collision_count).to_bytes(4, "little", signed=False)
    return safe_encode_string(str(fnv32a(raw)))


def revision_name(prefix: str, hash_: str) -> str:
    """`ControllerRevisionName`: `<prefix>-<hash>`, the prefix cut to 223 characters."""
    return f"{prefix[:_MAX_PREFIX]}-{hash_}"


def revision_data(owner: dict) -> dict:
    """The patch that restores `owner`'s pod template."""
    template = copy.deepcopy((owner.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: dict) -> dict:
    """The pod template a revision restores."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def revision_number(revision: dict) -> int:
    return int(revision.get("revision") or 0)


def revision_hash(obj: dict) -> str | None:
    """The `controller-revision-hash` label of a revision or a pod."""
    return ((obj.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH_LABEL)


def new_controller_revision(owner: dict, controller_ref: dict, data: dict, number: int, hash_: str) -> dict:
    """`history.NewControllerRevision`: labelled with the owner's template labels and the hash."""
    md = owner["metadata"]
    tlabels = (((owner.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": revision_name(md["name"], hash_), "namespace": md["namespace"],
                         "labels": {**tlabels, REVISION_HASH_LABEL: hash_},
                         "ownerReferences": [controller_ref]},
            "data": data, "revision": number}


async def delete_revision(client: Client, revision: dict) -> None:
    """Delete a revision; one already gone is fine."""
    try:
        await client.delete("controllerrevisions.apps", revision["metadata"]["name"],
                            revision["metadata"]["namespace"])
    except StatusError as e:
        if not is_not_found(e):
            raise
