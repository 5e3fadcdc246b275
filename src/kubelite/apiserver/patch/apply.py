"""Server-side apply (`application/apply-patch+yaml`), as Kubernetes' fieldmanager does it.

The applied configuration is the manager's whole intent for the fields it names:

1. It is merged into the live object by the schema's list types (atomic lists are replaced,
   sets are unioned, list maps merge by key) and map types.
2. The manager's Apply entry becomes exactly the configuration's field set.
3. Fields this manager applied last time and no longer applies are removed, unless another
   manager (applier or updater) owns them too.
4. A changed value owned by another manager is a conflict: 409 with one cause per field, unless
   `force`, which moves those fields to the applier. An unchanged value is shared ownership.

Two compatibility rules follow Kubernetes: the first apply to an object without managedFields
first gives every existing field to `before-first-apply`; and `kubectl` (the manager name of
`kubectl apply --server-side`) may take over fields listed in the client-side apply annotation
without a conflict, and keeps that annotation in sync.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

from kubelite.machinery.errors import CauseType, StatusError, StatusReason, new_bad_request

from . import fieldmanager as fm
from . import fieldpath as fp
from . import typed
from .fieldmanager import Entry, Managed
from .fieldpath import Path

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL_APPLY_MANAGER = "kubectl"


def new_apply_conflict(conflicts: list[tuple[Entry, Path]]) -> StatusError:
    """409 Conflict listing each field another manager owns, worded as Kubernetes words it."""
    causes = [{"reason": str(CauseType.FIELD_MANAGER_CONFLICT), "message": f"conflict with {entry.describe()}",
               "field": fp.path_string(path)} for entry, path in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {entry.describe()}: {fp.path_string(path)}"
    else:
        by_manager: dict[str, tuple[Entry, list[Path]]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(entry.sort_identifier(), (entry, []))[1].append(path)
        lines = []
        for ident in sorted(by_manager):
            entry, paths = by_manager[ident]
            lines.append(f"conflicts with {entry.describe()}:")
            lines.extend(f"- {fp.path_string(p)}" for p in paths)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return StatusError(409, StatusReason.CONFLICT, message, {"causes": causes})


def _object_description(obj: dict, api_version: str) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    group_version = api_version if "/" in api_version else "/" + api_version
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}; {group_version}, Kind={obj.get('kind') or ''}"


def _prune(merged: Any, managed: Managed, applier: tuple, last: set[Path], ref: typed.TypeRef) -> Any:
    """Remove what the applier applied last time and nobody (the applier included) owns now."""
    if not last:
        return merged
    owned: set[Path] = set()
    for entry in managed.values():
        owned |= entry.fields
    owned = typed.ensure_named_fields(owned, ref)
    last = typed.ensure_named_fields(last, ref)
    merged_set = typed.ensure_named_fields(typed.field_set(merged, ref), ref)
    pruned = typed.remove_paths(merged, last, ref)
    pruned_set = typed.ensure_named_fields(typed.field_set(pruned, ref), ref)
    pruned = typed.remove_paths(merged, merged_set - (pruned_set | owned), ref)
    pruned_set = typed.ensure_named_fields(typed.field_set(pruned, ref), ref)
    return typed.remove_paths(merged, (merged_set - pruned_set) & last, ref)


def _apply(live: dict, config: dict, managed: Managed, entry: Entry, force: bool, ref: typed.TypeRef,
           reset: set[Path]) -> tuple[dict, Managed, bool]:
    # Identity fields (metadata.name, ...) stay in the applier's set while pruning, so that the
    # structs holding them are owned; they are stripped from what is recorded afterwards.
    config_set = fp.without_prefixes(typed.field_set(config, ref, strict=True), reset)
    merged = typed.merge(live, config, ref)
    previous = managed.get(entry.identity)
    managed = dict(managed)
    applier = Entry(entry.manager, fm.APPLY, entry.api_version, config_set, entry.subresource,
                    previous.time if previous else None)
    managed[entry.identity] = applier
    merged = _prune(merged, managed, entry.identity, previous.fields if previous else set(), ref)
    comparison = typed.compare(live, merged, ref).without_prefixes(reset)
    managed = fm.take_ownership(managed, comparison, entry.identity, force)
    applier.fields = fm.strip(applier.fields, reset)
    if not applier.fields:
        del managed[entry.identity]
    return merged, managed, not typed.equal(live, merged)


def _allowed_by_last_applied(live: dict, ref: typed.TypeRef) -> set[Path] | None:
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(LAST_APPLIED_ANNOTATION) if isinstance(annotations, dict) else None
    if not raw or not isinstance(raw, str):
        return None
    try:
        last_applied = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(last_applied, dict):
        return None
    return typed.field_set(last_applied, ref)


def _go_json(obj: Any) -> str:
    """JSON as Go's encoder writes an unstructured object: sorted keys, HTML-escaped, newline."""
    s = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        s = s.replace(ch, esc)
    return s + "\n"


