"""A build step's overlay upper dir → a layer blob in the store, and then its snapshot.

The upper dir is converted per dataplane §5.4 (`layers.write_upper`, leaving out mount points
runc created), written as a gzip blob, and then, with overlayfs' private xattrs removed (opaque
markers kept), renamed into the store's snapshots under the new chain ID: it already is the
layer in overlay form, so the next step mounts it without extracting anything. Blocking.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from .. import oci
from ..layers import LayerWriter, write_upper
from ..layers.apply import OVERLAY_OPAQUE_XATTR
from ..store import LocalImageStore
from .sandbox import Rootfs


def commit_upper(store: LocalImageStore, rootfs: Rootfs, skip: set[str], lower_diff_ids: list[str]
                 ) -> tuple[dict[str, Any] | None, str | None]:
    """Upper dir → gzip layer blob in the store; the upper dir becomes the layer's snapshot."""
    tmp = store.content.temp_path()
    try:
        with open(tmp, "wb") as out:
            w = LayerWriter(out)
            n = write_upper(w, rootfs.upper, skip=skip)
            d = w.close()
            out.flush()
            os.fsync(out.fileno())
        if n == 0:
            return None, None
        store.content.adopt_nowait(tmp, d.digest)
    finally:
        tmp.unlink(missing_ok=True)
    for name in skip:
        p = rootfs.upper / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists():
            p.unlink()
    strip_overlay_xattrs(str(rootfs.upper))
    chain = oci.chain_ids([*lower_diff_ids, d.diff_id])[-1]
    store.snapshots.adopt_nowait(chain, rootfs.upper)
    return oci.descriptor(oci.OCI_LAYER_GZIP, d.digest, d.size), d.diff_id


def strip_overlay_xattrs(root: str) -> None:
    """Drop overlayfs' private xattrs (origin, impure...) but keep opaque markers."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in [dirpath, *(os.path.join(dirpath, f) for f in filenames)]:
            try:
                attrs = os.listxattr(name, follow_symlinks=False)
            except OSError:
                continue
            for a in attrs:
                if a.startswith("trusted.overlay.") and a != OVERLAY_OPAQUE_XATTR:
                    try:
                        os.removexattr(name, a, follow_symlinks=False)
                    except OSError:
                        pass
