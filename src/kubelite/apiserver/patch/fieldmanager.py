"""Managed fields: which manager set which field, recorded on every write (Kubernetes' fieldmanager).

`metadata.managedFields` holds one entry per manager identity (manager, operation, apiVersion for
updates, subresource), each with the set of fields it owns in the FieldsV1 format:

    {"manager": "kubectl-create", "operation": "Update", "apiVersion": "apps/v1",
     "time": "2026-11-25T21:44:32Z", "fieldsType": "FieldsV1",
     "fieldsV1": {"f:spec": {"f:replicas": {}}}}

`update_managed_fields` is called for every create, update and non-apply patch: the fields the
write added or changed move to the writer, and fields the write removed leave every owner.
Server-side apply (`apply.py`) builds on the same `Managed` table.

The object passed as the new version should be the request body after decoding and defaulting,
before the registry strategy resets fields, as in Kubernetes' handlers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubelite.machinery import timeutil

from . import fieldpath as fp
from . import typed
from .fieldpath import Path

APPLY, UPDATE = "Apply", "Update"
MAX_UPDATE_MANAGERS = 10
OLD_UPDATES_MANAGER = "ancient-changes"
BEFORE_FIRST_APPLY_MANAGER = "before-first-apply"

# Fields no manager ever owns (Kubernetes' stripMetaManager).
STRIPPED_PATHS = frozenset({
    fp.make_path("apiVersion"), fp.make_path("kind"), fp.make_path("metadata"),
    fp.make_path("metadata.name"), fp.make_path("metadata.namespace"),
    fp.make_path("metadata.creationTimestamp"), fp.make_path("metadata.selfLink"),
    fp.make_path("metadata.uid"), fp.make_path("metadata.clusterName"),
    fp.make_path("metadata.generation"), fp.make_path("metadata.managedFields"),
    fp.make_path("metadata.resourceVersion"),
})

# Go's zero value of a Kubernetes type keeps non-pointer struct fields (as `{}`) and a few
# non-omitempty slices (as null). A create is compared against that zero value, so these nodes
# are not "added" by it and get no `".": {}` in the creator's entry. The schema does not carry
# pointer-ness, so the common names are listed here.
ZERO_VALUE_STRUCTS = frozenset({"metadata", "spec", "status", "template", "strategy", "updateStrategy",
                                "jobTemplate", "resources"})
ZERO_VALUE_LISTS = frozenset({"containers"})


@dataclass
class Entry:
    """One managedFields entry, decoded."""

    manager: str
    operation: str
    api_version: str
    fields: set[Path]
    subresource: str = ""
    time: str | None = None

    @property
    def identity(self) -> tuple[str, str, str, str]:
        # Appliers are one identity across versions; updaters are one per version.
        version = self.api_version if self.operation == UPDATE else ""
        return (self.manager, self.operation, version, self.subresource)

    @property
    def applied(self) -> bool:
        return self.operation == APPLY

    def describe(self) -> str:
        """The manager as conflict messages name it."""
        if self.operation == UPDATE:
            return f"{json.dumps(self.manager)} using {self.api_version}"
        return json.dumps(self.manager)

    def sort_identifier(self) -> str:
        d = {"manager": self.manager, "operation": self.operation}
        if self.operation == UPDATE and self.api_version:
            d["apiVersion"] = self.api_version
        if self.subresource:
            d["subresource"] = self.subresource
        return json.dumps(d, separators=(",", ":"))


Managed = dict[tuple[str, str, str, str], Entry]


# -- decoding and encoding ------------------------------------------------------------------------

def decode(entries: Any) -> Managed:
    """Decode `metadata.managedFields`; raises ValueError on anything malformed."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    managed: Managed = {}
    for raw in entries:
        if not isinstance(raw, dict):
            raise ValueError("managedFields entries must be objects")
        operation = raw.get("operation")
        if operation not in (APPLY, UPDATE):
            raise ValueError("operation must be `Apply` or `Update`")
        if raw.get("fieldsType", "FieldsV1") != "FieldsV1":
            raise ValueError(f"invalid fieldsType {raw.get('fieldsType')!r}")
        paths = fp.from_fields_v1(raw.get("fieldsV1") or {})
        manager, version = raw.get("manager") or "", raw.get("apiVersion") or ""
        subresource, time = raw.get("subresource") or "", raw.get("time")
        if not all(isinstance(v, str) for v in (manager, version, subresource)):
            raise ValueError("manager, apiVersion and subresource must be strings")
        entry = Entry(manager, operation, version, paths, subresource, time if isinstance(time, str) else None)
        if entry.identity in managed:
            raise ValueError(f"duplicate entry for manager {manager!r}")
        managed[entry.identity] = entry
    return managed