def _sync_last_applied(merged: dict, config: dict) -> None:
    annotations = (merged.get("metadata") or {}).get("annotations")
    if not isinstance(annotations, dict) or LAST_APPLIED_ANNOTATION not in annotations:
        return
    applied = copy.deepcopy(config)
    applied_annotations = (applied.get("metadata") or {}).get("annotations")
    if isinstance(applied_annotations, dict):
        applied_annotations.pop(LAST_APPLIED_ANNOTATION, None)
    annotations[LAST_APPLIED_ANNOTATION] = _go_json(applied)


def server_side_apply(live_obj: dict | None, applied: Any, manager: str, message_name: str, force: bool = False,
                      api_version: str = "", now: datetime | None = None, *, subresource: str = "",
                      reset_fields: tuple[str, ...] = ()) -> dict:
    """The object after `manager` applies `applied` to `live_obj` (None: create it).

    The result carries the new `metadata.managedFields`. Raises 400 for a malformed
    configuration, 409 with `FieldManagerConflict` causes for conflicts, and 500 for a
    configuration that does not fit the schema (Kubernetes 1.32 returns a plain error there).
    A missing fieldManager is the caller's 400.
    """
    if not isinstance(applied, dict):
        raise new_bad_request(f"error decoding YAML: expected an object, got {type(applied).__name__}")
    meta = applied.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise new_bad_request("error decoding YAML: metadata must be an object")
    if meta and meta.get("managedFields") is not None:
        raise new_bad_request("metadata.managedFields must be nil")
    if api_version and applied.get("apiVersion") != api_version:
        raise new_bad_request("Incorrect version specified in apply patch. "
                              f"Specified patch version: {applied.get('apiVersion') or ''}, expected: {api_version}")
    ref = typed.root_ref(message_name)
    reset = {fp.make_path(p) for p in reset_fields}
    config = copy.deepcopy(applied)
    live = fm.without_managed_fields(copy.deepcopy(live_obj)) if live_obj is not None else {}
    time = fm.format_time(now)
    try:
        managed = fm.decode(fm.managed_fields_of(live_obj)) if live_obj is not None else {}
    except ValueError as exc:
        raise StatusError(500, StatusReason.UNKNOWN, f"failed to decode managed fields: {exc}") from exc
    if live_obj is not None and not managed:
        before = Entry(fm.BEFORE_FIRST_APPLY_MANAGER, fm.UPDATE, api_version, set(), subresource, time)
        managed = fm.record_update({}, fm.zero_object(live, ref), live, before, ref, reset)
    entry = Entry(manager, fm.APPLY, api_version, set(), subresource)
    try:
        try:
            merged, managed, changed = _apply(live, config, managed, entry, force, ref, reset)
        except fm.Conflicts as exc:
            allowed = _allowed_by_last_applied(live, ref) if manager == KUBECTL_APPLY_MANAGER else None
            if allowed is None:
                raise new_apply_conflict(exc.conflicts) from None
            remaining = [(e, p) for e, p in exc.conflicts if p not in allowed]
            if remaining:
                raise new_apply_conflict(remaining) from None
            merged, managed, changed = _apply(live, config, managed, entry, True, ref, reset)
    except typed.SchemaError as exc:
        raise StatusError(500, StatusReason.UNKNOWN,
                          f"failed to create typed patch object ({_object_description(config, api_version)}): "
                          f"{exc}") from exc
    if changed and entry.identity in managed:
        managed[entry.identity].time = time
    if manager == KUBECTL_APPLY_MANAGER:
        _sync_last_applied(merged, config)
    encoded = fm.encode(fm.cap_update_managers(managed))
    merged_meta = merged.setdefault("metadata", {})
    if encoded:
        merged_meta["managedFields"] = encoded
    else:
        merged_meta.pop("managedFields", None)
    return merged
