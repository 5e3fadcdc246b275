"""Put images straight into a registry for pull tests: layers (gzip, zstd), configs, manifests and
indexes in OCI or Docker schema 2 media types, uploaded with the distribution client."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import AsyncIterator
from dataclasses import dataclass

from kubelite.images import oci
from kubelite.images.distribution.client import RegistryClient


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def compress(raw: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(raw, mtime=0)
    if compression == "zstd":
        return subprocess.run(["zstd", "-c", "-q"], input=raw, capture_output=True, check=True).stdout
    return raw


@dataclass
class Pushed:
    manifest: bytes
    digest: str            # manifest digest
    config_digest: str     # image ID
    media_type: str
    layers: list[bytes]


async def upload(client: RegistryClient, repo: str, data: bytes) -> str:
    d = digest(data)
    if await client.blob_exists(repo, d, [f"repository:{repo}:pull,push"]) is not None:
        return d

    async def chunks(start: int) -> AsyncIterator[bytes]:
        yield data[start:]

    await client.upload_blob(repo, {"digest": d, "size": len(data)}, chunks)
    return d


async def put_image(client: RegistryClient, repo: str, files_per_layer: list[dict[str, bytes]], *,
                    platform: dict[str, str] | None = None, docker: bool = False, compression: str = "gzip",
                    tag: str | None = None) -> Pushed:
    platform = platform or {"os": "linux", "architecture": "amd64"}
    layer_mt = {"gzip": oci.DOCKER_LAYER_GZIP if docker else oci.OCI_LAYER_GZIP, "zstd": oci.OCI_LAYER_ZSTD,
                "none": oci.DOCKER_LAYER if docker else oci.OCI_LAYER}[compression]
    descs, diff_ids, blobs = [], [], []
    for files in files_per_layer:
        raw = tar_of(files)
        blob = compress(raw, compression)
        await upload(client, repo, blob)
        descs.append(oci.descriptor(layer_mt, blob))
        diff_ids.append(digest(raw))
        blobs.append(blob)
    config = {"architecture": platform["architecture"], "os": platform["os"],
              "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "Labels": {"arch": platform["architecture"]}},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    if platform.get("variant"):
        config["variant"] = platform["variant"]
    cfg = json.dumps(config).encode()
    await upload(client, repo, cfg)
    mt = oci.DOCKER_MANIFEST if docker else oci.OCI_MANIFEST
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mt,
                           "config": oci.descriptor(oci.DOCKER_CONFIG if docker else oci.OCI_CONFIG, cfg),
                           "layers": descs}, indent=3).encode()
    await client.put_manifest(repo, tag or digest(manifest), manifest, mt)
    return Pushed(manifest, digest(manifest), digest(cfg), mt, blobs)


async def put_index(client: RegistryClient, repo: str, tag: str, images: list[tuple[Pushed, dict[str, str]]], *,
                    docker: bool = False, attestation: bool = False) -> bytes:
    mt = oci.DOCKER_MANIFEST_LIST if docker else oci.OCI_INDEX
    entries = [{"mediaType": p.media_type, "digest": p.digest, "size": len(p.manifest), "platform": plat}
               for p, plat in images]
    if attestation:  # BuildKit's attestation manifests: platform unknown/unknown, skipped by pullers
        entries.append({"mediaType": oci.OCI_MANIFEST, "digest": images[0][0].digest,
                        "size": len(images[0][0].manifest), "platform": {"os": "unknown", "architecture": "unknown"},
                        "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                        "vnd.docker.reference.digest": images[0][0].digest}})
    index = json.dumps({"schemaVersion": 2, "mediaType": mt, "manifests": entries}).encode()
    await client.put_manifest(repo, tag, index, mt)
    return index
