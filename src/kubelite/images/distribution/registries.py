"""The registries file: mirrors, rewrites, insecure registries and credentials per registry.

Two formats, as k3s and containerd write them:

- a YAML file in the shape of k3s' `registries.yaml`::

      mirrors:
        docker.io:                      # the upstream registry a reference names ("*": every one)
          endpoint:                     # tried in order, then the upstream itself
            - "http://127.0.0.1:5000"
          rewrite:                      # repository path rewrites on these endpoints (Go-style $1)
            "^library/(.*)": "mirror/$1"
          disable_default_endpoint: false
      configs:
        "127.0.0.1:5000":               # a registry or mirror host
          auth: {username: u, password: p}     # or {auth: base64(u:p)}
          insecure: true                # plain HTTP (Docker's insecure-registries)
          tls: {insecure_skip_verify: true, ca_file: ..., cert_file: ..., key_file: ...}

- a directory in the shape of containerd's `config_path`: `<dir>/<host>/hosts.toml` with
  `server = "https://registry-1.docker.io"` and `[host."http://127.0.0.1:5000"]` tables
  (`capabilities`, `skip_verify`, `ca`, `client`; not `override_path`); `<dir>/_default/` holds
  the mirrors for every registry.

`parse_registries` and `parse_hosts_dir` are pure (they return a `RegistriesConfig` or raise
`RegistriesError` naming the bad field); `RegistriesFile` loads one with change detection, keeping
the last good configuration when an edit does not parse.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ..errors import ImageError

log = logging.getLogger(__name__)

WILDCARD = "*"
DEFAULT_REGISTRIES_PATH = "/etc/kubelite/registries.yaml"


class RegistriesError(ImageError, ValueError):
    """A registries file that does not parse; the message names the file and the field."""


@dataclass(frozen=True)
class TLSConfig:
    insecure_skip_verify: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


@dataclass(frozen=True)
class HostConfig:
    """What `configs.<host>` says about one registry or mirror host."""

    username: str = ""
    password: str = ""
    identity_token: str = ""
    insecure: bool = False          # plain HTTP
    tls: TLSConfig | None = None

    @property
    def credentials(self) -> tuple[str, str] | None:
        if self.username or self.password:
            return self.username, self.password
        if self.identity_token:
            return "<token>", self.identity_token
        return None


@dataclass(frozen=True)
class Mirror:
    endpoints: tuple[str, ...] = ()             # base URLs ("http://127.0.0.1:5000", "https://m/prefix")
    rewrites: tuple[tuple[str, str], ...] = ()  # (regex, replacement), applied in order, first match wins
    disable_default_endpoint: bool = False


@dataclass(frozen=True)
class RegistriesConfig:
    mirrors: dict[str, Mirror] = field(default_factory=dict)
    configs: dict[str, HostConfig] = field(default_factory=dict)
    source: str = ""                            # the file it came from (for messages)

    def mirror_for(self, domain: str) -> Mirror | None:
        return self.mirrors.get(domain) or self.mirrors.get(WILDCARD)

    def host_config(self, host: str) -> HostConfig:
        return self.configs.get(host) or self.configs.get(WILDCARD) or HostConfig()


EMPTY = RegistriesConfig()


# -- parsing (pure) --

def _str(v: Any, where: str) -> str:
    if not isinstance(v, str):
        raise RegistriesError(f"{where}: must be a string")
    return v


def _bool(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise RegistriesError(f"{where}: must be true or false")
    return v


def _map(v: Any, where: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise RegistriesError(f"{where}: must be a mapping")
    return v


def normalize_endpoint(url: str, where: str = "endpoint") -> str:
    """`host:port` → `https://host:port`; a trailing `/v2` or `/` goes (the client adds `/v2/`)."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RegistriesError(f"{where}: {url!r} is not an http(s) URL")
    path = parts.path.rstrip("/")
    path = path.removesuffix("/v2")
    return f"{parts.scheme}://{parts.netloc}{path}"


def _rewrites(v: Any, where: str) -> tuple[tuple[str, str], ...]:
    out = []
    for pattern, repl in _map(v, where).items():
        pattern = _str(pattern, where)
        try:
            re.compile(pattern)
        except re.error as e:
            raise RegistriesError(f"{where}[{pattern!r}]: invalid regular expression: {e}") from None
        out.append((pattern, _str(repl, f"{where}[{pattern!r}]")))
    return tuple(out)


