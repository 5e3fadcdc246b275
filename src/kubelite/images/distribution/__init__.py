"""Push and pull images to and from any OCI Distribution registry (ours, Docker Hub, others).

- `client`: `RegistryClient` (one endpoint): Docker's auth challenge flow (Basic, Bearer tokens
  per scope), resumable and retrying blob transfers checked against their digests, mounts.
- `transfer`: `pull`, `push`, `login` between the local store and a registry, with parallel
  layer transfers and progress callbacks.
- `config`: credentials from `~/.docker/config.json`; registry endpoints (HTTP for loopback and
  insecure registries, Docker Hub's endpoint, pull mirrors).

May import: `kubelite.images` (store, content, reference, oci, progress), aiohttp.
"""

from .client import RegistryClient
from .config import DockerConfig, RegistryHosts
from .errors import AuthenticationError, DistributionError, ManifestNotFound, TransferError
from .transfer import PushResult, Transfer, login, pull, push

__all__ = ["RegistryClient", "DockerConfig", "RegistryHosts", "AuthenticationError", "DistributionError",
           "ManifestNotFound", "TransferError", "PushResult", "Transfer", "login", "pull", "push"]
