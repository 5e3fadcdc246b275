"""Watch: a chunked stream of newline-delimited `{"type","object"}` events from the watch cache.

Honours `resourceVersion` (none/"0": current state first as ADDED; N: changes after N, or an
ERROR 410 Expired event when N is older than the cache window), `timeoutSeconds` (the stream
ends cleanly), `allowWatchBookmarks` (periodic BOOKMARK events carrying the latest
resourceVersion), `sendInitialEvents` (watch-list: a BOOKMARK annotated
`k8s.io/initial-events-end` after the initial state), and Table output for `kubectl get -w`.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from kubelite.machinery import errors, timeutil

from .. import negotiation, tables
from kubelite.registry.generic.cacher import status_event
from kubelite.registry.generic.store import Store
from .context import RequestContext

if TYPE_CHECKING:
    from ..server import APIServer

BOOKMARK_INTERVAL = 60.0
DEFAULT_TIMEOUT = (1800, 3600)


async def serve_watch(server: "APIServer", ctx: RequestContext, store: Store) -> web.StreamResponse:
    r = store.resource
    timeout = ctx.q_int("timeoutSeconds")
    if timeout is None or timeout <= 0:
        timeout = random.randint(*DEFAULT_TIMEOUT)
    bookmarks = ctx.q_bool("allowWatchBookmarks")
    send_initial = ctx.q("sendInitialEvents")
    rv = ctx.q("resourceVersion")
    field_selector = ctx.q("fieldSelector") or None
    if ctx.info.name:  # /watch/namespaces/x/pods/name legacy form
        extra = f"metadata.name={ctx.info.name}"
        field_selector = f"{field_selector},{extra}" if field_selector else extra
    if send_initial:
        if send_initial not in ("true", "false"):
            raise errors.new_bad_request("sendInitialEvents: Invalid value")
        if ctx.q("resourceVersionMatch") != "NotOlderThan" or not bookmarks:
            raise errors.new_invalid("meta.k8s.io", "ListOptions", "", [errors.forbidden(
                "sendInitialEvents", "sendInitialEvents is forbidden for watch unless the WatchList feature gate "
                "is enabled or resourceVersionMatch is NotOlderThan and allowWatchBookmarks is true")])
        if send_initial == "true" and rv not in ("", "0"):
            pass
    accept = ctx.accept
    table_version = negotiation.wants(accept, "Table")
    include = tables.check_include_object(ctx.q("includeObject") or None) if table_version else "Object"
    effective_rv = rv
    if send_initial == "true":
        effective_rv = ""  # initial state first, whatever rv says (NotOlderThan it)
    elif send_initial == "false" and not rv:
        effective_rv = str(store.cacher.rv)
    await store.cacher.wait_ready()
    try:
        watcher, initial = store.watch(ctx.info.namespace, label_selector=ctx.q("labelSelector") or None,
                                       field_selector=field_selector, resource_version=effective_rv)
    except errors.StatusError as e:
        if e.code != 410:
            raise
        resp = await _start(ctx.request)
        await resp.write(_encode_error(e, table_version))
        await resp.write_eof()
        return resp

    resp = await _start(ctx.request)
    headers_sent = False

    def encode(type_: str, ev, which: str) -> bytes:
        nonlocal headers_sent
        if table_version:
            obj = ev.object_for(which)
            t = tables.table(r, [obj], resource_version=obj["metadata"].get("resourceVersion", ""),
                             include=include, version=table_version, headers=not headers_sent)
            headers_sent = True
            return orjson.dumps({"type": type_, "object": t}) + b"\n"
        return ev.encoded(type_, which)

    def bookmark(rv_: int, initial_end: bool = False) -> bytes:
        md: dict = {"resourceVersion": str(rv_)}
        if initial_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        return orjson.dumps({"type": "BOOKMARK", "object": {"kind": r.kind, "apiVersion": r.api_version,
                                                             "metadata": md}}) + b"\n"

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_rv = watcher.start_rv
    try:
        buf = []
        for type_, ev, which in initial:
            buf.append(encode(type_, ev, which))
            last_rv = max(last_rv, ev.rv)
            if len(buf) >= 256:
                await resp.write(b"".join(buf))
                buf = []
        if send_initial == "true":
            buf.append(bookmark(max(last_rv, store.cacher.rv), initial_end=True))
        if buf:
            await resp.write(b"".join(buf))
        next_bookmark = loop.time() + BOOKMARK_INTERVAL
        while True:
            now = loop.time()
            wait = min(deadline, next_bookmark if bookmarks else deadline) - now
            if wait <= 0:
                if now >= deadline:
                    break
                if bookmarks:
                    await resp.write(bookmark(max(last_rv, store.cacher.rv)))
                    next_bookmark = now + BOOKMARK_INTERVAL
                continue
            try:
                item = await asyncio.wait_for(watcher.next(), wait)
            except TimeoutError:
                continue
            if item is None:  # closed by the cache (relist) or too slow
                break
            out = [encode(*item)]
            last_rv = item[1].rv
            while not watcher.queue.empty() and len(out) < 256:
                nxt = watcher.queue.get_nowait()
                if nxt is None:
                    watcher.closed = True
                    break
                out.append(encode(*nxt))
                last_rv = nxt[1].rv
            await resp.write(b"".join(out))
            if watcher.closed:
                break
        await resp.write_eof()
    except ConnectionResetError:  # the client went away (aiohttp's ClientConnectionResetError is a subclass)
        return resp
    finally:
        watcher.close()
    return resp


async def _start(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json",
                                                   "Cache-Control": "no-cache, private"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    return resp


def _encode_error(e: errors.StatusError, table_version: str | None) -> bytes:
    if table_version:
        return orjson.dumps({"type": "ERROR", "object": e.status()}) + b"\n"
    return status_event(e)


_ = timeutil
