"""`/openapi/v3` (index and per-group-version documents, hashed and cacheable); `/openapi/v2` is
not served (kubectl tolerates its absence once v3 answers)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from kubelite.machinery import errors

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


def _hash(gv_path: str) -> str:
    d = _document(gv_path)
    return d[1] if d else ""


async def serve(server: "APIServer", request: web.Request, parts: list[str]) -> web.StreamResponse:
    from kubelite.api import openapi

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
