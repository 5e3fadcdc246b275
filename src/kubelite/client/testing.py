"""Test helpers for anything that talks to the API through `kubelite.client`.

- `FakeAPIServer`: a small in-memory API server to plug into `FakeTransport` (client-go's
  object tracker, not the real server): create, get, list (label and field selectors, `limit`
  and `continue`), update (resourceVersion conflicts, `/status`), patch (merge and
  strategic treated as JSON merge patch, JSON patch, apply as create-or-merge), delete (with
  preconditions), pod `binding`, and watch (synthetic ADDED from `resourceVersion` 0 or unset,
  replay from history, `410 Expired` below `compact()`, bookmarks on `send_bookmark()`,
  streams ended by `end_watches()`). `prepend_reactor(fn)` lets a test answer a request first
  (return a `Response`, raise a `StatusError`, or return None to fall through).
- `wait_until(predicate)`: poll until true, for asserting convergence without bare sleeps.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import itertools
import secrets
from typing import Any, AsyncIterator, Awaitable, Callable

import orjson

from ..api.resources import SCHEME
from ..api.scheme import Resource, Scheme
from ..machinery import fields, labels
from ..machinery.clock import REAL_CLOCK, Clock
from ..machinery.errors import (
    StatusError,
    StatusReason,
    new_already_exists,
    new_bad_request,
    new_conflict,
    new_not_found,
    new_optimistic_conflict,
    new_resource_expired,
)
from ..machinery.timeutil import rfc3339
from .rest import Client
from .transport import FakeTransport, Request, Response

Reactor = Callable[[Request], "Response | None | Awaitable[Response | None]"]
_END = object()


async def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, message: str = "") -> None:
    """Poll `predicate` (sync or async) until it is truthy; fail after `timeout` real seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    spins = 0
    while True:
        ok = predicate()
        if inspect.isawaitable(ok):
            ok = await ok
        if ok:
            return
        if loop.time() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        spins += 1
        await asyncio.sleep(0 if spins < 200 else 0.005)