def _host_config(v: Any, where: str) -> HostConfig:
    doc = _map(v, where)
    auth = _map(doc.get("auth"), f"{where}.auth")
    user, password = auth.get("username", ""), auth.get("password", "")
    if auth.get("auth"):
        try:
            user, _, password = base64.b64decode(_str(auth["auth"], f"{where}.auth.auth"),
                                                validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise RegistriesError(f"{where}.auth.auth: not base64 of user:password") from None
    tls_doc = _map(doc.get("tls"), f"{where}.tls")
    tls = None
    if tls_doc:
        tls = TLSConfig(
            insecure_skip_verify=_bool(tls_doc.get("insecure_skip_verify", False), f"{where}.tls.insecure_skip_verify"),
            ca_file=_str(tls_doc.get("ca_file", ""), f"{where}.tls.ca_file"),
            cert_file=_str(tls_doc.get("cert_file", ""), f"{where}.tls.cert_file"),
            key_file=_str(tls_doc.get("key_file", ""), f"{where}.tls.key_file"))
    return HostConfig(username=_str(user, f"{where}.auth.username"), password=_str(password, f"{where}.auth.password"),
                      identity_token=_str(auth.get("identitytoken", ""), f"{where}.auth.identitytoken"),
                      insecure=_bool(doc.get("insecure", False), f"{where}.insecure"), tls=tls)


def parse_registries(text: str, source: str = "registries.yaml") -> RegistriesConfig:
    """k3s' registries.yaml (plus `insecure` per host and `disable_default_endpoint` per mirror)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RegistriesError(f"{source}: invalid YAML: {e}") from None
    doc = _map(doc, source)
    unknown = set(doc) - {"mirrors", "configs"}
    if unknown:
        raise RegistriesError(f"{source}: unknown field(s) {', '.join(sorted(unknown))} (mirrors, configs)")
    mirrors: dict[str, Mirror] = {}
    for domain, m in _map(doc.get("mirrors"), f"{source}: mirrors").items():
        where = f"{source}: mirrors[{domain!r}]"
        m = _map(m, where)
        endpoints = m.get("endpoint") or []
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        if not isinstance(endpoints, list):
            raise RegistriesError(f"{where}.endpoint: must be a list of URLs")
        mirrors[str(domain)] = Mirror(
            tuple(normalize_endpoint(_str(e, f"{where}.endpoint[{i}]"), f"{where}.endpoint[{i}]")
                  for i, e in enumerate(endpoints)),
            _rewrites(m.get("rewrite"), f"{where}.rewrite"),
            _bool(m.get("disable_default_endpoint", False), f"{where}.disable_default_endpoint"))
    configs = {str(h): _host_config(c, f"{source}: configs[{h!r}]")
               for h, c in _map(doc.get("configs"), f"{source}: configs").items()}
    return RegistriesConfig(mirrors, configs, source)


def _client_pair(v: Any, where: str) -> tuple[str, str]:
    """containerd's `client`: "cert", ["cert", "key"] or [["cert", "key"], ...] (the first pair)."""
    if not v:
        return "", ""
    if isinstance(v, str):
        return v, ""
    if isinstance(v, list) and v and isinstance(v[0], list):
        v = v[0]
    if isinstance(v, list) and all(isinstance(x, str) for x in v) and 1 <= len(v) <= 2:
        return v[0], v[1] if len(v) > 1 else ""
    raise RegistriesError(f"{where}: must be a file name or a [cert, key] pair")


def parse_hosts_toml(domain: str, text: str, source: str) -> tuple[Mirror, dict[str, HostConfig], str]:
    """One containerd `hosts.toml`: (mirror, host configs, server URL or "")."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RegistriesError(f"{source}: invalid TOML: {e}") from None
    server = normalize_endpoint(_str(doc["server"], f"{source}: server"), f"{source}: server") if "server" in doc \
        else ""
    endpoints, configs = [], {}
    for url, h in _map(doc.get("host"), f"{source}: host").items():
        where = f"{source}: host[{url!r}]"
        h = _map(h, where)
        caps = h.get("capabilities", ["pull", "resolve", "push"])
        if not isinstance(caps, list):
            raise RegistriesError(f"{where}.capabilities: must be a list")
        if h.get("override_path"):
            raise RegistriesError(f"{where}.override_path: not supported (give the mirror's base URL)")
        ep = normalize_endpoint(_str(url, where), where)
        if "pull" in caps:
            endpoints.append(ep)
        ca = h.get("ca", "")
        ca = ca if isinstance(ca, str) else (list(ca) or [""])[0]
        cert, key = _client_pair(h.get("client", ""), f"{where}.client")
        configs[urlsplit(ep).netloc] = HostConfig(
            insecure=urlsplit(ep).scheme == "http",
            tls=TLSConfig(_bool(h.get("skip_verify", False), f"{where}.skip_verify"), str(ca), cert, key))
    return Mirror(tuple(endpoints)), configs, server


def parse_hosts_dir(path: str | os.PathLike[str]) -> RegistriesConfig:
    """containerd's `config_path` layout: `<path>/<host>/hosts.toml` (`_default` = every registry)."""
    root = Path(path)
    mirrors: dict[str, Mirror] = {}
    configs: dict[str, HostConfig] = {}
    for f in sorted(root.glob("*/hosts.toml")):
        domain = f.parent.name
        m = re.fullmatch(r"(.+)_(\d+)_", domain)  # containerd's spelling of host:port
        domain = WILDCARD if domain == "_default" else f"{m.group(1)}:{m.group(2)}" if m else domain
        mirror, cfgs, server = parse_hosts_toml(domain, f.read_text(), str(f))
        configs.update(cfgs)
        if server and domain != WILDCARD:
            host = urlsplit(server).netloc
            if urlsplit(server).scheme == "http":
                configs.setdefault(host, HostConfig(insecure=True))
        mirrors[domain] = mirror
    return RegistriesConfig(mirrors, configs, str(root))


def load_registries(path: str | os.PathLike[str]) -> RegistriesConfig:
    p = Path(path)
    if p.is_dir():
        return parse_hosts_dir(p)
    return parse_registries(p.read_text(), str(p))


# -- rewrites (pure) --

def _go_replacement(repl: str) -> str:
    """Go's `$1` / `${name}` → Python's `\\g<1>` / `\\g<name>`."""
    return re.sub(r"\$(\{(\w+)\}|(\d+))", lambda m: f"\\g<{m.group(2) or m.group(3)}>", repl.replace("\\", "\\\\"))


def rewrite_repository(mirror: Mirror, repository: str) -> str:
    for pattern, repl in mirror.rewrites:
        if re.search(pattern, repository):
            return re.sub(pattern, _go_replacement(repl), repository, count=1)
    return repository


# -- loading with change detection --

class RegistriesFile:
    """A registries file (or hosts directory) reloaded when it changes.

    `current()` returns the configuration in force (checking the file's stat at most every
    `check_interval` seconds); `reload_if_changed()` checks now and returns True when a new
    configuration was loaded. A missing file means no mirrors; a file that stops parsing keeps
    the previous configuration and `error` says why.
    """

    def __init__(self, path: str | os.PathLike[str], *, check_interval: float = 1.0) -> None:
        self.path = Path(path)
        self.check_interval = check_interval
        self.error: str = ""
        self.generation = 0
        self._config = EMPTY
        self._stamp: tuple[Any, ...] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self.reload_if_changed()

    def _fingerprint(self) -> tuple[Any, ...]:
        p = self.path
        if p.is_dir():
            items = []
            for f in sorted(p.glob("*/hosts.toml")):
                st = f.stat()
                items.append((str(f), st.st_mtime_ns, st.st_size, st.st_ino))
            return ("dir", tuple(items))
        try:
            st = p.stat()
        except FileNotFoundError:
            return ("missing",)
        return ("file", st.st_mtime_ns, st.st_size, st.st_ino, hashlib.sha256(p.read_bytes()).hexdigest())

    def reload_if_changed(self) -> bool:
        import time

        with self._lock:
            self._checked = time.monotonic()
            try:
                stamp = self._fingerprint()
            except OSError as e:
                self.error = f"{self.path}: {e}"
                return False
            if stamp == self._stamp:
                return False
            try:
                config = EMPTY if stamp == ("missing",) else load_registries(self.path)
            except (RegistriesError, OSError, UnicodeDecodeError) as e:
                self.error = str(e)
                self._stamp = stamp
                log.warning("registries: keeping the previous configuration: %s", e)
                return False
            self._stamp = stamp
            self._config = config
            self.error = ""
            self.generation += 1
            log.info("registries: loaded %s (%d mirror(s), %d host config(s))", self.path, len(config.mirrors),
                     len(config.configs))
            return True

    def current(self) -> RegistriesConfig:
        import time

        if time.monotonic() - self._checked >= self.check_interval:
            self.reload_if_changed()
        return self._config
