"""DaemonSet history: one ControllerRevision per distinct pod template (`<ds>-<hash>`), the
current one found or created on every sync, old ones pruned to `revisionHistoryLimit`.

The revision's `data` is the patch that restores the template (`{"spec": {"template": {...,
"$patch": "replace"}}}`), as Kubernetes stores it; `controller-revision-hash` labels the
revision and the pods made from it. Hashes are FNV-32a of the canonical JSON, printed in
Kubernetes' "safe" alphabet (no vowels, no look-alike digits).
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


def safe_encode(s: str) -> str:
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in s)


def compute_hash(obj: object, collision_count: int | None = None) -> str:
    data = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    if collision_count:
        data += int(collision_count).to_bytes(4, "little", signed=False)
    return safe_encode(str(fnv32a(data)))


def revision_data(ds: dict) -> dict:
    template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_hash(ds: dict) -> str:
    return compute_hash((ds.get("spec") or {}).get("template") or {},
                        (ds.get("status") or {}).get("collisionCount"))


def matches(ds: dict, revision: dict) -> bool:
    return orjson.dumps(revision.get("data"), option=orjson.OPT_SORT_KEYS) == \
        orjson.dumps(revision_data(ds), option=orjson.OPT_SORT_KEYS)


def revision_number(revision: dict) -> int:
    return int(revision.get("revision") or 0)


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
        await _delete_revision(client, dup)
    if revision_number(keep) < next_number:
        updated = copy.deepcopy(keep)
        updated["revision"] = next_number
        keep = await client.update("controllerrevisions.apps", updated)
    return keep, old


async def _snapshot(client: Client, ds: dict, number: int) -> dict:
    md = ds["metadata"]
    h = template_hash(ds)
    tmeta = ((ds.get("spec") or {}).get("template") or {}).get("metadata") or {}
    revision = {
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": f"{md['name'][:223]}-{h}", "namespace": md["namespace"],
                     "labels": {**(tmeta.get("labels") or {}), REVISION_HASH_LABEL: h},
                     "annotations": dict(md.get("annotations") or {}),
                     "ownerReferences": [controller_ref(ds)]},
        "data": revision_data(ds), "revision": number,
    }
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


async def _delete_revision(client: Client, revision: dict) -> None:
    try:
        await client.delete("controllerrevisions.apps", revision["metadata"]["name"],
                            revision["metadata"]["namespace"])
    except StatusError as e:
        if e.code != 404:
            raise


def revisions_to_prune(old: list[dict], live_hashes: set[str], limit: int) -> list[dict]:
    """The oldest revisions beyond `limit` that no live pod was made from."""
    excess = len(old) - limit
    out: list[dict] = []
    for r in sorted(old, key=revision_number):
        if excess <= 0:
            break
        if ((r.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH_LABEL) in live_hashes:
            continue
        out.append(r)
        excess -= 1
    return out


async def prune(client: Client, revisions: list[dict]) -> None:
    for r in revisions:
        await _delete_revision(client, r)

