"""The API server: wires storage, the per-resource stores, authentication, authorization, admission
and the HTTP endpoints, and serves them over HTTPS.

Request path (the filter chain, outermost first): recovery (any error becomes a Status) →
request info → authentication → authorization → the endpoint for the verb.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from kubelite.api.resources import SCHEME
from kubelite.api.scheme import Resource, Scheme
from kubelite.machinery import errors, timeutil
from kubelite.machinery.addressplan import DEFAULT, AddressPlan
from kubelite.registry import core as core_registry
from kubelite.registry import strategies_for
from kubelite.registry.generic.store import Store
from kubelite.storage import Backend

from . import admission, keys, negotiation, requestinfo
from .authn import ANONYMOUS, ANONYMOUS_PATHS, Authenticator
from . import bootstrappolicy
from .admission.limitranger import LimitRanger
from .admission.noderestriction import NodeRestriction
from .admission.podsecurity import PodSecurity
from .admission.podtolerations import DefaultTolerationSeconds, PriorityAdmission
from .admission.rbacescalation import RBACEscalation
from .admission.resourcequota import ResourceQuotaAdmission
from .admission.serviceaccount import ServiceAccountAdmission
from .authz import ALLOW, Attributes, Authorizers, NodeAuthorizer, RBACAuthorizer, forbidden_message
from .impersonation import impersonate
from .discovery import AGGREGATED_V2, AGGREGATED_V2BETA1, Discovery, version_info
from .endpoints.context import RequestContext
from .endpoints.resources import ResourceEndpoints
from .endpoints.reviews import ReviewEndpoints
from .endpoints.subresources import SubresourceEndpoints
from .endpoints.watch import serve_watch
from .metrics import Metrics
from .patcher import Patcher
from .serviceaccount import ServiceAccountAuthenticator, TokenIssuer, token_request

log = logging.getLogger(__name__)


@dataclass
class ServerOptions:
    bind_address: str = "127.0.0.1"
    port: int = 6443
    advertise_address: str = "127.0.0.1"
    plan: AddressPlan = DEFAULT
    ssl_context: ssl.SSLContext | None = None
    extra_handlers: dict = field(default_factory=dict)
    token_issuer: TokenIssuer | None = None
    encryption: object | None = None            # an AESGCMTransformer for Secrets at rest
    audit: object | None = None                 # an audit.AuditLog


class APIServer:
    def __init__(self, backend: Backend, options: ServerOptions | None = None, scheme: Scheme = SCHEME):
        self.backend = backend
        self.options = options or ServerOptions()
        self.scheme = scheme
        self.stores: dict[tuple[str, str, str], Store] = {}
        self.authenticator = Authenticator()
        self.patcher = Patcher()
        self.metrics = Metrics()
        self.discovery = Discovery(scheme)
        self.env = core_registry.Env(plan=self.options.plan, objects=self._cached_objects)
        self.admission = admission.Chain()
        self.admission.plugins.append(admission.NamespaceLifecycle(self._namespace))
        for r in scheme.resources:
            if not r.stored:
                continue
            strategy, status = strategies_for(r, self.env)
            encrypt = self.options.encryption if (r.group, r.plural) == ("", "secrets") else None
            self.stores[(r.group, r.version, r.plural)] = Store(
                r, strategy, backend, admission=self.admission, managed_fields=self.patcher.managed_fields_for(r),
                status_strategy=status, transformer=encrypt)
        self._rbac_cachers: tuple | None = None
        self.rbac = RBACAuthorizer(
            roles=lambda: self._cached_objects("roles", "rbac.authorization.k8s.io"),
            cluster_roles=lambda: self._cached_objects("clusterroles", "rbac.authorization.k8s.io"),
            role_bindings=lambda: self._cached_objects("rolebindings", "rbac.authorization.k8s.io"),
            cluster_role_bindings=lambda: self._cached_objects("clusterrolebindings", "rbac.authorization.k8s.io"),
            version=self._rbac_version)
        self.authorizer = Authorizers(NodeAuthorizer(lambda: self._cached_objects("pods"),
                                                     bootstrappolicy.NODE_RULES), self.rbac)
        self.admission.plugins += [
            LimitRanger(lambda ns: [o for o in self._cached_objects("limitranges")
                                    if o["metadata"].get("namespace") == ns]),
            ServiceAccountAdmission(lambda ns, name: self._get_object("serviceaccounts", ns, name)),
            NodeRestriction(),
            PodSecurity(self._namespace),
            PriorityAdmission(lambda: self._cached_objects("priorityclasses", "scheduling.k8s.io")),
            DefaultTolerationSeconds(),
            RBACEscalation(self.rbac, self._role_rules),
            ResourceQuotaAdmission(lambda plural, group: self._cached_objects(plural, group)),
        ]
        self.token_issuer = self.options.token_issuer or TokenIssuer.generate()
        self.authenticator.token_authenticators.append(
            ServiceAccountAuthenticator(self.token_issuer, self._get_object))
        self.endpoints = ResourceEndpoints(self)
        self.subresources = SubresourceEndpoints(self)
        self.reviews = ReviewEndpoints(self)
        self.app = self._build_app()
        self._ready = asyncio.Event()
        self.started_at = time.time()

    # -- lookups ---------------------------------------------------------------------------------
    def store(self, plural: str, group: str = "", version: str = "") -> Store:
        for (g, v, p), s in self.stores.items():
            if g == group and p == plural and (not version or v == version):
                return s
        raise KeyError(f"{plural}.{group}")

    def _cached_objects(self, plural: str, group: str = ""):
        try:
            return self.store(plural, group).cacher.objects.values()
        except KeyError:
            return ()

    async def _get_object(self, plural: str, namespace: str, name: str) -> dict | None:
        s = self.store(plural)
        obj = s.cacher.get(s.key(namespace, name))
        return obj if obj is not None else await s.get_or_none(namespace, name)

    def _rbac_version(self) -> tuple[int, int, int, int]:
        """Changes whenever a Role, ClusterRole or binding does (the watch caches' revisions)."""
        c = self._rbac_cachers
        if c is None:
            g = "rbac.authorization.k8s.io"
            c = self._rbac_cachers = tuple(self.store(p, g).cacher for p in (
                "roles", "clusterroles", "rolebindings", "clusterrolebindings"))
        return (c[0].rv, c[1].rv, c[2].rv, c[3].rv)

    def _role_rules(self, kind: str, namespace: str, name: str) -> list[dict] | None:
        if kind == "ClusterRole":
            s = self.store("clusterroles", "rbac.authorization.k8s.io")
            if s.cacher.get(s.key("", name)) is None:
                return None
            return self.rbac._cluster_role_rules(name)
        s = self.store("roles", "rbac.authorization.k8s.io")
        obj = s.cacher.get(s.key(namespace, name))
        return None if obj is None else list(obj.get("rules") or [])

    async def _namespace(self, name: str) -> dict | None:
        s = self.store("namespaces")
        obj = s.cacher.get(s.key("", name))
        if obj is None:
            obj = await s.get_or_none("", name)
        return obj

    async def check_disruption_budgets(self, pod: dict) -> None:
        from kubelite.machinery import labels

        ns = pod["metadata"].get("namespace", "")
        for pdb in self._cached_objects("poddisruptionbudgets", "policy"):
            if pdb["metadata"].get("namespace") != ns:
                continue
            try:
                sel = labels.selector_from_label_selector((pdb.get("spec") or {}).get("selector"))
            except labels.SelectorError:
                continue
            if not sel.matches(pod["metadata"].get("labels")):
                continue
            allowed = (pdb.get("status") or {}).get("disruptionsAllowed", 0)
            if allowed <= 0:
                raise errors.new_too_many_requests(
                    "Cannot evict pod as it would violate the pod's disruption budget.", 0)

    # -- lifecycle -------------------------------------------------------------------------------
    async def run_caches(self) -> None:
        """Run every watch cache, the compactor and the event reaper until cancelled."""
        async with asyncio.TaskGroup() as tg:
            for s in self.stores.values():
                tg.create_task(s.cacher.run(), name=f"cacher-{s.resource.plural}.{s.resource.group}")
            await asyncio.gather(*(s.cacher.wait_ready() for s in self.stores.values()))
            self._ready.set()
            tg.create_task(self._compactor(), name="compactor")
            if self.options.audit is not None:
                tg.create_task(self.options.audit.run(), name="audit-log")
            tg.create_task(self._rewrite_stale_secrets(), name="secrets-reencrypt")
            tg.create_task(self._event_reaper(), name="event-reaper")

    async def _rewrite_stale_secrets(self) -> None:
        n = await self.store("secrets").rewrite_stale()
        if n:
            log.info("re-encrypted %d secrets with the current key", n)

    async def _compactor(self, interval: float = 300.0) -> None:
        """Compact storage history older than one interval (Kubernetes compacts every 5 minutes)."""
        prev = 0
        while True:
            await asyncio.sleep(interval)
            if prev:
                try:
                    await self.backend.compact(prev)
                except Exception:  # noqa: BLE001 - retried next interval
                    log.exception("storage compaction failed")
            prev = await self.backend.current_revision()

    async def _event_reaper(self, ttl: float = 3600.0, interval: float = 60.0) -> None:
        """Events expire one hour after their last update (Kubernetes' --event-ttl)."""
        from kubelite.machinery import timeutil
        from kubelite.registry.generic.store import DeleteOptions

        while True:
            await asyncio.sleep(interval)
            now = timeutil.now()
            for plural, group in (("events", ""), ("events", "events.k8s.io")):
                store = self.store(plural, group)
                for ev in list(store.cacher.objects.values()):
                    md = ev["metadata"]
                    last = ev.get("lastTimestamp") or ev.get("eventTime") or (ev.get("series") or {}).get(
                        "lastObservedTime") or md.get("creationTimestamp")
                    try:
                        t = timeutil.parse_time(last)
                    except ValueError:
                        t = None
                    if t is None or (now - t).total_seconds() < ttl:
                        continue
                    try:
                        await store.delete(md.get("namespace", ""), md["name"], DeleteOptions())
                    except errors.StatusError:
                        pass

    async def wait_ready(self) -> None:
        await self._ready.wait()

    # -- HTTP ------------------------------------------------------------------------------------
    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=negotiation.MAX_BODY + 1,
                              middlewares=[self._recovery, self._authenticate])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    @web.middleware
    async def _recovery(self, request: web.Request, handler) -> web.StreamResponse:
        start = time.perf_counter()
        started = timeutil.rfc3339_micro() if self.options.audit is not None else ""
        status = 500
        try:
            resp = await handler(request)
            status = resp.status
            return resp
        except errors.StatusError as e:
            status = e.code
            return negotiation.json_response(e.status(), e.code, e.headers)
        except web.HTTPRequestEntityTooLarge:
            e = errors.new_request_entity_too_large(f"limit is {negotiation.MAX_BODY}")
            status = 413
            return negotiation.json_response(e.status(), 413)
        except web.HTTPException:
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # never crash: log and answer InternalError
            log.exception("internal error serving %s %s", request.method, request.path)
            e = errors.new_internal_error(exc)
            return negotiation.json_response(e.status(), 500)
        finally:
            self.metrics.observe_request(request, status, time.perf_counter() - start)
            if self.options.audit is not None:
                self._audit(request, status, started)

    def _audit(self, request: web.Request, status: int, started: str) -> None:
        user = request.get(keys.USER)
        user_d = user.to_dict() if user is not None else {"username": "system:anonymous",
                                                          "groups": ["system:unauthenticated"]}
        info = request.get(keys.INFO) or requestinfo.parse(request.method, request.path, dict(request.query))
        ann = {}
        if status == 403:
            ann["authorization.k8s.io/decision"] = "forbid"
        elif status != 401 and user is not None:
            ann["authorization.k8s.io/decision"] = "allow"
        self.options.audit.record(request=request, info=info, user=user_d, status=status, started=started,
                                  annotations=ann or None, request_object=request.get(keys.REQUEST_OBJECT))

    @web.middleware
    async def _authenticate(self, request: web.Request, handler) -> web.StreamResponse:
        user = await self.authenticator.authenticate(request)
        if user is None:
            if request.path in ANONYMOUS_PATHS or request.path.startswith("/readyz") or \
                    request.path.startswith("/livez") or request.path.startswith("/healthz"):
                user = ANONYMOUS
            else:
                raise errors.new_unauthorized()
        if "Impersonate-User" in request.headers or "Impersonate-Group" in request.headers:
            user = impersonate(request, user, self.authorizer)
        request[keys.USER] = user
        return await handler(request)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        user = request[keys.USER]
        info = requestinfo.parse(request.method, path, dict(request.query))
        request[keys.INFO] = info
        if not info.is_resource_request:
            return await self._non_resource(request, info, user)
        ctx = RequestContext(request, info, user)
        r = self.scheme.by_gvr(info.group, info.version, info.resource)
        if r is None:
            raise errors.StatusError(404, errors.StatusReason.NOT_FOUND, "the server could not find the requested "
                                     "resource", {"group": info.group, "kind": info.resource})
        ctx.resource = r
        self._authorize(ctx)
        if not r.stored:
            return await self._virtual(ctx, r)
        store = self.stores[(r.group, r.version, r.plural)]
        if r.namespaced and not info.namespace and info.verb not in ("list", "watch"):
            raise errors.StatusError(404, errors.StatusReason.NOT_FOUND,
                                     "the server could not find the requested resource")
        if info.subresource:
            return await self._subresource(ctx, store, r)
        verb = info.verb
        if verb not in r.verbs and not (verb == "deletecollection" and "delete" in r.verbs):
            raise errors.new_method_not_supported(r.group, r.plural, verb)
        if verb == "get":
            return await self.endpoints.get(ctx, store)
        if verb == "list":
            return await self.endpoints.list(ctx, store)
        if verb == "watch":
            return await serve_watch(self, ctx, store)
        if verb == "create":
            if r.plural == "bindings" and not r.group:
                return await self.subresources.binding(ctx, self.store("pods"), "")
            return await self.endpoints.create(ctx, store)
        if verb == "update":
            return await self.endpoints.update(ctx, store)
        if verb == "patch":
            return await self.endpoints.patch(ctx, store)
        if verb == "delete":
            return await self.endpoints.delete(ctx, store)
        if verb == "deletecollection":
            return await self.endpoints.deletecollection(ctx, store)
        raise errors.new_method_not_supported(r.group, r.plural, verb)

    def _authorize(self, ctx: RequestContext) -> None:
        info = ctx.info
        verb = info.verb
        a = Attributes(ctx.user, verb, info.namespace, info.group, info.resource, info.subresource, info.name,
                       info.is_resource_request, info.path)
        decision, _ = self.authorizer.authorize(a)
        if decision != ALLOW:
            r = ctx.resource
            raise errors.new_forbidden(info.group, info.resource if not info.subresource else
                                       f"{info.resource}/{info.subresource}", info.name, forbidden_message(a))
        _ = r if False else None

    async def _subresource(self, ctx: RequestContext, store: Store, r: Resource) -> web.StreamResponse:
        sub = ctx.info.subresource
        if r.subresource(sub) is None:
            raise errors.StatusError(404, errors.StatusReason.NOT_FOUND,
                                     "the server could not find the requested resource")
        if sub == "status":
            return await self.subresources.status(ctx, store)
        if sub == "scale":
            return await self.subresources.scale(ctx, store)
        if sub == "binding" and ctx.info.verb == "create":
            return await self.subresources.binding(ctx, store, ctx.info.name)
        if sub == "eviction" and ctx.info.verb == "create":
            return await self.subresources.eviction(ctx, store)
        if sub == "finalize" and ctx.info.verb == "update":
            return await self.subresources.finalize(ctx, store)
        if sub == "token" and r.plural == "serviceaccounts" and ctx.info.verb == "create":
            return await self._token_request(ctx, store)
        handler = self.options.extra_handlers.get((r.group, r.plural, sub))
        if handler is not None:
            return await handler(self, ctx, store)
        raise errors.new_service_unavailable(f"the {r.plural}/{sub} subresource is not available on this server yet")

    async def _token_request(self, ctx: RequestContext, store: Store) -> web.StreamResponse:
        """`serviceaccounts/<name>/token`: issue a bound, expiring service account token."""
        sa = await store.get(ctx.info.namespace, ctx.info.name)
        body = await negotiation.read_body(ctx.request)
        req = negotiation.decode_object(body, ctx.request.headers.get("Content-Type", "")) if body.strip() else {}
        if not isinstance(req, dict):
            raise errors.new_bad_request("TokenRequest must be an object")
        req["apiVersion"] = "authentication.k8s.io/v1"
        req["kind"] = "TokenRequest"
        md = req.setdefault("metadata", {})
        md.pop("creationTimestamp", None) if md.get("creationTimestamp") is None else None
        md["name"] = ctx.info.name
        md["namespace"] = ctx.info.namespace
        ref = (req.get("spec") or {}).get("boundObjectRef") or {}
        bound = None
        if ref:
            kinds = {"Pod": "pods", "Secret": "secrets", "Node": "nodes"}
            plural = kinds.get(ref.get("kind", ""))
            if plural is None:
                raise errors.new_bad_request(f'cannot bind token to object of type {ref.get("kind")}')
            ns = "" if plural == "nodes" else ctx.info.namespace
            bound = await self._get_object(plural, ns, ref.get("name", ""))
            if bound is None:
                raise errors.new_not_found("", plural, ref.get("name", ""))
            if ref.get("uid") and ref["uid"] != bound["metadata"].get("uid"):
                raise errors.new_conflict("", plural, ref.get("name", ""),
                                          f'the UID in the bound object reference ({ref["uid"]}) does not match '
                                          f'the UID in record. The object might have been deleted and then '
                                          f'recreated')
        return ctx.reply(token_request(self.token_issuer, sa, req, bound), 201)

    async def _virtual(self, ctx: RequestContext, r: Resource) -> web.StreamResponse:
        if r.group in ("authorization.k8s.io", "authentication.k8s.io"):
            return await self.reviews.handle(ctx)
        if r.plural == "bindings" and not r.group and ctx.info.verb == "create":
            return await self.subresources.binding(ctx, self.store("pods"), "")
        handler = self.options.extra_handlers.get((r.group, r.plural, ""))
        if handler is not None:
            return await handler(self, ctx, None)
        raise errors.new_service_unavailable(f"{r.group_resource} is not available on this server yet")

    async def _non_resource(self, request: web.Request, info, user) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            if path.startswith("/readyz") and not self._ready.is_set():
                return web.Response(status=500, text="[-]informer-sync failed: not ready\nreadyz check failed\n")
            return web.Response(text="ok", content_type="text/plain")
        if path == "/version":
            return negotiation.json_response(version_info())
        a = Attributes(user, request.method.lower() if request.method != "GET" else "get",
                       is_resource_request=False, path=path)
        decision, _ = self.authorizer.authorize(a)
        if decision != ALLOW and not path.startswith(("/api", "/apis", "/openapi")):
            raise errors.new_forbidden("", "", "", forbidden_message(a))
        if path == "/metrics":
            return web.Response(body=self.metrics.render(self), content_type="text/plain", charset="utf-8")
        accept = request.headers.get("Accept", "")
        if path == "/api":
            if "apidiscovery.k8s.io" in accept:
                return self._aggregated(accept, core=True)
            return negotiation.json_response(self.discovery.api_versions(
                f"{self.options.advertise_address}:{self.options.port}"))
        if path == "/apis":
            if "apidiscovery.k8s.io" in accept:
                return self._aggregated(accept, core=False)
            return negotiation.json_response(self.discovery.api_group_list())
        if path == "/api/v1":
            return negotiation.json_response(self.discovery.resource_list("", "v1"))
        parts = path.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2:
            g = self.discovery.api_group(parts[1])
            if g is None:
                raise errors.StatusError(404, errors.StatusReason.NOT_FOUND, "the server could not find the "
                                         "requested resource")
            return negotiation.json_response(g)
        if parts[0] == "apis" and len(parts) == 3:
            d = self.discovery.resource_list(parts[1], parts[2])
            if d is None:
                raise errors.StatusError(404, errors.StatusReason.NOT_FOUND, "the server could not find the "
                                         "requested resource")
            return negotiation.json_response(d)
        if parts[0] == "openapi":
            return await self._openapi(request, parts)
        raise errors.StatusError(404, errors.StatusReason.NOT_FOUND, "the server could not find the requested "
                                 "resource")

    def _aggregated(self, accept: str, core: bool) -> web.Response:
        ranges = negotiation.parse_accept(accept)
        for m in ranges:
            if m.params.get("g") == "apidiscovery.k8s.io" and m.params.get("as") == "APIGroupDiscoveryList":
                v = m.params.get("v")
                if v in ("v2", "v2beta1"):
                    ct = AGGREGATED_V2 if v == "v2" else AGGREGATED_V2BETA1
                    return web.Response(body=self.discovery.aggregated(core, v), headers={"Content-Type": ct})
        if core:
            return negotiation.json_response(self.discovery.api_versions(
                f"{self.options.advertise_address}:{self.options.port}"))
        return negotiation.json_response(self.discovery.api_group_list())

    async def _openapi(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        from . import openapi_endpoints

        return await openapi_endpoints.serve(self, request, parts)
