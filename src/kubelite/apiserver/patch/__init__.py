"""Patches and field ownership: the pure functions behind PATCH and every write's managedFields.

- `jsonpatch`: RFC 6902 JSON patch (`application/json-patch+json`).
- `mergepatch`: RFC 7386 JSON merge patch (`application/merge-patch+json`), also the patch for
  custom resources.
- `strategic`: strategic merge patch (`application/strategic-merge-patch+json`), driven by the
  schema's merge keys and patch strategies.
- `fieldmanager`: `metadata.managedFields` (FieldsV1) for creates, updates and patches.
- `apply`: server-side apply (`application/apply-patch+yaml`): merge by list types, ownership,
  pruning, conflicts.
- `fieldpath` and `typed`: field paths, sets of them, and objects walked with their schema.

Objects are plain JSON dicts; every function copies its inputs and raises `StatusError` with the
code and message the real API server gives. Nothing here does I/O.

May import: `kubelite.machinery`, `kubelite.api.schema`.
"""

from .apply import new_apply_conflict, server_side_apply
from .fieldmanager import update_managed_fields
from .jsonpatch import apply_json_patch
from .mergepatch import apply_merge_patch
from .strategic import apply_strategic_merge_patch, supports_strategic

__all__ = [
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
    "new_apply_conflict",
    "server_side_apply",
    "supports_strategic",
    "update_managed_fields",
]
