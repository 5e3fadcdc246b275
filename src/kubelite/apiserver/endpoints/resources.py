"""Handlers for the standard verbs on a resource: get, list, create, update, patch, delete,
deletecollection (watch is in `watch.py`, subresources in `subresources.py`).
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from kubelite.api import decode as _decode
from kubelite.machinery import errors, timeutil

from .. import keys, negotiation, tables
from kubelite.registry.generic.store import DeleteOptions, Store
from .context import RequestContext

if TYPE_CHECKING:
    from ..server import APIServer

log = logging.getLogger(__name__)


def list_kind(store: Store) -> str:
    return store.resource.list_kind


def check_type_meta(ctx: RequestContext, obj: object) -> dict:
    r = ctx.resource
    assert r is not None
    if not isinstance(obj, dict):
        raise errors.new_bad_request(f"the body of the request must be a JSON object, got {type(obj).__name__}")
    av = obj.get("apiVersion")
    kind = obj.get("kind")
    if av is not None and not isinstance(av, str) or kind is not None and not isinstance(kind, str):
        raise errors.new_bad_request("apiVersion and kind must be strings")
    if av and av != r.api_version:
        raise errors.new_bad_request(
            f"the API version in the data ({av}) does not match the expected API version ({r.api_version})")
    if kind and kind != r.kind:
        raise errors.new_bad_request(f"the kind in the data ({kind}) does not match the expected kind ({r.kind})")
    md = obj.get("metadata")
    if md is not None and not isinstance(md, dict):
        raise errors.new_bad_request(f'{r.kind} in version "{r.version}" cannot be handled as a {r.kind}: '
                                     f'json: cannot unmarshal {type(md).__name__} into Go struct field '
                                     f'{r.kind}.metadata of type v1.ObjectMeta')
    if md is not None and "creationTimestamp" in md and md["creationTimestamp"] is None:
        del md["creationTimestamp"]
    return obj


def field_validation(ctx: RequestContext, obj: dict, message: str) -> None:
    """Strict/Warn/Ignore handling of unknown fields and wrong types (Kubernetes' fieldValidation)."""
    mode = ctx.q("fieldValidation", "Warn") or "Warn"
    if mode not in ("Strict", "Warn", "Ignore"):
        raise errors.new_bad_request(f'fieldValidation: Unsupported value: "{mode}": supported values: '
                                     f'"Ignore", "Strict", "Warn"')
    try:
        unknown, type_errors = _decode.check_fields(obj, message)
    except KeyError:  # no schema for this message
        return
    r = ctx.resource
    assert r is not None
    if type_errors:
        raise _decode.type_error(r.kind, r.version, type_errors)
    duplicates = ctx.request.get(keys.DUPLICATE_FIELDS) or []
    if not unknown and not duplicates or mode == "Ignore":
        return
    if mode == "Strict":
        raise _decode.strict_error(r.kind, unknown, duplicates, version=r.version)
    ctx.warnings.extend(_decode.strict_warnings(unknown, duplicates))


class ResourceEndpoints:
    def __init__(self, server: "APIServer"):
        self.server = server

    # -- reads -------------------------------------------------------------------------------
    async def get(self, ctx: RequestContext, store: Store) -> web.StreamResponse:
        obj = await store.get(ctx.info.namespace, ctx.info.name, resource_version=ctx.q("resourceVersion"))
        return self.respond_object(ctx, store, obj)

    def respond_object(self, ctx: RequestContext, store: Store, obj: dict, status: int = 200) -> web.StreamResponse:
        accept = ctx.accept
        tv = negotiation.wants(accept, "Table")
        if tv:
            include = tables.check_include_object(ctx.q("includeObject") or None)
            t = tables.table(store.resource, [obj], resource_version=obj["metadata"].get("resourceVersion", ""),
                             include=include, version=tv)
            return ctx.reply(t, status)
        pv = negotiation.wants(accept, "PartialObjectMetadata")
        if pv:
            return ctx.reply({"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{pv}",
                              "metadata": obj["metadata"]}, status)
        return ctx.reply(obj, status)

    async def list(self, ctx: RequestContext, store: Store) -> web.StreamResponse:
        limit = ctx.q_int("limit") or 0
        if limit < 0:
            limit = 0
        items, rv, cont, remaining = await store.list(
            ctx.info.namespace, label_selector=ctx.q("labelSelector") or None,
            field_selector=ctx.q("fieldSelector") or None, limit=limit, continue_token=ctx.q("continue") or None,
            resource_version=ctx.q("resourceVersion"), resource_version_match=ctx.q("resourceVersionMatch"))
        accept = ctx.accept
        tv = negotiation.wants(accept, "Table")
        if tv:
            include = tables.check_include_object(ctx.q("includeObject") or None)
            t = tables.table(store.resource, items, resource_version=rv, continue_token=cont, include=include,
                             version=tv, remaining=remaining)
            return ctx.reply(t)
        md: dict = {"resourceVersion": rv}
        if cont:
            md["continue"] = cont
        pv = negotiation.wants(accept, "PartialObjectMetadataList") or negotiation.wants(accept,
                                                                                         "PartialObjectMetadata")
        if pv:
            return ctx.reply({"kind": "PartialObjectMetadataList", "apiVersion": f"meta.k8s.io/{pv}",
                              "metadata": md,
                              "items": [{"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{pv}",
                                         "metadata": o["metadata"]} for o in items]})
        return ctx.reply({"kind": list_kind(store), "apiVersion": store.resource.api_version, "metadata": md,
                          "items": items})

    # -- writes ------------------------------------------------------------------------------
    async def read_object(self, ctx: RequestContext) -> dict:
        body = await negotiation.read_body(ctx.request)
        ct = ctx.request.headers.get("Content-Type", "")
        if negotiation.media_type(ct) in ("", negotiation.JSON):
            obj, dups = negotiation.decode_json_checked(body)
            ctx.request[keys.DUPLICATE_FIELDS] = dups
        else:
            obj = negotiation.decode_object(body, ct)
        obj = check_type_meta(ctx, obj)
        field_validation(ctx, obj, ctx.resource.message if ctx.resource else "")
        ctx.request[keys.REQUEST_OBJECT] = obj
        return obj

    async def create(self, ctx: RequestContext, store: Store) -> web.StreamResponse:
        if ctx.info.name:
            raise errors.new_method_not_supported(store.resource.group, store.resource.plural, "create")
        obj = await self.read_object(ctx)
        created = await store.create(ctx.info.namespace, obj, ctx.write_options())
        return self.respond_object(ctx, store, created, 201)

    async def update(self, ctx: RequestContext, store: Store) -> web.StreamResponse:
        obj = await self.read_object(ctx)
        md = obj.get("metadata") or {}
        if md.get("name") and md["name"] != ctx.info.name:
            raise errors.new_bad_request(
                f"the name of the object ({md['name']}) does not match the name on the URL ({ctx.info.name})")
        new, created = await store.update(ctx.info.namespace, ctx.info.name, obj, ctx.write_options())
        return self.respond_object(ctx, store, new, 201 if created else 200)

    async def patch(self, ctx: RequestContext, store: Store, *, subresource: str = "",
                    strategy=None) -> web.StreamResponse:
        ptype = negotiation.PATCH_TYPES.get(negotiation.media_type(ctx.request.headers.get("Content-Type")))
        r = store.resource
        if ptype is None or ptype == "apply-cbor":
            raise errors.StatusError(415, errors.StatusReason.UNSUPPORTED_MEDIA_TYPE,
                                     f'the body of the request was in an unknown format - accepted media types '
                                     f'include: application/json-patch+json, application/merge-patch+json, '
                                     f'application/apply-patch+yaml, application/strategic-merge-patch+json')
        body = await negotiation.read_body(ctx.request)
        patcher = self.server.patcher
        opts = ctx.write_options(subresource, required_manager=(ptype == "apply"))
        if ptype == "apply":
            applied = negotiation.decode_object(body, "application/apply-patch+yaml")
            applied = check_type_meta(ctx, applied)
            field_validation(ctx, applied, r.message)
            force = ctx.q_bool("force")
            if ctx.q("force") and ctx.q("force") not in ("true", "false"):
                raise errors.new_bad_request("force: Invalid value: must be true or false")

            def do_apply(live: dict | None) -> dict:
                return patcher.apply(live, applied, opts.field_manager, r, force=force, subresource=subresource)

            async def create_fn() -> dict:
                if subresource:
                    raise store.not_found(ctx.info.name)
                obj = do_apply(None)
                obj.setdefault("metadata", {})["name"] = ctx.info.name
                created = await store.create(ctx.info.namespace, obj, _no_track(opts))
                return created

            new, created = await store.update(ctx.info.namespace, ctx.info.name, None, _no_track(opts),
                                              patch=do_apply, create_fn=create_fn, strategy=strategy,
                                              operation="Apply")
            return self.respond_object(ctx, store, new, 201 if created else 200)
        try:
            patch_doc = negotiation.decode_object(body, "application/json")
        except errors.StatusError as e:
            raise errors.new_bad_request(f"error decoding patch: {e.message}") from None

        def do_patch(live: dict) -> dict:
            out = patcher.patch(ptype, live, patch_doc, r)
            if not isinstance(out, dict):
                raise errors.new_bad_request("the patch did not produce a JSON object")
            check_type_meta(ctx, out)
            field_validation(ctx, out, r.message)
            return out

        new, _ = await store.update(ctx.info.namespace, ctx.info.name, None, opts, patch=do_patch,
                                    strategy=strategy, operation="Update")
        return self.respond_object(ctx, store, new)

    async def delete_options(self, ctx: RequestContext) -> DeleteOptions:
        opts = DeleteOptions(dry_run=ctx.dry_run, user=ctx.user)
        body = await negotiation.read_body(ctx.request)
        if body.strip():
            d = negotiation.decode_object(body, ctx.request.headers.get("Content-Type", ""))
            if not isinstance(d, dict):
                raise errors.new_bad_request("DeleteOptions must be a JSON object")
            if d.get("gracePeriodSeconds") is not None:
                opts.grace_period_seconds = _int(d["gracePeriodSeconds"], "gracePeriodSeconds")
            opts.propagation_policy = d.get("propagationPolicy") or None
            if d.get("orphanDependents") is not None:
                opts.orphan_dependents = bool(d["orphanDependents"])
            pre = d.get("preconditions") or {}
            opts.precondition_uid = pre.get("uid") or None
            opts.precondition_rv = pre.get("resourceVersion") or None
            if d.get("dryRun"):
                if d["dryRun"] != ["All"]:
                    raise errors.new_bad_request(f'Invalid dry run value: {d["dryRun"]}')
                opts.dry_run = True
        g = ctx.q_int("gracePeriodSeconds")
        if g is not None:
            opts.grace_period_seconds = g
        if ctx.q("propagationPolicy"):
            opts.propagation_policy = ctx.q("propagationPolicy")
        if ctx.q("orphanDependents"):
            opts.orphan_dependents = ctx.q_bool("orphanDependents")
        if opts.propagation_policy not in (None, "Orphan", "Background", "Foreground"):
            raise errors.new_invalid("meta.k8s.io", "DeleteOptions", "", [errors.not_supported(
                "propagationPolicy", opts.propagation_policy, ["Foreground", "Background", "Orphan", "nil"])])
        if opts.grace_period_seconds is not None and opts.grace_period_seconds < 0:
            opts.grace_period_seconds = 1 if opts.grace_period_seconds != 0 else 0
        return opts

    async def delete(self, ctx: RequestContext, store: Store) -> web.StreamResponse:
        opts = await self.delete_options(ctx)
        obj, gone = await store.delete(ctx.info.namespace, ctx.info.name, opts)
        r = store.resource
        if gone and not store.strategy.return_deleted_object():
            details = {"name": ctx.info.name, "kind": r.plural, "uid": obj["metadata"].get("uid", "")}
            if r.group:
                details["group"] = r.group
            return ctx.reply({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                              "details": details})
        return self.respond_object(ctx, store, obj, 200)

    async def deletecollection(self, ctx: RequestContext, store: Store) -> web.StreamResponse:
        opts = await self.delete_options(ctx)
        items, rv, _, _ = await store.list(ctx.info.namespace, label_selector=ctx.q("labelSelector") or None,
                                           field_selector=ctx.q("fieldSelector") or None)
        deleted = []
        for it in items:
            md = it["metadata"]
            try:
                obj, _ = await store.delete(md.get("namespace", ""), md["name"], copy.copy(opts))
                deleted.append(obj)
            except errors.StatusError as e:
                if not errors.is_not_found(e):
                    raise
        return ctx.reply({"kind": list_kind(store), "apiVersion": store.resource.api_version,
                          "metadata": {"resourceVersion": rv}, "items": deleted})


def _int(v: object, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise errors.new_bad_request(f"{name} must be an integer")
    try:
        return int(v)
    except ValueError:
        raise errors.new_bad_request(f"{name} must be an integer") from None


def _no_track(opts):
    """Server-side apply records its own managed fields; the store must not track them again."""
    from dataclasses import replace

    return replace(opts, track_fields=False)


_ = timeutil
