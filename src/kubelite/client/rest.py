"""`Client`: the generic REST verbs on any resource in the scheme, objects as JSON dicts.

    client = Client.from_config(load_kubeconfig())
    pod = await client.get("pods", "web-0", "default")
    async with client.watch("deployments.apps", "default", resource_version=rv) as w:
        async for type_, obj in w:
            ...

A resource is a `kubelite.api.scheme.Resource` or a string: `"pods"` (also singular, short name
or kind, core group first), `"deployments.apps"`, `"deployments.v1.apps"`, `"apps/v1/deployments"`
or `"v1/pods"`.

Namespaces: for one object, the namespace is the argument, else the body's
`metadata.namespace`, else the client's default namespace; for `list`, `watch` and
`delete_collection`, `None` means all namespaces. Cluster-scoped resources ignore it.

Failures are `StatusError` (parsed from the Status body, or made from the HTTP code) and
`TransportError`. A 429 or 5xx reply with `Retry-After` is retried after that many seconds, at
most `max_retries` times (client-go's rule). List items get `kind`/`apiVersion` filled in, as the
dynamic client does.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Mapping
from urllib.parse import quote

import orjson

from ..api.resources import SCHEME
from ..api.scheme import Resource, Scheme
from ..machinery.backoff import TokenBucket
from ..machinery.clock import REAL_CLOCK, Clock
from ..machinery.errors import StatusError, StatusReason, from_status, is_gone
from .config import ClientConfig
from .transport import AiohttpTransport, Query, Response, StreamResponse, Transport, TransportError

JSON = "application/json"
PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}

# Messages client-go uses when an error reply carries no Status body.
_GENERIC = {
    400: (StatusReason.BAD_REQUEST, "the server rejected our request for an unknown reason"),
    401: (StatusReason.UNAUTHORIZED, "the server has asked for the client to provide credentials"),
    403: (StatusReason.FORBIDDEN, "the server does not allow access to the requested resource"),
    404: (StatusReason.NOT_FOUND, "the server could not find the requested resource"),
    405: (StatusReason.METHOD_NOT_ALLOWED, "the server does not allow this method on the requested resource"),
    406: (StatusReason.NOT_ACCEPTABLE, "the server was unable to respond with a content type that the client supports"),
    409: (StatusReason.CONFLICT, "the server reported a conflict"),
    410: (StatusReason.GONE, "the server has asked for the client to retry the request"),
    413: (StatusReason.REQUEST_ENTITY_TOO_LARGE, "the server has rejected the request because it is too large"),
    415: (StatusReason.UNSUPPORTED_MEDIA_TYPE, "the server was unable to accept the media type of the request"),
    422: (StatusReason.INVALID, "the server rejected our request due to an error in our request"),
    429: (StatusReason.TOO_MANY_REQUESTS,
          "the server has received too many requests and has asked us to try again later"),
    500: (StatusReason.INTERNAL_ERROR, "an error on the server has prevented the request from succeeding"),
    503: (StatusReason.SERVICE_UNAVAILABLE, "the server is currently unable to handle the request"),
    504: (StatusReason.TIMEOUT, "the server was unable to return a response in the time allotted, "
                               "but may still be processing the request"),
}


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> StatusError:
    """The `StatusError` for a non-2xx reply: its Status body, else one made from the code."""
    obj = None
    try:
        obj = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        pass
    if isinstance(obj, dict) and obj.get("kind") == "Status":
        err = from_status({**obj, "code": obj.get("code") or status})
    else:
        reason, msg = _GENERIC.get(status, (StatusReason.UNKNOWN, f"the server responded with the status code "
                                                                 f"{status} but did not return more information"))
        text = body.decode("utf-8", errors="replace").strip()
        if status >= 500 and text:
            msg = f"an error on the server ({text[:200]!r}) has prevented the request from succeeding"
        err = StatusError(status, reason, msg)
    if "retry-after" in headers:
        err.headers["Retry-After"] = headers["retry-after"]
    return err


def _retry_after(resp_status: int, headers: Mapping[str, str]) -> float | None:
    if resp_status != 429 and not 500 <= resp_status < 600:
        return None
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def selector_string(s: Any) -> str | None:
    if s is None or s == "":
        return None
    if isinstance(s, Mapping):
        return ",".join(f"{k}={v}" for k, v in s.items())
    return str(s)


class Watch:
    """One watch request: iterate `(type, object)`; `ERROR` events raise `StatusError`.

    Iteration ends when the server ends the stream (timeoutSeconds). Use `async with` (or call
    `aclose()`) to close the connection when stopping early. `resource_version` is the last RV seen,
    bookmarks included.
    """

    def __init__(self, client: Client, resource: Resource, path: str, query: list[tuple[str, str]]) -> None:
        self._client = client
        self._resource = resource
        self._path = path
        self._query = query
        self.resource_version = dict(query).get("resourceVersion", "")
        self._gen: AsyncIterator[tuple[str, dict]] | None = None

    def __aiter__(self) -> AsyncIterator[tuple[str, dict]]:
        if self._gen is None:
            self._gen = self._events()
        return self._gen

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._gen is not None:
            await self._gen.aclose()    # type: ignore[attr-defined]

    async def _events(self) -> AsyncIterator[tuple[str, dict]]:
        async with self._client._stream("GET", self._path, self._query) as resp:
            async for line in resp.lines():
                if not line.strip():
                    continue
                try:
                    ev = orjson.loads(line)
                    etype, obj = ev["type"], ev.get("object") or {}
                except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                    raise TransportError(f"unable to decode watch event: {line[:200]!r}") from exc
                if etype == "ERROR":
                    raise from_status(obj)
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                if rv:
                    self.resource_version = rv
                if etype != "BOOKMARK":
                    _fill_type(obj, self._resource)
                yield etype, obj


class LineStream:
    """A streamed text body (a followed log), line by line without the newline."""

    def __init__(self, client: Client, path: str, query: list[tuple[str, str]]) -> None:
        self._client, self._path, self._query = client, path, query
        self._gen: AsyncIterator[str] | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        if self._gen is None:
            self._gen = self._lines()
        return self._gen

    async def __aenter__(self) -> LineStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._gen is not None:
            await self._gen.aclose()    # type: ignore[attr-defined]

    async def _lines(self) -> AsyncIterator[str]:
        async with self._client._stream("GET", self._path, self._query) as resp:
            async for line in resp.lines():
                yield line.decode("utf-8", errors="replace")


def _fill_type(obj: dict, r: Resource) -> None:
    if isinstance(obj, dict) and "kind" not in obj:
        obj["kind"] = r.kind
        obj["apiVersion"] = r.api_version


class Client:
    def __init__(self, transport: Transport, *, scheme: Scheme = SCHEME, namespace: str = "default",
                 clock: Clock = REAL_CLOCK, qps: float = 0.0, burst: int = 0, max_retries: int = 10) -> None:
        self.transport = transport
        self.scheme = scheme
        self.namespace = namespace
        self.max_retries = max_retries
        self._clock = clock
        self._bucket = TokenBucket(qps, max(burst, 1), clock=clock) if qps > 0 else None
        self._resolved: dict[str, Resource] = {}

    @classmethod
    def from_config(cls, config: ClientConfig, **kwargs: Any) -> Client:
        kwargs.setdefault("namespace", config.namespace)
        kwargs.setdefault("qps", config.qps)
        kwargs.setdefault("burst", config.burst)
        return cls(AiohttpTransport(config), **kwargs)

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ----- resources and paths

    def resource(self, spec: Resource | str) -> Resource:
        """Resolve a resource argument against the scheme (see the module docstring)."""
        if isinstance(spec, Resource):
            return spec
        if spec in self._resolved:
            return self._resolved[spec]
        r = self._lookup(spec)
        if r is None:
            raise ValueError(f'the server doesn\'t have a resource type "{spec}"')
        self._resolved[spec] = r
        return r

    def _lookup(self, spec: str) -> Resource | None:
        rs = self.scheme.resources
        if "/" in spec:
            parts = spec.split("/")
            if len(parts) == 2:
                return self.scheme.by_gvr("", parts[0], parts[1])
            if len(parts) == 3:
                return self.scheme.by_gvr(parts[0], parts[1], parts[2])
            return None
        name, _, group = spec.partition(".")
        if group:
            for r in rs:
                if r.plural == name and r.group == group:
                    return r
            version, _, group = group.partition(".")
            return self.scheme.by_gvr(group, version, name)
        low = spec.lower()
        for pred in (lambda r: r.plural == spec, lambda r: r.singular == low,
                     lambda r: low in r.short_names, lambda r: r.kind.lower() == low):
            for core_first in (True, False):
                for r in rs:
                    if (r.group == "") == core_first and pred(r):
                        return r
        return None

    def path(self, resource: Resource | str, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        r = self.resource(resource)
        p = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
        if r.namespaced and namespace:
            p += f"/namespaces/{quote(namespace, safe='')}"
        p += f"/{r.plural}"
        if name:
            p += f"/{quote(name, safe='')}"
        if subresource:
            p += f"/{subresource}"
        return p

    def _ns(self, r: Resource, namespace: str | None, body: Mapping | None = None) -> str | None:
        if not r.namespaced:
            return None
        if namespace:
            return namespace
        meta = (body or {}).get("metadata") or {}
        return meta.get("namespace") or self.namespace

    # ----- plumbing

    async def _send(self, method: str, path: str, query: Query = (), body: Any = None,
                    content_type: str = JSON) -> Response:
        headers = {"Accept": JSON}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else orjson.dumps(body))
            headers["Content-Type"] = content_type
        attempt = 0
        while True:
            if self._bucket is not None:
                await self._bucket.wait()
            resp = await self.transport.request(method, path, query=query, headers=headers, body=data)
            if resp.status < 300:
                return resp
            delay = _retry_after(resp.status, resp.headers)
            if delay is None or attempt >= self.max_retries:
                raise error_from_response(resp.status, resp.headers, resp.body)
            attempt += 1
            await self._clock.sleep(delay)

    async def _json(self, method: str, path: str, query: Query = (), body: Any = None,
                    content_type: str = JSON) -> dict:
        resp = await self._send(method, path, query, body, content_type)
        return orjson.loads(resp.body) if resp.body else {}

    @asynccontextmanager
    async def _stream(self, method: str, path: str, query: Query) -> AsyncIterator[StreamResponse]:
        attempt = 0
        while True:
            if self._bucket is not None:
                await self._bucket.wait()
            async with self.transport.stream(method, path, query=query, headers={"Accept": JSON}) as resp:
                if resp.status < 300:
                    yield resp
                    return
                body = await resp.read()
            delay = _retry_after(resp.status, resp.headers)
            if delay is None or attempt >= self.max_retries:
                raise error_from_response(resp.status, resp.headers, body)
            attempt += 1
            await self._clock.sleep(delay)

    # ----- verbs

    async def get(self, resource: Resource | str, name: str, namespace: str | None = None, *,
                  resource_version: str | None = None) -> dict:
        r = self.resource(resource)
        q = [("resourceVersion", resource_version)] if resource_version is not None else []
        return _typed(await self._json("GET", self.path(r, self._ns(r, namespace), name), q), r)

    async def list(self, resource: Resource | str, namespace: str | None = None, *,
                   label_selector: Any = None, field_selector: Any = None, limit: int | None = None,
                   continue_: str | None = None, resource_version: str | None = None,
                   resource_version_match: str | None = None, timeout_seconds: int | None = None) -> dict:
        r = self.resource(resource)
        q = _list_query(label_selector, field_selector, resource_version, timeout_seconds)
        if limit:
            q.append(("limit", str(limit)))
        if continue_:
            q.append(("continue", continue_))
        if resource_version_match:
            q.append(("resourceVersionMatch", resource_version_match))
        out = await self._json("GET", self.path(r, namespace if r.namespaced else None), q)
        out.setdefault("items", [])
        for item in out["items"]:
            _fill_type(item, r)
        return out

    async def list_all(self, resource: Resource | str, namespace: str | None = None, *,
                       label_selector: Any = None, field_selector: Any = None,
                       resource_version: str | None = None, page_size: int = 500) -> tuple[list[dict], str]:
        """Every item, following `continue` tokens; returns `(items, list resourceVersion)`.

        An expired continue token falls back to one unpaginated list, as client-go's pager does.
        """
        items: list[dict] = []
        token: str | None = None
        rv = ""
        while True:
            try:
                page = await self.list(resource, namespace, label_selector=label_selector,
                                       field_selector=field_selector, limit=page_size or None, continue_=token,
                                       resource_version=None if token else resource_version)
            except StatusError as e:
                if not (token and is_gone(e)):
                    raise
                page = await self.list(resource, namespace, label_selector=label_selector,
                                       field_selector=field_selector, resource_version=resource_version)
                items, token = [], None
            items.extend(page["items"])
            meta = page.get("metadata") or {}
            rv = rv or meta.get("resourceVersion", "")
            token = meta.get("continue") or None
            if not token:
                return items, rv

    def watch(self, resource: Resource | str, namespace: str | None = None, *, name: str | None = None,
              label_selector: Any = None, field_selector: Any = None, resource_version: str | None = None,
              timeout_seconds: int | None = None, allow_watch_bookmarks: bool = False) -> Watch:
        r = self.resource(resource)
        fs = selector_string(field_selector)
        if name:
            fs = f"metadata.name={name}" + (f",{fs}" if fs else "")
        q = _list_query(label_selector, fs, resource_version, timeout_seconds)
        if allow_watch_bookmarks:
            q.append(("allowWatchBookmarks", "true"))
        q.append(("watch", "true"))
        return Watch(self, r, self.path(r, namespace if r.namespaced else None), q)

    async def create(self, resource: Resource | str, body: dict, namespace: str | None = None, *,
                     field_manager: str | None = None, dry_run: bool = False) -> dict:
        r = self.resource(resource)
        q = _write_query(field_manager, dry_run)
        return _typed(await self._json("POST", self.path(r, self._ns(r, namespace, body)), q, body), r)

    async def update(self, resource: Resource | str, body: dict, namespace: str | None = None, *,
                     field_manager: str | None = None, dry_run: bool = False) -> dict:
        r = self.resource(resource)
        path = self.path(r, self._ns(r, namespace, body), body["metadata"]["name"])
        return _typed(await self._json("PUT", path, _write_query(field_manager, dry_run), body), r)

    async def update_status(self, resource: Resource | str, body: dict, namespace: str | None = None, *,
                            field_manager: str | None = None, dry_run: bool = False) -> dict:
        r = self.resource(resource)
        path = self.path(r, self._ns(r, namespace, body), body["metadata"]["name"], "status")
        return _typed(await self._json("PUT", path, _write_query(field_manager, dry_run), body), r)

    async def patch(self, resource: Resource | str, name: str, patch: Any, namespace: str | None = None, *,
                    patch_type: str = "merge", field_manager: str | None = None, force: bool | None = None,
                    subresource: str | None = None, dry_run: bool = False) -> dict:
        if patch_type not in PATCH_TYPES:
            raise ValueError(f"unknown patch type {patch_type!r}; use one of {sorted(PATCH_TYPES)}")
        if patch_type == "apply" and not field_manager:
            raise ValueError("an apply patch needs a field_manager")
        r = self.resource(resource)
        q = _write_query(field_manager, dry_run)
        if force is not None:
            q.append(("force", "true" if force else "false"))
        path = self.path(r, self._ns(r, namespace, patch if isinstance(patch, dict) else None), name, subresource)
        return _typed(await self._json("PATCH", path, q, patch, PATCH_TYPES[patch_type]), r)

    async def delete(self, resource: Resource | str, name: str, namespace: str | None = None, *,
                     propagation_policy: str | None = None, grace_period_seconds: int | None = None,
                     preconditions: dict | None = None, dry_run: bool = False) -> dict:
        """Delete one object; returns what the server returns (the object, or a Success Status)."""
        r = self.resource(resource)
        body = _delete_options(propagation_policy, grace_period_seconds, preconditions, dry_run)
        return await self._json("DELETE", self.path(r, self._ns(r, namespace), name), (), body)

    async def delete_collection(self, resource: Resource | str, namespace: str | None = None, *,
                                label_selector: Any = None, field_selector: Any = None,
                                propagation_policy: str | None = None,
                                grace_period_seconds: int | None = None) -> dict:
        r = self.resource(resource)
        q = _list_query(label_selector, field_selector, None, None)
        body = _delete_options(propagation_policy, grace_period_seconds, None, False)
        return await self._json("DELETE", self.path(r, namespace if r.namespaced else None), q, body)

    # ----- subresources

    async def create_subresource(self, resource: Resource | str, name: str, subresource: str, body: dict,
                                 namespace: str | None = None) -> dict:
        """POST to a subresource: `binding`, `eviction` (pods), `token` (serviceaccounts)."""
        r = self.resource(resource)
        return await self._json("POST", self.path(r, self._ns(r, namespace), name, subresource), (), body)

    async def update_subresource(self, resource: Resource | str, name: str, subresource: str, body: dict,
                                 namespace: str | None = None) -> dict:
        r = self.resource(resource)
        return await self._json("PUT", self.path(r, self._ns(r, namespace, body), name, subresource), (), body)

    async def get_subresource(self, resource: Resource | str, name: str, subresource: str,
                              namespace: str | None = None, *, query: Query = ()) -> dict | str:
        """GET a subresource: JSON replies are decoded, anything else (a log) is text."""
        r = self.resource(resource)
        resp = await self._send("GET", self.path(r, self._ns(r, namespace), name, subresource), list(query))
        if (resp.header("content-type") or "").startswith(JSON):
            return orjson.loads(resp.body)
        return resp.text

    async def read_log(self, name: str, namespace: str | None = None, **options: Any) -> str:
        """A pod's log as text; options: container, tail_lines, timestamps, previous, since_seconds,
        limit_bytes."""
        out = await self.get_subresource("pods", name, "log", namespace, query=_log_query(options))
        return out if isinstance(out, str) else orjson.dumps(out).decode()

    def stream_log(self, name: str, namespace: str | None = None, **options: Any) -> LineStream:
        """Follow a pod's log line by line (`follow=true`)."""
        r = self.resource("pods")
        q = _log_query({**options, "follow": True})
        return LineStream(self, self.path(r, self._ns(r, namespace), name, "log"), q)

    async def get_scale(self, resource: Resource | str, name: str, namespace: str | None = None) -> dict:
        r = self.resource(resource)
        return await self._json("GET", self.path(r, self._ns(r, namespace), name, "scale"))

    async def scale(self, resource: Resource | str, name: str, replicas: int,
                    namespace: str | None = None) -> dict:
        """Set `spec.replicas` through the `scale` subresource; returns the Scale."""
        r = self.resource(resource)
        return await self._json("PATCH", self.path(r, self._ns(r, namespace), name, "scale"), (),
                                {"spec": {"replicas": replicas}}, PATCH_TYPES["merge"])


