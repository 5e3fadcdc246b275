"""An OCI Distribution registry (the `/v2/` API Docker, skopeo and ORAS speak), served by aiohttp.

- `app`: routes and handlers for every endpoint of the spec (blobs, streamed/chunked/monolithic
  uploads, cross-repository mounts, manifests and indexes, tags with paging, catalog, deletes,
  referrers), the token endpoint, `Docker-Distribution-API-Version` on every response.
- `storage`: blobs, repository links, tags, upload sessions and referrers on disk, atomic.
- `auth`: none, Basic, or Bearer tokens with Docker's challenge flow.
- `server`: `run_registry(host, port, root, auth=...)` and `RegistryServer` (start/stop, port 0).
- `token`: the token endpoint, also as a stand-alone `TokenServer` (an authorization server on its
  own address, as Docker Hub has `auth.docker.io`).
- `blobstore`: `BlobStorageServer`, presigned-URL blob storage the registry can redirect to.

May import: `kubelite.images` (reference, oci, content), aiohttp.
"""

from .auth import RegistryAuth
from .blobstore import BlobRedirect, BlobStorageServer
from .server import RegistryServer, run_registry
from .token import TokenServer

__all__ = ["RegistryAuth", "RegistryServer", "run_registry", "TokenServer", "BlobRedirect", "BlobStorageServer"]
