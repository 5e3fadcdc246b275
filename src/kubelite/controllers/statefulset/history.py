"""StatefulSet history: ControllerRevisions named `<set>-<hash>`, holding the patch that restores
a pod template (`controllers.util.history`; the StatefulSet hashes the revision's data). The
set's `status.currentRevision`/`updateRevision` and its pods' `controller-revision-hash` label
hold revision *names* (the revision's own label holds the hash).

`revisions_for_update` finds the update revision (the latest one if the template did not change,
an earlier equal one renumbered on rollback, or a new one) and the current revision.
"""

from __future__ import annotations

import copy

from kubelite.client import Client
from kubelite.machinery.errors import StatusError, is_already_exists

from ..util.history import (
    REVISION_HASH_LABEL,
    canonical_json,
    hash_revision,
    new_controller_revision,
    revision_data,
    revision_hash,
    revision_name,
    revision_number,
    template_of,
)
from ..util.ownerrefs import get_controller_of, new_controller_ref


def apply_revision(sts: dict, revision: dict) -> dict:
    out = copy.deepcopy(sts)
    out.setdefault("spec", {})["template"] = template_of(revision)
    return out


def equal_revisions(a: dict, b: dict) -> bool:
    return revision_hash(a) == revision_hash(b) and canonical_json(a.get("data")) == canonical_json(b.get("data"))


def new_revision(sts: dict, number: int, collision_count: int | None) -> dict:
    data = revision_data(sts)
    return new_controller_revision(sts, new_controller_ref(sts, "apps/v1", "StatefulSet"), data, number,
                                   hash_revision(data, collision_count))


async def create_revision(client: Client, sts: dict, revision: dict, collision_count: int) -> tuple[dict, int]:
    """Create it, stepping `collision_count` past names taken by other content."""
    uid = sts["metadata"]["uid"]
    while True:
        h = hash_revision(revision["data"], collision_count)
        body = copy.deepcopy(revision)
        body["metadata"]["name"] = revision_name(sts["metadata"]["name"], h)
        body["metadata"]["labels"][REVISION_HASH_LABEL] = h
        try:
            return await client.create("controllerrevisions.apps", body, sts["metadata"]["namespace"]), collision_count
        except StatusError as e:
            if not is_already_exists(e):
                raise
        existing = await client.get("controllerrevisions.apps", body["metadata"]["name"], sts["metadata"]["namespace"])
        owner = get_controller_of(existing) or {}
        if owner.get("uid") == uid and canonical_json(existing.get("data")) == canonical_json(body["data"]):
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
