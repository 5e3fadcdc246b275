"""Image references with Docker's normalisation rules (`distribution/reference`).

`busybox` → `docker.io/library/busybox:latest`; `localhost:5000/app` → `localhost:5000/app:latest`;
`name@sha256:…` keeps its digest and gets no default tag; `name:tag@sha256:…` keeps both.
The first path component is a registry host when it contains `.` or `:`, is `localhost`, or
has upper-case letters; otherwise the image is on Docker Hub (`docker.io`), where one-component
names live under `library/`. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidReference

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_ANCHORED_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_PATH_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")
_SHORT_IDENTIFIER_RE = re.compile(r"^[a-f0-9]{6,64}$")
_DIGEST_RE = re.compile(rf"^{_DIGEST}$")


@dataclass(frozen=True)
class Reference:
    """A fully qualified reference: `domain/path[:tag][@digest]`."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """`docker.io/library/busybox` (no tag, no digest)."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The short form Docker prints: `busybox`, `user/app`, `localhost:5000/app`."""
        if self.domain == DEFAULT_DOMAIN:
            return self.path.removeprefix(OFFICIAL_REPO_PREFIX) if self.path.count("/") == 1 else self.path
        return self.name

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s

    def familiar(self) -> str:
        s = self.familiar_name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, "")

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.domain, self.path, "", digest)

    @property
    def object(self) -> str:
        """What to ask a registry for: the digest if there is one, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG


def is_image_id(s: str) -> bool:
    """A full 64-hex image ID, with or without `sha256:`."""
    return bool(_IDENTIFIER_RE.match(s.removeprefix("sha256:")))


def looks_like_id_prefix(s: str) -> bool:
    """A (possibly short) hex image ID as `docker images` prints it."""
    return bool(_SHORT_IDENTIFIER_RE.match(s.removeprefix("sha256:")))


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


# Docker's messages (distribution/reference and go-digest), printed as they are by `docker pull`.
ERR_REFERENCE_INVALID_FORMAT = "invalid reference format"
ERR_NAME_EMPTY = "repository name must have at least one component"
ERR_NAME_CONTAINS_UPPERCASE = "repository name must be lowercase"
ERR_NAME_TOO_LONG = f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
ERR_DIGEST_INVALID_FORMAT = "invalid checksum digest format"
ERR_DIGEST_INVALID_LENGTH = "invalid checksum digest length"
ERR_DIGEST_UNSUPPORTED = "unsupported digest algorithm"
_DIGEST_ANY_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


def _check_digest(d: str) -> None:
    """go-digest's `Digest.Validate`."""
    alg, sep, encoded = d.partition(":")
    if not alg or not sep or not encoded:
        raise InvalidReference(ERR_DIGEST_INVALID_FORMAT)
    if alg not in DIGEST_HEX_LENGTHS:
        raise InvalidReference(ERR_DIGEST_INVALID_FORMAT if not _DIGEST_ANY_RE.match(d) else ERR_DIGEST_UNSUPPORTED)
    if len(encoded) != DIGEST_HEX_LENGTHS[alg]:
        raise InvalidReference(ERR_DIGEST_INVALID_LENGTH)
    if not re.fullmatch(r"[a-f0-9]+", encoded):
        raise InvalidReference(ERR_DIGEST_INVALID_FORMAT)


def _parse(s: str) -> tuple[str, str, str, str]:
    """distribution/reference `Parse` of a name that already carries its domain: (domain, path, tag, digest)."""
    m = _REFERENCE_RE.match(s)
    if m is None:
        if not s:
            raise InvalidReference(ERR_NAME_EMPTY)
        if _REFERENCE_RE.match(s.lower()):
            raise InvalidReference(ERR_NAME_CONTAINS_UPPERCASE)
        raise InvalidReference(ERR_REFERENCE_INVALID_FORMAT)
    name, tag, digest = m.group(1), m.group(2) or "", m.group(3) or ""
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(ERR_NAME_TOO_LONG)
    if digest:
        _check_digest(digest)
    domain, _, path = name.partition("/")
    return domain, path, tag, digest


def parse_reference(s: str, *, default_tag: bool = True) -> Reference:
    """Parse and normalise like `docker pull` does (`ParseDockerRef`): add domain, `library/`, `latest`.

    Errors carry Docker's messages: `invalid reference format`, `invalid reference format:
    repository name (library/Nginx) must be lowercase`, `invalid checksum digest length`, ...
    """
    if _IDENTIFIER_RE.match(s):
        raise InvalidReference(f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_domain(s)
    remote = remainder.partition(":")[0] if ":" in remainder else remainder
    if remote.lower() != remote:
        raise InvalidReference(f"{ERR_REFERENCE_INVALID_FORMAT}: repository name ({remote}) must be lowercase")
    domain, path, tag, digest = _parse(f"{domain}/{remainder}")
    if not tag and not digest and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def parse_name(s: str) -> Reference:
    """A repository name only (`push`/`tag` targets before the tag is applied), no default tag."""
    return parse_reference(s, default_tag=False)


def normalize(s: str) -> str:
    """`busybox` → `docker.io/library/busybox:latest`."""
    return str(parse_reference(s))


def familiar(s: str) -> str:
    """`docker.io/library/busybox:latest` → `busybox:latest` (for display)."""
    try:
        return parse_reference(s, default_tag=False).familiar()
    except InvalidReference:
        return s


def valid_tag(tag: str) -> bool:
    return bool(_TAG_RE.match(tag))


def valid_repository_path(path: str) -> bool:
    """The registry's `<name>` grammar (no domain): `test/busybox`."""
    return bool(_PATH_RE.match(path)) and len(path) <= NAME_TOTAL_LENGTH_MAX


def valid_domain(domain: str) -> bool:
    return bool(_ANCHORED_DOMAIN_RE.match(domain))


def valid_digest(d: str) -> bool:
    """A digest the registry and store accept: sha256 or sha512, lower-case hex of the right length."""
    if not _DIGEST_RE.match(d):
        return False
    alg, _, hexpart = d.partition(":")
    return alg in ("sha256", "sha512") and len(hexpart) == DIGEST_HEX_LENGTHS[alg] and hexpart == hexpart.lower()
