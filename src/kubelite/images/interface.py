"""The seam between images and their users (node agent runtime, builder, CLI).

An `Image` is what a container is made from: its config (entrypoint, cmd, env, user, workdir,
stop signal, ...) and its layers, identified by the config digest (the image ID, as Docker
shows it). `unpack` returns directories with each layer extracted (whiteouts applied as overlay
whiteouts), lowest layer first, ready to be overlayfs `lowerdir`s; they are shared and must be
treated as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class Image:
    id: str                                  # config digest, "sha256:<hex>"
    digest: str                              # manifest digest, "sha256:<hex>"
    repo_tags: list[str] = field(default_factory=list)     # normalised, e.g. "docker.io/library/busybox:latest"
    repo_digests: list[str] = field(default_factory=list)  # "name@sha256:<manifest digest>"
    config: dict[str, Any] = field(default_factory=dict)   # the OCI image config document
    diff_ids: list[str] = field(default_factory=list)      # uncompressed layer digests, base first
    size: int = 0                            # sum of compressed layer sizes

    @property
    def container_config(self) -> dict[str, Any]:
        """The `config` section: Env, Entrypoint, Cmd, WorkingDir, User, StopSignal, ExposedPorts..."""
        return self.config.get("config") or {}


class ImageNotFound(LookupError):
    pass


class ImageStore(Protocol):
    async def get(self, ref: str) -> Image | None:
        """Look an image up by reference (`busybox`, `localhost:5000/app:v1`, `name@sha256:...`) or ID."""

    async def list(self) -> list[Image]: ...

    async def unpack(self, image: Image) -> list[Path]:
        """Layer directories, lowest first; extracted once and cached; safe to call concurrently."""

    async def remove(self, ref: str) -> None:
        """Untag or delete; raises ImageNotFound."""
