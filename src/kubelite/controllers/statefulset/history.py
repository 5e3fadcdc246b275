"""StatefulSet history: ControllerRevisions named `<set>-<hash>`, holding the patch that restores
a pod template. The set's `status.currentRevision`/`updateRevision` and its pods'
`controller-revision-hash` label hold revision *names* (the revision's own label holds the hash).

`revisions_for_update` finds the update revision (the latest one if the template did not change,
an earlier equal one renumbered on rollback, or a new one) and the current revision.
"""

from __future__ import annotations

import copy

import orjson

from kubelite.client import Client
from kubelite.machinery.errors import StatusError, is_already_exists

from ._pods import controller_ref

REVISION_HASH_LABEL = "controller-revision-hash"
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def _canonical(obj: object) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def hash_revision(data: dict, collision_count: int | None) -> str:
    raw = _canonical(data)
    if collision_count:
        raw += int(collision_count).to_bytes(4, "little", signed=False)
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in str(fnv32a(raw)))


def revision_data(sts: dict) -> dict:
    template = copy.deepcopy((sts.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: dict) -> dict:
    """The pod template a revision restores."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def apply_revision(sts: dict, revision: dict) -> dict:
    out = copy.deepcopy(sts)
    out.setdefault("spec", {})["template"] = template_of(revision)
    return out


def revision_number(revision: dict) -> int:
    return int(revision.get("revision") or 0)


def equal_revisions(a: dict, b: dict) -> bool:
    la = ((a.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH_LABEL)
    lb = ((b.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH_LABEL)
    return la == lb and _canonical(a.get("data")) == _canonical(b.get("data"))


def new_revision(sts: dict, number: int, collision_count: int | None) -> dict:
    md = sts["metadata"]
    data = revision_data(sts)
    h = hash_revision(data, collision_count)
    tlabels = (((sts.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": f"{md['name'][:223]}-{h}", "namespace": md["namespace"],
                         "labels": {**tlabels, REVISION_HASH_LABEL: h},
                         "ownerReferences": [controller_ref(sts)]},
            "data": data, "revision": number}


async def create_revision(client: Client, sts: dict, revision: dict, collision_count: int) -> tuple[dict, int]:
    """Create it, stepping `collision_count` past names taken by other content."""
    uid = sts["metadata"]["uid"]
    while True:
        h = hash_revision(revision["data"], collision_count)
        body = copy.deepcopy(revision)
        body["metadata"]["name"] = f"{sts['metadata']['name'][:223]}-{h}"
        body["metadata"]["labels"][REVISION_HASH_LABEL] = h
        try:
            return await client.create("controllerrevisions.apps", body, sts["metadata"]["namespace"]), collision_count
        except StatusError as e:
            if not is_already_exists(e):
                raise
        existing = await client.get("controllerrevisions.apps", body["metadata"]["name"], sts["metadata"]["namespace"])
        owner = next((r for r in existing["metadata"].get("ownerReferences") or [] if r.get("controller")), {})
        if owner.get("uid") == uid and _canonical(existing.get("data")) == _canonical(body["data"]):
            return existing, collision_count
        collision_count += 1


async def revisions_for_update(client: Client, sts: dict, revisions: list[dict]) -> tuple[dict, dict, int]:
    """`(current, update, collisionCount)`."""
    revisions = sorted(revisions, key=revision_number)
    collision_count = int((sts.get("status") or {}).get("collisionCount") or 0)
    next_number = revision_number(revisions[-1]) + 1 if revisions else 1
    update = new_revision(sts, next_number, collision_count)
    equal = [r for r in revisions if equal_revisions(r, update)]
    if equal and equal[-1] is revisions[-1]:
        update = revisions[-1]
    elif equal:
        bumped = copy.deepcopy(equal[-1])
        bumped["revision"] = next_number
        update = await client.update("controllerrevisions.apps", bumped)
    else:
        update, collision_count = await create_revision(client, sts, update, collision_count)
    current_name = (sts.get("status") or {}).get("currentRevision")
    current = next((r for r in revisions if r["metadata"]["name"] == current_name), None)
    return current or update, update, collision_count


def revisions_to_prune(revisions: list[dict], live: set[str], limit: int) -> list[dict]:
    """The oldest non-live revisions beyond `limit` (live: current, update, and any a pod runs)."""
    history = [r for r in sorted(revisions, key=revision_number) if r["metadata"]["name"] not in live]
    return history[:max(0, len(history) - limit)]
