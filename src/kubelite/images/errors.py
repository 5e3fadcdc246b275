"""Errors of the image store, its content store, layer handling and archives.

Hierarchy::

    Exception
      ImageError                    -- any image-side failure
        InvalidReference (ValueError)  -- a name that Docker's grammar rejects
        BlobNotFound (LookupError)     -- content missing from a content store
        DigestMismatch                 -- content whose digest is not the expected one
        SizeMismatch                   -- content whose size is not the expected one
        LayerError                     -- a layer that cannot be applied (escape, bad whiteout...)
        ImageInUse                     -- removal refused: a container uses the image
        ArchiveError                   -- an image archive that cannot be read
    LookupError
      ImageNotFound                 -- (kubelite.images.interface) no image for a reference

Registry-protocol errors live in `kubelite.images.registry.errors` and the distribution
client's in `kubelite.images.distribution.errors`; builder errors in `kubelite.images.builder`.
"""

from __future__ import annotations

from .interface import ImageNotFound


class ImageError(Exception):
    pass


class InvalidReference(ImageError, ValueError):
    pass


class BlobNotFound(ImageError, LookupError):
    def __init__(self, digest: str) -> None:
        super().__init__(f"blob {digest} not found")
        self.digest = digest


class DigestMismatch(ImageError):
    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"digest mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class SizeMismatch(ImageError):
    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"size mismatch: expected {expected} bytes, got {actual}")
        self.expected = expected
        self.actual = actual


class LayerError(ImageError):
    pass


class ImageInUse(ImageError):
    """Docker's wording: `conflict: unable to remove repository reference ... (must force) - ...`."""

    def __init__(self, ref: str, image_id: str, user: str = "") -> None:
        short = image_id.removeprefix("sha256:")[:12]
        who = f"container {user}" if user else "a container"
        super().__init__(
            f'conflict: unable to remove repository reference "{ref}" (must force) - '
            f"{who} is using its referenced image {short}"
        )
        self.ref = ref
        self.image_id = image_id
        self.user = user


class ArchiveError(ImageError):
    pass


__all__ = [
    "ImageError", "InvalidReference", "BlobNotFound", "DigestMismatch", "SizeMismatch", "LayerError",
    "ImageInUse", "ArchiveError", "ImageNotFound",
]
