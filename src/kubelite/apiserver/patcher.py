"""Applies PATCH bodies of every type to a live object (the patch package does the work)."""

from __future__ import annotations

from kubelite.api.scheme import Resource
from kubelite.machinery import errors, timeutil

from . import patch as _patch


class Patcher:
    def patch(self, ptype: str, live: dict, doc: object, r: Resource) -> dict:
        if ptype == "json":
            if not isinstance(doc, list):
                raise errors.new_bad_request("json patch must be a JSON array of operations")
            return _patch.apply_json_patch(live, doc)
        if not isinstance(doc, dict):
            raise errors.new_bad_request(f"{ptype} patch must be a JSON object")
        if ptype == "merge":
            return _patch.apply_merge_patch(live, doc)
        if ptype == "strategic":
            if not _patch.supports_strategic(r.message):
                raise errors.StatusError(415, errors.StatusReason.UNSUPPORTED_MEDIA_TYPE,
                                         f"the body of the request was in an unknown format - accepted media types "
                                         f"include: application/json-patch+json, application/merge-patch+json, "
                                         f"application/apply-patch+yaml")
            return _patch.apply_strategic_merge_patch(live, doc, r.message)
        raise errors.new_unsupported_media_type(ptype)

    def apply(self, live: dict | None, applied: dict, manager: str, r: Resource, *, force: bool,
              subresource: str = "") -> dict:
        return _patch.server_side_apply(live, applied, manager, r.message, force, r.api_version, timeutil.now(),
                                        subresource=subresource, reset_fields=reset_fields(r, subresource))

    def managed_fields_for(self, r: Resource):
        """The store's managed-fields hook for one resource (records Update operations)."""
        def track(old: dict | None, new: dict, manager: str, operation: str, api_version: str,
                  subresource: str) -> list:
            return _patch.update_managed_fields(old, new, manager, "Update", api_version, timeutil.now(),
                                                message_name=r.message, subresource=subresource,
                                                reset_fields=reset_fields(r, subresource))
        return track


def reset_fields(r: Resource, subresource: str) -> tuple[str, ...]:
    """Fields an endpoint ignores: the main resource resets status, `/status` resets spec."""
    if r.subresource("status") is None:
        return ()
    return ("spec",) if subresource == "status" else ("status",)
