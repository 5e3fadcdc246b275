"""Push and pull images to and from any OCI Distribution registry (ours, Docker Hub, others).

- `client`: `RegistryClient` (one endpoint): Docker's auth challenge flow (Basic, Bearer tokens
  per scope), resumable and retrying blob transfers checked against their digests, mounts.
- `transfer`: `pull`, `push`, `login` between the local store and a registry, with parallel
  layer transfers and progress callbacks.
- `config`: credentials from `~/.docker/config.json`; `RegistryHosts`: the endpoints of a registry
  (HTTP for loopback and insecure registries, Docker Hub's endpoint, mirrors with rewrites, TLS).
- `registries`: the registries file (k3s `registries.yaml` or containerd `hosts.toml` dirs) and
  `RegistriesFile`, its loader with change detection (`reload_if_changed()`).

May import: `kubelite.images` (store, content, reference, oci, progress), aiohttp.
"""

from .client import RegistryClient
from .config import DockerConfig, Endpoint, RegistryHosts
from .errors import AuthenticationError, DistributionError, ManifestNotFound, TransferError
from .registries import RegistriesConfig, RegistriesError, RegistriesFile
from .transfer import PushResult, Transfer, login, pull, push

__all__ = ["RegistryClient", "DockerConfig", "Endpoint", "RegistryHosts", "AuthenticationError", "DistributionError",
           "ManifestNotFound", "TransferError", "PushResult", "Transfer", "login", "pull", "push",
           "RegistriesConfig", "RegistriesError", "RegistriesFile"]
