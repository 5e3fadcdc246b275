"""OCI and Docker v2 schema 2 documents: media types, digests, descriptors, platform selection.

Manifests and indexes are plain JSON dicts, as everywhere in kubelite; this module names their
media types, computes digests and chain IDs, and picks the linux/amd64 entry of an index.
A stored manifest is never rewritten: its digest is the sha256 of its exact bytes. Pure.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Media types (image-spec media-types.md and Docker's v2 schema 2).
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYOUT_HEADER = "application/vnd.oci.layout.header.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
GZIP_LAYER_TYPES = frozenset({OCI_LAYER_GZIP, DOCKER_LAYER_GZIP, OCI_LAYER_NONDIST_GZIP, DOCKER_FOREIGN_LAYER})
PLAIN_LAYER_TYPES = frozenset({OCI_LAYER, DOCKER_LAYER})
ZSTD_LAYER_TYPES = frozenset({OCI_LAYER_ZSTD, "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"})

# What a puller accepts, in order of preference (skopeo sends the same list).
MANIFEST_ACCEPT = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST]

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"  # containerd's full-name annotation

EMPTY_JSON = b"{}"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

DEFAULT_PLATFORM = {"os": "linux", "architecture": "amd64"}


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def new_hasher(digest_or_alg: str) -> Any:
    alg = digest_or_alg.partition(":")[0] if ":" in digest_or_alg else digest_or_alg
    if alg not in ("sha256", "sha384", "sha512"):
        raise ValueError(f"unsupported digest algorithm {alg!r}")
    return hashlib.new(alg)


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:" + hashlib.new(algorithm, data).hexdigest()


def canonical_json(doc: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, compact) for documents we create."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def descriptor(media_type: str, data_or_digest: bytes | str, size: int | None = None, **extra: Any) -> dict[str, Any]:
    if isinstance(data_or_digest, bytes):
        d: dict[str, Any] = {"mediaType": media_type, "digest": sha256_digest(data_or_digest),
                             "size": len(data_or_digest)}
    else:
        d = {"mediaType": media_type, "digest": data_or_digest, "size": int(size or 0)}
    for k, v in extra.items():
        if v is not None:
            d[k] = v
    return d


def media_type_of(doc: dict[str, Any], fallback: str = "") -> str:
    """A manifest's media type from its `mediaType` field, or guessed from its shape."""
    mt = doc.get("mediaType")
    if mt:
        return str(mt)
    if "manifests" in doc:
        return OCI_INDEX
    if "config" in doc and "layers" in doc:
        return OCI_MANIFEST
    if doc.get("schemaVersion") == 1:
        return DOCKER_MANIFEST_V1
    return fallback


def is_index(media_type: str) -> bool:
    return media_type in INDEX_TYPES


def is_manifest(media_type: str) -> bool:
    return media_type in MANIFEST_TYPES


def chain_ids(diff_ids: list[str]) -> list[str]:
    """OCI chain IDs: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    out: list[str] = []
    for d in diff_ids:
        out.append(d if not out else sha256_digest(f"{out[-1]} {d}".encode()))
    return out


_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
                  "armv6l": "arm", "i386": "386", "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x",
                  "riscv64": "riscv64"}


def host_platform() -> dict[str, str]:
    """This machine's platform in GOOS/GOARCH terms (`linux/amd64`, `linux/arm64/v8`)."""
    import platform as _platform

    machine = _platform.machine()
    arch = _ARCHITECTURES.get(machine, machine)
    p = {"os": "linux", "architecture": arch}
    if arch == "arm64":
        p["variant"] = "v8"
    elif machine.startswith("armv"):
        p["variant"] = machine[3:5].rstrip("l")
    return p


def parse_platform(s: str) -> dict[str, str]:
    """`linux/arm64/v8`, `linux/amd64`, `arm64` (os defaults to linux) → a platform dict."""
    parts = [p.strip().lower() for p in s.split("/")]
    if not s or not all(parts) or len(parts) > 3:
        raise ValueError(f"invalid platform {s!r}: want os/arch[/variant]")
    if len(parts) == 1:
        parts = ["linux", parts[0]]
    p = {"os": parts[0], "architecture": _ARCHITECTURES.get(parts[1], parts[1])}
    if len(parts) == 3:
        p["variant"] = parts[2]
    elif p["architecture"] == "arm64":
        p["variant"] = "v8"
    return p


def format_platform(p: dict[str, str]) -> str:
    return "/".join(x for x in (p.get("os", ""), p.get("architecture", ""), p.get("variant", "")) if x)


def platform_matches(p: dict[str, Any] | None, want: dict[str, str] | None = None) -> bool:
    want = want or DEFAULT_PLATFORM
    if not p:
        return False
    if p.get("os") != want.get("os") or p.get("architecture") != want.get("architecture"):
        return False
    have = p.get("variant") or ""
    if want.get("architecture") == "arm64" and want.get("variant", "v8") == "v8":
        return have in ("", "v8")  # containerd normalises arm64 to arm64/v8
    return not want.get("variant") or have in ("", want.get("variant"))


def select_platform(index: dict[str, Any], want: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The manifest descriptor of an index for the platform (linux/amd64); `None` if absent.

    Attestation manifests (`vnd.docker.reference.type`) and platform-less entries are skipped;
    an index of a single platform-less image manifest selects it.
    """
    entries = [m for m in index.get("manifests") or [] if isinstance(m, dict)]
    for m in entries:
        ann = m.get("annotations") or {}
        if ann.get("vnd.docker.reference.type"):
            continue
        if platform_matches(m.get("platform"), want):
            return m
    plain = [m for m in entries if not m.get("platform") and m.get("mediaType") in MANIFEST_TYPES]
    if len(plain) == 1:
        return plain[0]
    return None


def layer_is_gzip(media_type: str) -> bool:
    return media_type in GZIP_LAYER_TYPES


def manifest_blobs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Descriptors a manifest refers to: config then layers (not `subject`)."""
    out = []
    if isinstance(manifest.get("config"), dict):
        out.append(manifest["config"])
    out.extend(d for d in manifest.get("layers") or [] if isinstance(d, dict))
    return out


def empty_layer_history(config: dict[str, Any]) -> list[bool]:
    return [bool(h.get("empty_layer")) for h in config.get("history") or []]
