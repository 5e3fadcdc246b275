"""Unpacked layers, one directory per chain ID: `<root>/snapshots/<chain-id hex>/`.

Each directory holds one layer in overlayfs form (see `layers.apply`), made against the layers
below it, so the key is the chain ID (a layer's content as applied depends on what is under it).
A snapshot is extracted into `.tmp-*` and renamed into place, so a directory under its final name
is always complete. One extraction per chain ID: an asyncio lock inside the process and an
`flock` on `.locks/<hex>` across processes; a waiter finds the finished directory and returns.
Snapshot directories are shared lowerdirs: treat them as read-only.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import LayerError
from .layers import apply_layer
from .oci import chain_ids

log = logging.getLogger(__name__)


class Snapshotter:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._locks: dict[str, asyncio.Lock] = {}
        self.extractions = 0  # statistics: layers extracted by this process

    def path(self, chain_id: str) -> Path:
        return self.root / chain_id.partition(":")[2]

    def exists(self, chain_id: str) -> bool:
        return self.path(chain_id).is_dir()

    async def prepare(self, diff_ids: list[str], open_layer: Callable[[int], BinaryIO]) -> list[Path]:
        """Directories for every layer (lowest first), extracting those not there yet.

        `open_layer(i)` opens the (compressed) blob of layer i; it is called on a worker thread.
        """
        chains = chain_ids(diff_ids)
        dirs: list[Path] = []
        for i, chain in enumerate(chains):
            target = self.path(chain)
            if not target.is_dir():
                lock = self._locks.setdefault(chain, asyncio.Lock())
                async with lock:
                    if not target.is_dir():
                        await asyncio.to_thread(self._extract, chain, diff_ids[i], list(dirs), open_layer, i)
            dirs.append(target)
        return dirs

    def _extract(self, chain: str, diff_id: str, lowers: list[Path], open_layer: Callable[[int], BinaryIO],
                 index: int) -> None:
        hexid = chain.partition(":")[2]
        (self.root / ".locks").mkdir(parents=True, exist_ok=True)
        lock_path = self.root / ".locks" / hexid
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            target = self.path(chain)
            if target.is_dir():
                return
            tmp = self.root / f".tmp-{hexid[:16]}-{uuid.uuid4().hex[:8]}"
            try:
                with open_layer(index) as blob:
                    apply_layer(blob, tmp, lowers, expected_diff_id=diff_id)
                try:
                    os.rename(tmp, target)
                except OSError:
                    if not target.is_dir():
                        raise
                    shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
                    return
                self.extractions += 1
                log.debug("unpacked layer %s into %s", diff_id, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def adopt_nowait(self, chain_id: str, directory: Path) -> bool:
        """Move an overlay-form layer directory (a build step's upper dir) into place under
        `chain_id`; False (and the directory left alone) when the snapshot already exists."""
        hexid = chain_id.partition(":")[2]
        (self.root / ".locks").mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".locks" / hexid, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            target = self.path(chain_id)
            if target.is_dir():
                return False
            os.rename(directory, target)
            return True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def list_nowait(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return [f"sha256:{p.name}" for p in self.root.iterdir() if not p.name.startswith(".") and p.is_dir()]

    def remove_nowait(self, chain_id: str) -> None:
        """Delete a snapshot (rename away first so no reader sees a half-deleted dir)."""
        p = self.path(chain_id)
        if not p.is_dir():
            return
        trash = self.root / f".trash-{uuid.uuid4().hex}"
        os.rename(p, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def clean_temp_nowait(self, older_than: float = 3600) -> None:
        """Remove leftovers of interrupted extractions (GC)."""
        if not self.root.is_dir():
            return
        now = time.time()
        for p in self.root.iterdir():
            try:
                if p.name.startswith((".tmp-", ".trash-")) and now - p.stat().st_mtime > older_than:
                    shutil.rmtree(p, ignore_errors=True)
            except FileNotFoundError:
                pass


def check_layers(n_layers: int, diff_ids: list[str]) -> None:
    if n_layers != len(diff_ids):
        raise LayerError(f"image has {n_layers} layers but {len(diff_ids)} diff IDs in its config")