def _time_seconds(t: str | None) -> float:
    if not t:
        return 0
    try:
        parsed = timeutil.parse_time(t)
    except ValueError:
        return 0
    return parsed.timestamp() if parsed else 0


def encode(managed: Managed) -> list[dict[str, Any]]:
    """Entries in Kubernetes' order: Apply before Update, then oldest first, then by name."""
    entries = [e for e in managed.values() if e.fields]
    entries.sort(key=lambda e: (e.operation, int(_time_seconds(e.time)), e.manager, e.api_version, e.subresource))
    out = []
    for e in entries:
        d: dict[str, Any] = {"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version}
        if e.time:
            d["time"] = e.time
        d["fieldsType"] = "FieldsV1"
        d["fieldsV1"] = fp.to_fields_v1(e.fields)
        if e.subresource:
            d["subresource"] = e.subresource
        out.append(d)
    return out


def managed_fields_of(obj: Any) -> Any:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return meta.get("managedFields") if isinstance(meta, dict) else None


def without_managed_fields(obj: Any) -> Any:
    """A shallow copy of the object without `metadata.managedFields`."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        return obj
    meta = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
    return {**obj, "metadata": meta}


def format_time(now: datetime | None) -> str:
    return timeutil.rfc3339(now)


# -- the update rule --------------------------------------------------------------------------------

class Conflicts(Exception):
    """Fields another manager owns whose value the write changes: (entry, path) pairs."""

    def __init__(self, conflicts: list[tuple[Entry, Path]]) -> None:
        super().__init__(f"{len(conflicts)} conflict(s)")
        self.conflicts = conflicts


def take_ownership(managed: Managed, comparison: typed.Comparison, writer: tuple, force: bool) -> Managed:
    """Other managers lose the fields this write changed (unless it conflicts) and removed.

    Raises `Conflicts` when `force` is false and another manager owns a changed field.
    """
    changed = comparison.modified | comparison.added
    conflicts: list[tuple[Entry, Path]] = []
    out: Managed = {}
    for ident, entry in managed.items():
        if ident == writer:
            out[ident] = entry
            continue
        lost = entry.fields & changed
        if lost and not force:
            conflicts.extend((entry, p) for p in fp.iterate(lost))
        remaining = entry.fields - lost - comparison.removed
        out[ident] = Entry(entry.manager, entry.operation, entry.api_version, remaining, entry.subresource, entry.time)
    if conflicts:
        raise Conflicts(conflicts)
    return {ident: e for ident, e in out.items() if e.fields}


def cap_update_managers(managed: Managed, limit: int = MAX_UPDATE_MANAGERS) -> Managed:
    """Fold the oldest Update entries into per-version `ancient-changes` entries past `limit`."""
    updaters = [ident for ident, e in managed.items() if not e.applied]
    if len(updaters) <= limit:
        return managed
    managed = dict(managed)
    updaters.sort(key=lambda i: (int(_time_seconds(managed[i].time)), managed[i].sort_identifier()))
    first_of_version: dict[str, tuple] = {}
    count = len(updaters)
    for ident in updaters:
        if count <= limit:
            break
        entry = managed[ident]
        bucket = Entry(OLD_UPDATES_MANAGER, UPDATE, entry.api_version, set())
        first = first_of_version.get(entry.api_version)
        if first is None:
            first_of_version[entry.api_version] = ident
            continue
        if bucket.identity not in managed:
            first_entry = managed.pop(first)
            bucket.fields = set(first_entry.fields)
        else:
            bucket.fields = set(managed[bucket.identity].fields)
        bucket.fields |= entry.fields
        bucket.time = entry.time
        del managed[ident]
        managed[bucket.identity] = bucket
        count -= 1
    return managed


def strip(paths: set[Path], reset_fields: set[Path]) -> set[Path]:
    return fp.without_prefixes(paths - STRIPPED_PATHS, reset_fields)


def zero_object(new_obj: Any, ref: typed.TypeRef) -> dict:
    """Go's zero value of the object's type, as far as it decides what a create "added"."""

    def walk(v: Any, r: typed.TypeRef) -> dict:
        out: dict[str, Any] = {}
        if not isinstance(v, dict):
            return out
        for k, child in v.items():
            cref, declared = typed.child_ref(r, k)
            if cref is None or not declared:
                continue
            if k in ZERO_VALUE_STRUCTS and cref.kind == typed.STRUCT and isinstance(child, dict):
                out[k] = walk(child, cref)
            elif k in ZERO_VALUE_LISTS and cref.kind == typed.LIST:
                out[k] = []
        return out

    return walk(new_obj, ref)


def record_update(managed: Managed, old: Any, new: Any, entry: Entry, ref: typed.TypeRef,
                  reset_fields: set[Path]) -> Managed:
    """Apply the update rule for one write by `entry`'s manager (no time set here)."""
    comparison = typed.compare(without_managed_fields(old), without_managed_fields(new), ref)
    comparison = comparison.without_prefixes(reset_fields)
    managed = take_ownership(managed, comparison, writer=("", "", "", "<current-operation>"), force=True)
    taken = strip(comparison.modified | comparison.added, reset_fields)
    if not taken:
        return managed
    previous = managed.get(entry.identity)
    fields = taken | (previous.fields if previous else set())
    managed[entry.identity] = Entry(entry.manager, entry.operation, entry.api_version, fields, entry.subresource,
                                    entry.time)
    return managed


def _decode_live_or_new(old_obj: Any, new_obj: Any, is_subresource: bool) -> Managed:
    """The managedFields to start from: the request's, unless absent, invalid or a subresource."""

    def live() -> Managed:
        try:
            return decode(managed_fields_of(old_obj))
        except ValueError:
            return {}

    if is_subresource:
        return live()
    requested = managed_fields_of(new_obj)
    if isinstance(requested, list) and (not requested or requested == [{}]):
        return {}                         # an explicit reset
    try:
        managed = decode(requested)
    except ValueError:
        return live()
    return managed or live()


def update_managed_fields(old_obj: dict | None, new_obj: dict, manager: str, operation: str = UPDATE,
                          api_version: str = "", now: datetime | None = None, *, message_name: str = "",
                          subresource: str = "", reset_fields: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The new object's `metadata.managedFields` after a create (`old_obj=None`), update or patch.

    `manager` is the request's fieldManager (or the user agent); `reset_fields` are the dotted
    paths the registry strategy resets for this endpoint (e.g. `("status",)` on the main
    resource). An empty result means the field should be removed.
    """
    if operation != UPDATE:
        raise ValueError("update_managed_fields records Update operations; use server_side_apply for Apply")
    ref = typed.root_ref(message_name)
    managed = _decode_live_or_new(old_obj, new_obj, bool(subresource))
    old = old_obj if old_obj is not None else zero_object(new_obj, ref)
    entry = Entry(manager or "unknown", UPDATE, api_version, set(), subresource, format_time(now))
    reset = {fp.make_path(p) for p in reset_fields}
    managed = record_update(managed, old, new_obj, entry, ref, reset)
    return encode(cap_update_managers(managed))
