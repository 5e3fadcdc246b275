"""Where registries are and how to log in: Docker's `config.json` credentials and registry hosts.

Credentials: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, key `auths`, entry per
registry with a base64 `user:password` in `auth` (or `username`/`password`). Docker Hub's key
is `https://index.docker.io/v1/`. Credential helpers (`credsStore`) are not supported.

Hosts: the endpoints for a reference domain. `docker.io` is served by `registry-1.docker.io`;
loopback registries and those listed as insecure are spoken to over plain HTTP. Pull mirrors per
domain (from the registries file, `registries.py`) are tried first, in order, with their
repository rewrites, then the upstream.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..content.local import atomic_write
from ..reference import DEFAULT_DOMAIN
from .registries import (
    DEFAULT_REGISTRIES_PATH,
    EMPTY,
    HostConfig,
    Mirror,
    RegistriesConfig,
    RegistriesFile,
    TLSConfig,
    rewrite_repository,
)

DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_ENDPOINT = "https://registry-1.docker.io"


def config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def _keys(domain: str) -> list[str]:
    if domain in (DEFAULT_DOMAIN, "index.docker.io", "registry-1.docker.io"):
        return [DOCKER_HUB_CONFIG_KEY, "index.docker.io", "docker.io", "registry-1.docker.io",
                "https://registry-1.docker.io"]
    return [domain, f"https://{domain}", f"http://{domain}", f"https://{domain}/v1/", f"https://{domain}/v2/"]


@dataclass
class DockerConfig:
    path: Path = field(default_factory=config_path)

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except ValueError as e:
            raise ValueError(f"{self.path}: invalid JSON: {e}") from e

    def get(self, domain: str) -> tuple[str, str] | None:
        auths = self._read().get("auths") or {}
        for k in _keys(domain):
            entry = auths.get(k)
            if not isinstance(entry, dict):
                continue
            if entry.get("auth"):
                try:
                    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    continue
                return user, password
            if entry.get("username"):
                return entry["username"], entry.get("password", "")
        return None

    def set(self, domain: str, user: str, password: str) -> None:
        doc = self._read()
        auths = doc.setdefault("auths", {})
        key = _keys(domain)[0]
        auths[key] = {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(self.path, (json.dumps(doc, indent="\t") + "\n").encode(), mode=0o600)

    def remove(self, domain: str) -> bool:
        doc = self._read()
        auths = doc.get("auths") or {}
        found = [k for k in _keys(domain) if k in auths]
        for k in found:
            del auths[k]
        if found:
            atomic_write(self.path, (json.dumps(doc, indent="\t") + "\n").encode(), mode=0o600)
        return bool(found)


def ssl_context(tls: TLSConfig | None) -> ssl.SSLContext | None:
    """The TLS settings of a registries-file host as an SSL context (None: the defaults)."""
    if tls is None or not (tls.insecure_skip_verify or tls.ca_file or tls.cert_file):
        return None
    ctx = ssl.create_default_context(cafile=tls.ca_file or None)
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.cert_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file or None)
    return ctx


def is_loopback(domain: str) -> bool:
    host = domain.rsplit(":", 1)[0] if not domain.startswith("[") else domain[1:].split("]")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Endpoint:
    """One place to pull a repository from: a mirror or the upstream registry itself."""

    url: str                        # base URL; the API is at `<url>/v2/`
    repository: str                 # the repository path there (after rewrites)
    mirror: bool = False
    host_config: HostConfig = field(default_factory=HostConfig)

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


@dataclass
class RegistryHosts:
    """Where to reach each registry: mirrors (tried first, in order), plain HTTP or HTTPS, TLS.

    `registries` is a `RegistriesFile` (reloaded when it changes) or a fixed `RegistriesConfig`;
    `insecure` and `mirrors` are the older environment settings (`KUBELITE_INSECURE_REGISTRIES`,
    `KUBELITE_REGISTRY_MIRRORS=domain=url,...`), merged under the file's.
    """

    insecure: set[str] = field(default_factory=set)         # domains spoken to over plain HTTP
    mirrors: dict[str, list[str]] = field(default_factory=dict)  # domain -> mirror base URLs (pull only)
    registries: RegistriesFile | RegistriesConfig | None = None

    @classmethod
    def from_env(cls) -> RegistryHosts:
        insecure = {d.strip() for d in os.environ.get("KUBELITE_INSECURE_REGISTRIES", "").split(",") if d.strip()}
        mirrors: dict[str, list[str]] = {}
        for item in os.environ.get("KUBELITE_REGISTRY_MIRRORS", "").split(","):
            domain, sep, url = item.strip().partition("=")
            if sep:
                mirrors.setdefault(domain, []).append(url.rstrip("/"))
        path = os.environ.get("KUBELITE_REGISTRIES") or (
            DEFAULT_REGISTRIES_PATH if os.path.exists(DEFAULT_REGISTRIES_PATH) else "")
        return cls(insecure, mirrors, RegistriesFile(path) if path else None)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str] | None) -> RegistryHosts:
        """The hosts of a registries file (`--registries FILE`); the environment's when `path` is None."""
        if not path:
            return cls.from_env()
        return cls(registries=RegistriesFile(path))

    def config(self) -> RegistriesConfig:
        if isinstance(self.registries, RegistriesFile):
            return self.registries.current()
        return self.registries or EMPTY

    def host_config(self, host: str) -> HostConfig:
        return self.config().host_config(host)

    def endpoint(self, domain: str) -> str:
        """The upstream registry's own base URL."""
        if domain == DEFAULT_DOMAIN:
            return DOCKER_HUB_ENDPOINT
        plain = domain in self.insecure or is_loopback(domain) or self.host_config(domain).insecure
        return f"{'http' if plain else 'https'}://{domain}"

    def has_mirror(self, domain: str) -> bool:
        m = self.config().mirror_for(domain)
        return bool(self.mirrors.get(domain) or (m is not None and m.endpoints))

    def pull_endpoints(self, domain: str, repository: str = "") -> list[Endpoint]:
        """Mirrors first (the file's, then the environment's), then the upstream unless disabled."""
        cfg = self.config()
        mirror = cfg.mirror_for(domain) or Mirror()
        out = []
        for url in mirror.endpoints:
            host = urlsplit(url).netloc
            if url.startswith("https://") and (cfg.host_config(host).insecure or host in self.insecure):
                url = "http://" + url.removeprefix("https://")
            out.append(Endpoint(url, rewrite_repository(mirror, repository), True, cfg.host_config(host)))
        for url in self.mirrors.get(domain, []):
            out.append(Endpoint(url, repository, True, cfg.host_config(urlsplit(url).netloc)))
        if not (mirror.disable_default_endpoint and out):
            out.append(Endpoint(self.endpoint(domain), repository, False, cfg.host_config(domain)))
        return out
