"""The OCI Distribution API as an aiohttp application (dataplane §7.1 endpoint table).

Repository names have several segments (`team/app`), so one catch-all route takes `/v2/…` and
the path is split at its *last* `/blobs/`, `/manifests/`, `/tags/list` or `/referrers/`. Every
response carries `Docker-Distribution-API-Version: registry/2.0`; errors are the spec's JSON.
Request bodies are streamed to disk in large slices on worker threads, never held whole.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from .. import oci
from ..reference import valid_digest, valid_repository_path, valid_tag
from . import errors as E
from .auth import RegistryAuth, authorize, required_scope
from .token import issue_token
from .blobstore import BlobRedirect
from .errors import RegistryError
from .storage import RegistryStorage, Upload

log = logging.getLogger(__name__)

API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")
MAX_MANIFEST_SIZE = 8 << 20
WRITE_SLICE = 8 << 20

_ROUTES = [
    ("uploads", re.compile(r"^(?P<name>.+)/blobs/uploads/(?P<uuid>[^/]*)$")),
    ("blob", re.compile(r"^(?P<name>.+)/blobs/(?P<digest>[^/]+)$")),
    ("manifest", re.compile(r"^(?P<name>.+)/manifests/(?P<ref>[^/]+)$")),
    ("tags", re.compile(r"^(?P<name>.+)/tags/list$")),
    ("referrers", re.compile(r"^(?P<name>.+)/referrers/(?P<digest>[^/]+)$")),
]

Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]


def _link_header(path: str, n: int, last: str) -> str:
    return f'<{path}?n={n}&last={quote(last, safe="")}>; rel="next"'


def _paginate(items: list[str], request: web.Request, path: str) -> tuple[list[str], dict[str, str]]:
    last = request.query.get("last", "")
    if last:
        items = [t for t in items if t > last]
    headers: dict[str, str] = {}
    n_raw = request.query.get("n")
    if n_raw is not None:
        try:
            n = int(n_raw)
        except ValueError:
            raise RegistryError(E.UNSUPPORTED, 400, "invalid n") from None
        if n < 0:
            raise RegistryError(E.UNSUPPORTED, 400, "invalid n")
        if len(items) > n and n > 0:
            headers["Link"] = _link_header(path, n, items[n - 1])
        items = items[:n]
    return items, headers


class RegistryApp:
    """`blob_redirect`: answer blob GETs with a 307 to this blob-storage URL (a `BlobStorageServer`),
    as registries backed by object storage do."""

    def __init__(self, storage: RegistryStorage, auth: RegistryAuth | None = None, *,
                 blob_redirect: BlobRedirect | None = None) -> None:
        self.storage = storage
        self.auth = auth or RegistryAuth()
        self.blob_redirect = blob_redirect
        self._upload_locks: dict[str, asyncio.Lock] = {}

    def build(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=MAX_MANIFEST_SIZE)
        app.router.add_route("*", "/v2", self.dispatch)
        app.router.add_route("*", "/v2/{tail:.*}", self.dispatch)
        app.router.add_route("GET", "/token", self.token)
        app.router.add_route("POST", "/token", self.token)
        return app

    async def run_io(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                          ) -> web.StreamResponse:
        try:
            resp = await handler(request)
        except RegistryError as e:
            resp = web.Response(status=e.status, body=e.body(), content_type="application/json", headers=e.headers)
        except web.HTTPException as e:
            if e.status == 404:
                err = RegistryError(E.NAME_UNKNOWN, 404, "not found")
                resp = web.Response(status=404, body=err.body(), content_type="application/json")
            else:
                raise
        resp.headers[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
        return resp

    # -- dispatch --

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info.get("tail", "").lstrip("/")
        if tail == "":
            self._authorize(request, None)
            if request.method not in ("GET", "HEAD"):
                raise RegistryError(E.UNSUPPORTED, 405, "method not allowed")
            return web.json_response({})
        if tail == "_catalog":
            self._authorize(request, "_catalog")
            return await self.catalog(request)
        for kind, rx in _ROUTES:
            m = rx.match(tail)
            if m is None:
                continue
            params = m.groupdict()
            name = params["name"]
            if not valid_repository_path(name):
                raise RegistryError(E.NAME_INVALID, 400, detail={"name": name})
            self._authorize(request, name)
            handler = getattr(self, f"{kind}_{request.method.lower()}", None)
            if handler is None:
                raise RegistryError(E.UNSUPPORTED, 405, f"{request.method} not allowed on {kind}")
            return await handler(request, params)
        raise RegistryError(E.NAME_UNKNOWN, 404, "unknown endpoint")

    def _authorize(self, request: web.Request, name: str | None) -> str | None:
        realm = f"{request.scheme}://{request.host}/token"
        return authorize(self.auth, request.headers.get("Authorization", ""), required_scope(name, request.method),
                         realm)

    # -- token endpoint --

    async def token(self, request: web.Request) -> web.StreamResponse:
        return await issue_token(self.auth, request)

    # -- catalog and tags --

    async def catalog(self, request: web.Request) -> web.StreamResponse:
        repos = await self.run_io(self.storage.catalog)
        repos, headers = _paginate(repos, request, "/v2/_catalog")
        return web.json_response({"repositories": repos}, headers=headers)

    async def tags_get(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        name = p["name"]
        if not await self.run_io(self.storage.repo_exists, name):
            raise E.name_unknown(name)
        tags = await self.run_io(self.storage.tags, name)
        tags, headers = _paginate(tags, request, f"/v2/{name}/tags/list")
        return web.json_response({"name": name, "tags": tags}, headers=headers)

    # -- blobs --

    def _check_digest(self, digest: str) -> None:
        if not valid_digest(digest):
            raise RegistryError(E.DIGEST_INVALID, 400, "invalid digest", detail={"digest": digest})

    async def blob_get(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        name, digest = p["name"], p["digest"]
        self._check_digest(digest)
        if not await self.run_io(self.storage.linked, name, digest):
            raise E.blob_unknown(digest)
        path = self.storage.blob_path(digest)
        headers = {"Docker-Content-Digest": digest, "Content-Type": "application/octet-stream",
                   "Accept-Ranges": "bytes"}
        if request.method == "HEAD":
            size = (await self.run_io(path.stat)).st_size
            resp = web.Response(status=200, headers={**headers, "Content-Length": str(size)})
            return resp
        if self.blob_redirect is not None:
            return web.Response(status=307, headers={"Location": self.blob_redirect.url_for(digest),
                                                     "Docker-Content-Digest": digest})
        return web.FileResponse(path, headers=headers, chunk_size=1 << 20)

    blob_head = blob_get

    async def blob_delete(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        name, digest = p["name"], p["digest"]
        self._check_digest(digest)
        if not await self.run_io(self.storage.unlink_blob, name, digest):
            raise E.blob_unknown(digest)
        return web.Response(status=202, headers={"Docker-Content-Digest": digest})

    # -- uploads --

    def _upload_headers(self, name: str, up: Upload) -> dict[str, str]:
        return {"Location": f"/v2/{name}/blobs/uploads/{up.uuid}", "Docker-Upload-UUID": up.uuid,
                "Range": f"0-{max(up.offset - 1, 0)}"}

    def _blob_created(self, name: str, digest: str) -> web.Response:
        return web.Response(status=201, headers={"Location": f"/v2/{name}/blobs/{digest}",
                                                 "Docker-Content-Digest": digest, "Content-Length": "0"})

    async def _receive(self, request: web.Request, up: Upload) -> int:
        """Append the request body to the session in large slices; returns bytes received."""
        got = 0
        buf = bytearray()
        async for chunk in request.content.iter_chunked(1 << 20):
            buf += chunk
            got += len(chunk)
            if len(buf) >= WRITE_SLICE:
                await self.run_io(self.storage.append, up, bytes(buf))
                buf.clear()
        if buf:
            await self.run_io(self.storage.append, up, bytes(buf))
        return got

    async def _finish(self, name: str, up: Upload, digest: str) -> web.Response:
        self._check_digest(digest)
        actual = await self.run_io(self.storage.finish_upload, up, digest)
        if actual != digest:
            raise E.digest_invalid(digest, actual)
        return self._blob_created(name, digest)

    async def uploads_post(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        name = p["name"]
        if p["uuid"]:
            raise RegistryError(E.UNSUPPORTED, 405, "POST on an upload session")
        q = request.query
        mount = q.get("mount")
        if mount:
            self._check_digest(mount)
            src = q.get("from")
            if src is not None and not valid_repository_path(src):
                src = None
            if src is None:
                src = await self.run_io(self.storage.blob_repo_with, mount)
            if src and await self.run_io(self.storage.linked, src, mount) and (
                    src == name or self._may_mount_from(request, src)):
                await self.run_io(self.storage.link, name, mount)
                return self._blob_created(name, mount)
        up = await self.run_io(self.storage.start_upload, name)
        alg = q.get("digest-algorithm")
        if alg:
            if alg not in ("sha256", "sha512"):
                await self.run_io(self.storage.cancel_upload, up)
                raise RegistryError(E.UNSUPPORTED, 400, f"unsupported digest algorithm {alg}")
            up.hashers = {alg: oci.new_hasher(alg)}
        digest = q.get("digest")
        if digest and not mount:
            try:
                await self._receive(request, up)
                return await self._finish(name, up, digest)
            finally:
                await self.run_io(self.storage.cancel_upload, up)
        return web.Response(status=202, headers={**self._upload_headers(name, up), "Content-Length": "0"})

    def _may_mount_from(self, request: web.Request, src: str) -> bool:
        """A mount reads `src`: the caller needs pull there too, else it falls back to an upload."""
        if self.auth.mode == "none":
            return True
        try:
            authorize(self.auth, request.headers.get("Authorization", ""), ("repository", src, "pull"),
                      f"{request.scheme}://{request.host}/token")
        except RegistryError:
            return False
        return True

    async def _session(self, p: dict[str, str]) -> tuple[Upload, asyncio.Lock]:
        up = await self.run_io(self.storage.get_upload, p["name"], p["uuid"])
        if up is None:
            raise E.upload_unknown(p["uuid"])
        return up, self._upload_locks.setdefault(up.uuid, asyncio.Lock())

    @staticmethod
    def _content_range(request: web.Request) -> tuple[int, int] | None:
        cr = request.headers.get("Content-Range")
        if not cr:
            return None
        m = re.match(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/\d+|/\*)?$", cr.strip())
        if not m:
            raise RegistryError(E.BLOB_UPLOAD_INVALID, 416, "invalid Content-Range")
        return int(m.group(1)), int(m.group(2))

    async def _append_checked(self, request: web.Request, name: str, up: Upload) -> None:
        rng = self._content_range(request)
        if rng is not None and rng[0] != up.offset:
            raise RegistryError(E.BLOB_UPLOAD_INVALID, 416, "out of order chunk",
                                headers=self._upload_headers(name, up))
        start = up.offset
        got = await self._receive(request, up)
        if rng is not None and rng[1] - rng[0] + 1 != got:
            await self.run_io(self._rollback, up, start)
            raise RegistryError(E.BLOB_UPLOAD_INVALID, 416, "chunk length does not match Content-Range",
                                headers=self._upload_headers(name, up))

    def _rollback(self, up: Upload, offset: int) -> None:
        with open(up.path, "r+b") as f:
            f.truncate(offset)
        up.offset = offset
        up.hashers = {}

    async def uploads_patch(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        name = p["name"]
        up, lock = await self._session(p)
        async with lock:
            await self._append_checked(request, name, up)
        return web.Response(status=202, headers={**self._upload_headers(name, up), "Content-Length": "0"})

    async def uploads_put(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        name = p["name"]
        digest = request.query.get("digest", "")
        up, lock = await self._session(p)
        if not digest:
            raise RegistryError(E.DIGEST_INVALID, 400, "digest parameter missing")
        async with lock:
            await self._append_checked(request, name, up)
            try:
                return await self._finish(name, up, digest)
            finally:
                self._upload_locks.pop(up.uuid, None)

    async def uploads_get(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        up, _ = await self._session(p)
        return web.Response(status=204, headers=self._upload_headers(p["name"], up))

    async def uploads_delete(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        up, _ = await self._session(p)
        await self.run_io(self.storage.cancel_upload, up)
        self._upload_locks.pop(up.uuid, None)
        return web.Response(status=204)

    # -- manifests --

    async def _resolve_ref(self, name: str, ref: str) -> str:
        if ":" in ref:
            self._check_digest(ref)
            return ref
        if not valid_tag(ref):
            raise RegistryError(E.TAG_INVALID, 400, detail={"tag": ref})
        digest = await self.run_io(self.storage.resolve_tag, name, ref)
        if digest is None:
            raise E.manifest_unknown(ref)
        return digest

    async def manifest_get(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        name, ref = p["name"], p["ref"]
        digest = await self._resolve_ref(name, ref)
        got = await self.run_io(self.storage.get_manifest, name, digest)
        if got is None:
            raise E.manifest_unknown(ref)
        data, media_type = got
        headers = {"Docker-Content-Digest": digest, "Content-Type": media_type or oci.OCI_MANIFEST,
                   "Content-Length": str(len(data)), "ETag": f'"{digest}"'}
        if request.method == "HEAD":
            return web.Response(status=200, headers=headers)
        return web.Response(status=200, body=data, headers=headers)

    manifest_head = manifest_get

    async def manifest_put(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        name, ref = p["name"], p["ref"]
        if request.content_length is not None and request.content_length > MAX_MANIFEST_SIZE:
            raise RegistryError(E.SIZE_INVALID, 413, "manifest too large")
        try:
            data = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise RegistryError(E.SIZE_INVALID, 413, "manifest too large") from None
        digest = oci.sha256_digest(data)
        if ":" in ref:
            self._check_digest(ref)
            if ref.startswith("sha512:"):
                digest = oci.digest_of(data, "sha512")
            if ref != digest:
                raise E.digest_invalid(ref, digest)
            tags: list[str] = []
        else:
            if not valid_tag(ref):
                raise RegistryError(E.TAG_INVALID, 400, detail={"tag": ref})
            tags = [ref]
        for t in request.query.getall("tag", []):
            if not valid_tag(t):
                raise RegistryError(E.TAG_INVALID, 400, detail={"tag": t})
            tags.append(t)
        try:
            doc = json.loads(data)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
        except ValueError as e:
            raise RegistryError(E.MANIFEST_INVALID, 400, f"invalid manifest JSON: {e}") from None
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        field_type = doc.get("mediaType", "")
        if content_type in ("", "application/octet-stream", "application/json"):
            content_type = oci.media_type_of(doc, oci.OCI_MANIFEST)
        if field_type and field_type != content_type:
            raise RegistryError(E.MANIFEST_INVALID, 400, "mediaType does not match Content-Type")
        missing = await self.run_io(self._missing_references, name, doc, content_type)
        if missing:
            raise RegistryError(E.MANIFEST_BLOB_UNKNOWN, 400, detail={"digest": missing[0]})
        subject = ""
        referrer = None
        if isinstance(doc.get("subject"), dict) and doc["subject"].get("digest"):
            subject = doc["subject"]["digest"]
            referrer = {"mediaType": content_type, "digest": digest, "size": len(data)}
            at = doc.get("artifactType") or (doc.get("config") or {}).get("mediaType")
            if at:
                referrer["artifactType"] = at
            if doc.get("annotations"):
                referrer["annotations"] = doc["annotations"]
        await self.run_io(self.storage.put_manifest, name, data, digest, content_type, tags, subject, referrer)
        headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest,
                   "Content-Length": "0"}
        if subject:
            headers["OCI-Subject"] = subject
        return web.Response(status=201, headers=headers)

    def _missing_references(self, name: str, doc: dict[str, Any], media_type: str) -> list[str]:
        missing = []
        if oci.is_index(media_type) or "manifests" in doc:
            for m in doc.get("manifests") or []:
                d = m.get("digest", "") if isinstance(m, dict) else ""
                if not d or not self.storage.has_manifest(name, d):
                    missing.append(d)
        else:
            for desc in oci.manifest_blobs(doc):
                d = desc.get("digest", "")
                if desc.get("urls"):  # foreign / non-distributable layers may live elsewhere
                    continue
                if not d or not self.storage.linked(name, d):
                    missing.append(d)
        return missing

    async def manifest_delete(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        name, ref = p["name"], p["ref"]
        if ":" not in ref:
            if not valid_tag(ref):
                raise RegistryError(E.TAG_INVALID, 400, detail={"tag": ref})
            if not await self.run_io(self.storage.delete_tag, name, ref):
                raise E.manifest_unknown(ref)
            return web.Response(status=202)
        self._check_digest(ref)
        if not await self.run_io(self.storage.delete_manifest, name, ref):
            raise E.manifest_unknown(ref)
        return web.Response(status=202)

    # -- referrers --

    async def referrers_get(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        name, digest = p["name"], p["digest"]
        self._check_digest(digest)
        descs = await self.run_io(self.storage.referrers, name, digest)
        headers = {}
        at = request.query.get("artifactType")
        if at:
            descs = [d for d in descs if d.get("artifactType") == at]
            headers["OCI-Filters-Applied"] = "artifactType"
        body = json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": descs}).encode()
        return web.Response(status=200, body=body, headers={**headers, "Content-Type": oci.OCI_INDEX})
