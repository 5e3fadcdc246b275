"""HTTP to one registry endpoint, with Docker's auth challenge flow and retrying blob transfers.

A request goes out without credentials (or with what the endpoint asked for before); a 401 with
`WWW-Authenticate: Basic` is retried with the configured user and password, one with `Bearer
realm=…,service=…,scope=…` fetches a token from the realm (`GET ?service=&scope=…&account=`,
Basic credentials when there are any, anonymous otherwise), caches it per scope until it expires,
and retries. Blob downloads resume with `Range` after a broken connection; uploads resume from
the offset the registry reports (`GET` on the session). Every blob is checked against its digest
before it is committed.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import ssl as ssl_module
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin

import aiohttp

from ..content.interface import Ingester
from ..errors import DigestMismatch, SizeMismatch
from .errors import AuthenticationError, DistributionError, TransferError

log = logging.getLogger(__name__)

RETRIES = 4
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
BACKOFF = 0.5
CHUNK = 1 << 20
Progress = Callable[[int], None]  # called with the number of bytes just transferred


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…"` → ("bearer", {realm, service, …})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
              for m in re.finditer(r'([A-Za-z_]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))', rest)}
    return scheme.lower(), params


@dataclass
class _Token:
    value: str
    expires: float


class RegistryClient:
    """Talks to one registry endpoint (`http://127.0.0.1:5000`, `https://registry-1.docker.io`)."""

    def __init__(self, endpoint: str, session: aiohttp.ClientSession, credentials: tuple[str, str] | None = None,
                 *, ssl: ssl_module.SSLContext | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.session = session
        self.credentials = credentials
        self.ssl = ssl
        self._basic = False
        self._bearer: tuple[str, dict[str, str]] | None = None
        self._tokens: dict[str, _Token] = {}
        self._token_lock = asyncio.Lock()

    # -- auth --

    def _basic_header(self) -> str:
        user, password = self.credentials or ("", "")
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    async def _token(self, scopes: list[str], params: dict[str, str]) -> str:
        key = " ".join(sorted(scopes))
        tok = self._tokens.get(key)
        if tok and tok.expires > time.time() + 5:
            return tok.value
        async with self._token_lock:
            tok = self._tokens.get(key)
            if tok and tok.expires > time.time() + 5:
                return tok.value
            query: list[tuple[str, str]] = []
            if params.get("service"):
                query.append(("service", params["service"]))
            for s in scopes:
                query.append(("scope", s))
            headers = {}
            if self.credentials:
                query.append(("account", self.credentials[0]))
                headers["Authorization"] = self._basic_header()
            realm = params.get("realm", "")
            if not realm:
                raise AuthenticationError(401, "UNAUTHORIZED", "bearer challenge without a realm")
            url = realm + ("&" if "?" in realm else "?") + urlencode(query)
            async with self.session.get(url, headers=headers, **self._ssl()) as resp:
                body = await resp.read()
                if resp.status != 200:
                    err = DistributionError.from_body(resp.status, body, url)
                    raise AuthenticationError(resp.status, err.code or "UNAUTHORIZED",
                                              f"unable to retrieve auth token: {err.message}", url)
                doc = await resp.json(content_type=None)
            value = doc.get("token") or doc.get("access_token")
            if not value:
                raise AuthenticationError(401, "UNAUTHORIZED", "token endpoint returned no token", url)
            ttl = int(doc.get("expires_in") or 60)
            self._tokens[key] = _Token(value, time.time() + ttl)
            return value

    async def _auth_header(self, scopes: list[str]) -> str | None:
        if self._bearer is not None:
            return "Bearer " + await self._token(scopes, self._bearer[1])
        if self._basic and self.credentials:
            return self._basic_header()
        return None

    async def _on_challenge(self, header: str, scopes: list[str], sent: str | None) -> bool:
        """Learn from a 401 to a request that carried `sent`; True if a retry can succeed."""
        scheme, params = parse_challenge(header)
        if scheme == "basic":
            if not self.credentials or (sent or "").startswith("Basic "):
                return False
            self._basic = True
            return True
        if scheme == "bearer":
            self._bearer = (scheme, params)
            if not scopes and params.get("scope"):
                scopes.append(params["scope"])
            self._tokens.pop(" ".join(sorted(scopes)), None)  # a rejected or missing token: fetch anew
            return True
        return False

    # -- requests --

    def _ssl(self) -> dict[str, Any]:
        return {"ssl": self.ssl} if self.ssl is not None else {}

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.endpoint + "/", path.lstrip("/")) if not path.startswith("/") else self.endpoint + path

    async def request(self, method: str, path: str, *, scopes: list[str], headers: dict[str, str] | None = None,
                      data: bytes | Callable[[], Any] | None = None, params: Any = None,
                      ok: tuple[int, ...] = (200,), allow_redirects: bool = True) -> aiohttp.ClientResponse:
        """Send with auth; the caller releases the response (use `async with`). Raises for non-`ok`."""
        url = self.url(path)
        scopes = list(scopes)
        for attempt in range(3):
            h = dict(headers or {})
            auth = await self._auth_header(scopes)
            if auth:
                h["Authorization"] = auth
            body = data() if callable(data) else data
            resp = await self.session.request(method, url, headers=h, data=body, params=params,
                                              allow_redirects=allow_redirects, **self._ssl())
            if resp.status == 401 and attempt < 2:
                challenge = resp.headers.get("WWW-Authenticate", "")
                await resp.read()
                resp.release()
                if challenge and await self._on_challenge(challenge, scopes, auth):
                    continue
                raise AuthenticationError(401, "UNAUTHORIZED", "authentication required" if not self.credentials
                                          else "invalid username or password", url)
            if resp.status not in ok:
                body_bytes = await resp.read()
                resp.release()
                raise DistributionError.from_body(resp.status, body_bytes, url)
            return resp
        raise AuthenticationError(401, "UNAUTHORIZED", "authentication failed", url)

    async def ping(self) -> None:
        """`GET /v2/` with auth: checks the registry speaks the API and the credentials work."""
        resp = await self.request("GET", "/v2/", scopes=[])
        resp.release()

    # -- blobs --

    async def blob_exists(self, repo: str, digest: str, scopes: list[str]) -> int | None:
        resp = await self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scopes=scopes, ok=(200, 404))
        try:
            if resp.status == 404:
                return None
            return int(resp.headers.get("Content-Length") or 0)
        finally:
            resp.release()

    async def fetch_blob(self, repo: str, desc: dict[str, Any], ingester: Ingester, progress: Progress | None = None
                         ) -> str:
        """Download into the store, resuming with `Range` after a failure; digest checked at commit."""
        digest, size = desc["digest"], int(desc.get("size") or 0)
        scopes = [f"repository:{repo}:pull"]
        last: Exception | None = None
        for attempt in range(RETRIES):
            w = await _open_writer(ingester, f"pull-{digest}")
            buf = bytearray()
            try:
                offset = w.offset
                if size and offset > size:
                    await ingester.abort(w.ref)
                    await w.close()
                    continue
                headers = {"Range": f"bytes={offset}-"} if offset else {}
                if size and offset == size:
                    return await w.commit(size, digest)
                resp = await self.open_blob(repo, digest, scopes, headers)
                async with resp:
                    if offset and resp.status == 200:  # range ignored: start over
                        await w.close()
                        await ingester.abort(w.ref)
                        w = await _open_writer(ingester, f"pull-{digest}")
                    elif offset and progress:
                        progress(offset)
                    async for chunk in resp.content.iter_chunked(CHUNK):
                        buf += chunk
                        if progress:
                            progress(len(chunk))
                        if len(buf) >= 4 * CHUNK:
                            await w.write(bytes(buf))
                            buf.clear()
                    if buf:
                        await w.write(bytes(buf))
                return await w.commit(size, digest)
            except (DigestMismatch, SizeMismatch) as e:
                last = e
                await ingester.abort(w.ref)
                if isinstance(e, DigestMismatch):
                    raise
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as e:
                last = e
                log.info("download of %s interrupted (%s); resuming", digest, e)
                if buf:  # keep what arrived: the next attempt asks for the rest with Range
                    await w.write(bytes(buf))
            except DistributionError as e:
                if e.status < 500 and e.status != 429:
                    raise
                last = e
            finally:
                await w.close()
            await asyncio.sleep(BACKOFF * (2 ** attempt))
        raise TransferError(f"download of {digest} failed after {RETRIES} attempts: {last}")

    async def open_blob(self, repo: str, digest: str, scopes: list[str], headers: dict[str, str]
                        ) -> aiohttp.ClientResponse:
        """`GET` a blob, following a redirect to blob storage (another host, maybe another scheme)
        without the registry's `Authorization`, keeping `Range`."""
        url = f"/v2/{repo}/blobs/{digest}"
        resp = await self.request("GET", url, scopes=scopes, headers=headers, ok=(200, 206, *REDIRECTS),
                                  allow_redirects=False)
        hops = 0
        while resp.status in REDIRECTS:
            location = resp.headers.get("Location", "")
            base = str(resp.url)
            resp.release()
            hops += 1
            if not location or hops > MAX_REDIRECTS:
                raise DistributionError(502, "", f"bad redirect for blob {digest} ({location or 'no Location'})", base)
            target = urljoin(base, location)
            resp = await self.session.get(target, headers=headers, allow_redirects=False, **self._ssl())
            if resp.status not in (200, 206, *REDIRECTS):
                body = await resp.read()
                resp.release()
                raise DistributionError.from_body(resp.status, body, target)
        return resp

    async def mount_blob(self, repo: str, digest: str, source: str) -> tuple[bool, str | None]:
        """Cross-repository mount; (True, None) if mounted, else (False, upload location) to use."""
        scopes = [f"repository:{repo}:pull,push", f"repository:{source}:pull"]
        resp = await self.request("POST", f"/v2/{repo}/blobs/uploads/", params={"mount": digest, "from": source},
                                  scopes=scopes, ok=(201, 202))
        async with resp:
            if resp.status == 201:
                return True, None
            return False, resp.headers.get("Location")

    async def upload_blob(self, repo: str, desc: dict[str, Any], open_chunks: Callable[[int], AsyncIterator[bytes]],
                          progress: Progress | None = None, location: str | None = None) -> None:
        """POST a session, PATCH the content (streamed), PUT `?digest=`; resumes from the server's offset."""
        digest, size = desc["digest"], int(desc.get("size") or 0)
        scopes = [f"repository:{repo}:pull,push"]
        last: Exception | None = None
        offset = 0
        for attempt in range(RETRIES):
            try:
                if location is None:
                    resp = await self.request("POST", f"/v2/{repo}/blobs/uploads/", scopes=scopes, ok=(202,),
                                              headers={"Content-Length": "0"})
                    async with resp:
                        location = resp.headers.get("Location")
                    if not location:
                        raise DistributionError(502, "", "registry returned no upload Location")
                    offset = 0
                elif attempt:
                    offset = await self._upload_offset(location, scopes)
                start = offset
                headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size - start)}
                if start:
                    headers["Content-Range"] = f"{start}-{size - 1}"

                async def body(start: int = start) -> AsyncIterator[bytes]:
                    async for chunk in open_chunks(start):
                        if progress:
                            progress(len(chunk))
                        yield chunk

                if size - start > 0:
                    resp = await self.request("PATCH", location, scopes=scopes, headers=headers, data=body,
                                              ok=(202, 204))
                    async with resp:
                        location = resp.headers.get("Location") or location
                sep = "&" if "?" in location else "?"
                resp = await self.request("PUT", f"{location}{sep}{urlencode({'digest': digest})}", scopes=scopes,
                                          headers={"Content-Length": "0"}, ok=(201, 204))
                resp.release()
                return
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as e:
                last = e
                log.info("upload of %s interrupted (%s); resuming", digest, e)
            except DistributionError as e:
                if e.status == 416 and location:
                    last = e
                    continue
                if e.status == 404 and e.code == "BLOB_UPLOAD_UNKNOWN":
                    location = None
                    last = e
                    continue
                if e.status < 500 and e.status != 429:
                    raise
                last = e
            await asyncio.sleep(BACKOFF * (2 ** attempt))
        raise TransferError(f"upload of {digest} failed after {RETRIES} attempts: {last}")

    async def _upload_offset(self, location: str, scopes: list[str]) -> int:
        resp = await self.request("GET", location, scopes=scopes, ok=(204, 200))
        async with resp:
            rng = resp.headers.get("Range", "")
        m = re.match(r"^(?:bytes=)?0-(\d+)$", rng)
        return int(m.group(1)) + 1 if m and int(m.group(1)) > 0 else 0

    # -- manifests --

    async def get_manifest(self, repo: str, ref: str, accept: list[str], scopes: list[str] | None = None
                           ) -> tuple[bytes, str, str]:
        """(bytes, media type, digest header)."""
        resp = await self.request("GET", f"/v2/{repo}/manifests/{ref}", scopes=scopes or [f"repository:{repo}:pull"],
                                  headers={"Accept": ", ".join(accept)})
        async with resp:
            data = await resp.read()
            return data, resp.headers.get("Content-Type", "").split(";")[0], resp.headers.get(
                "Docker-Content-Digest", "")

    async def head_manifest(self, repo: str, ref: str, accept: list[str], scopes: list[str]) -> str | None:
        resp = await self.request("HEAD", f"/v2/{repo}/manifests/{ref}", scopes=scopes, ok=(200, 404),
                                  headers={"Accept": ", ".join(accept)})
        async with resp:
            return resp.headers.get("Docker-Content-Digest") if resp.status == 200 else None

    async def put_manifest(self, repo: str, ref: str, data: bytes, media_type: str) -> str:
        resp = await self.request("PUT", f"/v2/{repo}/manifests/{ref}", scopes=[f"repository:{repo}:pull,push"],
                                  headers={"Content-Type": media_type}, data=data, ok=(201, 200, 202))
        async with resp:
            return resp.headers.get("Docker-Content-Digest", "")

    async def tags(self, repo: str) -> list[str]:
        resp = await self.request("GET", f"/v2/{repo}/tags/list", scopes=[f"repository:{repo}:pull"])
        async with resp:
            doc = await resp.json(content_type=None)
        return list(doc.get("tags") or [])


async def _open_writer(ingester: Ingester, ref: str) -> Any:
    """`ingester.writer(ref)`, safe to cancel: the writer runs on a thread and holds a lock on the
    ingest; if we are cancelled while the thread opens it, it is closed when the thread finishes
    (an abandoned writer would block the next pull of the same blob forever)."""
    fut = asyncio.ensure_future(ingester.writer(ref))
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        fut.add_done_callback(_close_abandoned)
        raise


def _close_abandoned(fut: asyncio.Future[Any]) -> None:
    if fut.cancelled() or fut.exception() is not None:
        return
    w = fut.result()
    if hasattr(w, "close_nowait"):
        w.close_nowait()


def new_session(**kw: Any) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
    return aiohttp.ClientSession(timeout=timeout, auto_decompress=False,
                                 connector=aiohttp.TCPConnector(limit=16), **kw)


async def with_retries(fn: Callable[[], Awaitable[Any]], attempts: int = RETRIES) -> Any:
    for attempt in range(attempts):
        try:
            return await fn()
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(BACKOFF * (2 ** attempt))