def _clone(obj: Any) -> Any:
    return orjson.loads(orjson.dumps(obj))


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return _clone(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge_patch(out.get(k), v)
    return out


def _json_patch(doc: Any, ops: list[dict]) -> Any:
    doc = _clone(doc)
    for op in ops:
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        node = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        kind = op["op"]
        if kind == "test":
            cur = node[int(last)] if isinstance(node, list) else node.get(last)
            if cur != op.get("value"):
                raise StatusError(422, StatusReason.INVALID, f"the test of path {op['path']} failed")
        elif kind == "remove":
            del node[int(last) if isinstance(node, list) else last]
        elif isinstance(node, list):
            idx = len(node) if last == "-" else int(last)
            if kind == "add":
                node.insert(idx, op["value"])
            else:
                node[idx] = op["value"]
        else:
            node[last] = op["value"]
    return doc


def _field(obj: dict, path: str) -> str:
    cur: Any = obj
    for p in path.split("."):
        cur = cur.get(p) if isinstance(cur, dict) else None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return "" if cur is None else str(cur)


class _Watcher:
    def __init__(self, r: Resource, ns: str | None, match: Callable[[dict], bool], bookmarks: bool) -> None:
        self.resource, self.ns, self.match, self.bookmarks = r, ns, match, bookmarks
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    def wants(self, r: Resource, obj: dict) -> bool:
        ns = (obj.get("metadata") or {}).get("namespace")
        return r is self.resource and (self.ns is None or ns == self.ns) and self.match(obj)


class FakeAPIServer:
    def __init__(self, scheme: Scheme = SCHEME, *, clock: Clock = REAL_CLOCK) -> None:
        self.scheme = scheme
        self.clock = clock
        self.resource_version = 0
        self.oldest_resource_version = 0
        self.logs: dict[tuple[str, str], str] = {}
        self._objects: dict[int, dict[tuple[str, str], dict]] = {}
        self._history: list[tuple[int, Resource, str, dict]] = []
        self._watchers: list[_Watcher] = []
        self._reactors: list[Reactor] = []
        self._uids = itertools.count(1)

    # ----- wiring

    def transport(self) -> FakeTransport:
        return FakeTransport(self.handle)

    def client(self, **kwargs: Any) -> Client:
        return Client(self.transport(), scheme=self.scheme, **kwargs)

    def prepend_reactor(self, fn: Reactor) -> None:
        self._reactors.insert(0, fn)

    # ----- direct access for tests

    def _bucket(self, r: Resource) -> dict[tuple[str, str], dict]:
        return self._objects.setdefault(id(r), {})

    def objects(self, resource: Resource | str) -> list[dict]:
        r = self.client().resource(resource)
        return [_clone(o) for _, o in sorted(self._bucket(r).items())]

    def get_object(self, resource: Resource | str, name: str, namespace: str = "") -> dict | None:
        r = self.client().resource(resource)
        obj = self._bucket(r).get((namespace if r.namespaced else "", name))
        return _clone(obj) if obj is not None else None

    def watchers(self) -> int:
        return len(self._watchers)

    def compact(self, resource_version: int | None = None) -> None:
        """Forget history up to `resource_version` (default: all); older watches get 410."""
        self.oldest_resource_version = self.resource_version if resource_version is None else resource_version
        self._history = [h for h in self._history if h[0] > self.oldest_resource_version]

    def end_watches(self) -> None:
        for w in self._watchers:
            w.queue.put_nowait(_END)

    def send_bookmark(self) -> None:
        for w in self._watchers:
            if w.bookmarks:
                w.queue.put_nowait({"type": "BOOKMARK", "object": {
                    "kind": w.resource.kind, "apiVersion": w.resource.api_version,
                    "metadata": {"resourceVersion": str(self.resource_version)}}})

    # ----- the handler

    async def handle(self, req: Request) -> Response:
        for fn in list(self._reactors):
            out = fn(req)
            if inspect.isawaitable(out):
                out = await out
            if out is not None:
                return out
        r, ns, name, sub = self._route(req.path)
        m = req.method
        if m == "GET" and name is None:
            if req.param("watch") in ("true", "1"):
                return self._watch(req, r, ns)
            return Response.from_json(200, self._list(req, r, ns))
        if m == "GET":
            obj = self._get(r, ns, name)
            if sub == "log":
                return Response(200, {"content-type": "text/plain"}, self.logs.get((ns or "", name), "").encode())
            return Response.from_json(200, obj)
        if m == "POST" and name is None:
            return Response.from_json(201, self._create(r, ns, req.json()))
        if m == "POST":
            return self._post_subresource(r, ns, name, sub or "", req.json())
        if m == "PUT":
            return Response.from_json(200, self._update(r, ns, name, req.json(), sub))
        if m == "PATCH":
            return Response.from_json(200, self._patch(r, ns, name, sub, req))
        if m == "DELETE" and name is not None:
            return Response.from_json(200, self._delete(r, ns, name, req.json() or {}))
        raise StatusError(405, StatusReason.METHOD_NOT_ALLOWED, f"{m} is not supported")

    def _route(self, path: str) -> tuple[Resource, str | None, str | None, str | None]:
        from urllib.parse import unquote

        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[0] == "api" and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise StatusError(404, StatusReason.NOT_FOUND, "the server could not find the requested resource")
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces" and self.scheme.by_gvr(group, version, rest[2]) is not None:
            ns, rest = rest[1], rest[2:]
        r = self.scheme.by_gvr(group, version, rest[0])
        if r is None:
            raise StatusError(404, StatusReason.NOT_FOUND, "the server could not find the requested resource")
        return r, ns, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None

    def _key(self, r: Resource, ns: str | None, name: str) -> tuple[str, str]:
        return ((ns or "") if r.namespaced else "", name)

    def _get(self, r: Resource, ns: str | None, name: str) -> dict:
        obj = self._bucket(r).get(self._key(r, ns, name))
        if obj is None:
            raise new_not_found(r.group, r.plural, name)
        return obj

    def _matcher(self, req: Request) -> Callable[[dict], bool]:
        ls = labels.parse(req.param("labelSelector"))
        fs = fields.parse(req.param("fieldSelector"))
        return lambda o: ls.matches((o.get("metadata") or {}).get("labels")) and \
            all(rq.matches({rq.field: _field(o, rq.field)}) for rq in fs.requirements)

    def _list(self, req: Request, r: Resource, ns: str | None) -> dict:
        match = self._matcher(req)
        items = [o for k, o in sorted(self._bucket(r).items()) if (ns is None or k[0] == ns) and match(o)]
        start, token = 0, req.param("continue")
        if token:
            state = orjson.loads(base64.b64decode(token))
            if state["rv"] < self.oldest_resource_version:
                raise new_resource_expired("The provided continue parameter is too old to display a consistent "
                                           "list result. You can start a new list without the continue parameter.")
            start = state["start"]
        limit = int(req.param("limit") or 0)
        meta: dict = {"resourceVersion": str(self.resource_version)}
        page = items[start:]
        if limit and len(page) > limit:
            page = page[:limit]
            meta["continue"] = base64.b64encode(orjson.dumps({"rv": self.resource_version,
                                                              "start": start + limit})).decode()
        return {"kind": r.list_kind, "apiVersion": r.api_version, "metadata": meta, "items": page}

    def _emit(self, r: Resource, etype: str, obj: dict) -> None:
        self._history.append((self.resource_version, r, etype, obj))
        for w in self._watchers:
            if w.wants(r, obj):
                w.queue.put_nowait({"type": etype, "object": obj})

    def _watch(self, req: Request, r: Resource, ns: str | None) -> Response:
        rv = req.param("resourceVersion") or "0"
        w = _Watcher(r, ns, self._matcher(req), req.param("allowWatchBookmarks") == "true")
        if rv == "0":
            for k, o in sorted(self._bucket(r).items()):
                if w.wants(r, o):
                    w.queue.put_nowait({"type": "ADDED", "object": o})
        elif int(rv) < self.oldest_resource_version:
            err = new_resource_expired(f"too old resource version: {rv} ({self.oldest_resource_version})")
            w.queue.put_nowait({"type": "ERROR", "object": err.status()})
            w.queue.put_nowait(_END)
        else:
            for hrv, hr, etype, o in self._history:
                if hrv > int(rv) and w.wants(hr, o):
                    w.queue.put_nowait({"type": etype, "object": o})
        self._watchers.append(w)
        return Response(200, {"content-type": "application/json"}, stream=self._stream(w))

    async def _stream(self, w: _Watcher) -> AsyncIterator[bytes]:
        try:
            while True:
                ev = await w.queue.get()
                if ev is _END:
                    return
                yield orjson.dumps(ev) + b"\n"
        finally:
            self._watchers.remove(w)

    def _stamp(self, r: Resource, obj: dict) -> dict:
        self.resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self.resource_version)
        obj["kind"], obj["apiVersion"] = r.kind, r.api_version
        return obj

    def _create(self, r: Resource, ns: str | None, body: dict) -> dict:
        obj = _clone(body)
        meta = obj.setdefault("metadata", {})
        if r.namespaced:
            if ns and meta.get("namespace") not in (None, "", ns):
                raise new_bad_request("the namespace of the provided object does not match the namespace sent "
                                      "on the request")
            meta["namespace"] = ns or meta.get("namespace") or "default"
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        if not meta.get("name"):
            raise StatusError(422, StatusReason.INVALID, f"{r.kind} \"\" is invalid: metadata.name: Required value")
        key = self._key(r, meta.get("namespace"), meta["name"])
        if key in self._bucket(r):
            raise new_already_exists(r.group, r.plural, meta["name"])
        meta.pop("resourceVersion", None)
        meta["uid"] = f"00000000-0000-4000-8000-{next(self._uids):012d}"
        meta["creationTimestamp"] = rfc3339(self.clock.now())
        if "spec" in obj:
            meta["generation"] = 1
        self._bucket(r)[key] = self._stamp(r, obj)
        self._emit(r, "ADDED", obj)
        return obj

    def _store(self, r: Resource, old: dict, new: dict) -> dict:
        meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
        for k in ("uid", "creationTimestamp", "namespace", "name"):
            if k in old_meta:
                meta[k] = old_meta[k]
        if "generation" in old_meta:
            meta["generation"] = old_meta["generation"] + (new.get("spec") != old.get("spec"))
        self._bucket(r)[self._key(r, meta.get("namespace"), meta["name"])] = self._stamp(r, new)
        self._emit(r, "MODIFIED", new)
        return new

    def _update(self, r: Resource, ns: str | None, name: str, body: dict, sub: str | None) -> dict:
        old = self._get(r, ns, name)
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise new_optimistic_conflict(r.group, r.plural, name)
        if sub == "status":
            new = {**_clone(old), "status": _clone(body.get("status"))}
        else:
            new = _clone(body)
            if r.subresource("status") is not None and "status" in old:
                new["status"] = _clone(old["status"])
        return self._store(r, old, new)

    def _patch(self, r: Resource, ns: str | None, name: str, sub: str | None, req: Request) -> dict:
        ctype, patch = req.headers.get("Content-Type", ""), req.json()
        key = self._key(r, ns, name)
        if key not in self._bucket(r) and ctype.startswith("application/apply-patch"):
            return self._create(r, ns, patch)
        old = self._get(r, ns, name)
        if sub == "scale":
            return self._store(r, old, _merge_patch(_clone(old), {"spec": patch.get("spec", {})}))
        new = _json_patch(old, patch) if ctype.startswith("application/json-patch") else _merge_patch(old, patch)
        rv = (new.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise new_optimistic_conflict(r.group, r.plural, name)
        return self._store(r, old, _clone(new))

    def _delete(self, r: Resource, ns: str | None, name: str, options: dict) -> dict:
        old = self._get(r, ns, name)
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != old["metadata"].get("uid"):
            raise new_conflict(r.group, r.plural, name, f"Precondition failed: UID in precondition: {pre['uid']}, "
                                                        f"UID in object meta: {old['metadata'].get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise new_conflict(r.group, r.plural, name, "Precondition failed: ResourceVersion in precondition: "
                                                        f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                                        f"{old['metadata']['resourceVersion']}")
        del self._bucket(r)[self._key(r, ns, name)]
        obj = self._stamp(r, _clone(old))
        self._emit(r, "DELETED", obj)
        return obj

    def _post_subresource(self, r: Resource, ns: str | None, name: str, sub: str, body: dict) -> Response:
        if r.plural == "pods" and sub == "binding":
            old = self._get(r, ns, name)
            if (old.get("spec") or {}).get("nodeName"):
                raise new_conflict(r.group, r.plural, name, f"pod {name} is already assigned to node "
                                                            f"\"{old['spec']['nodeName']}\"")
            new = _clone(old)
            new.setdefault("spec", {})["nodeName"] = body["target"]["name"]
            self._store(r, old, new)
        elif r.plural == "pods" and sub == "eviction":
            self._delete(r, ns, name, body.get("deleteOptions") or {})
        else:
            self._get(r, ns, name)
        return Response.from_json(201, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                        "status": "Success", "code": 201})