def _typed(obj: dict, r: Resource) -> dict:
    _fill_type(obj, r)
    return obj


def _list_query(label_selector: Any, field_selector: Any, resource_version: str | None,
                timeout_seconds: int | None) -> list[tuple[str, str]]:
    q: list[tuple[str, str]] = []
    if (ls := selector_string(label_selector)) is not None:
        q.append(("labelSelector", ls))
    if (fs := selector_string(field_selector)) is not None:
        q.append(("fieldSelector", fs))
    if resource_version is not None:
        q.append(("resourceVersion", resource_version))
    if timeout_seconds is not None:
        q.append(("timeoutSeconds", str(int(timeout_seconds))))
    return q


def _write_query(field_manager: str | None, dry_run: bool) -> list[tuple[str, str]]:
    q: list[tuple[str, str]] = []
    if field_manager:
        q.append(("fieldManager", field_manager))
    if dry_run:
        q.append(("dryRun", "All"))
    return q


def _delete_options(propagation_policy: str | None, grace_period_seconds: int | None,
                    preconditions: dict | None, dry_run: bool) -> dict | None:
    opts: dict[str, Any] = {}
    if propagation_policy:
        opts["propagationPolicy"] = propagation_policy
    if grace_period_seconds is not None:
        opts["gracePeriodSeconds"] = grace_period_seconds
    if preconditions:
        opts["preconditions"] = preconditions
    if dry_run:
        opts["dryRun"] = ["All"]
    return {"kind": "DeleteOptions", "apiVersion": "v1", **opts} if opts else None


_LOG_OPTIONS = {"container": "container", "tail_lines": "tailLines", "timestamps": "timestamps",
                "previous": "previous", "since_seconds": "sinceSeconds", "limit_bytes": "limitBytes",
                "follow": "follow"}


def _log_query(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    q: list[tuple[str, str]] = []
    for k, v in options.items():
        if k not in _LOG_OPTIONS:
            raise TypeError(f"unknown log option {k!r}")
        if v is None or v is False:
            continue
        q.append((_LOG_OPTIONS[k], "true" if v is True else str(v)))
    return q
