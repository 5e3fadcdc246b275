"""Subresources: status, scale, pods/binding (and the core `bindings` resource), pods/eviction,
namespaces/finalize. Streaming ones (log, exec, attach, portforward) are proxied to the node
agent by `node_proxy.py`.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from aiohttp import web

from kubelite.machinery import errors, labels, timeutil

from .. import negotiation
from kubelite.registry.generic.store import DeleteOptions, Store
from kubelite.registry.generic.strategy import Strategy
from .context import RequestContext
from .resources import check_type_meta

if TYPE_CHECKING:
    from ..server import APIServer


class SystemStrategy(Strategy):
    """For writes the API makes on a client's behalf (binding): no spec immutability checks."""

    def __init__(self, base: Strategy):
        super().__init__(base.resource)
        self.base = base

    def prepare_for_update(self, new: dict, old: dict) -> None:
        return None

    def validate_update(self, new: dict, old: dict) -> list:
        return []

    def default(self, obj: dict) -> None:
        return None

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        return self.base.selectable_fields(obj)


def to_scale(obj: dict) -> dict:
    md = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in md},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": labels.format_label_selector((obj.get("spec") or {}).get("selector"))}}


class SubresourceEndpoints:
    def __init__(self, server: "APIServer"):
        self.server = server

    # -- status --------------------------------------------------------------------------------
    async def status(self, ctx: RequestContext, store: Store) -> web.StreamResponse:
        res = self.server.endpoints
        verb = ctx.info.verb
        if verb == "get":
            return await res.get(ctx, store)
        strategy = store.status_strategy
        if strategy is None:
            raise errors.new_not_found(store.resource.group, store.resource.plural + "/status", ctx.info.name)
        if verb == "update":
            obj = await res.read_object(ctx)
            opts = ctx.write_options("status")
            new, _ = await store.update(ctx.info.namespace, ctx.info.name, obj, opts, strategy=strategy)
            return res.respond_object(ctx, store, new)
        if verb == "patch":
            return await res.patch(ctx, store, subresource="status", strategy=strategy)
        raise errors.new_method_not_supported(store.resource.group, store.resource.plural + "/status", verb)

    # -- scale ---------------------------------------------------------------------------------
    async def scale(self, ctx: RequestContext, store: Store) -> web.StreamResponse:
        verb = ctx.info.verb
        r = store.resource
        if verb == "get":
            obj = await store.get(ctx.info.namespace, ctx.info.name)
            return ctx.reply(to_scale(obj))
        if verb not in ("update", "patch"):
            raise errors.new_method_not_supported("autoscaling", "scale", verb)
        body = await negotiation.read_body(ctx.request)
        ct = ctx.request.headers.get("Content-Type", "")
        if verb == "update":
            doc = negotiation.decode_object(body, ct)
            ptype = None
        else:
            ptype = negotiation.PATCH_TYPES.get(negotiation.media_type(ct))
            if ptype is None or ptype in ("apply", "apply-cbor"):
                if ptype == "apply":
                    doc = negotiation.decode_object(body, "application/apply-patch+yaml")
                    ptype = "merge"
                else:
                    raise errors.new_unsupported_media_type(ct)
            else:
                doc = negotiation.decode_object(body, "application/json")
        patcher = self.server.patcher
        scale_resource = self.server.scheme.by_gvk("autoscaling", "v1", "HorizontalPodAutoscaler")

        def apply(live: dict) -> dict:
            cur = to_scale(live)
            if ptype is None:
                new_scale = doc
            elif ptype == "json":
                new_scale = patcher.patch("json", cur, doc, scale_resource)
            else:
                new_scale = patcher.patch("merge", cur, doc, scale_resource)
            if not isinstance(new_scale, dict):
                raise errors.new_bad_request("Scale must be an object")
            replicas = (new_scale.get("spec") or {}).get("replicas", 0)
            if isinstance(replicas, bool) or not isinstance(replicas, int):
                raise errors.new_bad_request('Scale in version "v1" cannot be handled as a Scale: '
                                             'json: cannot unmarshal into Go struct field ScaleSpec.spec.replicas '
                                             'of type int32')
            if replicas < 0:
                raise errors.new_invalid("autoscaling", "Scale", ctx.info.name, [
                    errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")])
            out = copy.deepcopy(live)
            out.setdefault("spec", {})["replicas"] = replicas
            rv = (new_scale.get("metadata") or {}).get("resourceVersion")
            out["metadata"]["resourceVersion"] = rv or ""
            return out

        new, _ = await store.update(ctx.info.namespace, ctx.info.name, None, ctx.write_options("scale"),
                                    patch=apply)
        return ctx.reply(to_scale(new))

    # -- binding -------------------------------------------------------------------------------
    async def binding(self, ctx: RequestContext, pods: Store, pod_name: str) -> web.StreamResponse:
        body = await negotiation.read_body(ctx.request)
        b = negotiation.decode_object(body, ctx.request.headers.get("Content-Type", ""))
        if not isinstance(b, dict):
            raise errors.new_bad_request("Binding must be an object")
        md = b.get("metadata") or {}
        name = pod_name or md.get("name", "")
        if not name:
            raise errors.new_invalid("", "Binding", "", [errors.required("metadata.name")])
        if pod_name and md.get("name") and md["name"] != pod_name:
            raise errors.new_bad_request(f'metadata.name: Invalid value: "{md["name"]}": must match the pod name')
        target = b.get("target") or {}
        node = target.get("name", "")
        if not node:
            raise errors.new_invalid("", "Binding", name, [errors.required("target.name")])
        if target.get("kind") not in (None, "", "Node"):
            raise errors.new_invalid("", "Binding", name, [errors.not_supported("target.kind", target["kind"],
                                                                                ["Node", "<empty>"])])
        dry = ctx.dry_run

        def assign(live: dict) -> dict:
            spec = live.setdefault("spec", {})
            if live["metadata"].get("deletionTimestamp"):
                raise errors.new_conflict("", "pods/binding", name, "pod is being deleted, cannot be assigned to a host")
            if spec.get("nodeName"):
                raise errors.new_conflict("", "pods/binding", name,
                                          f'pod {name} is already assigned to node "{spec["nodeName"]}"')
            if md.get("uid") and md["uid"] != live["metadata"].get("uid"):
                raise errors.new_conflict("", "pods/binding", name, "Precondition failed: UID mismatch")
            spec["nodeName"] = node
            status = live.setdefault("status", {})
            conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conds.insert(0, {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                             "lastTransitionTime": timeutil.rfc3339()})
            status["conditions"] = conds
            for k, v in (md.get("annotations") or {}).items():
                live["metadata"].setdefault("annotations", {})[k] = v
            live["metadata"]["resourceVersion"] = ""
            return live

        opts = ctx.write_options("binding")
        opts.dry_run = dry
        await pods.update(ctx.info.namespace, name, None, opts, patch=assign, strategy=SystemStrategy(pods.strategy))
        return ctx.reply({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                         201)

    # -- eviction ------------------------------------------------------------------------------
    async def eviction(self, ctx: RequestContext, pods: Store) -> web.StreamResponse:
        body = await negotiation.read_body(ctx.request)
        ev = negotiation.decode_object(body, ctx.request.headers.get("Content-Type", "")) if body.strip() else {}
        if not isinstance(ev, dict):
            raise errors.new_bad_request("Eviction must be an object")
        name = ctx.info.name
        pod = await pods.get(ctx.info.namespace, name)
        phase = (pod.get("status") or {}).get("phase")
        if phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp"):
            await self.server.check_disruption_budgets(pod)
        do = ev.get("deleteOptions") or {}
        opts = DeleteOptions(dry_run=ctx.dry_run or bool(do.get("dryRun")), user=ctx.user,
                             grace_period_seconds=do.get("gracePeriodSeconds"),
                             propagation_policy=do.get("propagationPolicy"),
                             precondition_uid=(do.get("preconditions") or {}).get("uid"),
                             precondition_rv=(do.get("preconditions") or {}).get("resourceVersion"))
        await pods.delete(ctx.info.namespace, name, opts)
        return ctx.reply({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                         201)

    # -- namespaces/finalize ------------------------------------------------------------------
    async def finalize(self, ctx: RequestContext, namespaces: Store) -> web.StreamResponse:
        obj = await self.server.endpoints.read_object(ctx)
        finalizers = (obj.get("spec") or {}).get("finalizers") or []

        def set_finalizers(live: dict) -> dict:
            live.setdefault("spec", {})["finalizers"] = list(finalizers)
            if not finalizers:
                live["spec"].pop("finalizers")
            live["metadata"]["resourceVersion"] = (obj.get("metadata") or {}).get("resourceVersion", "")
            return live

        new, _ = await namespaces.update("", ctx.info.name, None, ctx.write_options("finalize"),
                                         patch=set_finalizers, strategy=SystemStrategy(namespaces.strategy))
        return ctx.reply(new)


_ = check_type_meta
