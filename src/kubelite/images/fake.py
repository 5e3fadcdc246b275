"""An in-memory `ImageStore` for tests of the node agent and other users of the seam.

Images are registered with `add(image, layer_dirs)`; `get` normalises references like the real
store; `unpack` returns the given directories and counts calls.
"""

from __future__ import annotations

from pathlib import Path

from .interface import Image, ImageNotFound
from .reference import familiar, normalize


class FakeImageStore:
    def __init__(self) -> None:
        self._images: dict[str, Image] = {}
        self._dirs: dict[str, list[Path]] = {}
        self.unpack_calls = 0

    def add(self, image: Image, layer_dirs: list[Path] | None = None) -> Image:
        self._images[image.id] = image
        self._dirs[image.id] = list(layer_dirs or [])
        return image

    async def get(self, ref: str) -> Image | None:
        if ref in self._images:
            return self._images[ref]
        try:
            want = normalize(ref)
        except ValueError:
            want = ref
        for img in self._images.values():
            if want in img.repo_tags or ref in img.repo_digests or img.id.removeprefix("sha256:").startswith(
                    ref.removeprefix("sha256:")):
                return img
        return None

    async def list(self) -> list[Image]:
        return list(self._images.values())

    async def unpack(self, image: Image) -> list[Path]:
        self.unpack_calls += 1
        if image.id not in self._dirs:
            raise ImageNotFound(f"No such image: {image.id}")
        return list(self._dirs[image.id])

    async def remove(self, ref: str) -> None:
        img = await self.get(ref)
        if img is None:
            raise ImageNotFound(f"No such image: {familiar(ref)}")
        del self._images[img.id]
        self._dirs.pop(img.id, None)
