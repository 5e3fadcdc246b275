"""The build cache: step key → the layer it produced (or none), kept under the store root.

Keys chain like BuildKit's: a step's key hashes its parent's key with the step's definition
(instruction after substitution; for RUN the environment, user, workdir, shell and network; for
COPY/ADD the checksum of the sources). Only filesystem steps extend the chain, so metadata
instructions (LABEL, CMD...) do not invalidate later RUNs, while a changed source file
invalidates its COPY and everything after it. Each entry pins its layer blob as a GC root of the
store (`refs/buildcache/`), so `prune` of images keeps cached layers until the cache is pruned.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..content.local import atomic_write
from ..store import LocalImageStore

OWNER = "buildcache"


def step_key(parent: str, definition: Any) -> str:
    data = json.dumps([parent, definition], sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


class BuildCache:
    def __init__(self, store: LocalImageStore) -> None:
        self.store = store
        self.dir = Path(store.root) / "buildcache"

    def _path(self, key: str) -> Path:
        return self.dir / (key.partition(":")[2] + ".json")

    def get_nowait(self, key: str) -> dict[str, Any] | None:
        try:
            entry = json.loads(self._path(key).read_bytes())
        except (FileNotFoundError, ValueError):
            return None
        layer = entry.get("layer")
        if layer is not None and not self.store.content.has(layer["digest"]):
            return None  # the layer was collected: rebuild
        return entry

    def put_nowait(self, key: str, layer: dict[str, Any] | None, diff_id: str | None, created: str = "") -> None:
        atomic_write(self._path(key), json.dumps({"layer": layer, "diff_id": diff_id, "created": created}).encode())
        if layer is not None:
            self.store.set_refs_nowait(OWNER, key.partition(":")[2], [layer["digest"]])

    def prune_nowait(self) -> int:
        n = 0
        if self.dir.is_dir():
            for p in self.dir.iterdir():
                p.unlink(missing_ok=True)
                n += 1
        self.store.drop_refs_nowait(OWNER)
        return n
