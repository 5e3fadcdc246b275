"""Pull and push images between the local store and a registry.

Pull: resolve the tag (or digest) with the manifest `Accept` list, pick linux/amd64 from an
index, fetch the config and the layers the store lacks in parallel (each resumable and checked
against its digest), then record the name. Push: for each blob, skip it if the registry has it
(`HEAD`), mount it from another repository of the same registry that has it, or upload it; then
put the manifest bytes unchanged (an index only when every platform manifest is here).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .. import oci
from ..errors import DigestMismatch, ImageError
from ..interface import Image
from ..progress import NullProgress, Progress
from ..reference import Reference, parse_reference
from ..store import LocalImageStore
from .client import RegistryClient, new_session
from .config import DockerConfig, Endpoint, RegistryHosts, ssl_context
from .errors import ManifestNotFound, TransferError

log = logging.getLogger(__name__)

PARALLEL_TRANSFERS = 4
READ_SLICE = 4 << 20


@dataclass
class Transfer:
    """Shared wiring of pulls and pushes: hosts, credentials, session, parallelism, progress.

    `platform` is the one to pick from an index (`{"os", "architecture", "variant"}`; default:
    this host's); `warn` hears about mirrors that failed before a fallback (default: the log).
    """

    hosts: RegistryHosts = field(default_factory=RegistryHosts.from_env)
    config: DockerConfig = field(default_factory=DockerConfig)
    progress: Progress = field(default_factory=NullProgress)
    parallel: int = PARALLEL_TRANSFERS
    platform: dict[str, str] | None = None
    warn: Callable[[str], None] | None = None

    def credentials(self, domain: str, endpoint: Endpoint | None = None) -> tuple[str, str] | None:
        """Docker config / pull secrets for the host spoken to (a mirror's own host, or the
        reference's domain), then the registries file's `configs` for that host."""
        if endpoint is None:
            return self.config.get(domain) or self.hosts.host_config(domain).credentials
        host = endpoint.host if endpoint.mirror else domain
        return self.config.get(host) or endpoint.host_config.credentials

    def client(self, endpoint: str | Endpoint, domain: str, session: aiohttp.ClientSession) -> RegistryClient:
        if isinstance(endpoint, Endpoint):
            return RegistryClient(endpoint.url, session, self.credentials(domain, endpoint),
                                  ssl=ssl_context(endpoint.host_config.tls))
        return RegistryClient(endpoint, session, self.credentials(domain),
                              ssl=ssl_context(self.hosts.host_config(domain).tls))

    def warning(self, message: str) -> None:
        log.warning("%s", message)
        if self.warn is not None:
            self.warn(message)


async def _all(coros: list[Any]) -> None:
    """Run transfers in one TaskGroup; the first failure cancels the rest and is raised as itself."""
    try:
        async with asyncio.TaskGroup() as tg:
            for c in coros:
                tg.create_task(c)
    except BaseExceptionGroup as eg:
        first: BaseException = eg
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


def _short(digest: str) -> str:
    return digest.partition(":")[2][:12]


async def pull(store: LocalImageStore, ref: str, transfer: Transfer | None = None) -> Image:
    """Pull `ref` into the store: mirrors first (a failing one is skipped with a warning), then
    the upstream registry; everything fetched is checked against its digest."""
    t = transfer or Transfer()
    parsed = parse_reference(ref)
    await store.start()
    endpoints = t.hosts.pull_endpoints(parsed.domain, parsed.path)
    last: Exception | None = None
    async with new_session() as session:
        for i, endpoint in enumerate(endpoints):
            try:
                return await _pull_from(store, parsed, t, t.client(endpoint, parsed.domain, session),
                                        endpoint.repository)
            except (ImageError, aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
                last = e
                if i == len(endpoints) - 1:
                    break
                if endpoint.mirror:
                    nxt = endpoints[i + 1]
                    t.warning(f"pulling {parsed.familiar()} from mirror {endpoint.url} failed: {_describe(e)}; "
                              f"trying {'mirror ' if nxt.mirror else ''}{nxt.url}")
    if isinstance(last, ManifestNotFound):
        raise ManifestNotFound(last.status, last.code,
                               f"manifest for {parsed.familiar()} not found: {last.message}") from last
    if isinstance(last, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
        raise TransferError(f"pulling {parsed.familiar()}: {_describe(last)}") from last
    raise last or ImageError(f"no registry endpoint for {parsed.domain}")


def _describe(e: BaseException) -> str:
    return str(e) or type(e).__name__


async def _fetch_manifest(client: RegistryClient, repo: str, ref: str, want_digest: str = "") -> tuple[bytes, str, str]:
    data, mt, header_digest = await client.get_manifest(repo, ref, oci.MANIFEST_ACCEPT)
    alg = (want_digest or header_digest or "sha256:").partition(":")[0] or "sha256"
    digest = oci.digest_of(data, alg if alg in ("sha256", "sha384", "sha512") else "sha256")
    if want_digest and digest != want_digest:
        raise DigestMismatch(want_digest, digest)
    if header_digest and header_digest.startswith(alg + ":") and header_digest != digest:
        raise DigestMismatch(header_digest, digest)
    if alg != "sha256":
        digest = oci.sha256_digest(data)
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise ImageError(f"invalid manifest from registry: {e}") from e
    return data, oci.media_type_of(doc, mt) if not mt or mt in ("application/json", "text/plain") else mt, digest


async def _pull_from(store: LocalImageStore, ref: Reference, t: Transfer, client: RegistryClient,
                     repo: str) -> Image:
    progress = t.progress
    data, mt, digest = await _fetch_manifest(client, repo, ref.object, ref.digest)
    top = oci.descriptor(mt, data)
    await asyncio.to_thread(store.content.write_nowait, data)
    doc = json.loads(data)
    record = top
    if oci.is_index(mt):
        want = t.platform or oci.host_platform()
        chosen = oci.select_platform(doc, want)
        if chosen is None:
            raise ImageError(f"no matching manifest for {oci.format_platform(want)} in the manifest list entries"
                             f" of {ref.familiar()}")
        data, mt, _ = await _fetch_manifest(client, repo, chosen["digest"], chosen["digest"])
        await asyncio.to_thread(store.content.write_nowait, data)
        doc = json.loads(data)
        if not oci.platform_matches(chosen.get("platform"), oci.DEFAULT_PLATFORM):
            record = oci.descriptor(mt, data)  # the store reads indexes for linux/amd64: record this one
    if mt == oci.DOCKER_MANIFEST_V1 or mt == oci.DOCKER_MANIFEST_V1_SIGNED or doc.get("schemaVersion") == 1:
        raise ImageError(f"{ref.familiar()}: Docker schema 1 images are not supported")
    blobs = oci.manifest_blobs(doc)
    sem = asyncio.Semaphore(t.parallel)

    async def fetch(desc: dict[str, Any]) -> None:
        key = _short(desc["digest"])
        if store.content.has(desc["digest"]):
            progress.finish(key, "Already exists")
            return
        async with sem:
            progress.start(key, "Downloading", int(desc.get("size") or 0))
            await client.fetch_blob(repo, desc, store.content, lambda n: progress.advance(key, n))
            progress.finish(key, "Pull complete")

    await _all([fetch(desc) for desc in blobs])
    progress.log(f"Digest: {top['digest']}")
    image = await store.add_record(record, [str(ref)])
    progress.log(f"Status: Downloaded newer image for {ref.familiar()}")
    return image


async def _chunks(store: LocalImageStore, digest: str, start: int) -> AsyncIterator[bytes]:
    f = await asyncio.to_thread(store.content.open_blob, digest)
    try:
        await asyncio.to_thread(f.seek, start)
        while True:
            b = await asyncio.to_thread(f.read, READ_SLICE)
            if not b:
                return
            yield b
    finally:
        f.close()


@dataclass
class PushResult:
    tag: str
    digest: str
    size: int


async def push(store: LocalImageStore, ref: str, transfer: Transfer | None = None) -> PushResult:
    try:
        return await _push(store, ref, transfer or Transfer())
    except (aiohttp.ClientError, OSError) as e:
        raise TransferError(f"pushing {ref}: {e}") from e


async def _push(store: LocalImageStore, ref: str, t: Transfer) -> PushResult:
    parsed = parse_reference(ref)
    image = await store.require(ref)
    resolved = await store.resolve(image)
    repo = parsed.path
    progress = t.progress
    sources = []
    for name in image.repo_tags + image.repo_digests:
        other = parse_reference(name, default_tag=False)
        if other.domain == parsed.domain and other.path != repo and other.path not in sources:
            sources.append(other.path)
    async with new_session() as session:
        client = t.client(t.hosts.endpoint(parsed.domain), parsed.domain, session)
        scopes = [f"repository:{repo}:pull,push"]
        sem = asyncio.Semaphore(t.parallel)
        blobs = [*resolved.layers, resolved.manifest["config"]]

        async def send(desc: dict[str, Any]) -> None:
            d = desc["digest"]
            key = _short(d)
            async with sem:
                progress.start(key, "Preparing", int(desc.get("size") or 0))
                if await client.blob_exists(repo, d, scopes) is not None:
                    progress.finish(key, "Layer already exists")
                    return
                location = None
                for src in sources:
                    if await client.blob_exists(src, d, [f"repository:{src}:pull"]) is None:
                        continue
                    mounted, location = await client.mount_blob(repo, d, src)
                    if mounted:
                        progress.finish(key, f"Mounted from {src}")
                        return
                    break
                await client.upload_blob(repo, desc, lambda start: _chunks(store, d, start),
                                         lambda n: progress.advance(key, n), location)
                progress.finish(key, "Pushed")

        await _all([send(desc) for desc in blobs])
        top = resolved.top
        tag = parsed.digest or parsed.tag
        top_doc = await asyncio.to_thread(store.content.read_nowait, top["digest"])
        if oci.is_index(top.get("mediaType", "")):
            children = json.loads(top_doc).get("manifests") or []
            if all(store.content.has(c["digest"]) for c in children):
                for c in children:
                    cdata = await asyncio.to_thread(store.content.read_nowait, c["digest"])
                    await client.put_manifest(repo, c["digest"], cdata, c.get("mediaType") or oci.OCI_MANIFEST)
                data, mt = top_doc, top["mediaType"]
            else:
                data = await asyncio.to_thread(store.content.read_nowait, resolved.manifest_digest)
                mt = resolved.manifest.get("mediaType") or oci.OCI_MANIFEST
        else:
            data, mt = top_doc, top.get("mediaType") or oci.media_type_of(json.loads(top_doc))
        digest = oci.sha256_digest(data)
        await client.put_manifest(repo, tag, data, mt)
        progress.log(f"{parsed.tag or parsed.digest}: digest: {digest} size: {len(data)}")
        return PushResult(parsed.tag, digest, len(data))


async def login(domain: str, user: str, password: str, transfer: Transfer | None = None) -> None:
    """Check the credentials against the registry (`GET /v2/` with the challenge flow), then save them."""
    t = transfer or Transfer()
    async with new_session() as session:
        client = RegistryClient(t.hosts.endpoint(domain), session, (user, password),
                                ssl=ssl_context(t.hosts.host_config(domain).tls))
        try:
            await client.ping()
        except (aiohttp.ClientError, OSError) as e:
            raise TransferError(f"logging in to {domain}: {e}") from e
    t.config.set(domain, user, password)
