"""The OCI image layout's `index.json`: the image store's records (which names point where).

Each record is a manifest (or index) descriptor; a tagged image carries the full normalised
reference in `org.opencontainers.image.ref.name` (`docker.io/library/busybox:latest`), so
`skopeo inspect oci:<root>:docker.io/library/busybox:latest` reads the store directly. Records
without the annotation are untagged (dangling) images. Updates take an `flock` on
`<root>/.index.lock` and replace the file atomically, so concurrent processes never lose a tag.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .content.local import atomic_write
from .oci import ANNOTATION_REF_NAME, OCI_INDEX

LAYOUT_VERSION = b'{"imageLayoutVersion":"1.0.0"}'

Record = dict[str, Any]


def ref_name(record: Record) -> str:
    return (record.get("annotations") or {}).get(ANNOTATION_REF_NAME, "")


class Layout:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.index_path = self.root / "index.json"
        self._cache: tuple[int, int, list[Record]] | None = None

    def ensure_nowait(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        if not (self.root / "oci-layout").exists():
            atomic_write(self.root / "oci-layout", LAYOUT_VERSION)
        if not self.index_path.exists():
            self.update_nowait(lambda records: records)

    def read_nowait(self) -> list[Record]:
        try:
            st = self.index_path.stat()
        except FileNotFoundError:
            return []
        if self._cache and self._cache[:2] == (st.st_mtime_ns, st.st_ino):
            return copy.deepcopy(self._cache[2])
        with open(self.index_path, "rb") as f:
            doc = json.load(f)
        records = [m for m in doc.get("manifests") or [] if isinstance(m, dict)]
        self._cache = (st.st_mtime_ns, st.st_ino, records)
        return copy.deepcopy(records)

    def update_nowait(self, fn: Callable[[list[Record]], list[Record]]) -> list[Record]:
        """Read-modify-write `index.json` under the layout lock; returns the new records."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".index.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._cache = None
            records = fn(self.read_nowait())
            doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": records}
            atomic_write(self.index_path, json.dumps(doc, indent=None, separators=(",", ":")).encode())
            self._cache = None
            return records
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
