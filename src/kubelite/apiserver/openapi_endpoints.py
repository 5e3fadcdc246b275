"""`/openapi/v3` (index and per-group-version documents, hashed and cacheable) and `/openapi/v2`
(one Swagger 2.0 document, as gnostic protobuf, which is what kubectl asks for, or as JSON; each
with its own ETag, answering If-None-Match with 304)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from kubelite.machinery import errors

from .negotiation import parse_accept

if TYPE_CHECKING:
    from .server import APIServer

_cache: dict[str, tuple[bytes, str]] = {}


def _document(gv_path: str) -> tuple[bytes, str] | None:
    hit = _cache.get(gv_path)
    if hit is not None:
        return hit
    from kubelite.api import openapi

    parts = gv_path.split("/")
    if parts == ["api", "v1"]:
        group, version = "", "v1"
    elif len(parts) == 3 and parts[0] == "apis":
        group, version = parts[1], parts[2]
    else:
        return None
    doc = openapi.group_version_document(group, version)
    if doc is None:
        return None
    body = orjson.dumps(doc)
    h = hashlib.sha512(body).hexdigest()[:128].upper()
    _cache[gv_path] = (body, h)
    return body, h


_v2: dict[str, tuple[bytes, str]] = {}


def _v2_documents() -> dict[str, tuple[bytes, str]]:
    """{"json" | "protobuf": (body, etag)}, built once."""
    if not _v2:
        from kubelite.api import openapi_v2

        doc = openapi_v2.document()
        for name, body in (("json", orjson.dumps(doc)), ("protobuf", openapi_v2.encode(doc))):
            _v2[name] = (body, hashlib.sha512(body).hexdigest()[:128].upper())
    return _v2


def _v2_representation(accept: str | None) -> tuple[str, str] | None:
    """(document, Content-Type) for an Accept header, as Kubernetes negotiates `/openapi/v2`: the
    first acceptable range in order of preference; JSON for wildcards; None if nothing fits."""
    from kubelite.api.openapi_v2 import PROTOBUF_MEDIA_TYPES

    ranges = parse_accept(accept or "*/*")

    def quality(r) -> float:
        try:
            return float(r.params.get("q", "1"))
        except ValueError:
            return 0.0

    for r in sorted(ranges, key=quality, reverse=True):
        if quality(r) <= 0:
            continue
        if r.type in ("application/json", "application/*", "*/*"):
            return "json", "application/json"
        if r.type in PROTOBUF_MEDIA_TYPES:
            return "protobuf", PROTOBUF_MEDIA_TYPES[1]
    return None


async def _serve_v2(request: web.Request) -> web.StreamResponse:
    chosen = _v2_representation(request.headers.get("Accept"))
    if chosen is None:
        return web.Response(status=406, headers={"Vary": "Accept"})
    name, content_type = chosen
    docs = _v2 or await asyncio.to_thread(_v2_documents)
    body, etag = docs[name]
    headers = {"Content-Type": content_type, "ETag": f'"{etag}"', "Vary": "Accept",
               "Cache-Control": "no-cache, private"}
    if request.headers.get("If-None-Match") == f'"{etag}"':
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers=headers)


def _hash(gv_path: str) -> str:
    d = _document(gv_path)
    return d[1] if d else ""


async def serve(server: "APIServer", request: web.Request, parts: list[str]) -> web.StreamResponse:
    from kubelite.api import openapi

    if parts[1:] == ["v2"]:
        return await _serve_v2(request)
    if len(parts) >= 2 and parts[1] == "v3":
        if len(parts) == 2:
            return web.Response(body=orjson.dumps(openapi.index(_hash)), content_type="application/json")
        gv_path = "/".join(parts[2:])
        d = _document(gv_path)
        if d is None:
            raise errors.StatusError(404, errors.StatusReason.NOT_FOUND, "the server could not find the requested "
                                     "resource")
        body, h = d
        headers = {"Content-Type": "application/json", "ETag": f'"{h}"'}
        if request.query.get("hash") == h:
            headers["Cache-Control"] = "public, immutable"
            headers["Expires"] = "Thu, 01 Jan 2099 00:00:00 GMT"
        else:
            headers["Cache-Control"] = "no-cache, private"
        if request.headers.get("If-None-Match") == f'"{h}"':
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers)
    raise errors.StatusError(404, errors.StatusReason.NOT_FOUND, "the server could not find the requested resource")
