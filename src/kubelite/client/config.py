"""Where the API server is and how to authenticate to it (client-go's `rest.Config`).

- `ClientConfig`: server URL, TLS material (files or PEM bytes), credentials (bearer token,
  token file, basic auth, or an exec plugin), TLS options, user agent, optional client-side
  QPS/burst, and the default namespace.
- `load_kubeconfig(path=None, context=None)`: reads a kubeconfig (`$KUBECONFIG`, several files
  joined with `:` merge with the first file winning, else `~/.kube/config`). Relative file paths
  resolve against the kubeconfig's directory; `*-data` fields are base64.
- `in_cluster_config()`: a pod's view: `KUBERNETES_SERVICE_HOST`/`_PORT` and the mounted
  service account token (re-read every minute, since it rotates), CA and namespace.

Both loaders read small files synchronously: call them at start-up, before the event loop does
other work, or through `asyncio.to_thread`.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_USER_AGENT = "kubelite/0.1.0 (linux/amd64) kubernetes/v1.32.0"


class ConfigError(Exception):
    """The configuration cannot be used (missing file, unknown context, bad field)."""


@dataclass
class ExecConfig:
    """A `client.authentication.k8s.io` credential plugin (kubeconfig `users[].user.exec`)."""

    command: str
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    api_version: str = "client.authentication.k8s.io/v1"
    provide_cluster_info: bool = False
    install_hint: str = ""


@dataclass
class ClientConfig:
    server: str
    ca_file: str | None = None
    ca_data: bytes | None = None
    cert_file: str | None = None
    cert_data: bytes | None = None
    key_file: str | None = None
    key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    exec: ExecConfig | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    user_agent: str = DEFAULT_USER_AGENT
    qps: float = 0.0                    # 0: no client-side throttling
    burst: int = 0
    namespace: str = "default"
    timeout: float | None = None        # per request (not watches); None: no limit

    @property
    def is_https(self) -> bool:
        return self.server.startswith("https://")


def _b64(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=False)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what}: illegal base64 data") from exc


def _named(entries: Any, kind: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for e in entries or []:
        if not isinstance(e, Mapping) or "name" not in e:
            raise ConfigError(f"kubeconfig {kind} entry without a name")
        out.setdefault(e["name"], dict(e.get(kind.rstrip("s")) or {}))
    return out


def _default_paths() -> list[Path]:
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def _abs(value: str | None, base: Path) -> str | None:
    if not value:
        return None
    p = Path(os.path.expanduser(value))
    return str(p if p.is_absolute() else base / p)


def load_kubeconfig(path: str | os.PathLike | None = None, context: str | None = None) -> ClientConfig:
    """Build a `ClientConfig` from a kubeconfig file and a context (default: current-context)."""
    paths = [Path(path)] if path is not None else _default_paths()
    clusters: dict[str, tuple[dict, Path]] = {}
    users: dict[str, tuple[dict, Path]] = {}
    contexts: dict[str, dict] = {}
    current = ""
    found = False
    for p in paths:
        try:
            doc = yaml.safe_load(p.read_text()) or {}
        except FileNotFoundError:
            if path is not None:
                raise ConfigError(f"stat {p}: no such file or directory") from None
            continue
        except yaml.YAMLError as exc:
            raise ConfigError(f"error loading config file \"{p}\": {exc}") from exc
        found = True
        for name, c in _named(doc.get("clusters"), "clusters").items():
            clusters.setdefault(name, (c, p.parent))
        for name, u in _named(doc.get("users"), "users").items():
            users.setdefault(name, (u, p.parent))
        for name, c in _named(doc.get("contexts"), "contexts").items():
            contexts.setdefault(name, c)
        current = current or doc.get("current-context") or ""
    if not found:
        raise ConfigError("invalid configuration: no configuration has been provided")
    name = context or current
    if not name:
        raise ConfigError("current-context is not set")
    if name not in contexts:
        raise ConfigError(f'context "{name}" does not exist')
    ctx = contexts[name]
    cluster_name, user_name = ctx.get("cluster", ""), ctx.get("user", "")
    if cluster_name not in clusters:
        raise ConfigError(f'cluster "{cluster_name}" does not exist')
    cluster, cbase = clusters[cluster_name]
    user, ubase = users.get(user_name, ({}, Path(".")))
    server = cluster.get("server")
    if not server:
        raise ConfigError(f'no server found for cluster "{cluster_name}"')
    cfg = ClientConfig(server=server.rstrip("/"), namespace=ctx.get("namespace") or "default")
    cfg.insecure = bool(cluster.get("insecure-skip-tls-verify", False))
    cfg.tls_server_name = cluster.get("tls-server-name")
    if "certificate-authority-data" in cluster:
        cfg.ca_data = _b64(cluster["certificate-authority-data"], "certificate-authority-data")
    cfg.ca_file = _abs(cluster.get("certificate-authority"), cbase)
    if "client-certificate-data" in user:
        cfg.cert_data = _b64(user["client-certificate-data"], "client-certificate-data")
    if "client-key-data" in user:
        cfg.key_data = _b64(user["client-key-data"], "client-key-data")
    cfg.cert_file = _abs(user.get("client-certificate"), ubase)
    cfg.key_file = _abs(user.get("client-key"), ubase)
    cfg.token = user.get("token") or None
    cfg.token_file = _abs(user.get("tokenFile"), ubase)
    cfg.username = user.get("username")
    cfg.password = user.get("password")
    if user.get("exec"):
        cfg.exec = _exec_config(user["exec"])
    return cfg


def _exec_config(e: Mapping) -> ExecConfig:
    if not e.get("command"):
        raise ConfigError("exec plugin: command is required")
    env = {v["name"]: str(v.get("value", "")) for v in e.get("env") or [] if "name" in v}
    return ExecConfig(command=e["command"], args=[str(a) for a in e.get("args") or []], env=env,
                      api_version=e.get("apiVersion") or "client.authentication.k8s.io/v1",
                      provide_cluster_info=bool(e.get("provideClusterInfo", False)),
                      install_hint=e.get("installHint") or "")


def in_cluster_config(*, environ: Mapping[str, str] | None = None,
                      root: str | os.PathLike = SERVICE_ACCOUNT_DIR) -> ClientConfig:
    """The config a pod uses: service env vars plus the mounted service account."""
    env = os.environ if environ is None else environ
    host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
                          "KUBERNETES_SERVICE_PORT must be defined")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    d = Path(root)
    token_file = d / "token"
    if not token_file.exists():
        raise ConfigError(f"open {token_file}: no such file or directory")
    ns_file = d / "namespace"
    namespace = ns_file.read_text().strip() if ns_file.exists() else "default"
    ca = d / "ca.crt"
    return ClientConfig(server=f"https://{host}:{port}", token_file=str(token_file),
                        ca_file=str(ca) if ca.exists() else None, namespace=namespace or "default")
