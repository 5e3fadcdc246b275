"""Images as with Docker: an OCI content store, Dockerfile builds, and registry push and pull.

- `interface`: the `ImageStore` seam the node agent and the builder use (`Image`, `ImageStore`).
- the local store keeps an OCI image layout on disk (content-addressed blobs, image records by
  name) and unpacks layers once into snapshot directories shared by every container.
- built-in images made on the machine with no registry: `busybox` (Debian's busybox-static)
  and the pod sandbox `pause` image (Debian's catatonit).

May import: `kubelite.machinery`, `kubelite.api`.
"""
