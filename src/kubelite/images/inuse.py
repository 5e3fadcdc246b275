"""Which images are in use, seen from the mount table: a default `in_use` callback for the store.

A container made from an image mounts overlayfs with the image's snapshot directories as
`lowerdir`s. `OverlayUsage(store)(image_id)` reads `/proc/self/mountinfo`, and answers with the
mount point of an overlay whose lowerdirs include the image's top snapshot, or None. The node
agent can pass its own callback (by container ID) instead.
"""

from __future__ import annotations

import asyncio
import os

from . import oci


def overlay_lowerdirs(mountinfo: str = "/proc/self/mountinfo") -> list[tuple[str, list[str]]]:
    """(mount point, lowerdir paths) of every overlay mount."""
    out = []
    try:
        with open(mountinfo) as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for line in lines:
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = right.split()
        if len(fields) < 3 or fields[0] != "overlay":
            continue
        mount_point = left.split()[4] if len(left.split()) > 4 else ""
        for opt in fields[2].split(","):
            if opt.startswith("lowerdir="):
                out.append((mount_point, [p.replace("\\072", ":") for p in opt[9:].split(":") if p]))
    return out


class OverlayUsage:
    def __init__(self, store: object) -> None:
        self._store = store

    async def __call__(self, image_id: str) -> str | None:
        image = await self._store.get(image_id)  # type: ignore[attr-defined]
        if image is None or not image.diff_ids:
            return None
        top = oci.chain_ids(image.diff_ids)[-1].partition(":")[2]
        for mount_point, lowers in await asyncio.to_thread(overlay_lowerdirs):
            if any(os.path.basename(p.rstrip("/")) == top for p in lowers):
                return mount_point
        return None
