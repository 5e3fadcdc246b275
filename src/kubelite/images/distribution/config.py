"""Where registries are and how to log in: Docker's `config.json` credentials and registry hosts.

Credentials: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, key `auths`, entry per
registry with a base64 `user:password` in `auth` (or `username`/`password`). Docker Hub's key
is `https://index.docker.io/v1/`. Credential helpers (`credsStore`) are not supported.

Hosts: the endpoint for a reference domain. `docker.io` is served by `registry-1.docker.io`;
loopback registries and those listed as insecure are spoken to over plain HTTP. Pull mirrors per
domain are tried first, in order (room for Docker Hub mirrors).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..content.local import atomic_write
from ..reference import DEFAULT_DOMAIN

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


def is_loopback(domain: str) -> bool:
    host = domain.rsplit(":", 1)[0] if not domain.startswith("[") else domain[1:].split("]")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class RegistryHosts:
    insecure: set[str] = field(default_factory=set)         # domains spoken to over plain HTTP
    mirrors: dict[str, list[str]] = field(default_factory=dict)  # domain -> mirror base URLs (pull only)

    @classmethod
    def from_env(cls) -> RegistryHosts:
        insecure = {d.strip() for d in os.environ.get("KUBELITE_INSECURE_REGISTRIES", "").split(",") if d.strip()}
        mirrors: dict[str, list[str]] = {}
        for item in os.environ.get("KUBELITE_REGISTRY_MIRRORS", "").split(","):
            domain, sep, url = item.strip().partition("=")
            if sep:
                mirrors.setdefault(domain, []).append(url.rstrip("/"))
        return cls(insecure, mirrors)

    def endpoint(self, domain: str) -> str:
        if domain == DEFAULT_DOMAIN:
            return DOCKER_HUB_ENDPOINT
        scheme = "http" if domain in self.insecure or is_loopback(domain) else "https"
        return f"{scheme}://{domain}"

    def pull_endpoints(self, domain: str) -> list[str]:
        return [*self.mirrors.get(domain, []), self.endpoint(domain)]
