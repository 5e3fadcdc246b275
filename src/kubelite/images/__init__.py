"""Images as with Docker: an OCI content store, Dockerfile builds, and registry push and pull.

- `interface`: the `ImageStore` seam the node agent and the builder use (`Image`, `ImageStore`).
- `store`: `LocalImageStore`, the local store: an OCI image layout on disk (`layout`: records by
  name in `index.json`; `content`: content-addressed blobs) and `snapshots`, layers unpacked once
  per chain ID into overlay-form directories shared by every container. `fake`: in-memory store.
- `reference`: Docker's reference grammar and normalisation; `oci`: media types, descriptors.
- `layers`: safe layer extraction (whiteouts, opaque dirs, no escapes) and reproducible writing.
- `builtin`: images made on the machine with no registry: `busybox` (Debian's busybox-static)
  and the pod sandbox `pause` image (Debian's catatonit).
- `archive`: `save`/`load` as OCI archive or docker-archive.
- `distribution` (client: push, pull, auth, mirrors and the registries file), `registry` (OCI
  Distribution server, token server, blob storage), `builder` (Dockerfiles) and `bootstrap` (base
  images from Debian packages with mmdebstrap) sit above the store.

May import: `kubelite.machinery`, `kubelite.api`.
"""
