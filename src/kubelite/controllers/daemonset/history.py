"""DaemonSet history: one ControllerRevision per distinct pod template (`<ds>-<hash>`), the
current one found or created on every sync, old ones pruned to `revisionHistoryLimit`.

The revision's shape, name and hash are `controllers.util.history`'s; the DaemonSet hashes its
pod template (with `status.collisionCount`), and copies its annotations onto the revision, as
Kubernetes does. `controller-revision-hash` labels the revision and the pods made from it.
"""

from __future__ import annotations

import copy

from kubelite.client import Client
from kubelite.machinery.errors import StatusError, is_already_exists

from ..util.history import (
    canonical_json,
    delete_revision,
    hash_revision,
    new_controller_revision,
    revision_data,
    revision_hash,
    revision_number,
)
from ..util.ownerrefs import new_controller_ref

def template_hash(ds: dict) -> str:
    return hash_revision((ds.get("spec") or {}).get("template") or {},
                         (ds.get("status") or {}).get("collisionCount"))


def matches(ds: dict, revision: dict) -> bool:
    return canonical_json(revision.get("data")) == canonical_json(revision_data(ds))


class HashCollision(Exception):
    """A revision of that name exists with other content: `collisionCount` was bumped."""


async def construct_history(client: Client, ds: dict, revisions: list[dict]) -> tuple[dict, list[dict]]:
    """`(current, old)` among the DaemonSet's revisions, creating or renumbering the current one."""
    current = [r for r in revisions if matches(ds, r)]
    old = [r for r in revisions if not matches(ds, r)]
    next_number = max((revision_number(r) for r in old), default=0) + 1
    if not current:
        return await _snapshot(client, ds, next_number), old
    current.sort(key=revision_number)
    keep = current[-1]
    for dup in current[:-1]:
        await delete_revision(client, dup)
    if revision_number(keep) < next_number:
        updated = copy.deepcopy(keep)
        updated["revision"] = next_number
        keep = await client.update("controllerrevisions.apps", updated)
    return keep, old


async def _snapshot(client: Client, ds: dict, number: int) -> dict:
    md = ds["metadata"]
    revision = new_controller_revision(ds, new_controller_ref(ds, "apps/v1", "DaemonSet"), revision_data(ds), number,
                                       template_hash(ds))
    revision["metadata"]["annotations"] = dict(md.get("annotations") or {})
    try:
        return await client.create("controllerrevisions.apps", revision, md["namespace"])
    except StatusError as e:
        if not is_already_exists(e):
            raise
    existing = await client.get("controllerrevisions.apps", revision["metadata"]["name"], md["namespace"])
    if matches(ds, existing):
        return existing
    fresh = await client.get("daemonsets.apps", md["name"], md["namespace"])
    status = copy.deepcopy(fresh.get("status") or {})
    status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
    await client.update_status("daemonsets.apps", {**fresh, "status": status})
    raise HashCollision(f"found a hash collision for DaemonSet {md['name']!r} - bumping collisionCount "
                        f"to {status['collisionCount']} to resolve it")


def revisions_to_prune(old: list[dict], live_hashes: set[str], limit: int) -> list[dict]:
    """The oldest revisions beyond `limit` that no live pod was made from."""
    excess = len(old) - limit
    out: list[dict] = []
    for r in sorted(old, key=revision_number):
        if excess <= 0:
            break
        if revision_hash(r) in live_hashes:
            continue
        out.append(r)
        excess -= 1
    return out


async def prune(client: Client, revisions: list[dict]) -> None:
    for r in revisions:
        await delete_revision(client, r)

